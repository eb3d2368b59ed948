"""Agent-level checkpoint and interrupt calls: ``restore_state``, ``get_state``, ``interrupt``.

    checkpoint_id = await state_manager.create_checkpoint(agent_id=agent.agent_id, description="before")
    ...
    agent.restore_state(await state_manager.load_checkpoint(checkpoint_id))
    await state_manager.save_state(agent.get_state())

    agent.interrupt("operator asked")                    # stop the agent's active runs
    agent._interrupt_manager.request_interrupt(signal=InterruptSignal.USER_REQUESTED, reason="...")

An agent keeps no conversation of its own between runs (its memory does, in its own
store), so the state it restores is a record: the agent takes the state's ``agent_id``
(its next checkpoints continue that agent's chain, ``resume_from_latest()`` finds them)
and keeps the state as :attr:`StateMethods.state`; :meth:`StateMethods.get_state`
gives it back, ready to save. An autonomous run saved in a checkpoint is continued with
``agent.resume_from_checkpoint(checkpoint_id)``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the interrupt and state packages load on first use, not with the agent
    from kaizen_core.interrupts import (
        InterruptManager,
        InterruptMode,
        InterruptReason,
        InterruptSignal,
        InterruptSource,
    )
    from kaizen_core.state import AgentState

__all__ = ["StateMethods"]

logger = logging.getLogger(__name__)


class StateMethods:
    """Mixin of :class:`~kaizen_core.agents.BaseAgent`: the documented state and interrupt calls on the agent."""

    agent_id: str
    #: The state :meth:`restore_state` put the agent in (None: never restored).
    _restored_state: AgentState | None = None

    if TYPE_CHECKING:

        @property
        def interrupt_manager(self) -> InterruptManager: ...

    # --- interrupts -------------------------------------------------------------------------
    @property
    def _interrupt_manager(self) -> InterruptManager:
        """The original documentation's name of :attr:`interrupt_manager`."""
        return self.interrupt_manager

    def interrupt(
        self,
        message: str = "",
        mode: InterruptMode | str = "graceful",
        *,
        source: InterruptSource | str | None = None,
        signal: InterruptSignal | str | None = None,
        reason: InterruptReason | str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Ask every active run of this agent to stop; returns whether any run's state changed.

        The source is PROGRAMMATIC unless ``source`` or ``signal`` says otherwise; ``reason``
        is another name of ``message`` (or a whole InterruptReason). The same call as
        ``agent.interrupt_manager.request_interrupt(...)``: with no active run nothing
        happens (an interrupt belongs to a run). Safe from any thread and from a signal
        handler. To stop one run, use its scope (see docs/interrupts.md).
        """
        return self.interrupt_manager.request_interrupt(source, mode, message, metadata, signal=signal, reason=reason)

    # --- state ------------------------------------------------------------------------------
    @property
    def state(self) -> AgentState | None:
        """A copy of the state the agent was restored to (None when it never was)."""
        restored = self._restored_state
        return restored.model_copy(deep=True) if restored is not None else None

    def restore_state(self, state: AgentState | dict[str, Any]) -> None:
        """Put the agent in ``state`` (an AgentState, e.g. from ``load_checkpoint``, or a dict of its fields).

        The agent takes ``state.agent_id``, so its next checkpoints continue that agent's
        chain, and keeps a copy of the state (:attr:`state`, :meth:`get_state`). Invalid
        input raises EXEC_001. It does not start or continue a run: an autonomous run
        saved in a checkpoint continues with ``resume_from_checkpoint(checkpoint_id)``.
        """
        from kaizen_core.state import AgentState

        restored = AgentState.coerce(state).model_copy(deep=True)
        if restored.agent_id != self.agent_id:
            logger.info("agent %s restored to a state of agent %s: it takes that id", self.agent_id, restored.agent_id)
        self.agent_id = restored.agent_id
        self._restored_state = restored

    def get_state(self) -> AgentState:
        """The agent's state, ready for ``state_manager.save_state(...)``: the restored state
        (a copy, ``updated_at`` now), or a fresh ``AgentState(agent_id=agent.agent_id)``."""
        from kaizen_core.state import AgentState
        from kaizen_core.state.agent_state import utc_now

        restored = self._restored_state
        if restored is None:
            return AgentState(agent_id=self.agent_id)
        return restored.model_copy(deep=True, update={"agent_id": self.agent_id, "updated_at": utc_now()})
