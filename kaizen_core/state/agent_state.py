"""AgentState: everything needed to resume an agent exactly where it stopped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AgentStatus = Literal["running", "paused", "completed", "failed", "interrupted"]


def new_checkpoint_id() -> str:
    """A fresh checkpoint id (uuid4 hex)."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class AgentState(BaseModel):
    """A snapshot of an agent run.

    Values inside the dict/list fields must be JSON-compatible (str, int, float, bool,
    None, lists and dicts with string keys): a checkpoint stores them as JSON and a
    load returns exactly what was saved.
    """

    model_config = ConfigDict(validate_assignment=False, extra="forbid")

    agent_id: str
    checkpoint_id: str = Field(default_factory=new_checkpoint_id)
    parent_checkpoint_id: str | None = None
    step_number: int = 0
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
