"""Agent-level control-protocol calls: ask the user, request approval, report progress.

    protocol = ControlProtocol(CLITransport())
    agent = BaseAgent(config, signature, control_protocol=protocol)
    answer = await agent.ask_user_question("Which option?", ["A", "B", "C"])
    approved = await agent.request_approval("Delete files?", {"count": 3})
    await agent.report_progress("Processing...", percentage=50)

They go through ``agent.control_protocol`` (the one every run's ASK permission decisions
use), starting it on first use if nobody has; an agent started that way stops it in
``close()`` / ``aclose()``. An agent without a control protocol raises KAIZEN_002: nobody
could answer, and a silent default would hide the misconfiguration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kaizen_core.errors import ConfigError

if TYPE_CHECKING:
    from kaizen_core.control import ControlProtocol

__all__ = ["ControlMethods"]


class ControlMethods:
    """Mixin of :class:`~kaizen_core.agents.BaseAgent`: the documented control calls on the agent."""

    _control_protocol: ControlProtocol | None
    agent_id: str
    #: The protocol this agent started itself (outside a run), stopped by ``aclose``.
    _control_started_by_agent: ControlProtocol | None = None

    async def _started_control(self) -> ControlProtocol:
        protocol = self._control_protocol
        if protocol is None:
            raise ConfigError(
                f"agent {self.agent_id} has no control protocol to ask through",
                hint="pass control_protocol=ControlProtocol(transport) to the agent, or set agent.control_protocol",
            )
        if not protocol.started:
            await protocol.start()
            self._control_started_by_agent = protocol
        return protocol

    async def ask_user_question(
        self, question: str, options: list[str] | None = None, timeout: float | None = None
    ) -> str | None:
        """Ask the user ``question`` (multiple choice with ``options``); their answer, or None
        when none comes within ``timeout`` seconds (default: the protocol's)."""
        protocol = await self._started_control()
        return await protocol.ask_user_question(question, options, timeout=timeout)

    async def request_approval(
        self, action: str, details: dict[str, Any] | None = None, timeout: float | None = None
    ) -> bool:
        """Ask the user to approve ``action``; True only on an explicit approval within ``timeout``."""
        protocol = await self._started_control()
        return await protocol.request_approval(action, details, timeout=timeout)

    async def report_progress(self, message: str, percentage: float | None = None) -> None:
        """Tell the user how far the agent is (``percentage`` is clamped to 0..100); no answer expected."""
        protocol = await self._started_control()
        await protocol.report_progress(message, percentage)

    async def _stop_control_started_by_agent(self) -> None:
        """Stop the protocol this agent started on demand (called by ``aclose``)."""
        protocol = self._control_started_by_agent
        if protocol is not None:
            self._control_started_by_agent = None
            await protocol.stop()
