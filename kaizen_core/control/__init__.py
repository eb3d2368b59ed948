"""kaizen_core.control"""
