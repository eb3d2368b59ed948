"""What an agent on kaizen-openai sends and gets back, checked against the openai SDK's types.

Each test drives :class:`BaseAgent` (or the provider, for what an agent does not reach:
plain chat, embeddings, refusals) against a loopback stub of the OpenAI API. Every request
passes openai_sdk.OpenAIWire (validated against ``CompletionCreateParams*`` /
``EmbeddingCreateParams``) and every reply is built and checked as ``ChatCompletion`` /
``ChatCompletionChunk`` / ``CreateEmbeddingResponse``. The strict schemas sent are checked
against OpenAI's strict-mode rules, with the SDK's own ``to_strict_json_schema``
transformation as the reference, and the stub's replies against the schema that was sent.
"""

from __future__ import annotations

import copy
import enum
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from openai.lib._pydantic import _ensure_strict_json_schema, to_strict_json_schema
from openai_sdk import OpenAIWire, chunk, completion, embeddings, sse, tool_call, usage
from pydantic import BaseModel, Field

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.providers import CompletionRequest, GenerationParams, Message
from kaizen_core.signatures import InputField, OutputField, Signature
from kaizen_core.tools import tool
from kaizen_openai.provider import OpenAIProvider
from kaizen_testing.stub_http import StubHTTPServer, StubReply

KEY = "sk-test-KEY0123456789abcdef"


class Mood(enum.StrEnum):
    happy = "happy"
    sad = "sad"


class Address(BaseModel):
    city: str
    zip: str | None = None


class Person(BaseModel):
    name: str
    address: Address = Field(description="Where the person lives")


class Profile(Signature):
    """Extract a profile from the text."""

    text: str = InputField(desc="The text")
    person: Person = OutputField(desc="The main person")  # a nested model with a description: $ref + sibling
    tags: list[str] = OutputField(desc="Topics")
    friends: list[Person] = OutputField(desc="Other people")
    mood: Mood = OutputField(desc="Overall mood")  # enum via $ref + description
    level: Literal["low", "high"] = OutputField(desc="Detail level")
    nickname: str | None = OutputField(desc="Nickname, if any", default=None)
    scores: dict[str, float] = OutputField(desc="Score per topic")  # a free-form map of numbers
    homes: dict[str, Address] = OutputField(desc="Addresses by label", default={})  # a map of models


@pytest.fixture
def stub() -> Iterator[list[StubHTTPServer]]:
    """Start stubs with ``start(replies)``; they stop at the end of the test."""
    servers: list[StubHTTPServer] = []
    yield servers
    for srv in servers:
        srv.stop()


def openai_stub(servers: list[StubHTTPServer], replies: list[Any], wire: OpenAIWire, **options: Any) -> OpenAIProvider:
    """An OpenAIProvider speaking the OpenAI dialect to a loopback stub that plays ``replies``."""
    srv = StubHTTPServer([r if isinstance(r, StubReply) else StubReply(200, body=r) for r in replies]).start()
    servers.append(srv)
    return OpenAIProvider("gpt-4o-mini", api_key=KEY, base_url=f"{srv.url}/v1", dialect="openai", transport=wire, **options)


def strict_mode_problems(schema: Any, path: str = "$") -> list[str]:
    """Where ``schema`` breaks OpenAI's strict-mode rules (objects closed and fully required, no $ref siblings, no default)."""
    if isinstance(schema, list):
        return [p for i, s in enumerate(schema) for p in strict_mode_problems(s, f"{path}[{i}]")]
    if not isinstance(schema, dict):
        return []
    problems = []
    if "$ref" in schema and len(schema) > 1:
        problems.append(f"{path}: $ref with siblings {sorted(set(schema) - {'$ref'})}")
    if "default" in schema:
        problems.append(f"{path}: default")
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            problems.append(f"{path}: additionalProperties is {schema.get('additionalProperties')!r}")
        if sorted(schema.get("required", [])) != sorted(schema.get("properties", {})):
            problems.append(f"{path}: not every property is required")
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            problems += [p for name, sub in value.items() for p in strict_mode_problems(sub, f"{path}.{key}.{name}")]
        elif key in ("items", "anyOf", "additionalProperties"):
            problems += strict_mode_problems(value, f"{path}.{key}")
    return problems


# The reply a strict-mode model gives for Profile: maps as key/value pairs, null for what it leaves out.
STRICT_REPLY = {
    "person": {"name": "Ada", "address": {"city": "London", "zip": None}},
    "tags": ["math", "engines"],
    "friends": [{"name": "Charles", "address": {"city": "London", "zip": "W1"}}],
    "mood": "happy",
    "level": "high",
    "nickname": None,
    "scores": [{"key": "math", "value": 0.97}, {"key": "poetry", "value": 0.4}],
    "homes": [{"key": "home", "value": {"city": "London", "zip": None}}],
}
EXPECTED = {
    "person": {"name": "Ada", "address": {"city": "London", "zip": None}},
    "tags": ["math", "engines"],
    "friends": [{"name": "Charles", "address": {"city": "London", "zip": "W1"}}],
    "mood": Mood.happy,
    "level": "high",
    "nickname": None,
    "scores": {"math": 0.97, "poetry": 0.4},
    "homes": {"home": {"city": "London", "zip": None}},
}


def dumped(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in result.items() if k != "_meta"} | {
        "friends": [f.model_dump() for f in result["friends"]],
        "homes": {k: v.model_dump() for k, v in result["homes"].items()},
    }


@pytest.mark.anyio
async def test_structured_output_nested_list_enum_optional_and_dict_fields_survive_strict_mode(
    stub: list[StubHTTPServer], wire: OpenAIWire
) -> None:
    provider = openai_stub(stub, [completion(json.dumps(STRICT_REPLY))], wire)
    agent = BaseAgent(BaseAgentConfig(temperature=0.0, max_tokens=300), Profile, provider=provider)
    result = await agent.run_async(text="Ada Lovelace of London, happy, loves math.")

    (body,) = wire.requests  # validated against CompletionCreateParamsNonStreaming on the way out
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    sent = fmt["json_schema"]["schema"]
    assert strict_mode_problems(sent) == []
    # the SDK's own transformation changes nothing in what we send: it is already in the form the API accepts
    assert _ensure_strict_json_schema(copy.deepcopy(sent), path=(), root=copy.deepcopy(sent)) == sent
    # as the SDK does, the nested model with a description is inlined (the API refuses siblings of $ref)
    reference = to_strict_json_schema(Profile.output_model())
    assert "$ref" not in reference["properties"]["person"] and "$ref" not in sent["properties"]["person"]
    assert sent["properties"]["person"]["properties"] == reference["properties"]["person"]["properties"]
    # the maps strict mode would close to {} travel as key/value pairs
    assert sent["properties"]["scores"]["items"]["properties"]["value"] == {"type": "number"}
    jsonschema.validate(STRICT_REPLY, sent)  # the stub's reply is one the schema we sent admits
    assert body["max_completion_tokens"] == 300 and "max_tokens" not in body

    assert dumped(result) == EXPECTED  # the dict outputs survive strict mode, data intact
    assert result["_meta"]["usage"]["input_tokens"] == 12


@pytest.mark.anyio
async def test_a_schema_strict_mode_cannot_carry_is_sent_non_strict_and_validated_after(
    stub: list[StubHTTPServer], wire: OpenAIWire
) -> None:
    class Loose(Signature):
        """Collect metadata."""

        text: str = InputField(desc="The text")
        meta: dict[str, Any] = OutputField(desc="Anything worth keeping")

    provider = openai_stub(stub, [completion('{"meta": {"a": [1, 2], "b": {"c": true}}}')], wire)
    result = await BaseAgent(BaseAgentConfig(), Loose, provider=provider).run_async(text="x")
    json_schema = wire.requests[0]["response_format"]["json_schema"]
    assert json_schema["strict"] is False and json_schema["schema"] == Loose.output_schema()
    assert result["meta"] == {"a": [1, 2], "b": {"c": True}}


# --- tools -------------------------------------------------------------------------------------


class Location(BaseModel):
    city: str
    country: str | None = None


class Stop(BaseModel):
    location: Location
    nights: int = Field(ge=1)


calls: list[tuple[str, Any]] = []


@tool
def get_weather(location: Annotated[Location, Field(description="Where")], units: Literal["c", "f"] = "c") -> dict[str, Any]:
    """Current weather for a location."""
    calls.append(("get_weather", location))
    return {"city": location.city, "temp": 21, "units": units}


@tool
def plan_trip(traveller: Person, stops: list[Stop], budget: float | None = None) -> str:
    """Plan a trip through the stops."""
    calls.append(("plan_trip", (traveller, stops, budget)))
    return f"{len(stops)} stops planned for {traveller.name}"


class Trip(Signature):
    """Plan the trip the user asks for."""

    request: str = InputField(desc="What the user wants")
    summary: str = OutputField(desc="One sentence")
    nights: dict[str, int] = OutputField(desc="Nights per city")


@pytest.mark.anyio
async def test_two_tools_with_nested_parameters_and_the_round_trip(stub: list[StubHTTPServer], wire: OpenAIWire) -> None:
    calls.clear()
    first = completion(
        None,
        tool_calls=[
            tool_call("call_w", "get_weather", {"location": {"city": "Rome", "country": None}, "units": "c"}),
            tool_call(
                "call_p",
                "plan_trip",
                {"traveller": {"name": "Ada", "address": {"city": "London"}}, "stops": [{"location": {"city": "Rome"}, "nights": 2}]},
            ),
        ],
        finish="tool_calls",
    )
    final = completion(json.dumps({"summary": "Two nights in Rome.", "nights": [{"key": "Rome", "value": 2}]}))
    provider = openai_stub(stub, [first, final], wire)
    agent = BaseAgent(BaseAgentConfig(), Trip, provider=provider, tools=[get_weather, plan_trip])
    result = await agent.run_async(request="A weekend in Rome for Ada")

    assert result["summary"] == "Two nights in Rome." and result["nights"] == {"Rome": 2}
    assert [name for name, _ in calls] == ["get_weather", "plan_trip"]
    assert calls[1][1][1] == [Stop(location=Location(city="Rome"), nights=2)]  # nested arguments arrive typed
    ask, answer = wire.requests  # both validated against CompletionCreateParamsNonStreaming
    assert [t["function"]["name"] for t in ask["tools"]] == ["get_weather", "plan_trip"]
    assert ask["tool_choice"] == "auto"
    plan = ask["tools"][1]["function"]["parameters"]
    assert plan["properties"]["stops"]["items"] == {"$ref": "#/$defs/Stop"} and "Stop" in plan["$defs"]
    # the round trip: the assistant turn with both calls, then one tool message per call, in order
    assistant, *results = answer["messages"][2:]
    assert assistant["role"] == "assistant" and [c["id"] for c in assistant["tool_calls"]] == ["call_w", "call_p"]
    assert json.loads(assistant["tool_calls"][1]["function"]["arguments"])["stops"][0]["nights"] == 2
    assert [(m["role"], m["tool_call_id"]) for m in results] == [("tool", "call_w"), ("tool", "call_p")]
    assert json.loads(results[0]["content"]) == {"city": "Rome", "temp": 21, "units": "c"}
    assert results[1]["content"] == "1 stops planned for Ada"


# --- streaming ---------------------------------------------------------------------------------


class QA(Signature):
    """Answer the question."""

    question: str = InputField(desc="The question")
    answer: str = OutputField(desc="The answer")
    sources: dict[str, float] = OutputField(desc="Confidence per source")


@pytest.mark.anyio
async def test_streaming_agent_requests_and_cached_usage(stub: list[StubHTTPServer], wire: OpenAIWire) -> None:
    text = json.dumps({"answer": "Paris", "sources": [{"key": "atlas", "value": 0.9}]})
    body = sse(
        chunk({"role": "assistant", "content": ""}),
        *[chunk({"content": text[i : i + 7]}) for i in range(0, len(text), 7)],
        chunk({}, finish="stop"),
        chunk(usage_=usage(2048, 20, cached=1024)),
    )
    provider = openai_stub(stub, [StubReply(200, {"Content-Type": "text/event-stream"}, body)], wire)
    result = await BaseAgent(BaseAgentConfig(stream=True, max_tokens=50), QA, provider=provider).run_async(question="Capital?")
    (sent,) = wire.requests  # validated against CompletionCreateParamsStreaming
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert result["answer"] == "Paris" and result["sources"] == {"atlas": 0.9}
    meta = result["_meta"]["usage"]
    assert (meta["input_tokens"], meta["output_tokens"]) == (2048, 20)
    # gpt-4o-mini: 1024 uncached at 0.15, 1024 cached at 0.075, 20 out at 0.60 per 1M
    assert meta["cost_usd"] == pytest.approx((1024 * 0.15 + 1024 * 0.075 + 20 * 0.60) / 1e6)


# --- what an agent does not reach: plain chat, refusals, truncation, embeddings -----------------


def chat_request(**kw: Any) -> CompletionRequest:
    return CompletionRequest(messages=[Message(role="user", content="Hi")], **kw)


@pytest.mark.anyio
async def test_plain_chat_sends_only_model_and_messages(stub: list[StubHTTPServer], wire: OpenAIWire) -> None:
    provider = openai_stub(stub, [completion("Hello!")], wire)
    result = await provider.complete(chat_request())
    assert wire.requests == [{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}]
    assert (result.content, result.finish_reason, result.parsed) == ("Hello!", "stop", None)


@pytest.mark.anyio
async def test_refusals_are_content_filter_streamed_or_not(stub: list[StubHTTPServer], wire: OpenAIWire) -> None:
    refusal = "I can't help with that."
    streamed = sse(
        chunk({"role": "assistant", "content": None, "refusal": ""}),
        chunk({"refusal": "I can't "}),
        chunk({"refusal": "help with that."}),
        chunk({}, finish="stop"),
        chunk(usage_=usage(10, 6)),
    )
    provider = openai_stub(
        stub, [completion(None, refusal=refusal), StubReply(200, {"Content-Type": "text/event-stream"}, streamed)], wire
    )
    schema = QA.output_schema()
    plain = await provider.complete(chat_request(output_schema=schema))
    events = [e async for e in provider.stream(chat_request(output_schema=schema))]
    done = events[-1].completion
    assert done is not None
    assert (plain.content, plain.finish_reason, plain.parsed) == (refusal, "content_filter", None)
    assert (done.content, done.finish_reason, done.parsed) == (refusal, "content_filter", None)
    assert "".join(e.text for e in events if e.type == "text") == refusal


@pytest.mark.anyio
async def test_truncation_and_cached_tokens_non_streamed(stub: list[StubHTTPServer], wire: OpenAIWire) -> None:
    provider = openai_stub(stub, [completion('{"answer": "Par', finish="length", usage_=usage(1500, 8, cached=1280))], wire)
    result = await provider.complete(chat_request(params=GenerationParams(max_tokens=8)))
    assert result.finish_reason == "length" and result.content == '{"answer": "Par'
    assert (result.usage.input_tokens, result.usage.cached_input_tokens, result.usage.output_tokens) == (1500, 1280, 8)
    assert result.usage.cost_usd == pytest.approx((220 * 0.15 + 1280 * 0.075 + 8 * 0.60) / 1e6)
    assert wire.requests[0]["max_completion_tokens"] == 8


@pytest.mark.anyio
async def test_embeddings(stub: list[StubHTTPServer], wire: OpenAIWire) -> None:
    provider = openai_stub(stub, [embeddings([[0.1, 0.2], [0.3, 0.4]])], wire)
    result = await provider.embed(["a", "b"])
    assert wire.requests == [{"model": "text-embedding-3-small", "input": ["a", "b"]}]
    assert result.vectors == [[0.1, 0.2], [0.3, 0.4]] and result.model == "text-embedding-3-small"
