"""kaizen_core.hooks"""
