"""kaizen-google driven by Kaizen agents against a loopback Gemini API, the wire checked by the SDK's types.

Each test scripts a :class:`StubHTTPServer` with replies built from the google-genai SDK's
response types (tests/google_sdk.py) and points the provider at it through the ``wire``
transport, which validates every request field against the SDK's models (and refuses
JSON mode together with function declarations) and every reply against
``GenerateContentResponse`` / ``EmbedContentResponse``. The tests assert what a user sees:
typed results, finish reasons, usage and cost, retries, and what the next request carries
(thought signatures and function-call ids echoed, failed calls reported as errors).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from google_sdk import (
    GeminiWire,
    call,
    embeddings,
    error,
    response,
    retry_info,
    sse,
    stream_chunks,
    text,
    usage,
)
from pydantic import BaseModel

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import AutonomousConfig, BaseAgentConfig
from kaizen_core.errors import ProviderError
from kaizen_core.providers import CompletionRequest, GenerationParams, Message
from kaizen_core.signatures import InputField, OutputField, Signature
from kaizen_core.tools import tool
from kaizen_google.provider import GoogleProvider
from kaizen_testing.stub_http import StubHTTPServer, StubReply
from kaizen_testing.wire import RecordingSleep

pytestmark = pytest.mark.anyio

KEY = "AIzaSyLOOPBACKLOOPBACKLOOPBACK0000"
MODEL = "gemini-3.8-flash"
SIG_A = "Q2lJQmpyOVJkMlkzTlRjd01qUTVOREkzTWpBeU1ERXdNakF4TnpZd01qVTJPQT09"
SIG_B = "Q2lBQmpyOVJkNEJzWTFsR1pHbDJRVzVwTjNCUVFrZHhaMFZFZW5vM1pRPT0="


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


def report_result_ok(result: dict[str, Any]) -> None:
    assert result["city"] == City(name="Paris", population=2100000)
    assert result["tags"] == ["capital", "river"] and result["mood"] is Mood.happy
    assert result["rating"] is None and result["scores"] == {"food": 9.5, "weather": 6.0}


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


# --- the loopback API ----------------------------------------------------------------------------


def json_reply(reply: dict[str, Any]) -> StubReply:
    return StubReply(200, body=reply)


def sse_reply(reply: dict[str, Any]) -> StubReply:
    return StubReply(200, {"Content-Type": "text/event-stream"}, sse(stream_chunks(reply)))


@contextmanager
def gemini_api(*replies: StubReply) -> Iterator[StubHTTPServer]:
    with StubHTTPServer(list(replies)) as server:
        yield server


def provider_for(server: StubHTTPServer, wire: GeminiWire, **kw: Any) -> GoogleProvider:
    return GoogleProvider(MODEL, api_key=KEY, base_url=server.url, transport=wire, **{"max_retries": 0, **kw})


def declared(body: dict[str, Any]) -> dict[str, Any]:
    return {d["name"]: d for t in body.get("tools", []) for d in t["functionDeclarations"]}


def model_turns(body: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [c["parts"] for c in body["contents"] if c["role"] == "model"]


# --- requests ------------------------------------------------------------------------------------


async def test_plain_chat(wire: GeminiWire) -> None:
    with gemini_api(json_reply(response(text("Bonjour !")))) as api:
        request = CompletionRequest(
            messages=[Message(role="system", content="Answer in French."), Message(role="user", content="Say hello.")],
            params=GenerationParams(temperature=0.2, max_tokens=50, stop=["\n\n"], seed=3),
        )
        completion = await provider_for(api, wire).complete(request)
    assert wire.paths == [f"/models/{MODEL}:generateContent"]
    assert wire.requests == [
        {
            "contents": [{"role": "user", "parts": [{"text": "Say hello."}]}],
            "systemInstruction": {"parts": [{"text": "Answer in French."}]},
            "generationConfig": {"temperature": 0.2, "maxOutputTokens": 50, "seed": 3, "stopSequences": ["\n\n"]},
        }
    ]
    assert completion.content == "Bonjour !" and completion.finish_reason == "stop"


async def test_sampling_options_from_provider_config_reach_generation_config(wire: GeminiWire) -> None:
    """provider_config's top_p, top_k and penalties go into generationConfig (validated as the SDK's type)."""
    sampling = {"top_p": 0.9, "top_k": 40, "frequency_penalty": 0.5, "presence_penalty": -0.5}
    with gemini_api(json_reply(response(text(json.dumps({"answer": "4"}))))) as api:
        config = BaseAgentConfig(llm_provider="google", provider_config=sampling)
        agent = BaseAgent(config, "question -> answer", provider=provider_for(api, wire, **sampling))
        assert (await agent.run_async(question="2+2?"))["answer"] == "4"
    (body,) = wire.requests
    assert {k: body["generationConfig"][k] for k in ("topP", "topK", "frequencyPenalty", "presencePenalty")} == {
        "topP": 0.9,
        "topK": 40,
        "frequencyPenalty": 0.5,
        "presencePenalty": -0.5,
    }


async def test_structured_output_with_nested_list_enum_optional_and_dict_fields(wire: GeminiWire) -> None:
    with gemini_api(json_reply(response(text(json.dumps(REPORT))))) as api:
        agent = BaseAgent(BaseAgentConfig(llm_provider="google"), Report(), provider=provider_for(api, wire))
        result = await agent.run_async(question="Tell me about Paris.")
    report_result_ok(result)
    (body,) = wire.requests
    assert "tools" not in body
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseJsonSchema"]  # the wire checked every keyword against the SDK's list
    assert schema["properties"]["scores"] == {
        "additionalProperties": {"type": "number"},
        "description": "Scores by name (dict)",
        "title": "Scores",
        "type": "object",
    }
    assert schema["properties"]["city"]["properties"]["name"] == {"title": "Name", "type": "string"}  # inlined
    assert schema["properties"]["mood"]["enum"] == ["happy", "sad"]


async def test_tool_agent_sends_no_json_mode_with_functions_and_echoes_signatures(wire: GeminiWire) -> None:
    first = response(
        text("Let me look.", signature=SIG_B),
        call("search_cities", {"query": {"text": "big", "filters": {"country": "FR"}, "limit": 1}}, call_id="fc_1", signature=SIG_A),
        call("convert", {"money": {"amount": 10.0, "currency": "EUR"}, "to": "USD"}, call_id="fc_2"),
    )
    final = response(call("Report", REPORT, call_id="fc_3"))
    with gemini_api(json_reply(first), json_reply(final)) as api:
        agent = BaseAgent(
            BaseAgentConfig(llm_provider="google"), Report(), provider=provider_for(api, wire), tools=[search_cities, convert]
        )
        result = await agent.run_async(question="Biggest French city, and 10 EUR in USD?")
    report_result_ok(result)
    for body in wire.requests:  # the wire refuses JSON mode with declarations; the answer is a function
        assert "generationConfig" not in body
        assert set(declared(body)) == {"search_cities", "convert", "Report"}
        assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    answer = declared(wire.requests[0])["Report"]["parametersJsonSchema"]
    assert answer["properties"]["scores"]["additionalProperties"] == {"type": "number"}
    assert model_turns(wire.requests[1])[-1] == [
        {"text": "Let me look.", "thoughtSignature": SIG_B},
        {"functionCall": {"name": "search_cities", "args": first["candidates"][0]["content"]["parts"][1]["functionCall"]["args"], "id": "fc_1"}, "thoughtSignature": SIG_A},
        {"functionCall": {"name": "convert", "args": {"money": {"amount": 10.0, "currency": "EUR"}, "to": "USD"}, "id": "fc_2"}},
    ]
    ok, failed = wire.requests[1]["contents"][-1]["parts"]
    assert ok == {"functionResponse": {"name": "search_cities", "response": {"output": ["Paris"]}, "id": "fc_1"}}
    assert failed["functionResponse"]["id"] == "fc_2"
    assert "exchange-rate service is down" in failed["functionResponse"]["response"]["error"]


async def test_autonomous_agent_with_tools_then_final_answer_turn(wire: GeminiWire, tmp_path: Path) -> None:
    first = response(call("search_cities", {"query": {"text": "x", "filters": {"country": "FR"}}}, signature=SIG_A))
    final = response(text(json.dumps(REPORT)))
    config = AutonomousConfig(
        llm_provider="google",
        max_cycles=1,  # one tool turn, then the final-answer turn with the tools withheld
        checkpoint_storage=f"file://{tmp_path / 'ckpt'}",
        workspace_root=str(tmp_path),
        enable_interrupts=False,
    )
    with gemini_api(json_reply(first), json_reply(final)) as api:
        agent = BaseAutonomousAgent(config, Report(), provider=provider_for(api, wire), tools=[search_cities])
        result = await agent.run_async(question="Tell me about the biggest French city.")
    report_result_ok(result)
    tool_turn, answer_turn = wire.requests
    assert "Report" in declared(tool_turn) and "generationConfig" not in tool_turn
    assert "tools" not in answer_turn and answer_turn["generationConfig"]["responseMimeType"] == "application/json"
    assert model_turns(answer_turn)[-1][0]["thoughtSignature"] == SIG_A  # no function call id was given: none is sent
    assert "id" not in model_turns(answer_turn)[-1][0]["functionCall"]


async def test_streaming_tool_agent(wire: GeminiWire) -> None:
    first = response(call("search_cities", {"query": {"text": "big", "filters": {"country": "FR"}}}, call_id="fc_s", signature=SIG_A))
    final = response(call("Report", REPORT))
    with gemini_api(sse_reply(first), sse_reply(final)) as api:
        agent = BaseAgent(
            BaseAgentConfig(llm_provider="google", stream=True), Report(), provider=provider_for(api, wire), tools=[search_cities]
        )
        result = await agent.run_async(question="Biggest French city?")
    report_result_ok(result)
    assert wire.paths == [f"/models/{MODEL}:streamGenerateContent"] * 2
    assert model_turns(wire.requests[1])[-1][0]["thoughtSignature"] == SIG_A


async def test_embeddings_are_what_the_sdk_sends(wire: GeminiWire) -> None:
    with gemini_api(json_reply(embeddings([[0.1, 0.2], [0.3, 0.4]], prompt_tokens=6))) as api:
        result = await provider_for(api, wire).embed(["the cat", "the dog"])
    assert wire.paths == ["/models/gemini-embedding-001:batchEmbedContents"]  # body checked against the SDK's converter
    assert result.vectors == [[0.1, 0.2], [0.3, 0.4]] and result.usage.input_tokens == 6


# --- retries -------------------------------------------------------------------------------------


def rate_limited(delay: str) -> StubReply:
    return StubReply(429, body=error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for generate_content_free_tier_requests", retry_info(delay)))


async def test_429_waits_the_retry_delay_of_the_body(wire: GeminiWire) -> None:
    with gemini_api(rate_limited("37s"), json_reply(response(text("ok")))) as api:
        provider = provider_for(api, wire, max_retries=2)
        provider.http.sleep = RecordingSleep()
        completion = await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert completion.content == "ok" and len(wire.requests) == 2
    assert provider.http.sleep.delays == [37.0]


async def test_429_asking_for_more_than_max_retry_after_is_not_waited_for(wire: GeminiWire) -> None:
    with gemini_api(rate_limited("3600s")) as api:
        provider = provider_for(api, wire, max_retries=2, max_retry_after=60)
        provider.http.sleep = RecordingSleep()
        with pytest.raises(ProviderError, match="retry after 3600s") as info:
            await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert info.value.status == 429 and provider.http.sleep.delays == [] and len(wire.requests) == 1


# --- finish reasons and usage --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("finish", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "error"),
        ("MISSING_THOUGHT_SIGNATURE", "error"),
        ("OTHER", "unknown"),
    ],
)
@pytest.mark.parametrize("streamed", [False, True])
async def test_finish_reasons(wire: GeminiWire, finish: str, expected: str, streamed: bool) -> None:
    reply = response(text("partial"), finish=finish)
    with gemini_api(sse_reply(reply) if streamed else json_reply(reply)) as api:
        provider = provider_for(api, wire)
        request = CompletionRequest(messages=[Message(role="user", content="x")])
        completion = [e async for e in provider.stream(request)][-1].completion if streamed else await provider.complete(request)
    assert completion is not None and completion.finish_reason == expected


async def test_blocked_prompt_is_content_filter(wire: GeminiWire) -> None:
    with gemini_api(json_reply(response(feedback={"blockReason": "SAFETY"}, usage_=usage(7, 0)))) as api:
        completion = await provider_for(api, wire).complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert completion.finish_reason == "content_filter" and completion.content is None
    assert completion.usage.input_tokens == 7


async def test_answer_function_cut_by_max_tokens_reports_length(wire: GeminiWire) -> None:
    reply = response(call("Report", {"city": {"name": "Paris"}}), finish="MAX_TOKENS")
    request = CompletionRequest(
        messages=[Message(role="user", content="x")],
        output_schema=Report.output_schema(),
        schema_name="Report",
        tools=[search_cities.to_definition()],
    )
    with gemini_api(json_reply(reply)) as api:
        completion = await provider_for(api, wire).complete(request)
    assert completion.finish_reason == "length" and completion.parsed == {"city": {"name": "Paris"}}
    assert completion.tool_calls == []


@pytest.mark.parametrize("streamed", [False, True])
async def test_thinking_and_cached_tokens_are_counted_and_priced(wire: GeminiWire, streamed: bool) -> None:
    reply = response(text("Hi"), usage_=usage(1000, 20, thoughts=80, cached=600))
    with gemini_api(sse_reply(reply) if streamed else json_reply(reply)) as api:
        provider = provider_for(api, wire)
        request = CompletionRequest(messages=[Message(role="user", content="hi")])
        completion = [e async for e in provider.stream(request)][-1].completion if streamed else await provider.complete(request)
    assert completion is not None
    used = completion.usage
    assert (used.input_tokens, used.cached_input_tokens, used.output_tokens) == (1000, 600, 100)
    # gemini-3.8-flash list price: $1.50 input, $0.15 cached input, $7.50 output per million tokens
    assert used.cost_usd == pytest.approx((400 * 1.50 + 600 * 0.15 + 100 * 7.50) / 1e6)
