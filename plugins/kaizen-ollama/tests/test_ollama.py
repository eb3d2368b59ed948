"""kaizen-ollama against recorded /api/chat and /api/embed wire fixtures (respx): exact request bodies.

Every provider here sends through the ``wire`` transport (ollama_sdk.OllamaWire): each request is
validated against the ollama SDK's request models and each served fixture against its response models.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from ollama_sdk import OllamaWire

from kaizen_core.errors import ConfigError, ProviderError
from kaizen_core.providers import CompletionRequest, GenerationParams, Message, ToolCall, ToolDefinition
from kaizen_ollama.detect import ollama_url
from kaizen_ollama.provider import OllamaProvider
from kaizen_testing.provider_suite import ProviderSuite
from kaizen_testing.wire import RecordingSleep, fixture_loader, recorded_response, sample_value, sent

FIXTURES = Path(__file__).parent / "fixtures"
fixture = fixture_loader(FIXTURES)
HOST = "http://localhost:11434"
WEATHER = ToolDefinition(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch, wire: OllamaWire) -> OllamaProvider:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    p = OllamaProvider("llama3.2", transport=wire)
    p.http.sleep = RecordingSleep()
    return p


@pytest.mark.anyio
@respx.mock
async def test_structured_output_sends_schema_as_format(provider: OllamaProvider) -> None:
    fx = fixture("chat_structured.json")
    route = respx.post(f"{HOST}/api/chat").respond(json=fx["response"])
    request = CompletionRequest(
        messages=[Message(role="system", content="Answer in JSON."), Message(role="user", content="Capital of France?")],
        output_schema=fx["schema"],
        params=GenerationParams(temperature=0.0, max_tokens=64, seed=42),
    )
    completion = await provider.complete(request)
    assert sent(route) == fx["body"]
    assert completion.parsed == {"answer": "Paris", "confidence": 0.95}
    assert (completion.usage.input_tokens, completion.usage.output_tokens, completion.usage.cost_usd) == (26, 14, 0.0)
    assert completion.finish_reason == "stop"


@pytest.mark.anyio
@respx.mock
async def test_tool_history_and_tool_calls(provider: OllamaProvider) -> None:
    fx = fixture("chat_tools.json")
    route = respx.post(f"{HOST}/api/chat").respond(json=fx["response"])
    request = CompletionRequest(
        messages=[
            Message(role="user", content="Weather in Rome, then Paris?"),
            Message(role="assistant", tool_calls=[ToolCall(id="call_0", name="get_weather", arguments={"city": "Rome"})]),
            Message(role="tool", tool_call_id="call_0", content="sunny"),
        ],
        tools=[WEATHER],
        tool_choice="auto",
    )
    completion = await provider.complete(request)
    assert sent(route) == fx["body"]
    assert completion.tool_calls == [ToolCall(id="call_0", name="get_weather", arguments={"city": "Paris"})]
    assert completion.finish_reason == "tool_calls" and completion.content is None


@pytest.mark.anyio
@respx.mock
async def test_forced_tool_uses_format_with_the_tool_schema(provider: OllamaProvider) -> None:
    reply = {"model": "llama3.2", "message": {"role": "assistant", "content": '{"city": "Paris"}'}, "done": True, "done_reason": "stop", "prompt_eval_count": 9, "eval_count": 6}
    route = respx.post(f"{HOST}/api/chat").respond(json=reply)
    request = CompletionRequest(messages=[Message(role="user", content="Weather in Paris?")], tools=[WEATHER], tool_choice="get_weather")
    completion = await provider.complete(request)
    assert sent(route) == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "stream": False,
        "format": WEATHER.parameters,
    }
    assert completion.tool_calls == [ToolCall(id="call_0", name="get_weather", arguments={"city": "Paris"})]


@pytest.mark.anyio
@respx.mock
async def test_stream_ndjson_text_and_usage(provider: OllamaProvider) -> None:
    route = respx.post(f"{HOST}/api/chat").respond(200, text=(FIXTURES / "chat_stream.ndjson").read_text(), headers={"content-type": "application/x-ndjson"})
    events = [e async for e in provider.stream(CompletionRequest(messages=[Message(role="user", content="Why is the sky blue?")]))]
    assert sent(route) == {"model": "llama3.2", "messages": [{"role": "user", "content": "Why is the sky blue?"}], "stream": True}
    assert [e.text for e in events if e.type == "text"] == ["The", " sky", " is", " blue."]
    done = events[-1].completion
    assert done is not None and done.content == "The sky is blue."
    assert (done.usage.input_tokens, done.usage.output_tokens) == (26, 5)


@pytest.mark.anyio
@respx.mock
async def test_stream_tool_calls(provider: OllamaProvider) -> None:
    respx.post(f"{HOST}/api/chat").respond(200, text=(FIXTURES / "chat_stream_tools.ndjson").read_text())
    events = [e async for e in provider.stream(CompletionRequest(messages=[Message(role="user", content="x")], tools=[WEATHER]))]
    deltas = [e.tool_call for e in events if e.type == "tool_call" and e.tool_call]
    assert deltas[0].name == "get_weather" and json.loads(deltas[0].arguments_delta) == {"city": "Oslo"}
    done = events[-1].completion
    assert done is not None and done.tool_calls == [ToolCall(id="call_0", name="get_weather", arguments={"city": "Oslo"})]


@pytest.mark.anyio
@respx.mock
async def test_embed(provider: OllamaProvider) -> None:
    fx = fixture("embed.json")
    route = respx.post(f"{HOST}/api/embed").respond(json=fx["response"])
    result = await provider.embed(fx["body"]["input"])
    assert sent(route) == fx["body"]
    assert result.vectors == fx["response"]["embeddings"] and result.dimensions == 3 and result.usage.input_tokens == 8


@pytest.mark.anyio
@respx.mock
async def test_busy_server_retried_after_retry_after(provider: OllamaProvider) -> None:
    err = fixture("error_overloaded.json")
    ok = fixture("chat_structured.json")["response"]
    route = respx.post(f"{HOST}/api/chat").mock(
        side_effect=[recorded_response(err), httpx.Response(200, json=ok)]
    )
    completion = await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert completion.content and len(route.calls) == 2
    assert provider.http.sleep.delays == [2.0]  # type: ignore[union-attr]


@pytest.mark.anyio
@respx.mock
async def test_model_not_found_is_agent_004_with_ollama_message(provider: OllamaProvider) -> None:
    err = fixture("error_model_not_found.json")
    route = respx.post(f"{HOST}/api/chat").respond(err["status"], json=err["response"])
    with pytest.raises(ProviderError) as info:
        await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert info.value.code == "AGENT_004" and info.value.status == 404
    assert "try pulling it first" in str(info.value) and len(route.calls) == 1


def test_host_forms_and_options(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ollama_url("0.0.0.0") == "http://localhost:11434"
    assert ollama_url("example.org:8080") == "http://example.org:8080"
    assert ollama_url("https://ollama.example.org/") == "https://ollama.example.org"
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:5555")
    assert OllamaProvider().base_url == "http://127.0.0.1:5555"
    assert OllamaProvider(host="example.org").base_url == "http://example.org:11434"
    with pytest.raises(ConfigError, match="unknown option") as info:
        OllamaProvider(colour="red")
    assert "keep_alive" in str(info.value) and "embedding_model" in str(info.value)  # the hint lists the known ones


@pytest.mark.anyio
@respx.mock
async def test_api_key_is_a_bearer_token_for_ollama_cloud(monkeypatch: pytest.MonkeyPatch, wire: OllamaWire) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-cloud-KEY-123456")
    route = respx.post("https://ollama.com/api/chat").respond(json=fixture("chat_structured.json")["response"])
    provider = OllamaProvider("gpt-oss:120b", base_url="https://ollama.com", transport=wire)
    await provider.complete(CompletionRequest(messages=[Message(role="user", content="hi")]))
    assert route.calls[0].request.headers["authorization"] == "Bearer ollama-cloud-KEY-123456"
    monkeypatch.delenv("OLLAMA_API_KEY")
    assert "authorization" not in {k.lower() for k in OllamaProvider().http.headers}  # a local server needs none


def test_every_constructor_keyword_is_still_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    keywords = {
        "host", "base_url", "timeout", "max_retries", "max_retry_after", "keep_alive", "embedding_model", "options",
        "headers", "transport", "api_key", "top_p", "top_k", "frequency_penalty", "presence_penalty",
    }
    assert set(OllamaProvider.known_options()) == keywords
    provider = OllamaProvider(
        "m", host="h:1", timeout=5, max_retries=0, max_retry_after=1, keep_alive="5m", embedding_model="e",
        options={"num_ctx": 512}, headers={"x-extra": "1"}, transport=httpx.MockTransport(lambda r: httpx.Response(200)),
    )
    assert (provider.base_url, provider.keep_alive, provider.model_options) == ("http://h:1", "5m", {"num_ctx": 512})
    assert provider.http.timeout == 5 and OllamaProvider().http.timeout == 120.0


def test_import_is_light() -> None:
    code = "import sys, kaizen_ollama; assert 'httpx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- ProviderSuite over a canned Ollama API (respx) ----------------------------------------------


def canned_ollama(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    if request.url.path == "/api/embed":
        return httpx.Response(200, json={"model": body["model"], "embeddings": [[0.1, 0.2, 0.3] for _ in body["input"]], "prompt_eval_count": 4})
    content = json.dumps(sample_value(body["format"])) if "format" in body else "Hello"
    final = {"model": body["model"], "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop", "prompt_eval_count": 12, "eval_count": 3}
    if body.get("stream"):
        lines = [{"model": body["model"], "message": {"role": "assistant", "content": p}, "done": False} for p in ("Hel", "lo")]
        return httpx.Response(200, text="".join(json.dumps(x) + "\n" for x in [*lines, final]))
    return httpx.Response(200, json={**final, "message": {"role": "assistant", "content": content}})


class TestOllamaProviderSuite(ProviderSuite):
    """The conformance suite over a canned Ollama API: checks our translation both ways, not a model."""

    supports_embeddings = True

    @pytest.fixture
    def provider(self, monkeypatch: pytest.MonkeyPatch, wire: OllamaWire) -> Any:
        monkeypatch.delenv("OLLAMA_HOST", raising=False)
        with respx.mock(assert_all_called=False) as mock:
            mock.post(url__regex=r"http://localhost:11434/api/(chat|embed)").mock(side_effect=canned_ollama)
            yield OllamaProvider("llama3.2", transport=wire)


# --- the harness itself: the SDK check really runs on every exchange -----------------------------


@pytest.mark.anyio
@respx.mock
async def test_the_wire_refuses_requests_and_responses_the_sdk_does_not_define(wire: OllamaWire) -> None:
    from pydantic import ValidationError

    good = {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": False}
    respx.post(f"{HOST}/api/chat").mock(
        side_effect=[httpx.Response(200, json=fixture("chat_structured.json")["response"]), httpx.Response(200, json={"model": "m", "done": True})]
    )
    async with httpx.AsyncClient(transport=wire) as client:
        with pytest.raises(ValidationError, match=r"tool_call_id"):  # a message key the SDK's Message does not define
            await client.post(f"{HOST}/api/chat", json={**good, "messages": [{"role": "tool", "content": "r", "tool_call_id": "c"}]})
        with pytest.raises(ValidationError, match=r"num_predicted"):  # a misspelt option
            await client.post(f"{HOST}/api/chat", json={**good, "options": {"num_predicted": 3}})
        await client.post(f"{HOST}/api/chat", json=good)
        with pytest.raises(ValidationError, match="message"):  # a reply without its message
            await client.post(f"{HOST}/api/chat", json=good)
    assert len(wire.requests) == 2
