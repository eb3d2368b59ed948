"""Tool, ToolResult, ToolContext, DangerLevel and the ``@tool`` decorator.

A :class:`Tool` wraps a typed (sync or async) function. Its parameters' JSON schema
is built by pydantic from the type hints; arguments coming from a model are validated
with the same pydantic model before the function runs. :meth:`Tool.execute` never
raises for a tool error: it returns a :class:`ToolResult` with ``success=False`` and
an error code: :class:`~kaizen_core.errors.InputValidationError`'s for invalid
arguments, :class:`~kaizen_core.errors.ToolExecutionError`'s when the tool failed or
passed ``ToolContext.tool_timeout``, or the code of the
:class:`~kaizen_core.errors.KaizenError` the tool raised. A timed-out call returns at
the deadline; see :meth:`Tool._call` for what happens to a sync tool's thread.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any, get_type_hints

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from kaizen_core._factories import new_list
from kaizen_core.errors import InputValidationError, KaizenError, ToolExecutionError
from kaizen_core.providers.types import ToolDefinition
from kaizen_core.redaction import redact

__all__ = [
    "DEFAULT_ALLOWED_COMMANDS",
    "DEFAULT_ENV_PASSTHROUGH",
    "DangerLevel",
    "Tool",
    "ToolContext",
    "ToolResult",
    "tool",
]


class DangerLevel(StrEnum):
    """How much harm a tool can do; drives the default permission decision."""

    SAFE = "safe"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 (SAFE) .. 4 (CRITICAL), for comparisons."""
        return _RANK[self]

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, DangerLevel):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, DangerLevel):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, DangerLevel):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, DangerLevel):
            return NotImplemented
        return self.rank < other.rank


_RANK = {DangerLevel.SAFE: 0, DangerLevel.LOW: 1, DangerLevel.MEDIUM: 2, DangerLevel.HIGH: 3, DangerLevel.CRITICAL: 4}


#: programs ``bash_command`` runs when ``ToolContext.allowed_commands`` is not given: utilities
#: that read or summarise files and never start another program, open a shell, or create
#: links. Shells, interpreters and program launchers (sh, bash, python, perl, node, env,
#: xargs, find, sudo, nice, timeout, git, make, sort (its --compress-program), sed (its
#: ``e`` command), awk (``system()``), tar, ln...) are deliberately absent: any one of them
#: runs arbitrary code and makes every other restriction moot. (``date`` is absent too:
#: ``date -s`` sets the clock when the agent runs as root.)
DEFAULT_ALLOWED_COMMANDS: tuple[str, ...] = (
    "basename", "cat", "cmp", "comm", "cut", "diff", "dirname", "du", "echo", "expand", "false",
    "file", "fold", "grep", "head", "id", "ls", "md5sum", "nl", "od", "paste", "printf", "pwd", "readlink",
    "realpath", "rev", "seq", "sha1sum", "sha256sum", "sha512sum", "stat", "tac", "tail", "tr", "tree",
    "true", "uname", "uniq", "wc", "whoami",
)  # fmt: skip

#: parent environment variables every ``bash_command`` child receives (when set)
DEFAULT_ENV_PASSTHROUGH: tuple[str, ...] = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


class ToolContext(BaseModel):
    """Limits and environment the built-in tools read at run time.

    ``workspace_root``: file tools and ``bash_command`` are confined to it (default:
    the current directory when the context is created). ``allowed_commands``,
    ``env_passthrough`` and ``env`` shape ``bash_command``; ``allowed_hosts`` opts
    internal hosts in for the HTTP and web tools. docs/tools.md says exactly what each
    protects against.
    """

    model_config = ConfigDict(defer_build=True, arbitrary_types_allowed=True)

    workspace_root: Path = Field(default_factory=Path.cwd)
    tool_timeout: float | None = Field(
        default=None, gt=0, description="seconds for any tool call; at the deadline the call returns its error"
    )
    command_timeout: float = Field(default=30.0, gt=0, description="bash_command timeout in seconds")
    http_timeout: float = Field(default=15.0, gt=0, description="HTTP tools timeout in seconds (per request hop)")
    max_output_chars: int = Field(default=64_000, gt=0, description="cap on command output per stream")
    max_response_bytes: int = Field(default=1_000_000, gt=0, description="cap on an HTTP response body")
    max_file_bytes: int = Field(default=5_000_000, gt=0, description="largest file read_file returns")
    allowed_commands: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_COMMANDS),
        description="programs bash_command may run: names looked up on PATH, or absolute paths",
    )
    env_passthrough: list[str] = Field(
        default_factory=new_list, description="more parent environment variables bash_command children receive"
    )
    env: dict[str, str] | None = Field(
        default=None, description="variables set for bash_command children, on top of the scrubbed environment"
    )
    allowed_hosts: list[str] = Field(
        default_factory=new_list,
        description='hosts the HTTP tools may reach even if they resolve to internal addresses: "host" or "host:port"',
    )
    max_redirects: int = Field(default=5, ge=0, description="redirect hops the HTTP tools follow, each one checked")


class ToolResult(BaseModel):
    """The outcome of one tool call. ``output`` is JSON-serializable on success."""

    model_config = ConfigDict(defer_build=True)  # built on first use: not on the import path

    success: bool
    output: Any = None
    error: str | None = None
    error_code: str | None = None
    tool_name: str = ""
    duration_ms: float = 0.0

    def to_content(self) -> str:
        """The text fed back to the model as the tool message, with secrets redacted.

        This text is what the model sees and what journals and checkpoints store, so it
        goes through :func:`~kaizen_core.redaction.redact`: the process's known secrets
        (registered ones, secret environment variables, URL passwords) and secret-shaped
        text are replaced by ``***``. ``output`` itself is left as the tool returned it.
        """
        if not self.success:
            text = json.dumps({"error": self.error, "error_code": self.error_code})
        elif isinstance(self.output, str):
            text = self.output
        else:
            text = json.dumps(self.output, default=str)
        return redact(text)


class Tool:
    """A callable the model may invoke.

    Build one with :func:`tool`, or directly: ``Tool(fn, name=..., danger_level=...)``.
    If ``fn`` has a parameter named ``context`` it receives the :class:`ToolContext`
    (and that parameter is not part of the schema).

    ``danger_level`` defaults to ``LOW``: a tool the user put on the agent runs without
    approval in the default permission mode, but is not assumed harmless. ``read_only``
    (default False) declares that the tool changes nothing - no file, no remote state;
    PLAN mode runs only read-only tools.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        danger_level: DangerLevel = DangerLevel.LOW,
        category: str = "custom",
        idempotent: bool = False,
        read_only: bool = False,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self.description = (description if description is not None else inspect.getdoc(fn) or "").strip()
        self.danger_level = DangerLevel(danger_level)
        self.category = category
        self.idempotent = idempotent
        self.read_only = read_only
        self._is_async = inspect.iscoroutinefunction(fn)
        self.args_model, self._wants_context = _build_args_model(fn, self.name)
        self.parameters: dict[str, Any] = _clean_schema(self.args_model.model_json_schema())

    def __repr__(self) -> str:
        return (
            f"Tool(name={self.name!r}, danger_level={self.danger_level.name}, category={self.category!r}, "
            f"read_only={self.read_only})"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped function directly (no validation)."""
        return self.fn(*args, **kwargs)

    def to_definition(self) -> ToolDefinition:
        """The provider-facing definition (name, description, JSON schema)."""
        return ToolDefinition(name=self.name, description=self.description, parameters=self.parameters)

    def validate_arguments(self, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """Validate ``arguments``; raises pydantic's ValidationError."""
        model = self.args_model.model_validate(arguments or {})
        return {k: getattr(model, k) for k in type(model).model_fields}

    async def execute(self, arguments: dict[str, Any] | None = None, *, context: ToolContext | None = None) -> ToolResult:
        """Validate and run. Never raises for tool errors; see the module docstring."""
        start = time.perf_counter()

        def done(**kw: Any) -> ToolResult:
            return ToolResult(tool_name=self.name, duration_ms=(time.perf_counter() - start) * 1000, **kw)

        if arguments is not None and not isinstance(arguments, dict):
            return done(
                success=False,
                error=f"arguments for {self.name!r} must be a JSON object",
                error_code=InputValidationError.code,
            )
        try:
            kwargs = self.validate_arguments(arguments)
        except ValidationError as exc:
            return done(success=False, error=_format_validation(self.name, exc), error_code=InputValidationError.code)
        ctx = context or ToolContext()
        if self._wants_context:
            kwargs["context"] = ctx
        try:
            with anyio.fail_after(ctx.tool_timeout):
                output = await self._call(kwargs)
        except TimeoutError:
            return done(
                success=False,
                error=f"tool {self.name!r} timed out after {ctx.tool_timeout}s",
                error_code=ToolExecutionError.code,
            )
        except KaizenError as exc:  # the hint tells the model what to do instead
            error = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
            return done(success=False, error=error, error_code=exc.code)
        except Exception as exc:
            message = redact(f"{type(exc).__name__}: {exc}")
            return done(
                success=False, error=f"tool {self.name!r} failed: {message}", error_code=ToolExecutionError.code
            )
        return done(success=True, output=output)

    async def _call(self, kwargs: dict[str, Any]) -> Any:
        if self._is_async:
            return await self.fn(**kwargs)
        # A sync tool runs in a worker thread. On timeout or cancellation the call returns
        # at once and the thread is abandoned: Python cannot kill a thread, so it runs the
        # function to completion and its result (or exception) is discarded.
        return await anyio.to_thread.run_sync(lambda: self.fn(**kwargs), abandon_on_cancel=True)


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    danger_level: DangerLevel = DangerLevel.LOW,
    category: str = "custom",
    idempotent: bool = False,
    read_only: bool = False,
) -> Any:
    """Turn a typed function into a :class:`Tool` (``@tool`` or ``@tool(danger_level=..., read_only=...)``).

    The description is the docstring; the parameters' JSON schema comes from the type
    hints and defaults. Defaults: ``danger_level=LOW``, ``read_only=False`` (see :class:`Tool`).
    """

    def wrap(f: Callable[..., Any]) -> Tool:
        return Tool(
            f,
            name=name,
            description=description,
            danger_level=danger_level,
            category=category,
            idempotent=idempotent,
            read_only=read_only,
        )

    if fn is not None:
        return wrap(fn)
    return wrap


def _build_args_model(fn: Callable[..., Any], name: str) -> tuple[type[BaseModel], bool]:
    sig = inspect.signature(fn)
    try:
        hints = get_type_hints(fn, include_extras=True)  # keep Annotated[..., Field(description=...)]
    except Exception:  # unresolvable forward refs: fall back to the raw annotations
        hints = {}
    fields: dict[str, Any] = {}
    wants_context = False
    for pname, param in sig.parameters.items():
        if pname == "context":
            wants_context = True
            continue
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(pname, param.annotation)
        if annotation is inspect.Parameter.empty:
            annotation = Any
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[pname] = (annotation, default)
    model_name = "".join(part.capitalize() for part in name.replace("-", "_").split("_")) + "Arguments"
    model = create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)
    return model, wants_context


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict):
            prop.pop("title", None)
    schema.setdefault("properties", {})
    schema["type"] = "object"
    return schema


def _format_validation(name: str, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        problems.append(f"{loc}: {err.get('msg')}")
    return f"invalid arguments for tool {name!r}: " + "; ".join(problems)
