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
