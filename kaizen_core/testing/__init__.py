"""kaizen_core.testing"""
