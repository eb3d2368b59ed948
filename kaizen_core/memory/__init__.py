"""kaizen_core.memory"""
