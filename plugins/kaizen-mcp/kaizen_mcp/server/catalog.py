"""What ``kaizen mcp serve`` offers: Kaizen tools and agents as MCP tools, run through the gate.

The server's catalog is one :class:`~kaizen_core.tools.ToolRegistry` owned by a *host agent*
(:func:`build_host`): the built-in tools, plus one :class:`AgentTool` per served agent. Every
``tools/call`` is ``host.execute_tool(name, arguments)``, the path every direct tool call of
an agent takes (unknown tool -> permission gate -> PRE_TOOL_CALL -> the tool -> POST_TOOL_CALL),
so the gate, the hooks, the workspace confinement and the HTTP egress policy apply exactly
as they do inside an agent. The host agent's model is never asked.

A server has nobody to ask for an approval: the host agent has no control protocol, so a
decision of ASK (MEDIUM and higher tools, by default) is a denial, unless the
:class:`ServerPolicy` says otherwise (``allowed_tools``, ``permission_rules``,
``permission_mode`` or ``approve="always"``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import to_jsonable_python

from kaizen_core.agent_loader import load_toml_table
from kaizen_core.errors import ConfigError
from kaizen_core.permissions import PermissionRule
from kaizen_core.redaction import redact
from kaizen_core.tools import DangerLevel, Tool, ToolContext, ToolRegistry, ToolResult

if TYPE_CHECKING:
    import mcp_types

    from kaizen_core.agents.base import BaseAgent

__all__ = [
    "DANGER_META_KEY",
    "RUN_META_KEY",
    "AgentTool",
    "ServerPolicy",
    "build_host",
    "error_result",
    "mcp_tool",
    "to_call_result",
    "tool_annotations",
]

#: ``_meta`` key of a listed tool carrying its Kaizen danger level (``"safe"`` .. ``"critical"``).
DANGER_META_KEY = "kaizen/danger_level"
#: ``_meta`` key of an agent tool's result carrying the run (run id, agent id, model, provider, usage).
RUN_META_KEY = "kaizen/run"

#: MCP tool names: 1-128 characters of letters, digits, ``_``, ``-`` and ``.``.
_TOOL_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
#: Priority of the catch-all rule ``approve="always"`` adds: below every rule a user writes.
_APPROVE_ALL_PRIORITY = -(10**9)


class ServerPolicy(BaseModel):
    """Who may call what on the server; the permission fields of an agent config, plus ``approve``.

    ``approve``: what an ASK decision (a MEDIUM+ tool no list or rule covers) becomes:
    ``"never"`` (default) denies it, as a run without a control protocol does;
    ``"always"`` adds a lowest-priority rule allowing every tool, so denied tools, PLAN
    mode, budgets and the user's own rules still win. ``hooks``: lifecycle hooks of the
    host agent (``["audit"]`` records every call and decision of the server), each given
    ``hook_timeout`` seconds per event (the audit hook has no limit: no call runs before its
    record is written).
    Unknown fields and invalid rules are refused when the policy is made (pydantic's
    ValidationError; KAIZEN_002 from :meth:`from_toml`).
    """

    model_config = ConfigDict(extra="forbid")

    permission_mode: Literal["default", "accept_edits", "plan", "bypass"] = "default"
    approve: Literal["never", "always"] = "never"
    allowed_tools: list[str] | None = None
    denied_tools: list[str] | None = None
    permission_rules: list[dict[str, Any]] = Field(default_factory=list)
    hooks: list[str | dict[str, Any]] = Field(default_factory=list)
    hook_timeout: float = Field(default=5.0, gt=0, description="seconds each hook may take per event")

    @field_validator("permission_rules")
    @classmethod
    def _valid_rules(cls, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for rule in rules:
            PermissionRule(**rule)  # an invalid pattern or type fails here, not at the first call
        return rules

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> ServerPolicy:
        """The ``[policy]`` table of a TOML file (``kaizen mcp serve --policy FILE``); KAIZEN_002 when invalid."""
        shown = os.fspath(path)
        table = load_toml_table(path, "policy")
        try:
            return cls.model_validate(table)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'policy'}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"policy file {shown!r}: {problems}") from exc

    def rules(self) -> list[dict[str, Any]]:
        """The permission rules of the host agent (``approve="always"`` appends its catch-all)."""
        rules = list(self.permission_rules)
        if self.approve == "always":
            rules.append(
                {
                    "pattern": ".*",
                    "permission_type": "allow",
                    "reason": "approved by the server policy (approve='always')",
                    "priority": _APPROVE_ALL_PRIORITY,
                }
            )
        return rules


class AgentTool(Tool):
    """A served agent as one tool: arguments are the signature's inputs, the output its typed result.

    Arguments are validated with the signature's input model (unknown fields refused,
    EXEC_001) before the agent runs; the output is the agent's output fields plus
    ``_meta`` (run id, agent id, model, provider, usage, and its tool calls' name, outcome
    and error code), which :func:`to_call_result` moves to the MCP result's ``_meta``.
    Danger level LOW, not read-only: the agent's own tool calls pass the agent's own gate.
    """

    def __init__(self, name: str, agent: BaseAgent, *, danger_level: DangerLevel = DangerLevel.LOW) -> None:
        async def run_agent(**inputs: Any) -> dict[str, Any]:
            result = await agent.run_async(**inputs)
            meta = result.get("_meta", {})
            outputs = {field: result.get(field) for field in agent.signature.output_fields()}
            kept = {k: meta.get(k) for k in ("run_id", "agent_id", "model", "provider", "usage") if k in meta}
            if meta.get("tool_calls"):  # what the agent did, without the arguments
                kept["tool_calls"] = [
                    {k: call.get(k) for k in ("name", "outcome", "error_code") if k in call}
                    for call in meta["tool_calls"]
                ]
            return {**to_jsonable_python(outputs, fallback=str), "_meta": kept}

        signature = agent.signature
        description = _agent_description(agent)
        super().__init__(run_agent, name=name, description=description, danger_level=danger_level, category="agent")
        self.agent = agent
        self.args_model = signature.input_model()
        self.parameters = _clean_schema(self.args_model.model_json_schema())
        self.output_schema: dict[str, Any] = _clean_schema(dict(signature.output_schema()))


def _agent_description(agent: BaseAgent) -> str:
    capability = getattr(agent, "capability", None)
    if isinstance(capability, str) and capability.strip():
        return capability.strip()
    return agent.signature.instructions() or f"Kaizen agent {agent.agent_id}: {agent.signature!r}"


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema of an object, without pydantic's top-level title."""
    schema = dict(schema)
    schema.pop("title", None)
    schema["type"] = "object"
    schema.setdefault("properties", {})
    return schema


def build_host(
    agents: Mapping[str, BaseAgent] | None = None,
    *,
    builtin: bool = True,
    context: ToolContext | None = None,
    policy: ServerPolicy | None = None,
) -> BaseAgent:
    """The host agent whose registry is the server's catalog (see the module docstring).

    Raises KAIZEN_002 for an agent name that is not a valid MCP tool name or that
    collides with a built-in tool or another agent, and for ``allowed_tools`` /
    ``denied_tools`` naming a tool the server does not have.
    """
    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.config import BaseAgentConfig
    from kaizen_core.tools.builtin import register_builtin_tools

    policy = policy or ServerPolicy()
    registry = ToolRegistry(context=context or ToolContext())
    if builtin:
        register_builtin_tools(registry)
    for name, agent in (agents or {}).items():
        if not _TOOL_NAME.fullmatch(name):
            raise ConfigError(
                f"agent name {name!r} is not a valid MCP tool name",
                hint="use 1-128 letters, digits, '_', '-' or '.' (set id = \"...\" in [agent])",
            )
        if name in registry:
            raise ConfigError(f"agent name {name!r} is already a tool of this server", hint="give the agent another id")
        registry.register(AgentTool(name, agent))
    for field in ("allowed_tools", "denied_tools"):
        unknown = sorted(set(getattr(policy, field) or ()) - set(registry.names()))
        if unknown:  # most likely a typo, which would silently allow or deny nothing
            raise ConfigError(
                f"{field} names tools this server does not have: {', '.join(unknown)}",
                hint=f"its tools: {', '.join(registry.names())}",
            )
    config = BaseAgentConfig(
        llm_provider="mock",  # never called: the host agent only runs direct tool calls
        permission_mode=policy.permission_mode,
        allowed_tools=policy.allowed_tools,
        denied_tools=policy.denied_tools,
        permission_rules=policy.rules(),
        hooks=policy.hooks,
        hook_timeout=policy.hook_timeout,
    )
    return BaseAgent(config, "request -> response", tools=registry, agent_id="kaizen-mcp-server")


def tool_annotations(tool: Tool) -> mcp_types.ToolAnnotations:
    """MCP hints from the danger level: read-only tools ``readOnlyHint``, HIGH and above ``destructiveHint``.

    ``destructiveHint`` is always given (its MCP default is true), ``openWorldHint`` for the
    HTTP, web and agent tools, ``idempotentHint`` from the tool's ``idempotent`` flag.
    """
    import mcp_types

    read_only = bool(tool.read_only)
    return mcp_types.ToolAnnotations(
        title=tool.name.replace("_", " "),
        read_only_hint=read_only,
        destructive_hint=not read_only and tool.danger_level >= DangerLevel.HIGH,
        idempotent_hint=bool(tool.idempotent),
        open_world_hint=tool.category in ("http", "web", "agent"),
    )


def mcp_tool(tool: Tool) -> mcp_types.Tool:
    """The ``tools/list`` entry of ``tool``: name, description, input (and agent output) schema, hints."""
    import mcp_types

    return mcp_types.Tool(
        name=tool.name,
        description=tool.description,
        input_schema=tool.parameters,
        output_schema=getattr(tool, "output_schema", None),
        annotations=tool_annotations(tool),
        _meta={DANGER_META_KEY: tool.danger_level.value},
    )


def to_call_result(result: ToolResult) -> mcp_types.CallToolResult:
    """A Kaizen tool result as an MCP one: the output as structured content (objects) and text.

    A failure is an error result (``isError``) with the Kaizen code (:func:`error_result`).
    Text and structured content pass :func:`~kaizen_core.redaction.redact`.
    """
    import mcp_types

    if not result.success:
        return error_result(result.error_code or "EXEC_004", result.error or "tool failed")
    output = result.output
    meta: dict[str, Any] | None = None
    if isinstance(output, dict) and "_meta" in output:
        output = {k: v for k, v in output.items() if k != "_meta"}
        meta = {RUN_META_KEY: _redact_value(to_jsonable_python(result.output["_meta"], fallback=str))}
    structured = _redact_value(to_jsonable_python(output, fallback=str)) if isinstance(output, dict) else None
    text = result.to_content() if meta is None else redact(json.dumps(structured, default=str))
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=text)], structured_content=structured, _meta=meta
    )


def error_result(code: str, message: str) -> mcp_types.CallToolResult:
    """An MCP tool error: text ``"[CODE] message"`` and structured ``{"error", "error_code"}`` (redacted)."""
    import mcp_types

    message = redact(message)
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=f"[{code}] {message}")],
        structured_content={"error": message, "error_code": code},
        is_error=True,
    )


def _redact_value(value: Any) -> Any:
    """``value`` (JSON data) with every string passed through :func:`redact`."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    return value
