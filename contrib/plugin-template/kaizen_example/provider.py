"""EchoProvider: the smallest useful provider (answers by echoing the user)."""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from kaizen_core.providers import BaseProvider, Completion, CompletionRequest, ToolCall, Usage


class EchoProvider(BaseProvider):
    """Echo the last user message; fill string output fields with it, numbers with 1."""

    name: ClassVar[str] = "example-echo"
    default_model: ClassVar[str] = "echo-1"
    structured_output: ClassVar[str] = "native"

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        last = next((m.content or "" for m in reversed(request.messages) if m.role == "user"), "")
        calls: list[ToolCall] = []
        parsed: dict[str, Any] | None = None
        content: str | None = last
        forced = next((t for t in request.tools if t.name == request.tool_choice), None)
        if forced is not None:
            args = {k: last for k, v in forced.parameters.get("properties", {}).items() if v.get("type") == "string"}
            calls = [ToolCall(id="echo-0", name=forced.name, arguments=args)]
            content = None
        elif request.output_schema is not None:
            parsed = {
                key: (last if prop.get("type") == "string" else 1.0 if prop.get("type") == "number" else 1)
                for key, prop in request.output_schema.get("properties", {}).items()
            }
            content = json.dumps(parsed)
        words_in = sum(len((m.content or "").split()) for m in request.messages)
        usage = Usage(input_tokens=max(1, words_in), output_tokens=max(1, len((content or "x").split())), cost_usd=0.0)
        return Completion(
            content=content,
            parsed=parsed,
            tool_calls=calls,
            usage=usage,
            finish_reason="tool_calls" if calls else "stop",
            model=self.model,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
