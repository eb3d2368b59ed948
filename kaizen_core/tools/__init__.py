"""kaizen_core.tools"""
