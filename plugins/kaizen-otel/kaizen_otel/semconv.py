"""The OpenTelemetry GenAI semantic-convention names kaizen-otel records, and Kaizen's own.

Spelled out here (not imported from the incubating semconv package, whose module layout
changes between releases); the values follow the GenAI conventions of schema 1.37.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    VERSION = version("kaizen-otel")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0.0.0"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"

OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_SEED = "gen_ai.request.seed"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
AGENT_NAME = "gen_ai.agent.name"
AGENT_ID = "gen_ai.agent.id"
CONVERSATION_ID = "gen_ai.conversation.id"
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
TOOL_NAME = "gen_ai.tool.name"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TOKEN_TYPE = "gen_ai.token.type"
ERROR_TYPE = "error.type"

KAIZEN_RUN_ID = "kaizen.run.id"
KAIZEN_PARENT_RUN_ID = "kaizen.parent_run.id"
KAIZEN_CHILD_RUN_ID = "kaizen.child_run.id"
KAIZEN_PIPELINE_STEP = "kaizen.pipeline.step"
KAIZEN_PIPELINE_PATTERN = "kaizen.pipeline.pattern"
KAIZEN_STATUS = "kaizen.status"
KAIZEN_ERROR_CODE = "kaizen.error.code"
KAIZEN_COST_USD = "kaizen.cost_usd"

METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration"
METRIC_COST = "kaizen.gen_ai.client.cost"

#: The bucket boundaries the conventions ask for.
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]

# Kaizen provider names -> gen_ai.provider.name values of the conventions (others pass through).
_PROVIDERS = {"google": "gcp.gemini", "gemini": "gcp.gemini", "azure": "azure.ai.openai", "bedrock": "aws.bedrock"}


def provider_name(kaizen_name: str) -> str:
    """The ``gen_ai.provider.name`` of a Kaizen provider (``"google"`` -> ``"gcp.gemini"``)."""
    return _PROVIDERS.get(kaizen_name, kaizen_name)


def _parts(message: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if message.role == "tool":
        return [{"type": "tool_call_response", "id": message.tool_call_id, "response": message.content}]
    if message.content:
        parts.append({"type": "text", "content": message.content})
    for call in message.tool_calls:
        parts.append({"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments})
    return parts


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def input_messages(messages: Sequence[Any]) -> tuple[str | None, str]:
    """``(gen_ai.system_instructions, gen_ai.input.messages)`` as JSON strings (system None when absent)."""
    system = [{"type": "text", "content": m.content} for m in messages if m.role == "system" and m.content]
    chat = [{"role": m.role, "parts": _parts(m)} for m in messages if m.role != "system"]
    return (_dumps(system) if system else None), _dumps(chat)


def output_messages(completion: Any) -> str:
    """``gen_ai.output.messages`` of a completion as a JSON string."""
    parts: list[dict[str, Any]] = []
    if completion.content:
        parts.append({"type": "text", "content": completion.content})
    elif completion.parsed is not None:
        parts.append({"type": "text", "content": _dumps(completion.parsed)})
    for call in completion.tool_calls:
        parts.append({"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments})
    return _dumps([{"role": "assistant", "parts": parts, "finish_reason": completion.finish_reason}])
