"""Control-protocol messages (pydantic): requests from the agent, responses from the client."""

from __future__ import annotations

import json
import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

__all__ = ["ControlMessage", "ControlRequest", "ControlResponse", "RequestType", "parse_message"]

RequestType = Literal["question", "approval", "progress", "notification"]


class ControlRequest(BaseModel):
    """Agent -> client. ``expects_response`` is False for progress and notifications."""

    type: Literal["request"] = "request"
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    request_type: RequestType
    data: dict[str, Any] = Field(default_factory=dict)
    expects_response: bool = True
    timestamp: float = Field(default_factory=time.time)


class ControlResponse(BaseModel):
    """Client -> agent, answering the request whose id is ``request_id``."""

    type: Literal["response"] = "response"
    request_id: str
    data: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    timestamp: float = Field(default_factory=time.time)


ControlMessage = Annotated[ControlRequest | ControlResponse, Field(discriminator="type")]
_ADAPTER: TypeAdapter[ControlRequest | ControlResponse] = TypeAdapter(ControlMessage)


def parse_message(raw: str | bytes | dict[str, Any]) -> ControlRequest | ControlResponse | None:
    """Parse one message (JSON text or dict); None when it is not a valid control message."""
    try:
        value = json.loads(raw) if isinstance(raw, str | bytes) else raw
        return _ADAPTER.validate_python(value)
    except (ValueError, ValidationError):
        return None
