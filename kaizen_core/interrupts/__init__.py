"""kaizen_core.interrupts: stop an agent run cleanly on Ctrl+C, SIGTERM, timeouts,
budget or resource limits, or on request from code.

* :class:`InterruptManager` (``agent.interrupt_manager``): an agent's handlers,
  shutdown callbacks and active runs;
* :class:`InterruptScope`: the interrupt state of one run (fresh for every run);
* :data:`~kaizen_core.interrupts.signals.dispatcher`: the process-wide SIGINT/SIGTERM
  dispatcher; :func:`exit_code_for` the exit code of a signal interrupt.

Names load their module on first use (PEP 562): an agent that only creates an
InterruptManager never imports the handlers.
"""

from typing import TYPE_CHECKING

from kaizen_core.lazy import lazy_exports

_LAZY = {
    "BaseInterruptHandler": "kaizen_core.interrupts.handlers",
    "BudgetInterruptHandler": "kaizen_core.interrupts.handlers",
    "ResourceInterruptHandler": "kaizen_core.interrupts.handlers",
    "TimeoutInterruptHandler": "kaizen_core.interrupts.handlers",
    "TrackBy": "kaizen_core.interrupts.handlers",
    "InterruptManager": "kaizen_core.interrupts.manager",
    "InterruptScope": "kaizen_core.interrupts.scope",
    "current_scope": "kaizen_core.interrupts.scope",
    "exit_code_for": "kaizen_core.interrupts.signals",
    "exit_code_for_exception": "kaizen_core.interrupts.signals",
    "InterruptContext": "kaizen_core.interrupts.models",
    "InterruptMode": "kaizen_core.interrupts.types",
    "InterruptReason": "kaizen_core.interrupts.models",
    "InterruptSignal": "kaizen_core.interrupts.types",
    "InterruptSource": "kaizen_core.interrupts.types",
    "InterruptType": "kaizen_core.interrupts.types",
    "StepCancelled": "kaizen_core.interrupts.types",
}

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

if TYPE_CHECKING:  # pragma: no cover
    from kaizen_core.interrupts.handlers import (
        BaseInterruptHandler,
        BudgetInterruptHandler,
        ResourceInterruptHandler,
        TimeoutInterruptHandler,
        TrackBy,
    )
    from kaizen_core.interrupts.manager import InterruptManager
    from kaizen_core.interrupts.models import InterruptContext, InterruptReason
    from kaizen_core.interrupts.scope import InterruptScope, current_scope
    from kaizen_core.interrupts.signals import exit_code_for, exit_code_for_exception
    from kaizen_core.interrupts.types import (
        InterruptMode,
        InterruptSignal,
        InterruptSource,
        InterruptType,
        StepCancelled,
    )

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
