"""AgentState: everything needed to resume an agent exactly where it stopped."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kaizen_core.errors import InputValidationError

AgentStatus = Literal["running", "paused", "completed", "failed", "interrupted"]

#: Longest agent-id part of a checkpoint id: keeps ids well under every store's name limits.
_ID_AGENT_MAX = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def new_checkpoint_id(agent_id: str = "", step_number: int = 0, now: datetime | None = None) -> str:
    """A fresh, readable, unique checkpoint id: ``<agent>_step_<n>_<UTC yyyymmdd_hhmmss>_<8 hex>``.

    e.g. ``research_agent_step_10_20231025_120000_3f9a1c2e``. The agent part is the agent id
    with every character outside ``[A-Za-z0-9_-]`` replaced by ``_`` and cut to 64
    characters, so an id is one safe name in every store (file name, Redis key, S3 key)
    without escaping. Ids of one agent and step sort by time; the 32 random bits keep two
    saves in the same second apart. ``StateManager.list_checkpoints`` gives the real
    order (newest first) whatever the ids.
    """
    agent = _UNSAFE.sub("_", agent_id).strip("_")[:_ID_AGENT_MAX] or "agent"
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d_%H%M%S")
    return f"{agent}_step_{max(int(step_number), 0)}_{stamp}_{secrets.token_hex(4)}"


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _default_checkpoint_id(data: dict[str, Any]) -> str:
    return new_checkpoint_id(str(data.get("agent_id", "")), int(data.get("step_number") or 0))


class AgentState(BaseModel):
    """A snapshot of an agent run.

    Values inside the dict/list fields must be JSON-compatible (str, int, float, bool,
    None, lists and dicts with string keys): a checkpoint stores them as JSON and a
    load returns exactly what was saved. ``checkpoint_id`` is given a fresh id when the
    state is built and a new one by every save.
    """

    model_config = ConfigDict(validate_assignment=False, extra="forbid")

    agent_id: str
    step_number: int = 0
    checkpoint_id: str = Field(default_factory=_default_checkpoint_id)
    parent_checkpoint_id: str | None = None
    status: AgentStatus = "running"
    conversation_history: list[dict[str, Any]] = Field(default_factory=list)
    memory_contents: dict[str, Any] = Field(default_factory=dict)
    pending_tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    completed_tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    budget_spent_usd: float = 0.0
    custom_state: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    @classmethod
    def coerce(cls, value: Any, *, what: str = "state") -> AgentState:
        """``value`` as an AgentState: an AgentState passes, a mapping is validated.

        Anything else, or a mapping that is not a valid AgentState, raises
        :class:`~kaizen_core.errors.InputValidationError` (EXEC_001) naming the fields.
        """
        if isinstance(value, AgentState):
            return value
        if not isinstance(value, Mapping):
            raise InputValidationError(
                f"{what} must be an AgentState or a dict of its fields, not {type(value).__name__}",
                hint="build one with AgentState(agent_id=..., ...) or load it with state_manager.load_checkpoint(id)",
            )
        try:
            return cls.model_validate(dict(value))
        except ValidationError as exc:
            fields = [".".join(str(p) for p in e["loc"]) or "(root)" for e in exc.errors(include_url=False)]
            raise InputValidationError(
                f"{what} is not a valid AgentState: "
                + "; ".join(f"{f}: {e['msg']}" for f, e in zip(fields, exc.errors(include_url=False), strict=True)),
                hint=f"fix the field(s) {', '.join(fields)}",
                details={"fields": fields},
            ) from None


#: A cached dump: (message, what its ``__dict__`` must equal, [(tool call, what its ``__dict__``
#: must equal)], the dump). The message is None when it cannot be cached.
_Entry = tuple[BaseModel | None, dict[str, Any], list[tuple[BaseModel, dict[str, Any]]], dict[str, Any]]


class MessageDumps:
    """The checkpoint form of a run's messages, each kept until its message changes.

    ``dumps.dump(run.messages)`` equals ``[m.model_dump(exclude_none=True) for m in messages]``,
    but a message dumped by an earlier call is serialised again only when it changed: its
    dump is reused while the list holds the same object and the object's fields still equal
    the dump's own copy of them (``model_dump`` copies every list and dict). So a message
    replaced in the list, or edited in place at any depth (its content, a tool call's
    arguments, ``provider_data``), is saved as it is now; an unchanged one costs one compare
    of plain values, not a serialisation. Equality is Python's, as in the checkpoint diff
    (a value replaced by an equal one of another type, ``1`` by ``1.0``, is unchanged there too).

    A message whose fields do not compare equal to their dump (a nested model other than a
    list of flat ones such as tool calls, extra fields) is dumped every time. The returned
    dicts are shared between calls: read-only. Messages no longer in the list are forgotten
    on each call.
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        # Keyed by id(message); the entry holds the message, so its id is not reused meanwhile.
        self._entries: dict[int, _Entry] = {}

    def dump(self, messages: list[Any]) -> list[dict[str, Any]]:
        """The dumps of ``messages`` (pydantic models), in order."""
        entries = self._entries
        kept: dict[int, _Entry] = {}
        out: list[dict[str, Any]] = []
        for message in messages:
            key = id(message)
            entry = kept.get(key) or entries.get(key)
            if entry is None or not _unchanged(message, entry):
                entry = _entry(message)
            kept[key] = entry
            out.append(entry[3])
        self._entries = kept
        return out


def _unchanged(message: BaseModel, entry: _Entry) -> bool:
    if entry[0] is not message or message.__dict__ != entry[1]:
        return False
    for model, fields in entry[2]:  # a loop, not all(...): most messages have no tool calls
        if model.__dict__ != fields:
            return False
    return True


def _entry(message: BaseModel) -> _Entry:
    """``message``'s dump and what its fields must equal for the dump to be reused.

    ``full`` (``model_dump()``) is a deep copy of the fields with models as dicts. A field
    holding a list of models (the tool calls) is compared as the list of those very models
    (identity: cheap) plus each model's fields against its dict in ``full``. The dump without
    None fields is ``full`` filtered at both levels: what ``exclude_none=True`` gives when the
    entry checks out (no other nested models, whose None fields would hide deeper).
    """
    full = message.model_dump()
    shadow = dict(full)
    nested: list[tuple[BaseModel, dict[str, Any]]] = []
    for name, value in message.__dict__.items():
        if type(value) is list and value and all(isinstance(item, BaseModel) for item in value):
            shadow[name] = list(value)
            nested.extend(zip(value, full[name], strict=True))
    cacheable = _unchanged(message, (message, shadow, nested, full)) and not message.__pydantic_extra__
    if not cacheable:
        return (None, shadow, nested, message.model_dump(exclude_none=True))
    dump = {
        name: [{k: v for k, v in item.items() if v is not None} for item in value]
        if type(shadow[name]) is list and shadow[name] is not value and value
        else value
        for name, value in full.items()
        if value is not None
    }
    return (message, shadow, nested, dump)
