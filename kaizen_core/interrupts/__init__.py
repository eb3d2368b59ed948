"""kaizen_core.interrupts: stop an agent run cleanly on Ctrl+C, SIGTERM, timeouts,
budget or resource limits, or on request from code."""

from kaizen_core.interrupts.handlers import (
    BaseInterruptHandler,
    BudgetInterruptHandler,
    ResourceInterruptHandler,
    TimeoutInterruptHandler,
)
from kaizen_core.interrupts.manager import InterruptManager, exit_code_for
from kaizen_core.interrupts.types import (
    InterruptContext,
    InterruptMode,
    InterruptReason,
    InterruptSource,
    StepCancelled,
)

__all__ = [
    "BaseInterruptHandler",
    "BudgetInterruptHandler",
    "InterruptContext",
    "InterruptManager",
    "InterruptMode",
    "InterruptReason",
    "InterruptSource",
    "ResourceInterruptHandler",
    "StepCancelled",
    "TimeoutInterruptHandler",
    "exit_code_for",
]
