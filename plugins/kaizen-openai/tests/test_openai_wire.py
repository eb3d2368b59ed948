"""kaizen-openai request/response translation on the wire (respx and a loopback stub).

Every provider here sends through the ``wire`` transport (openai_sdk.OpenAIWire): each request
is validated against the openai SDK's request types and each response against its response types.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
import respx
from openai_sdk import OpenAIWire, chunk, completion, embeddings, sse, tool_call, usage

from kaizen_core.errors import ConfigError, ProviderError
from kaizen_core.providers import CompletionRequest, GenerationParams, Message, ToolCall, ToolDefinition
from kaizen_openai.provider import AzureOpenAIProvider, DockerModelRunnerProvider, OpenAIProvider
from kaizen_openai.schema import from_strict, strict_schema
from kaizen_testing.stub_http import StubHTTPServer, StubReply
from kaizen_testing.wire import RecordingSleep, closed_port, sent, sse_response

KEY = "sk-test-KEY0123456789abcdef"
BASE = "https://api.openai.com/v1"  # the OpenAI API (respx answers; nothing leaves the machine)
COMPAT = "http://compat.test/v1"  # an OpenAI-compatible server (llama.cpp, vLLM...)
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number", "default": 0.5}},
    "required": ["answer"],
}
TOOL = ToolDefinition(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
SAMPLING = {"top_p": 0.9, "frequency_penalty": 0.5, "presence_penalty": -0.5}
QUESTION = CompletionRequest(messages=[Message(role="user", content="Capital?")], output_schema=SCHEMA)


@pytest.fixture
def provider(wire: OpenAIWire) -> OpenAIProvider:
    return OpenAIProvider("gpt-4o-mini", api_key=KEY, base_url=BASE, max_retries=0, transport=wire)


@pytest.fixture
def compatible(wire: OpenAIWire) -> OpenAIProvider:
    return OpenAIProvider("local-model", base_url=COMPAT, max_retries=0, transport=wire)


def ok(content: str) -> httpx.Response:
    return httpx.Response(200, json=completion(content))


@pytest.mark.anyio
@respx.mock
async def test_structured_output_sends_strict_json_schema(provider: OpenAIProvider) -> None:
    route = respx.post(f"{BASE}/chat/completions").respond(json=completion('{"answer": "Paris", "confidence": null}'))
    request = CompletionRequest(
        messages=[Message(role="system", content="Be brief."), Message(role="user", content="Capital of France?")],
        output_schema=SCHEMA,
        schema_name="QA Signature",
        params=GenerationParams(temperature=0.0, max_tokens=32, seed=3),
    )
    result = await provider.complete(request)
    assert sent(route) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}],
        "temperature": 0.0,
        "max_completion_tokens": 32,  # the OpenAI API: max_tokens is deprecated there
        "seed": 3,
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "QA_Signature",
                "strict": True,
                "schema": {
                    "type": "object",
                    "properties": {"answer": {"type": "string"}, "confidence": {"type": ["number", "null"]}},
                    "required": ["answer", "confidence"],
                    "additionalProperties": False,
                },
            },
        },
    }
    assert route.calls[0].request.headers["authorization"] == f"Bearer {KEY}"
    assert result.parsed == {"answer": "Paris"}  # the null for the optional field is dropped
    assert result.usage.input_tokens == 12 and result.usage.output_tokens == 5
    assert result.usage.cost_usd == pytest.approx((12 * 0.15 + 5 * 0.60) / 1e6)
    assert result.model == "gpt-4o-mini-2024-07-18"


@pytest.mark.anyio
@respx.mock
@pytest.mark.parametrize(
    ("model", "sent_params"),
    [
        ("gpt-4o-mini", {"temperature": 0.2, **SAMPLING, "max_completion_tokens": 40, "stop": ["END"]}),
        ("o3-mini", {"max_completion_tokens": 40, "stop": ["END"]}),  # reasoning: default sampling only
        ("o4-mini-2025-04-16", {"max_completion_tokens": 40}),  # the SDK: no stop on o3 / o4-mini
        ("gpt-5", {"max_completion_tokens": 40, "stop": ["END"]}),
        ("gpt-5-chat-latest", {"temperature": 0.2, **SAMPLING, "max_completion_tokens": 40, "stop": ["END"]}),
    ],
)
async def test_parameters_per_model_on_the_openai_api(provider: OpenAIProvider, model: str, sent_params: dict) -> None:
    route = respx.post(f"{BASE}/chat/completions").respond(json=completion("hi"))
    # top_k is not in the API: never sent (the wire would refuse it)
    params = GenerationParams(temperature=0.2, max_tokens=40, stop=["END"], top_k=5, **SAMPLING)
    await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")], params=params, model=model))
    body = sent(route)
    assert {k: v for k, v in body.items() if k not in ("model", "messages")} == sent_params


@pytest.mark.anyio
@respx.mock
async def test_compatible_servers_get_max_tokens_and_every_parameter(compatible: OpenAIProvider) -> None:
    route = respx.post(f"{COMPAT}/chat/completions").respond(json=completion("hi"))
    params = GenerationParams(temperature=0.2, max_tokens=40, stop=["END"])
    await compatible.complete(CompletionRequest(messages=[Message(role="user", content="x")], params=params, model="o3-mini"))
    assert compatible.dialect == "compatible"
    assert {k: v for k, v in sent(route).items() if k not in ("model", "messages")} == {
        "temperature": 0.2,
        "max_tokens": 40,  # llama.cpp, Docker Model Runner
        "stop": ["END"],
    }


@pytest.mark.anyio
@respx.mock
@pytest.mark.parametrize("base_url", [BASE, COMPAT])
async def test_sampling_options_are_defaults_of_every_request(wire: OpenAIWire, base_url: str) -> None:
    """provider_config's top_p and penalties reach each request body; a request's own value wins."""
    route = respx.post(f"{base_url}/chat/completions").respond(json=completion("hi"))
    provider = OpenAIProvider("gpt-4o-mini", api_key=KEY, base_url=base_url, max_retries=0, transport=wire, **SAMPLING)
    await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    own = GenerationParams(top_p=0.5)
    await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")], params=own))
    first, second = (json.loads(call.request.content) for call in route.calls)
    assert {k: first[k] for k in SAMPLING} == SAMPLING
    assert {k: second[k] for k in SAMPLING} == {**SAMPLING, "top_p": 0.5}
    assert len(wire.requests) == 2  # both validated against the SDK's request type
    with pytest.raises(ConfigError, match="top_p") as bad:
        OpenAIProvider("gpt-4o-mini", api_key=KEY, top_p=1.5)
    assert bad.value.code == "KAIZEN_002"
    with pytest.raises(ConfigError, match="presence_penalty"):
        OpenAIProvider("gpt-4o-mini", api_key=KEY, presence_penalty=-3)


def test_dialect_per_endpoint_and_the_option_overrides_it(wire: OpenAIWire, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    assert OpenAIProvider(api_key=KEY).dialect == "openai"
    assert OpenAIProvider(base_url="http://127.0.0.1:8080/v1").dialect == "compatible"
    assert OpenAIProvider(base_url="https://gateway.example/v1", dialect="openai").dialect == "openai"
    assert AzureOpenAIProvider("dep", api_key=KEY).dialect == "openai"
    assert DockerModelRunnerProvider().dialect == "compatible"
    with pytest.raises(ConfigError, match="dialect"):
        OpenAIProvider(api_key=KEY, dialect="anthropic")


LLAMA_CPP_500 = {
    "error": {
        "message": "validation error: ('body', 'response_format', 'type') Input should be 'text' or 'json_object'",
        "type": "internal_server_error",
    }
}
OPENAI_UNSUPPORTED_400 = {
    "error": {
        "message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
        "type": "invalid_request_error",
        "param": "response_format",
    }
}


def formats(route: respx.Route) -> list[str]:
    """The structured mode of each request the server saw, in order."""
    modes = []
    for i in range(len(route.calls)):
        fmt = sent(route, i)["response_format"]
        modes.append("json_object_schema" if fmt["type"] == "json_object" and "schema" in fmt else fmt["type"])
    return modes


@pytest.mark.anyio
@respx.mock
async def test_a_500_rejecting_json_schema_falls_back_for_that_request_only(compatible: OpenAIProvider) -> None:
    route = respx.post(f"{COMPAT}/chat/completions").mock(
        side_effect=[httpx.Response(500, json=LLAMA_CPP_500), ok('{"answer": "Paris"}'), ok('{"answer": "Rome"}')]
    )
    first = await compatible.complete(QUESTION)
    assert first.parsed == {"answer": "Paris"}
    body = sent(route, 1)
    assert body["response_format"] == {"type": "json_object", "schema": SCHEMA}  # the compatible servers' extension
    assert body["messages"][0]["role"] == "system" and json.dumps(SCHEMA, separators=(",", ":")) in body["messages"][0]["content"]
    # a 500 is no capability answer (an overloaded or buggy server says the same): the next request tries json_schema again
    second = await compatible.complete(QUESTION)
    assert second.parsed == {"answer": "Rome"}
    assert formats(route) == ["json_schema", "json_object_schema", "json_schema"]
    assert compatible.structured_mode_for() == "json_schema" == compatible.structured_mode


@pytest.mark.anyio
@respx.mock
async def test_the_openai_api_falls_back_to_json_object_without_a_schema_field(provider: OpenAIProvider) -> None:
    route = respx.post(f"{BASE}/chat/completions").mock(
        side_effect=[httpx.Response(400, json=OPENAI_UNSUPPORTED_400), ok('{"answer": "Paris"}'), ok('{"answer": "Rome"}'), ok('{"answer": "Oslo"}')]
    )
    assert (await provider.complete(QUESTION)).parsed == {"answer": "Paris"}
    assert sent(route, 1)["response_format"] == {"type": "json_object"}  # the API defines no `schema` there
    assert json.dumps(SCHEMA, separators=(",", ":")) in sent(route, 1)["messages"][0]["content"]
    # a confirmed capability answer is remembered for that model only
    assert (await provider.complete(QUESTION)).parsed == {"answer": "Rome"}
    other_model = QUESTION.model_copy(update={"model": "gpt-4o"})
    assert (await provider.complete(other_model)).parsed == {"answer": "Oslo"}
    assert formats(route) == ["json_schema", "json_object", "json_object", "json_schema"]
    assert provider.structured_mode_for("gpt-4o-mini") == "json_object"
    assert provider.structured_mode_for("gpt-4o") == "json_schema"


@pytest.mark.anyio
@respx.mock
async def test_a_400_saying_json_schema_is_unsupported_is_remembered_on_compatible_servers(compatible: OpenAIProvider) -> None:
    route = respx.post(f"{COMPAT}/chat/completions").mock(
        side_effect=[httpx.Response(400, json=OPENAI_UNSUPPORTED_400), ok('{"answer": "Paris"}'), ok('{"answer": "Rome"}')]
    )
    await compatible.complete(QUESTION)
    await compatible.complete(QUESTION)
    assert formats(route) == ["json_schema", "json_object_schema", "json_object_schema"]
    assert compatible.structured_mode_for() == "json_object_schema"


@pytest.mark.anyio
@respx.mock
async def test_a_400_about_this_requests_schema_is_not_remembered(provider: OpenAIProvider) -> None:
    bad_schema = {"error": {"message": "Invalid schema for response_format 'output': 'additionalProperties' is required"}}
    route = respx.post(f"{BASE}/chat/completions").mock(
        side_effect=[httpx.Response(400, json=bad_schema), ok('{"answer": "Paris"}'), ok('{"answer": "Rome"}')]
    )
    await provider.complete(QUESTION)
    await provider.complete(QUESTION)
    assert formats(route) == ["json_schema", "json_object", "json_schema"]


@pytest.mark.anyio
@respx.mock
async def test_stream_falls_back_per_request_too(compatible: OpenAIProvider) -> None:
    done = sse(chunk({"content": '{"answer": "Paris"}'}, finish="stop"))
    route = respx.post(f"{COMPAT}/chat/completions").mock(
        side_effect=[
            httpx.Response(500, json=LLAMA_CPP_500),
            sse_response(done),
            httpx.Response(400, json=OPENAI_UNSUPPORTED_400),
            sse_response(done),
            sse_response(done),
        ]
    )
    for _ in range(3):
        events = [e async for e in compatible.stream(QUESTION)]
        assert events[-1].completion is not None and events[-1].completion.parsed == {"answer": "Paris"}
    assert formats(route) == ["json_schema", "json_object_schema", "json_schema", "json_object_schema", "json_object_schema"]


@pytest.mark.anyio
@respx.mock
async def test_unrelated_400_is_not_a_fallback(provider: OpenAIProvider) -> None:
    respx.post(f"{BASE}/chat/completions").respond(400, json={"error": {"message": "model 'x' does not exist"}})
    with pytest.raises(ProviderError, match="does not exist") as info:
        await provider.complete(CompletionRequest(messages=[Message(role="user", content="hi")], output_schema=SCHEMA))
    assert info.value.code == "AGENT_004" and info.value.status == 400
    assert provider.structured_mode_for() == "json_schema"


@pytest.mark.anyio
@respx.mock
async def test_tools_history_and_tool_call_parsing(provider: OpenAIProvider) -> None:
    call = tool_call("call_9", "get_weather", {"city": "Paris"})
    route = respx.post(f"{BASE}/chat/completions").respond(json=completion(None, tool_calls=[call], finish="tool_calls"))
    request = CompletionRequest(
        messages=[
            Message(role="user", content="Weather?"),
            Message(role="assistant", tool_calls=[ToolCall(id="call_1", name="get_weather", arguments={"city": "Rome"})]),
            Message(role="tool", tool_call_id="call_1", content="sunny"),
        ],
        tools=[TOOL],
        tool_choice="get_weather",
    )
    result = await provider.complete(request)
    body = sent(route)
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    assert body["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city", "parameters": TOOL.parameters}}
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert result.tool_calls == [ToolCall(id="call_9", name="get_weather", arguments={"city": "Paris"})]
    assert result.finish_reason == "tool_calls"


@pytest.mark.anyio
@respx.mock
async def test_stream_text_tool_deltas_and_usage(provider: OpenAIProvider) -> None:
    body = sse(
        chunk({"role": "assistant", "content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"ci'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}]}, finish="tool_calls"),
        chunk(usage_=usage(9, 4)),
    )
    route = respx.post(f"{BASE}/chat/completions").mock(return_value=sse_response(body))
    events = [e async for e in provider.stream(CompletionRequest(messages=[Message(role="user", content="x")], tools=[TOOL]))]
    assert sent(route)["stream"] is True and sent(route)["stream_options"] == {"include_usage": True}
    assert [e.text for e in events if e.type == "text"] == ["Hel", "lo"]
    deltas = [e.tool_call for e in events if e.type == "tool_call"]
    assert [d.arguments_delta for d in deltas if d] == ['{"ci', 'ty": "Oslo"}']
    done = events[-1].completion
    assert done is not None and done.content == "Hello"
    assert done.tool_calls == [ToolCall(id="c1", name="get_weather", arguments={"city": "Oslo"})]
    assert (done.usage.input_tokens, done.usage.output_tokens) == (9, 4)


@pytest.mark.anyio
@respx.mock
async def test_embeddings_in_index_order(provider: OpenAIProvider) -> None:
    route = respx.post(f"{BASE}/embeddings").respond(json=embeddings([[1.0, 0.0], [0.0, 1.0]], order=[1, 0]))
    result = await provider.embed(["a", "b"])
    assert sent(route) == {"model": "text-embedding-3-small", "input": ["a", "b"]}
    assert result.vectors == [[1.0, 0.0], [0.0, 1.0]] and result.usage.input_tokens == 6
    assert result.usage.cost_usd == pytest.approx(6 * 0.02 / 1e6)


@pytest.mark.anyio
@respx.mock
async def test_azure_deployment_url_key_header_and_api_version(monkeypatch: pytest.MonkeyPatch, wire: OpenAIWire) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    route = respx.post("https://res.openai.azure.com/openai/deployments/my-gpt/chat/completions").respond(json=completion("hi"))
    provider = AzureOpenAIProvider("my-gpt", transport=wire)
    request = CompletionRequest(messages=[Message(role="user", content="x")], params=GenerationParams(max_tokens=8))
    assert (await provider.complete(request)).content == "hi"
    sent_request = route.calls[0].request
    assert sent_request.url.params["api-version"] == "2024-10-21"
    assert sent_request.headers["api-key"] == KEY and "authorization" not in sent_request.headers
    assert sent(route)["max_completion_tokens"] == 8 and "max_tokens" not in sent(route)


@pytest.mark.anyio
@respx.mock
async def test_docker_model_runner_defaults_and_zero_cost(monkeypatch: pytest.MonkeyPatch, wire: OpenAIWire) -> None:
    monkeypatch.delenv("DOCKER_MODEL_RUNNER_URL", raising=False)
    route = respx.post("http://localhost:12434/engines/v1/chat/completions").respond(json=completion("ok"))
    request = CompletionRequest(messages=[Message(role="user", content="x")], params=GenerationParams(max_tokens=8))
    result = await DockerModelRunnerProvider(transport=wire).complete(request)
    assert sent(route)["model"] == "ai/smollm2" and "authorization" not in route.calls[0].request.headers
    assert sent(route)["max_tokens"] == 8  # llama.cpp underneath
    assert result.usage.cost_usd == 0.0


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIProvider()
    with pytest.raises(ConfigError, match="unknown option"):
        OpenAIProvider(api_key=KEY, colour="red")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert OpenAIProvider().base_url == "http://127.0.0.1:9/v1"  # a compatible server needs no key
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(ConfigError, match="AZURE_OPENAI_ENDPOINT"):
        AzureOpenAIProvider("dep", api_key=KEY)


def test_every_constructor_keyword_is_still_accepted() -> None:
    shared = {"api_key", "base_url", "timeout", "max_retries", "max_retry_after", "embedding_model", "headers", "transport"}
    own = {"organization", "structured_mode", "dialect", "top_p", "top_k", "frequency_penalty", "presence_penalty"}
    assert set(OpenAIProvider.known_options()) == shared | own
    assert set(AzureOpenAIProvider.known_options()) == shared | own | {"endpoint", "api_version"}
    assert set(DockerModelRunnerProvider.known_options()) == set(OpenAIProvider.known_options())
    provider = OpenAIProvider(
        "m", api_key=KEY, base_url="http://h/v1/", organization="org-1", timeout=5, max_retries=0, max_retry_after=1,
        embedding_model="e", structured_mode="json_object", headers={"x-extra": "1"}, dialect="openai",
        transport=httpx.MockTransport(lambda r: httpx.Response(200)),
    )
    assert (provider.base_url, provider.embedding_model, provider.structured_mode_for()) == ("http://h/v1", "e", "json_object")
    assert provider.dialect == "openai"
    assert provider.http.headers == {"Authorization": f"Bearer {KEY}", "OpenAI-Organization": "org-1", "x-extra": "1"}


def test_unknown_model_costs_none() -> None:
    provider = OpenAIProvider(api_key=KEY, base_url=BASE)
    assert provider._usage({"prompt_tokens": 5, "completion_tokens": 5}, "my-local-model").cost_usd is None


def test_strict_schema_nested_and_back() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}},
            "kind": {"enum": ["a", "b"], "type": "string"},
            "ref": {"$ref": "#/$defs/X"},
        },
        "required": ["items"],
        "$defs": {"X": {"type": "object", "properties": {"y": {"type": "string"}}, "required": ["y"]}},
    }
    out = strict_schema(schema)
    assert out is not None
    assert out["required"] == ["items", "kind", "ref"] and out["additionalProperties"] is False
    assert out["properties"]["items"]["items"] == {
        "type": "object",
        "properties": {"n": {"type": ["integer", "null"]}},
        "required": ["n"],
        "additionalProperties": False,
    }
    assert out["properties"]["kind"] == {"enum": ["a", "b", None], "type": ["string", "null"]}
    assert out["properties"]["ref"] == {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]}  # a bare ref stays
    assert out["$defs"]["X"]["additionalProperties"] is False
    assert "additionalProperties" not in schema  # input untouched
    back = from_strict({"items": [{"n": None}], "kind": None, "ref": {"y": "z"}}, schema)
    assert back == {"items": [{}], "ref": {"y": "z"}}  # nulls the original does not allow are dropped, also nested


def test_free_form_maps_are_not_strict() -> None:
    untyped = {"type": "object", "properties": {"meta": {"type": "object", "additionalProperties": True}}, "required": ["meta"]}
    assert strict_schema(untyped) is None
    assert strict_schema({"type": "object", "properties": {"any": {}}, "required": ["any"]}) is None


# --- real sockets: retries, Retry-After, unreachable ---------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("first", "expected_delay"),
    [(StubReply(429, {"Retry-After": "2"}, {"error": {"message": "Rate limit reached"}}), 2.0), (StubReply(500, body={"error": {"message": "oops"}}), None)],
)
async def test_retry_then_success_over_a_socket(first: StubReply, expected_delay: float | None, wire: OpenAIWire) -> None:
    with StubHTTPServer([first, StubReply(200, body=completion("done"))]) as srv:
        provider = OpenAIProvider("gpt-4o-mini", api_key=KEY, base_url=f"{srv.url}/v1", max_retries=2, transport=wire)
        sleep = RecordingSleep()
        provider.http.sleep = sleep
        result = await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
        await provider.aclose()
    assert result.content == "done"
    assert len(srv.requests) == 2 and srv.requests[0].body == srv.requests[1].body
    assert len(sleep.delays) == 1
    if expected_delay is not None:
        assert sleep.delays == [expected_delay]
    else:
        assert 0 <= sleep.delays[0] <= 0.5


@pytest.mark.anyio
async def test_rate_limit_exhausted_reports_provider_message_without_key(wire: OpenAIWire) -> None:
    reply = StubReply(429, {"Retry-After": "1"}, {"error": {"message": f"Rate limit reached for key {KEY}", "type": "requests"}})
    with StubHTTPServer([reply]) as srv:
        provider = OpenAIProvider("gpt-4o-mini", api_key=KEY, base_url=f"{srv.url}/v1", max_retries=1, transport=wire)
        provider.http.sleep = RecordingSleep()
        with pytest.raises(ProviderError) as info:
            await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert info.value.code == "AGENT_004" and info.value.status == 429
    assert "Rate limit reached" in str(info.value) and KEY not in str(info.value)


def test_unreachable_endpoint_sync_use() -> None:
    port = closed_port()
    provider = OpenAIProvider("m", api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    with pytest.raises(ProviderError) as info:
        provider.complete_sync(CompletionRequest(messages=[Message(role="user", content="x")]))
    text = str(info.value)
    assert info.value.code == "AGENT_004" and "unreachable" in text and f"127.0.0.1:{port}/v1" in text
    assert KEY not in text


def test_import_is_light() -> None:
    code = "import sys, kaizen_openai; assert 'httpx' not in sys.modules and 'kaizen_openai.provider' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the harness itself: the SDK check really runs on every exchange -----------------------------


@pytest.mark.anyio
@respx.mock
async def test_the_wire_refuses_requests_and_responses_the_sdk_does_not_define(wire: OpenAIWire) -> None:
    from pydantic import ValidationError

    respx.post(f"{BASE}/chat/completions").mock(
        side_effect=[httpx.Response(200, json=completion("ok")), httpx.Response(200, json={"id": "x", "object": "chat.completion", "model": "m", "choices": []})]
    )
    async with httpx.AsyncClient(transport=wire) as client:
        with pytest.raises(ValidationError, match="extra_forbidden"):  # a key the API does not define
            await client.post(f"{BASE}/chat/completions", json={"model": "m", "messages": [], "max_tokenz": 3})
        await client.post(f"{BASE}/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
        with pytest.raises(ValidationError, match="created"):  # a response without a required field
            await client.post(f"{BASE}/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert len(wire.requests) == 2
