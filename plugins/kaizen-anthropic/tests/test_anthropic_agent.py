"""kaizen-anthropic driven by Kaizen agents against a loopback Messages API, the wire checked by the SDK's types.

Each test scripts a :class:`StubHTTPServer` with replies built from the anthropic SDK's
response types (tests/anthropic_sdk.py) and points the provider at it through the
``wire`` transport, which validates every request against ``MessageCreateParams*`` and
every reply against ``Message`` / ``RawMessageStreamEvent``. What the tests then assert is
what a user sees: typed results, finish reasons, usage and cost, and what the next
request carries (thinking blocks with their signatures, ``is_error`` on failed tools).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from anthropic_sdk import (
    AnthropicWire,
    listed,
    message,
    sse,
    stream_events,
    text,
    thinking,
    tool_use,
    usage,
)
from pydantic import BaseModel

from kaizen_anthropic.provider import AnthropicProvider, accepts_temperature
from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import AutonomousConfig, BaseAgentConfig
from kaizen_core.providers import CompletionRequest, GenerationParams, Message
from kaizen_core.signatures import InputField, OutputField, Signature
from kaizen_core.tools import tool
from kaizen_testing.stub_http import StubHTTPServer, StubReply

pytestmark = pytest.mark.anyio

KEY = "sk-ant-api03-LOOPBACKLOOPBACK"
MODEL = listed("claude-sonnet-5")
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"


# --- signatures and tools with every shape of field ---------------------------------------------


class City(BaseModel):
    name: str
    population: int | None = None


class Mood(enum.StrEnum):
    happy = "happy"
    sad = "sad"


class Report(Signature):
    """Describe the city the question is about."""

    question: str = InputField(desc="A question about a city")
    city: City = OutputField(desc="The city (nested model)")
    tags: list[str] = OutputField(desc="Tags (list)")
    mood: Mood = OutputField(desc="The mood (enum)")
    rating: int | None = OutputField(desc="A rating, if any (optional)")
    scores: dict[str, float] = OutputField(desc="Scores by name (dict)")


REPORT = {
    "city": {"name": "Paris", "population": 2100000},
    "tags": ["capital", "river"],
    "mood": "happy",
    "rating": None,
    "scores": {"food": 9.5, "weather": 6.0},
}


class Answer(Signature):
    """Answer with the tools' help."""

    question: str = InputField(desc="A question")
    answer: str = OutputField(desc="The answer")


class Filters(BaseModel):
    country: str
    min_population: int | None = None


class Query(BaseModel):
    text: str
    filters: Filters
    limit: int = 3


class Money(BaseModel):
    amount: float
    currency: str


@tool
def search_cities(query: Query) -> list[str]:
    """Search cities matching a query."""
    return ["Paris", "Lyon"][: query.limit]


@tool
def convert(money: Money, to: str) -> float:
    """Convert money to another currency."""
    raise RuntimeError("the exchange-rate service is down")


def report_result_ok(result: dict[str, Any]) -> None:
    assert result["city"] == City(name="Paris", population=2100000)
    assert result["tags"] == ["capital", "river"] and result["mood"] is Mood.happy
    assert result["rating"] is None and result["scores"] == {"food": 9.5, "weather": 6.0}


# --- the loopback API ----------------------------------------------------------------------------


def json_reply(reply: dict[str, Any]) -> StubReply:
    return StubReply(200, body=reply)


def sse_reply(reply: dict[str, Any], **kw: Any) -> StubReply:
    return StubReply(200, {"Content-Type": "text/event-stream"}, sse(stream_events(reply, **kw)))


@contextmanager
def messages_api(*replies: StubReply) -> Iterator[StubHTTPServer]:
    with StubHTTPServer(list(replies)) as server:
        yield server


def provider_for(server: StubHTTPServer, wire: AnthropicWire, model: str = MODEL) -> AnthropicProvider:
    return AnthropicProvider(model, api_key=KEY, base_url=server.url, transport=wire, max_retries=0)


def assistant_turns(body: dict[str, Any]) -> list[Any]:
    return [m["content"] for m in body["messages"] if m["role"] == "assistant"]


# --- requests ------------------------------------------------------------------------------------


async def test_plain_chat_sends_no_sampling_parameter_to_a_model_that_refuses_it(wire: AnthropicWire) -> None:
    with messages_api(json_reply(message(text("Bonjour !"), model=MODEL))) as api:
        provider = provider_for(api, wire)
        request = CompletionRequest(
            messages=[Message(role="system", content="Answer in French."), Message(role="user", content="Say hello.")],
            params=GenerationParams(temperature=0.2, max_tokens=50, stop=["\n\n"], seed=3),
        )
        completion = await provider.complete(request)
    assert wire.requests == [
        {
            "model": MODEL,
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "Say hello."}],
            "system": "Answer in French.",
            "stop_sequences": ["\n\n"],
        }
    ]
    assert completion.content == "Bonjour !" and completion.finish_reason == "stop"


async def test_structured_output_with_nested_list_enum_optional_and_dict_fields(wire: AnthropicWire) -> None:
    reply = message(tool_use("toolu_01", "Report", REPORT), stop="tool_use", model=MODEL)
    with messages_api(json_reply(reply)) as api:
        agent = BaseAgent(BaseAgentConfig(llm_provider="anthropic", temperature=0.3), Report(), provider=provider_for(api, wire))
        result = await agent.run_async(question="Tell me about Paris.")
    report_result_ok(result)
    (body,) = wire.requests
    assert "temperature" not in body
    assert body["tools"] == [
        {
            "name": "Report",
            "description": "Give the final answer. Call this tool with the answer as its input.",
            "input_schema": Report.output_schema(),
        }
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "Report"}


async def test_two_tools_round_trip_replays_thinking_and_flags_the_failed_call(wire: AnthropicWire) -> None:
    first = message(
        thinking("I should search, then convert.", SIGNATURE),
        text("Let me look."),
        tool_use("toolu_a", "search_cities", {"query": {"text": "big", "filters": {"country": "FR"}, "limit": 1}}),
        tool_use("toolu_b", "convert", {"money": {"amount": 10.0, "currency": "EUR"}, "to": "USD"}),
        stop="tool_use",
        model=MODEL,
    )
    final = message(tool_use("toolu_c", "Answer", {"answer": "Paris"}), stop="tool_use", model=MODEL)
    with messages_api(json_reply(first), json_reply(final)) as api:
        agent = BaseAgent(
            BaseAgentConfig(llm_provider="anthropic"), Answer(), provider=provider_for(api, wire), tools=[search_cities, convert]
        )
        result = await agent.run_async(question="Biggest French city, and 10 EUR in USD?")
    assert result["answer"] == "Paris"
    first_body, second_body = wire.requests
    tools = {t["name"]: t for t in first_body["tools"]}
    assert set(tools) == {"search_cities", "convert", "Answer"} and first_body["tool_choice"] == {"type": "any"}
    assert "$defs" in tools["search_cities"]["input_schema"]  # nested parameter models travel as JSON schema
    assert assistant_turns(second_body)[-1] == [
        {"type": "thinking", "thinking": "I should search, then convert.", "signature": SIGNATURE},
        {"type": "text", "text": "Let me look."},
        first["content"][2],
        first["content"][3],
    ]
    ok, failed = second_body["messages"][-1]["content"]
    assert ok == {"type": "tool_result", "tool_use_id": "toolu_a", "content": '["Paris"]'}
    assert failed["tool_use_id"] == "toolu_b" and failed["is_error"] is True
    assert "exchange-rate service is down" in failed["content"]


async def test_autonomous_agent_replays_thinking_and_redacted_thinking(wire: AnthropicWire, tmp_path: Path) -> None:
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"}
    first = message(thinking("", SIGNATURE), redacted, tool_use("toolu_1", "search_cities", {"query": {"text": "x", "filters": {"country": "FR"}}}), stop="tool_use", model=MODEL)
    final = message(text('{"answer": "Paris"}'), model=MODEL)
    config = AutonomousConfig(
        llm_provider="anthropic",
        checkpoint_storage=f"file://{tmp_path / 'ckpt'}",
        workspace_root=str(tmp_path),
        enable_interrupts=False,
    )
    with messages_api(json_reply(first), json_reply(final)) as api:
        agent = BaseAutonomousAgent(config, Answer(), provider=provider_for(api, wire), tools=[search_cities])
        result = await agent.run_async(question="Biggest French city?")
    assert result["answer"] == "Paris"
    replayed = assistant_turns(wire.requests[1])[-1]
    assert replayed[:2] == [{"type": "thinking", "thinking": "", "signature": SIGNATURE}, redacted]
    assert replayed[2]["type"] == "tool_use" and replayed[2]["id"] == "toolu_1"


async def test_streaming_agent_round_trip(wire: AnthropicWire) -> None:
    first = message(
        thinking("Search first.", SIGNATURE),
        tool_use("toolu_s", "search_cities", {"query": {"text": "big", "filters": {"country": "FR"}}}),
        stop="tool_use",
        model=MODEL,
    )
    final = message(tool_use("toolu_f", "Answer", {"answer": "Paris"}), stop="tool_use", model=MODEL, usage_=usage(30, 9))
    with messages_api(sse_reply(first, chunk=5), sse_reply(final, chunk=4)) as api:
        agent = BaseAgent(
            BaseAgentConfig(llm_provider="anthropic", stream=True), Answer(), provider=provider_for(api, wire), tools=[search_cities]
        )
        result = await agent.run_async(question="Biggest French city?")
    assert result["answer"] == "Paris"
    assert all(body["stream"] is True for body in wire.requests)  # validated as MessageCreateParamsStreaming
    assert assistant_turns(wire.requests[1])[-1][0] == {"type": "thinking", "thinking": "Search first.", "signature": SIGNATURE}


# --- which parameters go to which model ----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "accepted"),
    [
        ("claude-3-haiku-20240307", True),
        ("claude-3-7-sonnet-latest", True),
        ("claude-sonnet-4-20250514", True),
        ("claude-opus-4-1", True),
        ("claude-haiku-4-5", True),
        ("claude-sonnet-4-5-20250929", True),
        ("claude-opus-4-6", True),
        ("claude-sonnet-4-6", True),
        ("claude-opus-4-7", False),
        ("claude-opus-4-8", False),
        ("claude-opus-5", False),
        ("claude-sonnet-5", False),
        ("claude-sonnet-5-5", False),
        ("claude-haiku-5-5", False),
        ("claude-fable-5-1", False),
        ("claude-mythos-preview", False),
        ("us.anthropic.claude-opus-4-7-v1:0", False),
        ("claude-opus-4-6@20260101", True),
        ("kimi-k2", True),  # not a Claude id: an Anthropic-compatible server gets what the user set
    ],
)
def test_temperature_only_for_models_that_take_it(model: str, accepted: bool) -> None:
    assert accepts_temperature(model) is accepted
    provider = AnthropicProvider(model, api_key=KEY)
    body = provider.build_body(
        CompletionRequest(messages=[Message(role="user", content="hi")], params=GenerationParams(temperature=0.4))
    )
    assert body.get("temperature") == (0.4 if accepted else None)


async def test_temperature_reaches_a_model_that_takes_it(wire: AnthropicWire) -> None:
    model = listed("claude-sonnet-4-6")
    reply = message(tool_use("toolu_1", "Answer", {"answer": "4"}), stop="tool_use", model=model)
    with messages_api(json_reply(reply)) as api:
        agent = BaseAgent(BaseAgentConfig(llm_provider="anthropic", temperature=0.4), Answer(), provider=provider_for(api, wire, model))
        assert (await agent.run_async(question="2+2?"))["answer"] == "4"
    assert wire.requests[0]["temperature"] == 0.4


SAMPLING_CONFIG = {"top_p": 0.9, "top_k": 40, "frequency_penalty": 0.0, "presence_penalty": 0.0}


async def test_sampling_options_reach_a_model_that_takes_them(wire: AnthropicWire, caplog: pytest.LogCaptureFixture) -> None:
    """provider_config's top_p/top_k are sent; penalties are not (the API has none); top_p yields to temperature."""
    model = listed("claude-haiku-4-5")
    reply = message(tool_use("toolu_1", "Answer", {"answer": "4"}), stop="tool_use", model=model)
    with messages_api(json_reply(reply), json_reply(reply)) as api:
        config = {"llm_provider": "anthropic", "model": model, "provider_config": SAMPLING_CONFIG}
        provider = AnthropicProvider(model, api_key=KEY, base_url=api.url, transport=wire, max_retries=0, **SAMPLING_CONFIG)
        with caplog.at_level("INFO", logger="kaizen_anthropic"):
            assert (await BaseAgent(config, Answer(), provider=provider).run_async(question="2+2?"))["answer"] == "4"
            config["temperature"] = 0.4
            assert (await BaseAgent(config, Answer(), provider=provider).run_async(question="2+2?"))["answer"] == "4"
    first, second = wire.requests  # both validated as the SDK's request type (sampling as the API defines it)
    assert (first["top_p"], first["top_k"], "temperature" in first) == (0.9, 40, False)
    assert (second["temperature"], second["top_k"], "top_p" in second) == (0.4, 40, False)
    assert not {"frequency_penalty", "presence_penalty"} & (set(first) | set(second))
    dropped = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert dropped == [f"{model}: frequency_penalty, presence_penalty not sent (see the kaizen-anthropic README)"]


def test_no_sampling_option_reaches_a_model_that_refuses_them() -> None:
    provider = AnthropicProvider(MODEL, api_key=KEY, **SAMPLING_CONFIG)
    body = provider.build_body(CompletionRequest(messages=[Message(role="user", content="hi")]))
    assert not set(SAMPLING_CONFIG) & set(body)


def test_every_model_the_sdk_lists_has_a_rule_and_a_price() -> None:
    from anthropic_sdk import SDK_MODELS

    from kaizen_anthropic.pricing import PRICES
    from kaizen_core.providers.pricing import lookup_price

    refusing = {m for m in SDK_MODELS if not accepts_temperature(m)}
    assert {"claude-opus-4-7", "claude-sonnet-5", "claude-fable-5"} <= refusing
    assert {"claude-haiku-4-5", "claude-opus-4-5", "claude-sonnet-4-6"}.isdisjoint(refusing)
    unpriced = {m for m in SDK_MODELS if lookup_price(PRICES, m) is None}
    # Not priced (cost None, never a guess): models Anthropic's catalogue gives no price for yet.
    assert unpriced <= {"claude-fable-5-2", "claude-mythos-5-2", "claude-haiku-5-5", "claude-sonnet-5-5",
                        "claude-opus-5-5", "claude-mythos-preview"}


# --- finish reasons and usage --------------------------------------------------------------------


def answer_request(**kw: Any) -> CompletionRequest:
    return CompletionRequest(
        messages=[Message(role="user", content="2+2?")], output_schema=Answer.output_schema(), schema_name="Answer", **kw
    )


async def test_context_window_exceeded_is_length(wire: AnthropicWire) -> None:
    reply = message(text("The answer is"), stop="model_context_window_exceeded", model=MODEL)
    with messages_api(json_reply(reply)) as api:
        completion = await provider_for(api, wire).complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert completion.finish_reason == "length" and completion.content == "The answer is"


async def test_output_tool_cut_by_max_tokens_reports_length(wire: AnthropicWire) -> None:
    reply = message(tool_use("toolu_1", "Answer", {}), stop="max_tokens", model=MODEL)
    with messages_api(json_reply(reply)) as api:
        completion = await provider_for(api, wire).complete(answer_request())
    assert completion.finish_reason == "length" and completion.tool_calls == []


async def test_streamed_output_tool_cut_by_max_tokens_reports_length(wire: AnthropicWire) -> None:
    reply = message(tool_use("toolu_1", "Answer", {}), stop="max_tokens", model=MODEL)
    with messages_api(sse_reply(reply, partial_inputs={0: '{"answer": "Fo'})) as api:
        events = [e async for e in provider_for(api, wire).stream(answer_request())]
    done = events[-1].completion
    assert done is not None and done.finish_reason == "length"
    assert done.parsed is None and done.tool_calls == [] and done.content == '{"answer": "Fo'


async def test_refusal_is_content_filter(wire: AnthropicWire) -> None:
    with messages_api(json_reply(message(stop="refusal", model=MODEL))) as api:
        completion = await provider_for(api, wire).complete(answer_request())
    assert completion.finish_reason == "content_filter" and completion.parsed is None


@pytest.mark.parametrize("streamed", [False, True])
async def test_cache_reads_and_writes_are_counted_and_priced(wire: AnthropicWire, streamed: bool) -> None:
    reply = message(text("Hi"), usage_=usage(100, 20, cache_read=1000, cache_write=500), model=MODEL)
    with messages_api(sse_reply(reply) if streamed else json_reply(reply)) as api:
        provider = provider_for(api, wire)
        request = CompletionRequest(messages=[Message(role="user", content="hi")])
        if streamed:
            completion = [e async for e in provider.stream(request)][-1].completion
        else:
            completion = await provider.complete(request)
    assert completion is not None
    used = completion.usage
    assert (used.input_tokens, used.cached_input_tokens, used.cache_write_tokens, used.output_tokens) == (1600, 1000, 500, 20)
    # claude-sonnet-5: $3 input, $0.30 cache read, $3.75 cache write, $15 output per million tokens
    assert used.cost_usd == pytest.approx((100 * 3.00 + 1000 * 0.30 + 500 * 3.75 + 20 * 15.00) / 1e6)


def test_an_empty_assistant_turn_is_not_sent() -> None:
    """The API refuses empty assistant content; consecutive user turns are merged by the API (SDK docs)."""
    provider = AnthropicProvider(MODEL, api_key=KEY)
    messages = [Message(role="user", content="a"), Message(role="assistant", content=""), Message(role="user", content="b")]
    body = provider.build_body(CompletionRequest(messages=messages))
    assert body["messages"] == [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
