"""Trace context leaves the process: HTTP provider requests carry the chat span's W3C traceparent."""

from __future__ import annotations

from typing import ClassVar

import pytest
from otel_recorded import Recorded

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.providers.http import HTTPProvider
from kaizen_core.providers.types import Completion, CompletionRequest, Usage
from kaizen_core.tracecontext import current_headers, current_trace_ids
from kaizen_testing.stub_http import StubHTTPServer, StubReply

pytestmark = pytest.mark.anyio


class ChatCompletions(HTTPProvider):
    """The smallest OpenAI-compatible chat provider: POST /v1/chat/completions through the core HTTP path."""

    name: ClassVar[str] = "compatible"
    requires_api_key: ClassVar[bool] = False

    async def complete(self, request: CompletionRequest) -> Completion:
        body = {
            "model": request.model or self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        reply = await self.http.post_json("/v1/chat/completions", body)
        usage = reply["usage"]
        return Completion(
            content=reply["choices"][0]["message"]["content"],
            model=reply["model"],
            usage=Usage(input_tokens=usage["prompt_tokens"], output_tokens=usage["completion_tokens"]),
        )


def _reply(answer: str) -> StubReply:
    return StubReply(
        body={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "local-model-v2",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
        }
    )


def test_the_provider_request_carries_the_chat_spans_traceparent(recorded: Recorded) -> None:
    with StubHTTPServer([_reply('{"answer": "4"}')]) as server:
        provider = ChatCompletions("local-model", base_url=server.url)
        agent = BaseAgent(BaseAgentConfig(), "question -> answer", provider=provider, agent_id="qa")
        agent.hook_manager.register_hook(recorded.hook)
        result = agent.run(question="2+2?")
    assert result["answer"] == "4"
    chat = recorded.one("chat")
    (request,) = server.requests
    version, trace_id, span_id, flags = request.headers["traceparent"].split("-")
    assert version == "00" and int(flags, 16) & 1  # sampled
    assert trace_id == format(chat.context.trace_id, "032x")
    assert span_id == format(chat.context.span_id, "016x")  # the chat span itself is the parent of the server's work
    assert chat.attributes["gen_ai.provider.name"] == "compatible"
    assert chat.attributes["gen_ai.request.model"] == "local-model"
    assert chat.attributes["gen_ai.response.model"] == "local-model-v2"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 11


def test_without_a_tracer_requests_carry_no_traceparent() -> None:
    with StubHTTPServer([_reply('{"answer": "4"}')]) as server:
        provider = ChatCompletions("local-model", base_url=server.url)
        agent = BaseAgent(BaseAgentConfig(), "question -> answer", provider=provider)
        agent.run(question="2+2?")  # no otel hook on this agent: no span is current
    assert "traceparent" not in server.requests[0].headers


async def test_core_sees_the_current_span_ids_without_importing_opentelemetry(recorded: Recorded) -> None:
    tracer = recorded.hook.tracer_provider.get_tracer("app")
    assert current_trace_ids() is None and "traceparent" not in current_headers()
    with tracer.start_as_current_span("outer") as span:
        context = span.get_span_context()
        assert current_trace_ids() == (format(context.trace_id, "032x"), format(context.span_id, "016x"))
