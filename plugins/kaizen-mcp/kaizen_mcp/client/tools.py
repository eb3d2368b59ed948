"""MCP tools as Kaizen :class:`~kaizen_core.tools.Tool` objects (``mcp__<server>__<tool>``).

An :class:`MCPTool` is an ordinary agent tool: it sits in the agent's ToolRegistry, is
offered to the model with the server's JSON input schema, and every call reaches it
through ``BaseAgent.execute_tool_call`` - the permission gate, the PRE/POST_TOOL_CALL
hooks, the journal. Its danger level comes from the server's annotations:

* ``readOnlyHint`` -> ``SAFE`` (and ``read_only``: PLAN mode may run it);
* ``destructiveHint`` -> ``HIGH`` (an approval through the control protocol);
* otherwise ``MEDIUM`` (ASK in the default mode);

a server entry with ``trust_danger_meta`` (``kaizen_builtin``'s) takes the exact level a
Kaizen server puts in ``_meta["kaizen/danger_level"]``, and a ``danger_levels`` entry overrides all (annotations are hints from the
server; a server you do not trust should not be able to declare itself harmless: set
``danger_levels = {"*": "high"}`` for it).

Results: ``structuredContent`` is returned as it is (structured data: a dict, list...);
otherwise text blocks are joined into one string, and other blocks (images, resources)
are kept as their JSON form. A result with ``isError`` is a tool failure (EXEC_004) with
the server's text, which the model sees.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from kaizen_core.errors import ERROR_CODES, ToolExecutionError
from kaizen_core.tools import DangerLevel, Tool
from kaizen_mcp.client.config import MCPServerConfig, tool_name

if TYPE_CHECKING:
    from mcp_types import CallToolResult
    from mcp_types import Tool as SDKTool

    from kaizen_mcp.client.source import MCPToolSource

__all__ = ["DANGER_META_KEY", "MCPTool", "danger_of", "result_output"]

_CODE = re.compile(r"^\[([A-Z]+_\d{3})\]")

#: ``_meta`` key where a Kaizen MCP server (``kaizen mcp serve``) gives a tool's exact danger level.
DANGER_META_KEY = "kaizen/danger_level"


class _AnyArguments(BaseModel):
    """Placeholder args model: the JSON schema of an MCP tool is the server's, validated with jsonschema."""

    model_config = ConfigDict(extra="allow")


def danger_of(tool: SDKTool, config: MCPServerConfig) -> DangerLevel:
    """The danger level of a server's tool: the configured override, else from its annotations."""
    override = config.danger_override(tool.name)
    if override is not None:
        return override
    declared = (tool.meta or {}).get(DANGER_META_KEY)
    if config.trust_danger_meta and isinstance(declared, str) and declared in DangerLevel._value2member_map_:
        return DangerLevel(declared)
    hints = tool.annotations
    if hints is not None and hints.read_only_hint:
        return DangerLevel.SAFE
    if hints is not None and hints.destructive_hint:
        return DangerLevel.HIGH
    return DangerLevel.MEDIUM


class MCPTool(Tool):
    """One tool of one MCP server, called through the agent's :class:`MCPToolSource`."""

    def __init__(self, source: MCPToolSource, config: MCPServerConfig, spec: SDKTool) -> None:
        hints = spec.annotations
        read_only = bool(hints is not None and hints.read_only_hint)
        # Not Tool.__init__: that builds the schema from a Python signature; here the server gives it.
        self.fn = self._call_server
        self.server = config.name
        self.mcp_name = spec.name
        self.name = tool_name(config.name, spec.name)
        self.description = (spec.description or (hints.title if hints and hints.title else "") or spec.name).strip()
        self.danger_level = danger_of(spec, config)
        self.category = "mcp"
        self.read_only = read_only
        self.idempotent = read_only or bool(hints is not None and hints.idempotent_hint)
        self.annotations: dict[str, Any] = hints.model_dump(exclude_none=True) if hints is not None else {}
        self.output_schema: dict[str, Any] | None = spec.output_schema
        self._is_async = True
        self._wants_context = False
        self.args_model = _AnyArguments
        self.parameters: dict[str, Any] = dict(spec.input_schema or {"type": "object"})
        self.parameters.setdefault("type", "object")
        self.parameters.setdefault("properties", {})
        self._source = source

    def __repr__(self) -> str:
        return f"MCPTool(name={self.name!r}, danger_level={self.danger_level.name}, read_only={self.read_only})"

    def to_dict(self) -> dict[str, Any]:
        """The tool as listed: name, server, MCP name, description, JSON input schema, danger, annotations."""
        return {
            "name": self.name,
            "server": self.server,
            "mcp_name": self.mcp_name,
            "description": self.description,
            "input_schema": self.parameters,
            "output_schema": self.output_schema,
            "danger_level": self.danger_level.value,
            "read_only": self.read_only,
            "annotations": self.annotations,
        }

    def validate_arguments(self, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """Check ``arguments`` against the server's JSON schema (EXEC_001 via pydantic's ValidationError)."""
        import jsonschema
        from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

        args = dict(arguments or {})
        errors = sorted(jsonschema.Draft202012Validator(self.parameters).iter_errors(args), key=lambda e: list(e.path))
        if errors:
            details: list[InitErrorDetails] = [
                {
                    "type": PydanticCustomError("json_schema", "{message}", {"message": e.message[:300]}),
                    "loc": tuple(str(p) for p in e.path),
                    "input": None,
                }
                for e in errors
            ]
            raise ValidationError.from_exception_data(self.name, details)
        return args

    async def _call_server(self, **arguments: Any) -> Any:
        result = await self._source.call(self.server, self.mcp_name, arguments, repeatable=self.idempotent)
        if result.is_error:
            text = _text(result) or "no details given"
            # A Kaizen server's error text starts with its code ("[EXEC_005] path ... outside the workspace").
            code = _CODE.match(text)
            raise ToolExecutionError(
                f"MCP tool {self.name!r} failed: {text}", code=code[1] if code and code[1] in ERROR_CODES else None
            )
        return result_output(result)


def result_output(result: CallToolResult) -> Any:
    """What a successful call returns to the agent: structured content, else text, else the blocks' JSON."""
    if result.structured_content is not None:
        return result.structured_content
    blocks = result.content
    if all(getattr(b, "type", None) == "text" for b in blocks):
        return "\n".join(b.text for b in blocks)  # type: ignore[union-attr]
    return [b.model_dump(mode="json", by_alias=True, exclude_none=True) for b in blocks]


def _text(result: CallToolResult) -> str:
    return "\n".join(getattr(b, "text", "") for b in result.content if getattr(b, "type", None) == "text").strip()
