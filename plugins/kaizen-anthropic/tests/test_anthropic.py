"""kaizen-anthropic against recorded Messages API wire fixtures (respx): exact request bodies, parsing, errors.

Every exchange goes through the ``wire`` transport (tests/anthropic_sdk.py): each request
validates against the anthropic SDK's request type and each fixture response against its
response type, or the test fails.
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
from anthropic_sdk import AnthropicWire, listed, message, sse, stream_events, text, tool_use, usage

from kaizen_anthropic.provider import AnthropicProvider
from kaizen_core.errors import ConfigError, ProviderError
from kaizen_core.providers import CompletionRequest, GenerationParams, Message, ToolCall, ToolDefinition
from kaizen_testing.provider_suite import ProviderSuite
from kaizen_testing.wire import RecordingSleep, fixture_loader, recorded_response, sample_value, sent, sse_response

FIXTURES = Path(__file__).parent / "fixtures"
fixture = fixture_loader(FIXTURES)
KEY = "sk-ant-api03-SECRETSECRETSECRET"
URL = "https://api.anthropic.com/v1/messages"
MODEL = "claude-sonnet-5"
WEATHER = ToolDefinition(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture
def provider(wire: AnthropicWire) -> AnthropicProvider:
    p = AnthropicProvider(listed(MODEL), api_key=KEY, max_retries=2, transport=wire)
    p.http.sleep = RecordingSleep()
    return p


@pytest.mark.anyio
@respx.mock
async def test_text_completion_exact_body_headers_usage_cost(provider: AnthropicProvider) -> None:
    fx = fixture("messages_text.json")
    route = respx.post(URL).respond(json=fx["response"])
    request = CompletionRequest(
        messages=[Message(role="system", content="Be brief."), Message(role="user", content="Say hello.")],
        params=GenerationParams(temperature=0.0, max_tokens=64, seed=1),
    )
    completion = await provider.complete(request)
    assert sent(route) == fx["body"]
    headers = route.calls[0].request.headers
    assert headers["x-api-key"] == KEY and headers["anthropic-version"] == "2023-06-01"
    assert "temperature" not in sent(route)  # claude-sonnet-5 refuses sampling parameters
    assert completion.content == "Hello!" and completion.finish_reason == "stop"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (12, 6)
    assert completion.usage.cost_usd == pytest.approx((12 * 3.00 + 6 * 15.00) / 1e6)


@pytest.mark.anyio
@respx.mock
async def test_structured_output_is_a_forced_tool(provider: AnthropicProvider) -> None:
    fx = fixture("messages_structured.json")
    route = respx.post(URL).respond(json=fx["response"])
    request = CompletionRequest(
        messages=[Message(role="user", content="Capital of France?")], output_schema=fx["schema"], schema_name="QA"
    )
    completion = await provider.complete(request)
    assert sent(route) == fx["body"]
    assert completion.parsed == {"answer": "Paris", "confidence": 0.97}
    assert json.loads(completion.content or "") == completion.parsed
    assert completion.tool_calls == [] and completion.finish_reason == "stop"


@pytest.mark.anyio
@respx.mock
async def test_tool_history_and_tool_use_parsing(provider: AnthropicProvider) -> None:
    fx = fixture("messages_tool_use.json")
    route = respx.post(URL).respond(json=fx["response"])
    request = CompletionRequest(
        messages=[
            Message(role="user", content="Weather in Rome and Oslo?"),
            Message(
                role="assistant",
                content="Checking.",
                tool_calls=[
                    ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Rome"}),
                    ToolCall(id="toolu_2", name="get_weather", arguments={"city": "Oslo"}),
                ],
            ),
            Message(role="tool", tool_call_id="toolu_1", content="sunny"),
            Message(role="tool", tool_call_id="toolu_2", content="snow"),
        ],
        tools=[WEATHER],
    )
    completion = await provider.complete(request)
    assert sent(route) == fx["body"]
    assert completion.content == "Let me also check Paris."
    assert completion.tool_calls == [ToolCall(id="toolu_3", name="get_weather", arguments={"city": "Paris"})]
    assert completion.finish_reason == "tool_calls"


@pytest.mark.anyio
@respx.mock
async def test_stream_text(provider: AnthropicProvider) -> None:
    route = respx.post(URL).mock(return_value=sse_response((FIXTURES / "stream_text.sse").read_text()))
    events = [e async for e in provider.stream(CompletionRequest(messages=[Message(role="user", content="hi")]))]
    assert sent(route)["stream"] is True
    assert [e.text for e in events if e.type == "text"] == ["Hel", "lo!"]
    done = events[-1].completion
    assert done is not None and done.content == "Hello!" and done.finish_reason == "stop"
    assert (done.usage.input_tokens, done.usage.output_tokens) == (25, 15)


@pytest.mark.anyio
@respx.mock
async def test_stream_tool_use_deltas(provider: AnthropicProvider) -> None:
    respx.post(URL).mock(return_value=sse_response((FIXTURES / "stream_tool_use.sse").read_text()))
    request = CompletionRequest(messages=[Message(role="user", content="weather?")], tools=[WEATHER])
    events = [e async for e in provider.stream(request)]
    deltas = [e.tool_call for e in events if e.type == "tool_call" and e.tool_call]
    assert deltas[0].name == "get_weather" and deltas[0].id == "toolu_9"
    assert "".join(d.arguments_delta for d in deltas) == '{"city": "Paris"}'
    done = events[-1].completion
    assert done is not None and done.content == "Okay."
    assert done.tool_calls == [ToolCall(id="toolu_9", name="get_weather", arguments={"city": "Paris"})]
    assert done.finish_reason == "tool_calls"


@pytest.mark.anyio
@respx.mock
async def test_rate_limit_honours_retry_after_then_succeeds(provider: AnthropicProvider) -> None:
    err = fixture("error_rate_limit.json")
    ok = fixture("messages_text.json")["response"]
    route = respx.post(URL).mock(
        side_effect=[recorded_response(err), httpx.Response(200, json=ok)]
    )
    completion = await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert completion.content == "Hello!" and len(route.calls) == 2
    assert provider.http.sleep.delays == [7.0]  # type: ignore[union-attr]


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["error_overloaded.json", "error_rate_limit.json", "error_invalid_request.json"])
@respx.mock
async def test_errors_map_to_agent_004_with_message_and_no_key(provider: AnthropicProvider, name: str) -> None:
    err = fixture(name)
    route = respx.post(URL).respond(err["status"], json=err["response"], headers=err["headers"])
    with pytest.raises(ProviderError) as info:
        await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    exc = info.value
    assert exc.code == "AGENT_004" and exc.status == err["status"]
    assert err["response"]["error"]["message"] in str(exc) and err["response"]["error"]["type"] in str(exc)
    assert KEY not in str(exc)
    assert len(route.calls) == (1 if err["status"] == 400 else 3)  # 429/529 retried twice


def test_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        AnthropicProvider()
    with pytest.raises(ConfigError, match="unknown option"):
        AnthropicProvider(api_key=KEY, bogus=1)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    assert AnthropicProvider().model == listed("claude-haiku-4-5")


def test_every_constructor_keyword_is_still_accepted() -> None:
    keywords = {"api_key", "base_url", "timeout", "max_retries", "max_retry_after", "max_tokens", "headers", "transport",
                "top_p", "top_k", "frequency_penalty", "presence_penalty"}
    assert set(AnthropicProvider.known_options()) == keywords
    provider = AnthropicProvider(
        "claude-x", api_key=KEY, base_url="http://h/", timeout=5, max_retries=0, max_retry_after=1,
        max_tokens=9, headers={"anthropic-beta": "b"}, transport=httpx.MockTransport(lambda r: httpx.Response(200)),
    )
    assert provider.base_url == "http://h" and provider.max_tokens == 9 and provider.http.timeout == 5
    assert provider.http.headers == {"x-api-key": KEY, "anthropic-version": "2023-06-01", "anthropic-beta": "b"}


def test_import_is_light() -> None:
    code = "import sys, kaizen_anthropic; assert 'httpx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- ProviderSuite against a canned Messages API (respx), answering from the request ---------------


def canned_messages_api(request: httpx.Request) -> httpx.Response:
    """Answers like the Messages API (replies built with the SDK's types): a forced tool gets a tool_use from its schema."""
    body = json.loads(request.content)
    choice = body.get("tool_choice") or {}
    counts = usage(10 + len(json.dumps(body["messages"])) // 4, 5)
    if choice.get("type") in ("tool", "any"):
        tool = next(t for t in body["tools"] if choice.get("type") == "any" or t["name"] == choice["name"])
        reply = message(tool_use("toolu_suite", tool["name"], sample_value(tool["input_schema"])), stop="tool_use", usage_=counts, model=body["model"])
    else:
        reply = message(text("Hello"), usage_=counts, model=body["model"])
    if body.get("stream"):
        return sse_response(sse(stream_events(reply, chunk=3)))
    return httpx.Response(200, json=reply)


class TestAnthropicProviderSuite(ProviderSuite):
    """The conformance suite over a canned Messages API: checks our translation both ways, not Claude."""

    supports_embeddings = False

    @pytest.fixture
    def provider(self, wire: AnthropicWire) -> Any:
        with respx.mock(assert_all_called=False) as mock:
            mock.post(URL).mock(side_effect=canned_messages_api)
            yield AnthropicProvider(MODEL, api_key=KEY, transport=wire)
