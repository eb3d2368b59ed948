"""What an agent on kaizen-ollama sends and gets back, checked against the ollama SDK's types.

Each test drives :class:`BaseAgent` (or the provider, for plain chat and embeddings) against a
loopback stub of Ollama's API. Every request passes ollama_sdk.OllamaWire (``ChatRequest``,
``Message``, ``Options``, ``Tool``; ``EmbedRequest``) and every reply is built and checked as
``ChatResponse`` / ``EmbedResponse``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from ollama_sdk import OllamaWire, chat_response, embed_response, ndjson, ollama_tool_call
from pydantic import BaseModel, Field, ValidationError

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.errors import ConfigError
from kaizen_core.providers import CompletionRequest, GenerationParams, Message, ToolDefinition
from kaizen_core.signatures import InputField, OutputField, Signature
from kaizen_core.tools import tool
from kaizen_ollama.provider import OllamaProvider
from kaizen_ollama.schema import ollama_parameters
from kaizen_testing.stub_http import StubHTTPServer, StubReply


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
    person: Person = OutputField(desc="The main person")
    tags: list[str] = OutputField(desc="Topics")
    mood: Mood = OutputField(desc="Overall mood")
    level: Literal["low", "high"] = OutputField(desc="Detail level")
    nickname: str | None = OutputField(desc="Nickname, if any", default=None)
    scores: dict[str, float] = OutputField(desc="Score per topic")


@pytest.fixture
def stub() -> Iterator[list[StubHTTPServer]]:
    servers: list[StubHTTPServer] = []
    yield servers
    for srv in servers:
        srv.stop()


def ollama_stub(servers: list[StubHTTPServer], replies: list[Any], wire: OllamaWire, **options: Any) -> OllamaProvider:
    """An OllamaProvider (``options``: its provider_config) talking to a loopback stub that plays ``replies``."""
    srv = StubHTTPServer([r if isinstance(r, StubReply) else StubReply(200, body=r) for r in replies]).start()
    servers.append(srv)
    return OllamaProvider("llama3.2", base_url=srv.url, transport=wire, **options)


def stream_reply(*lines: dict[str, Any]) -> StubReply:
    return StubReply(200, {"Content-Type": "application/x-ndjson"}, ndjson(*lines))


REPLY = {
    "person": {"name": "Ada", "address": {"city": "London", "zip": None}},
    "tags": ["math"],
    "mood": "happy",
    "level": "high",
    "nickname": None,
    "scores": {"math": 0.97, "poetry": 0.4},
}


@pytest.mark.anyio
async def test_structured_output_nested_list_enum_optional_and_dict_fields(stub: list[StubHTTPServer], wire: OllamaWire) -> None:
    provider = ollama_stub(stub, [chat_response(json.dumps(REPLY))], wire)
    agent = BaseAgent(BaseAgentConfig(temperature=0.0, max_tokens=200, seed=1), Profile, provider=provider)
    result = await agent.run_async(text="Ada of London loves math.")
    (body,) = wire.requests  # validated as ChatRequest, Message and Options on the way out
    assert body["format"] == Profile.output_schema()  # Ollama constrains decoding to the full JSON schema
    assert body["options"] == {"temperature": 0.0, "num_predict": 200, "seed": 1}
    assert result["scores"] == {"math": 0.97, "poetry": 0.4} and result["mood"] is Mood.happy
    assert result["person"] == Person(name="Ada", address=Address(city="London")) and result["nickname"] is None
    assert result["_meta"]["usage"]["input_tokens"] == 26 and result["_meta"]["usage"]["cost_usd"] == 0.0


# --- tools -------------------------------------------------------------------------------------


class Location(BaseModel):
    city: str
    country: str | None = None


class Stop(BaseModel):
    location: Location
    nights: int = Field(ge=1)


calls: list[tuple[str, Any]] = []


@tool
def get_weather(location: Location, units: Literal["c", "f"] = "c", when: Literal["now", "later"] | None = None) -> dict[str, Any]:
    """Current weather for a location."""
    calls.append(("get_weather", location))
    return {"city": location.city, "temp": 21, "units": units}


@tool
def plan_trip(traveller: Person, stops: list[Stop], budget: float | None = None) -> str:
    """Plan a trip through the stops."""
    calls.append(("plan_trip", stops))
    return f"{len(stops)} stops planned for {traveller.name}"


class Trip(Signature):
    """Plan the trip the user asks for."""

    request: str = InputField(desc="What the user wants")
    summary: str = OutputField(desc="One sentence")


LOCATION = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": ["string", "null"]}},
    "required": ["city"],
}


@pytest.mark.anyio
async def test_two_tools_with_nested_parameters_typed_for_ollama_and_the_round_trip(
    stub: list[StubHTTPServer], wire: OllamaWire
) -> None:
    calls.clear()
    first = chat_response(
        tool_calls=[
            ollama_tool_call("get_weather", {"location": {"city": "Rome"}}),
            ollama_tool_call("plan_trip", {"traveller": {"name": "Ada", "address": {"city": "London"}}, "stops": [{"location": {"city": "Rome"}, "nights": 2}]}),
        ]
    )
    provider = ollama_stub(stub, [first, chat_response('{"summary": "Two nights in Rome."}')], wire)
    agent = BaseAgent(BaseAgentConfig(), Trip, provider=provider, tools=[get_weather, plan_trip])
    result = await agent.run_async(request="A weekend in Rome for Ada")
    assert result["summary"] == "Two nights in Rome."
    assert [name for name, _ in calls] == ["get_weather", "plan_trip"]
    assert calls[1][1] == [Stop(location=Location(city="Rome"), nights=2)]

    ask, answer = wire.requests  # tools checked as the SDK's Tool (no $ref, no anyOf: they would fail)
    weather, plan = (t["function"]["parameters"] for t in ask["tools"])
    assert weather == {
        "type": "object",
        "properties": {
            "location": LOCATION,  # the nested model, inlined
            "units": {"type": "string", "enum": ["c", "f"], "description": 'default: "c"'},
            "when": {"type": ["string", "null"], "enum": ["now", "later", None]},  # Optional[Literal] as a typed form
        },
        "required": ["location"],
    }
    assert plan["properties"]["traveller"]["properties"]["address"]["description"] == "Where the person lives"
    assert plan["properties"]["stops"] == {
        "type": "array",
        "items": {"type": "object", "properties": {"location": LOCATION, "nights": {"type": "integer"}}, "required": ["location", "nights"]},
    }
    assert plan["properties"]["budget"] == {"type": ["number", "null"]}
    # the round trip: the assistant turn with both calls (arguments as objects), then the results named by tool
    assistant, *results = answer["messages"][2:]
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == ["get_weather", "plan_trip"]
    assert assistant["tool_calls"][1]["function"]["arguments"]["stops"][0]["nights"] == 2
    assert [(m["role"], m["tool_name"]) for m in results] == [("tool", "get_weather"), ("tool", "plan_trip")]
    assert json.loads(results[0]["content"]) == {"city": "Rome", "temp": 21, "units": "c"}


def test_raw_pydantic_tool_parameters_do_not_fit_the_sdk_tool_type() -> None:
    """Why the rewrite exists: the SDK's Tool type refuses what pydantic emits for nested and optional parameters."""
    from ollama_sdk import check_tool

    raw = {"type": "function", "function": {"name": "get_weather", "parameters": get_weather.parameters}}
    with pytest.raises(ValidationError, match="extra_forbidden"):
        check_tool(raw, "tool")
    check_tool({"type": "function", "function": {"name": "get_weather", "parameters": ollama_parameters(get_weather.parameters)}}, "tool")


class Node(BaseModel):
    children: list[Node] = []


@tool
def walk(tree: Node) -> int:
    """Count nodes."""
    return 0


def test_a_recursive_tool_parameter_cannot_be_sent_to_ollama() -> None:
    with pytest.raises(ConfigError, match="recursive"):
        OllamaProvider("m").build_body(
            CompletionRequest(messages=[Message(role="user", content="x")], tools=[walk.to_definition()])
        )


# --- streaming, plain chat, truncation, thinking, embeddings -------------------------------------


class QA(Signature):
    """Answer the question."""

    question: str = InputField(desc="The question")
    answer: str = OutputField(desc="The answer")
    sources: dict[str, float] = OutputField(desc="Confidence per source")


@pytest.mark.anyio
async def test_streaming_agent(stub: list[StubHTTPServer], wire: OllamaWire) -> None:
    text = json.dumps({"answer": "Paris", "sources": {"atlas": 0.9}})
    pieces = [chat_response(text[i : i + 6], done=False) for i in range(0, len(text), 6)]
    provider = ollama_stub(stub, [stream_reply(*pieces, chat_response("", prompt_eval_count=30, eval_count=12))], wire)
    result = await BaseAgent(BaseAgentConfig(stream=True), QA, provider=provider).run_async(question="Capital?")
    (sent,) = wire.requests
    assert sent["stream"] is True and sent["format"] == QA.output_schema()
    assert result["answer"] == "Paris" and result["sources"] == {"atlas": 0.9}
    assert (result["_meta"]["usage"]["input_tokens"], result["_meta"]["usage"]["output_tokens"]) == (30, 12)


@pytest.mark.anyio
async def test_plain_chat_truncation_and_thinking(stub: list[StubHTTPServer], wire: OllamaWire) -> None:
    replies = [
        chat_response("Hello!"),
        chat_response("The sky is", done_reason="length", eval_count=3),
        chat_response("42", thinking="The user wants the answer to everything."),
    ]
    provider = ollama_stub(stub, replies, wire)
    request = CompletionRequest(messages=[Message(role="user", content="Hi")])
    plain = await provider.complete(request)
    cut = await provider.complete(request.model_copy(update={"params": GenerationParams(max_tokens=3)}))
    thought = await provider.complete(request)
    assert wire.requests[0] == {"model": "llama3.2", "messages": [{"role": "user", "content": "Hi"}], "stream": False}
    assert wire.requests[1]["options"] == {"num_predict": 3}
    assert (plain.content, plain.finish_reason) == ("Hello!", "stop")
    assert (cut.content, cut.finish_reason, cut.usage.output_tokens) == ("The sky is", "length", 3)
    assert (thought.content, thought.finish_reason) == ("42", "stop")  # thinking is not the answer


@pytest.mark.anyio
async def test_sampling_options_from_provider_config_reach_the_options(stub: list[StubHTTPServer], wire: OllamaWire) -> None:
    """provider_config's top_p, top_k and penalties are sent as Ollama options (validated as the SDK's Options)."""
    sampling = {"top_p": 0.9, "top_k": 40, "frequency_penalty": 0.5, "presence_penalty": -0.5}
    provider = ollama_stub(stub, [chat_response(json.dumps({"answer": "4"}))], wire, options={"top_k": 1}, **sampling)
    agent = BaseAgent(BaseAgentConfig(llm_provider="ollama", provider_config=sampling), "question -> answer", provider=provider)
    assert (await agent.run_async(question="2+2?"))["answer"] == "4"
    (body,) = wire.requests
    assert body["options"] == sampling  # the sampling option wins over the same key in options=


@pytest.mark.anyio
async def test_embeddings(stub: list[StubHTTPServer], wire: OllamaWire) -> None:
    provider = ollama_stub(stub, [embed_response([[0.1, 0.2], [0.3, 0.4]])], wire)
    result = await provider.embed(["a", "b"])
    assert wire.requests == [{"model": "nomic-embed-text", "input": ["a", "b"]}]
    assert result.vectors == [[0.1, 0.2], [0.3, 0.4]] and result.usage.input_tokens == 8


def test_forced_tool_keeps_the_full_schema_as_format() -> None:
    """``format`` takes a full JSON schema (Ollama builds a grammar from it): the forced tool's schema goes as is."""
    definition = ToolDefinition(name="plan_trip", parameters=plan_trip.parameters)
    body = OllamaProvider("m").build_body(
        CompletionRequest(messages=[Message(role="user", content="x")], tools=[definition], tool_choice="plan_trip")
    )
    assert body["format"] == plan_trip.parameters and "tools" not in body
