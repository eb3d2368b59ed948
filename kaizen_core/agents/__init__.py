"""kaizen_core.agents"""
