"""kaizen_core.orchestration"""
