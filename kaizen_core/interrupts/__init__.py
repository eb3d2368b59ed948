"""kaizen_core.interrupts"""
