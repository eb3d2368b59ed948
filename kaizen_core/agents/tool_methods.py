"""Agent-level tool methods: ``discover_tools``, ``execute_tool``, ``execute_tool_chain``.

    agent = BaseAgent(config, signature, tools="all")
    file_tools = await agent.discover_tools(category="file")
    result = await agent.execute_tool("read_file", {"path": "data.txt"})
    results = await agent.execute_tool_chain([
        {"tool_name": "read_file", "params": {"path": "input.txt"}},
        {"tool_name": "write_file", "params": {"path": "output.txt", "content": "..."}},
    ])

A direct call is an agent path to a tool, so it takes the one path every tool call of
the agent takes: :meth:`BaseAgent.execute_tool_call` (unknown tool -> permission gate ->
PRE_TOOL_CALL -> the tool -> POST_TOOL_CALL). A tool the gate does not allow does not
run: a HIGH tool (``delete_file``, ``bash_command``) needs an approval through the agent's
control protocol, as in the tool loop (the agent starts its control protocol for that if
nobody has). Each call is its own small run (fresh run id, the agent's permission context
and budget), outside any task: no model is asked.

The outcome is a :class:`~kaizen_core.tools.ToolResult` and never an exception for a
tool-level failure: ``success``, ``output`` (what the tool returned), ``error`` and
``error_code`` (EXEC_001 unknown tool or invalid arguments, EXEC_004 the tool failed,
EXEC_005 permission denied or blocked by a hook).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from kaizen_core.agents.run import AgentRun
from kaizen_core.providers.types import ToolCall

# kaizen_core.tools loads with the first tool (an agent without tools never imports it)
if TYPE_CHECKING:
    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.tools import DangerLevel, Tool, ToolRegistry
    from kaizen_core.tools.tool import ToolResult

__all__ = ["CapturesToolResults", "DirectToolRun", "ToolMethods"]


class CapturesToolResults:
    """Mixin for the run of a direct tool call: keeps the :class:`ToolResult` the tool returned.

    The agent runs a permitted call as ``run.guard(registry.execute, name, arguments)``
    (``BaseAgent._invoke_tool``); the tool loop only needs the message made from it, a
    direct caller wants the result itself (``output`` as the tool returned it).
    """

    async def guard(self, fn: Any, *args: Any, side_effect_free: bool = False) -> Any:
        result = await super().guard(fn, *args, side_effect_free=side_effect_free)  # type: ignore[misc]
        from kaizen_core.tools.tool import ToolResult

        if isinstance(result, ToolResult):
            self.__dict__.setdefault("captured_results", []).append(result)
        return result

    @property
    def captured(self) -> list[ToolResult]:
        """The tool results of this run, in order."""
        return list(self.__dict__.get("captured_results", []))


class DirectToolRun(CapturesToolResults, AgentRun):
    """The run of one ``agent.execute_tool`` call on a :class:`BaseAgent`."""


class ToolMethods:
    """The documented tool methods of every agent (a base of :class:`BaseAgent`)."""

    tools: ToolRegistry | None

    def _tool_run(self) -> AgentRun:
        """A run for a direct tool call (the autonomous agent returns its own run type)."""
        return DirectToolRun(agent=cast("BaseAgent", self), run_id=uuid.uuid4().hex, inputs={}, messages=[])

    async def discover_tools(
        self,
        category: str | None = None,
        *,
        danger_level: DangerLevel | str | None = None,
        keyword: str | None = None,
    ) -> list[Tool]:
        """The agent's tools, sorted by name: by ``category`` (``"file"``, ``"http"``, ``"bash"``,
        ``"web"`` or a custom one), at most ``danger_level``, or matching ``keyword``.

        An agent without tools has none (``[]``). The tools of the agent's MCP servers are
        listed first (``mcp_servers``: this starts the servers, once).
        """
        await cast("BaseAgent", self)._connect_mcp()
        if self.tools is None:
            return []
        return self.tools.discover(category, danger_level=danger_level, keyword=keyword)

    async def execute_tool(
        self,
        tool_name: str,
        params: Mapping[str, Any] | None = None,
    ) -> ToolResult:
        """Run one of the agent's tools through its permission gate and hooks (see the module docstring)."""
        return await _execute(cast("BaseAgent", self), self._tool_run(), tool_name, dict(params or {}))

    async def execute_tool_chain(
        self,
        steps: Sequence[Mapping[str, Any] | tuple[str, dict[str, Any]]],
        *,
        stop_on_error: bool = True,
    ) -> list[ToolResult]:
        """Run steps in order, each as :meth:`execute_tool` (each passes the permission gate).

        A step is ``{"tool_name": ..., "params": {...}}`` (``"name"``/``"arguments"`` and
        ``(name, params)`` tuples work too). Stops after the first step that does not
        succeed (a denied one included) unless ``stop_on_error=False``; the list then holds
        the results up to and including that step.
        """
        from kaizen_core.tools.registry import chain_step

        parsed = [chain_step(step) for step in steps]  # a malformed step fails before any runs
        results: list[ToolResult] = []
        for name, params in parsed:
            result = await _execute(cast("BaseAgent", self), self._tool_run(), name, params)
            results.append(result)
            if stop_on_error and not result.success:
                break
        return results


async def _execute(agent: BaseAgent, run: AgentRun, name: str, params: dict[str, Any]) -> ToolResult:
    from kaizen_core.tools.tool import ToolResult

    await agent._connect_mcp()  # the MCP servers' tools are the agent's tools too (listed once)
    if agent.control_protocol is not None and not agent.control_protocol.started:
        # An ASK decision becomes an approval request: the protocol must be running (the
        # agent stops a protocol it started in close() / aclose(), see control_methods.py).
        await agent._started_control()
    call = ToolCall(id=f"direct-{uuid.uuid4().hex[:12]}", name=name, arguments=params)
    message = await agent.execute_tool_call(run, call)
    captured = run.captured if isinstance(run, CapturesToolResults) else []
    if captured:
        return captured[-1]
    # The tool did not run (unknown, denied, blocked by a hook, outcome unknown): the
    # message the model would get says why.
    record: dict[str, Any] = next((r for r in reversed(run.tool_calls) if r["id"] == call.id), {})
    error, code = _error_of(message.content)
    return ToolResult(
        success=False,
        tool_name=name,
        error=error or f"tool call {record.get('outcome', 'failed')}",
        error_code=code or record.get("error_code"),
    )


def _error_of(content: str | None) -> tuple[str | None, str | None]:
    try:
        data = json.loads(content or "")
    except ValueError:
        return content, None
    if isinstance(data, dict):
        return data.get("error"), data.get("error_code")
    return content, None
