"""kaizen_core.interrupts: stop an agent run cleanly on Ctrl+C, SIGTERM, timeouts,
budget or resource limits, or on request from code.

* :class:`InterruptManager` (``agent.interrupt_manager``): an agent's handlers,
  shutdown callbacks and active runs;
* :class:`InterruptScope`: the interrupt state of one run (fresh for every run);
* :data:`~kaizen_core.interrupts.signals.dispatcher`: the process-wide SIGINT/SIGTERM
  dispatcher; :func:`exit_code_for` the exit code of a signal interrupt.
"""

from kaizen_core.interrupts.handlers import (
    BaseInterruptHandler,
    BudgetInterruptHandler,
    ResourceInterruptHandler,
    TimeoutInterruptHandler,
    TrackBy,
)
from kaizen_core.interrupts.manager import InterruptManager
from kaizen_core.interrupts.scope import InterruptScope, current_scope
from kaizen_core.interrupts.signals import exit_code_for, exit_code_for_exception
from kaizen_core.interrupts.types import (
    InterruptContext,
    InterruptMode,
    InterruptReason,
    InterruptSignal,
    InterruptSource,
    InterruptType,
    StepCancelled,
)

__all__ = [
    "BaseInterruptHandler",
    "BudgetInterruptHandler",
    "InterruptContext",
    "InterruptManager",
    "InterruptMode",
    "InterruptReason",
    "InterruptScope",
    "InterruptSignal",
    "InterruptSource",
    "InterruptType",
    "ResourceInterruptHandler",
    "StepCancelled",
    "TimeoutInterruptHandler",
    "TrackBy",
    "current_scope",
    "exit_code_for",
    "exit_code_for_exception",
]
