"""kaizen_core.state"""
