"""PermissionGate: the one place that decides whether a tool call may run.

Every tool call of every agent passes :meth:`PermissionGate.authorize`:
``BaseAgent``'s tool loop, the autonomous loop, and (through them) pipelines and MCP
tools. No agent path calls :meth:`kaizen_core.tools.Tool.execute` without it.

One authorization:

1. fires ``PRE_PERMISSION_CHECK`` (tool, arguments, danger level);
2. asks the run's :class:`ExecutionContext` (mode, budget, lists, rules, danger
   level; see :mod:`kaizen_core.permissions.policy` for the order);
3. an ASK goes to the agent's control protocol as an approval request (the tool,
   its arguments, its danger level and the rule that asked); no control protocol,
   a refusal or no answer within ``approval_timeout`` means DENY;
4. records the decision on the run (``result["permission_decisions"]``) and fires
   ``POST_PERMISSION_CHECK`` with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from kaizen_core.permissions.policy import PermissionType

if TYPE_CHECKING:
    from kaizen_core.agents.run import AgentRun
    from kaizen_core.control import ControlProtocol
    from kaizen_core.providers.types import ToolCall
    from kaizen_core.tools import Tool

__all__ = ["GateDecision", "PermissionGate"]


class GateDecision(BaseModel):
    """The final word on one call (after any approval). Truthy when the call may run."""

    cycle: int
    call_id: str
    tool: str
    decision: PermissionType
    initial_decision: PermissionType
    source: str
    reason: str

    def __bool__(self) -> bool:
        return self.decision is PermissionType.ALLOW

    def record(self) -> dict[str, Any]:
        """The JSON form kept in the run's ``permission_decisions``."""
        return {**self.model_dump(mode="json")}


class PermissionGate:
    """Authorizes tool calls for one agent. Stateless between calls: the budget and the
    recorded decisions belong to the run (``run.execution_context``, ``run.permission_decisions``).

    Args:
        control_protocol: where ASK decisions become approval requests (None: ASK means DENY).
        approval_timeout: seconds to wait for an approval before denying.
    """

    def __init__(self, control_protocol: ControlProtocol | None = None, approval_timeout: float = 60.0) -> None:
        self.control_protocol = control_protocol
        self.approval_timeout = approval_timeout

    async def authorize(self, run: AgentRun, call: ToolCall, tool: Tool) -> GateDecision:
        """Decide whether ``call`` of ``tool`` may run now, asking for approval when a rule says ASK."""
        level = tool.danger_level
        await run.fire(
            "pre_permission_check", step=call.id, tool=call.name, arguments=call.arguments, danger_level=level.value
        )
        initial = run.execution_context.can_use_tool(call.name, level, read_only=getattr(tool, "read_only", False))
        final, reason = initial.type, initial.reason
        if initial.type is PermissionType.ASK:
            approved = await self._ask(call, tool, initial.reason)
            final = PermissionType.ALLOW if approved else PermissionType.DENY
            if approved:
                reason = f"approved through the control protocol ({initial.reason})"
            elif self.control_protocol is None:
                reason = f"not approved: {initial.reason}; no control protocol to ask for approval"
            else:
                reason = f"not approved: {initial.reason}; approval was refused or not given in time"
        decision = GateDecision(
            cycle=run.cycle,
            call_id=call.id,
            tool=call.name,
            decision=final,
            initial_decision=initial.type,
            source=initial.source,
            reason=reason,
        )
        record = decision.record()
        run.permission_decisions.append(record)
        await run.fire("post_permission_check", step=call.id, **record)
        return decision

    async def _ask(self, call: ToolCall, tool: Tool, reason: str) -> bool:
        control = self.control_protocol
        if control is None:
            return False
        details = {"arguments": call.arguments, "danger_level": tool.danger_level.value, "reason": reason}
        return await control.request_approval(call.name, details, timeout=self.approval_timeout)
