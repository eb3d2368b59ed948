"""kaizen-openai request/response translation, checked on the wire (respx) and against a loopback stub."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
import respx

from kaizen_core.errors import ConfigError, ProviderError
from kaizen_core.providers import CompletionRequest, GenerationParams, Message, ToolCall, ToolDefinition
from kaizen_openai.provider import AzureOpenAIProvider, DockerModelRunnerProvider, OpenAIProvider
from kaizen_openai.schema import drop_null_optionals, strict_schema
from kaizen_testing.stub_http import StubHTTPServer, StubReply
from kaizen_testing.wire import RecordingSleep, closed_port, sent, sse_response

KEY = "sk-test-KEY0123456789abcdef"
BASE = "https://api.openai.test/v1"
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


def chat(content: str | None, *, tool_calls: list[dict] | None = None, finish: str = "stop") -> dict:
    message: dict = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


@pytest.fixture
def provider() -> OpenAIProvider:
    return OpenAIProvider("gpt-4o-mini", api_key=KEY, base_url=BASE, max_retries=0)


@pytest.mark.anyio
@respx.mock
async def test_structured_output_sends_strict_json_schema(provider: OpenAIProvider) -> None:
    route = respx.post(f"{BASE}/chat/completions").respond(json=chat('{"answer": "Paris", "confidence": null}'))
    request = CompletionRequest(
        messages=[Message(role="system", content="Be brief."), Message(role="user", content="Capital of France?")],
        output_schema=SCHEMA,
        schema_name="QA Signature",
        params=GenerationParams(temperature=0.0, max_tokens=32, seed=3),
    )
    completion = await provider.complete(request)
    assert sent(route) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}],
        "temperature": 0.0,
        "max_tokens": 32,
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
    assert completion.parsed == {"answer": "Paris"}  # the null for the optional field is dropped
    assert completion.usage.input_tokens == 12 and completion.usage.output_tokens == 5
    assert completion.usage.cost_usd == pytest.approx((12 * 0.15 + 5 * 0.60) / 1e6)
    assert completion.model == "gpt-4o-mini-2024-07-18"


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
QUESTION = CompletionRequest(messages=[Message(role="user", content="Capital?")], output_schema=SCHEMA)


def formats(route: respx.Route) -> list[str]:
    """The structured mode of each request the server saw, in order."""
    modes = []
    for i in range(len(route.calls)):
        fmt = sent(route, i)["response_format"]
        modes.append("json_object_schema" if fmt["type"] == "json_object" and "schema" in fmt else fmt["type"])
    return modes


@pytest.mark.anyio
@respx.mock
async def test_a_500_rejecting_json_schema_falls_back_for_that_request_only(provider: OpenAIProvider) -> None:
    route = respx.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            httpx.Response(500, json=LLAMA_CPP_500),
            httpx.Response(200, json=chat('{"answer": "Paris"}')),
            httpx.Response(200, json=chat('{"answer": "Rome"}')),
        ]
    )
    first = await provider.complete(QUESTION)
    assert first.parsed == {"answer": "Paris"}
    body = sent(route, 1)
    assert body["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert body["messages"][0]["role"] == "system" and json.dumps(SCHEMA, separators=(",", ":")) in body["messages"][0]["content"]
    # a 500 is no capability answer (an overloaded or buggy server says the same): the next request tries json_schema again
    second = await provider.complete(QUESTION)
    assert second.parsed == {"answer": "Rome"}
    assert formats(route) == ["json_schema", "json_object_schema", "json_schema"]
    assert provider.structured_mode_for() == "json_schema" == provider.structured_mode


@pytest.mark.anyio
@respx.mock
async def test_a_400_saying_json_schema_is_unsupported_is_remembered_for_that_model(provider: OpenAIProvider) -> None:
    route = respx.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            httpx.Response(400, json=OPENAI_UNSUPPORTED_400),
            httpx.Response(200, json=chat('{"answer": "Paris"}')),
            httpx.Response(200, json=chat('{"answer": "Rome"}')),
            httpx.Response(200, json=chat('{"answer": "Oslo"}')),
        ]
    )
    assert (await provider.complete(QUESTION)).parsed == {"answer": "Paris"}
    assert (await provider.complete(QUESTION)).parsed == {"answer": "Rome"}  # starts at json_object_schema
    other_model = QUESTION.model_copy(update={"model": "gpt-4o"})
    assert (await provider.complete(other_model)).parsed == {"answer": "Oslo"}  # another model: json_schema
    assert formats(route) == ["json_schema", "json_object_schema", "json_object_schema", "json_schema"]
    assert provider.structured_mode_for("gpt-4o-mini") == "json_object_schema"
    assert provider.structured_mode_for("gpt-4o") == "json_schema"


@pytest.mark.anyio
@respx.mock
async def test_a_400_about_this_requests_schema_is_not_remembered(provider: OpenAIProvider) -> None:
    bad_schema = {"error": {"message": "Invalid schema for response_format 'output': 'additionalProperties' is required"}}
    route = respx.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            httpx.Response(400, json=bad_schema),
            httpx.Response(200, json=chat('{"answer": "Paris"}')),
            httpx.Response(200, json=chat('{"answer": "Rome"}')),
        ]
    )
    await provider.complete(QUESTION)
    await provider.complete(QUESTION)
    assert formats(route) == ["json_schema", "json_object_schema", "json_schema"]


@pytest.mark.anyio
@respx.mock
async def test_stream_falls_back_per_request_too(provider: OpenAIProvider) -> None:
    done = sse({"choices": [{"index": 0, "delta": {"content": '{"answer": "Paris"}'}, "finish_reason": "stop"}]})
    route = respx.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            httpx.Response(500, json=LLAMA_CPP_500),
            sse_response(done),
            httpx.Response(400, json=OPENAI_UNSUPPORTED_400),
            sse_response(done),
            sse_response(done),
        ]
    )
    for _ in range(3):
        events = [e async for e in provider.stream(QUESTION)]
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
    call = {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    route = respx.post(f"{BASE}/chat/completions").respond(json=chat(None, tool_calls=[call], finish="tool_calls"))
    request = CompletionRequest(
        messages=[
            Message(role="user", content="Weather?"),
            Message(role="assistant", tool_calls=[ToolCall(id="call_1", name="get_weather", arguments={"city": "Rome"})]),
            Message(role="tool", tool_call_id="call_1", content="sunny"),
        ],
        tools=[TOOL],
        tool_choice="get_weather",
    )
    completion = await provider.complete(request)
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
    assert completion.tool_calls == [ToolCall(id="call_9", name="get_weather", arguments={"city": "Paris"})]
    assert completion.finish_reason == "tool_calls"


def sse(*chunks: dict) -> str:
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


@pytest.mark.anyio
@respx.mock
async def test_stream_text_tool_deltas_and_usage(provider: OpenAIProvider) -> None:
    body = sse(
        {"model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]},
        {"choices": [{"index": 0, "delta": {"content": "lo"}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "get_weather", "arguments": '{"ci'}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}]}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}},
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
    route = respx.post(f"{BASE}/embeddings").respond(
        json={
            "data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 6, "total_tokens": 6},
        }
    )
    result = await provider.embed(["a", "b"])
    assert sent(route) == {"model": "text-embedding-3-small", "input": ["a", "b"]}
    assert result.vectors == [[1.0, 0.0], [0.0, 1.0]] and result.usage.input_tokens == 6
    assert result.usage.cost_usd == pytest.approx(6 * 0.02 / 1e6)


@pytest.mark.anyio
@respx.mock
async def test_azure_deployment_url_key_header_and_api_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.test/")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    route = respx.post("https://res.openai.azure.test/openai/deployments/my-gpt/chat/completions").respond(json=chat("hi"))
    provider = AzureOpenAIProvider("my-gpt")
    assert (await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))).content == "hi"
    request = route.calls[0].request
    assert request.url.params["api-version"] == "2024-10-21"
    assert request.headers["api-key"] == KEY and "authorization" not in request.headers


@pytest.mark.anyio
@respx.mock
async def test_docker_model_runner_defaults_and_zero_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_MODEL_RUNNER_URL", raising=False)
    route = respx.post("http://localhost:12434/engines/v1/chat/completions").respond(json=chat("ok"))
    completion = await DockerModelRunnerProvider().complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert sent(route)["model"] == "ai/smollm2" and "authorization" not in route.calls[0].request.headers
    assert completion.usage.cost_usd == 0.0


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
    assert set(OpenAIProvider.known_options()) == shared | {"organization", "structured_mode"}
    assert set(AzureOpenAIProvider.known_options()) == shared | {"organization", "structured_mode", "endpoint", "api_version"}
    assert set(DockerModelRunnerProvider.known_options()) == set(OpenAIProvider.known_options())
    provider = OpenAIProvider(
        "m", api_key=KEY, base_url="http://h/v1/", organization="org-1", timeout=5, max_retries=0, max_retry_after=1,
        embedding_model="e", structured_mode="json_object", headers={"x-extra": "1"},
        transport=httpx.MockTransport(lambda r: httpx.Response(200)),
    )
    assert (provider.base_url, provider.embedding_model, provider.structured_mode_for()) == ("http://h/v1", "e", "json_object")
    assert provider.http.headers == {"Authorization": f"Bearer {KEY}", "OpenAI-Organization": "org-1", "x-extra": "1"}


def test_unknown_model_costs_none() -> None:
    provider = OpenAIProvider(api_key=KEY, base_url=BASE)
    assert provider._usage({"prompt_tokens": 5, "completion_tokens": 5}, "my-local-model").cost_usd is None


def test_strict_schema_nested_and_drop_nulls() -> None:
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
    assert out["required"] == ["items", "kind", "ref"] and out["additionalProperties"] is False
    assert out["properties"]["items"]["items"] == {
        "type": "object",
        "properties": {"n": {"type": ["integer", "null"]}},
        "required": ["n"],
        "additionalProperties": False,
    }
    assert out["properties"]["kind"] == {"enum": ["a", "b", None], "type": ["string", "null"]}
    assert out["properties"]["ref"] == {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]}
    assert out["$defs"]["X"]["additionalProperties"] is False
    assert "additionalProperties" not in schema  # input untouched
    assert drop_null_optionals({"items": [], "kind": None, "ref": {"y": "z"}}, schema) == {"items": [], "ref": {"y": "z"}}


# --- real sockets: retries, Retry-After, unreachable ---------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("first", "expected_delay"),
    [(StubReply(429, {"Retry-After": "2"}, {"error": {"message": "Rate limit reached"}}), 2.0), (StubReply(500, body={"error": {"message": "oops"}}), None)],
)
async def test_retry_then_success_over_a_socket(first: StubReply, expected_delay: float | None) -> None:
    with StubHTTPServer([first, StubReply(200, body=chat("done"))]) as srv:
        provider = OpenAIProvider("gpt-4o-mini", api_key=KEY, base_url=f"{srv.url}/v1", max_retries=2)
        sleep = RecordingSleep()
        provider.http.sleep = sleep
        completion = await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
        await provider.aclose()
    assert completion.content == "done"
    assert len(srv.requests) == 2 and srv.requests[0].body == srv.requests[1].body
    assert len(sleep.delays) == 1
    if expected_delay is not None:
        assert sleep.delays == [expected_delay]
    else:
        assert 0 <= sleep.delays[0] <= 0.5


@pytest.mark.anyio
async def test_rate_limit_exhausted_reports_provider_message_without_key() -> None:
    reply = StubReply(429, {"Retry-After": "1"}, {"error": {"message": f"Rate limit reached for key {KEY}", "type": "requests"}})
    with StubHTTPServer([reply]) as srv:
        provider = OpenAIProvider("gpt-4o-mini", api_key=KEY, base_url=f"{srv.url}/v1", max_retries=1)
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
