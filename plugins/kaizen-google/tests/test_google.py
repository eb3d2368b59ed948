"""kaizen-google against recorded Gemini API wire fixtures (respx): exact request bodies, parsing, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from kaizen_core.errors import ConfigError, ProviderError
from kaizen_core.providers import CompletionRequest, GenerationParams, Message, ToolCall, ToolDefinition
from kaizen_google.provider import GEMINI_BASE_URL, GoogleProvider
from kaizen_google.schema import to_gemini_schema
from kaizen_testing.provider_suite import ProviderSuite
from kaizen_testing.wire import RecordingSleep, fixture_loader, recorded_response, sample_value, sent, sse_response

FIXTURES = Path(__file__).parent / "fixtures"
fixture = fixture_loader(FIXTURES)
KEY = "AIzaSyTESTSECRETKEY0123456789"
GEN = f"{GEMINI_BASE_URL}/models/gemini-2.0-flash:generateContent"
STREAM = f"{GEMINI_BASE_URL}/models/gemini-2.0-flash:streamGenerateContent"
WEATHER = ToolDefinition(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False},
)


@pytest.fixture
def provider() -> GoogleProvider:
    p = GoogleProvider("gemini-2.0-flash", api_key=KEY)
    p.http.sleep = RecordingSleep()
    return p


@pytest.mark.anyio
@respx.mock
async def test_structured_output_response_schema(provider: GoogleProvider) -> None:
    fx = fixture("generate_structured.json")
    route = respx.post(GEN).respond(json=fx["response"])
    request = CompletionRequest(
        messages=[Message(role="system", content="Answer in JSON."), Message(role="user", content="Capital of France?")],
        output_schema=fx["schema"],
        params=GenerationParams(temperature=0.0, max_tokens=64, seed=7),
    )
    completion = await provider.complete(request)
    assert sent(route) == fx["body"]
    assert route.calls[0].request.headers["x-goog-api-key"] == KEY
    assert completion.parsed == {"answer": "Paris", "confidence": 0.96}
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (21, 13)
    assert completion.usage.cost_usd == pytest.approx((21 * 0.10 + 13 * 0.40) / 1e6)


@pytest.mark.anyio
@respx.mock
async def test_function_calling_history_and_forced_function(provider: GoogleProvider) -> None:
    fx = fixture("generate_function_call.json")
    route = respx.post(GEN).respond(json=fx["response"])
    request = CompletionRequest(
        messages=[
            Message(role="user", content="Weather in Rome, then Paris?"),
            Message(role="assistant", tool_calls=[ToolCall(id="call_0", name="get_weather", arguments={"city": "Rome"})]),
            Message(role="tool", tool_call_id="call_0", content='{"forecast": "sunny"}'),
        ],
        tools=[WEATHER],
        tool_choice="get_weather",
    )
    completion = await provider.complete(request)
    assert sent(route) == fx["body"]
    assert completion.tool_calls == [ToolCall(id="call_0", name="get_weather", arguments={"city": "Paris"})]
    assert completion.finish_reason == "tool_calls"


@pytest.mark.anyio
@respx.mock
async def test_stream_sse(provider: GoogleProvider) -> None:
    route = respx.post(STREAM).mock(return_value=sse_response((FIXTURES / "stream.sse").read_text()))
    events = [e async for e in provider.stream(CompletionRequest(messages=[Message(role="user", content="Sky?")]))]
    assert route.calls[0].request.url.params["alt"] == "sse"
    assert sent(route) == {"contents": [{"role": "user", "parts": [{"text": "Sky?"}]}]}
    assert [e.text for e in events if e.type == "text"] == ["The sky", " is blue."]
    done = events[-1].completion
    assert done is not None and done.content == "The sky is blue." and done.usage.output_tokens == 5


@pytest.mark.anyio
@respx.mock
async def test_embeddings_single_and_batch(provider: GoogleProvider) -> None:
    single, batch = fixture("embed_single.json"), fixture("embed_batch.json")
    r1 = respx.post(f"{GEMINI_BASE_URL}/models/text-embedding-004:embedContent").respond(json=single["response"])
    r2 = respx.post(f"{GEMINI_BASE_URL}/models/text-embedding-004:batchEmbedContents").respond(json=batch["response"])
    assert (await provider.embed(["a"])).vectors == [[0.5, 0.5]]
    result = await provider.embed(["a", "b"])
    assert sent(r1) == single["body"] and sent(r2) == batch["body"]
    assert result.vectors == [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]
    assert result.usage.cost_usd is None  # not in the price table: unknown, never a guess


@pytest.mark.anyio
@respx.mock
async def test_rate_limit_retry_after_then_success(provider: GoogleProvider) -> None:
    err, ok = fixture("error_rate_limit.json"), fixture("generate_structured.json")["response"]
    route = respx.post(GEN).mock(side_effect=[recorded_response(err), httpx.Response(200, json=ok)])
    completion = await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert completion.content and len(route.calls) == 2
    assert provider.http.sleep.delays == [4.0]  # type: ignore[union-attr]


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["error_rate_limit.json", "error_invalid_key.json"])
@respx.mock
async def test_errors_are_agent_004_without_key(provider: GoogleProvider, name: str) -> None:
    err = fixture(name)
    route = respx.post(GEN).respond(err["status"], json=err["response"], headers=err["headers"])
    with pytest.raises(ProviderError) as info:
        await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert info.value.code == "AGENT_004" and info.value.status == err["status"]
    assert err["response"]["error"]["message"] in str(info.value) and err["response"]["error"]["status"] in str(info.value)
    assert KEY not in str(info.value)
    assert len(route.calls) == (3 if err["status"] == 429 else 1)


def test_schema_translation_refs_nullable_const_and_drops() -> None:
    schema = {
        "$defs": {"City": {"type": "object", "properties": {"name": {"type": "string", "pattern": "^[A-Z]"}}, "required": ["name"]}},
        "type": "object",
        "properties": {
            "city": {"$ref": "#/$defs/City"},
            "when": {"type": ["string", "null"], "format": "date-time"},
            "kind": {"const": "weather"},
            "level": {"type": "integer", "format": "uint8", "minimum": 0},
        },
        "required": ["city"],
        "additionalProperties": False,
        "title": "Out",
    }
    assert to_gemini_schema(schema) == {
        "type": "OBJECT",
        "properties": {
            "city": {"type": "OBJECT", "properties": {"name": {"type": "STRING"}}, "propertyOrdering": ["name"], "required": ["name"]},
            "when": {"type": "STRING", "nullable": True, "format": "date-time"},
            "kind": {"type": "STRING", "enum": ["weather"]},
            "level": {"type": "INTEGER", "minimum": 0},
        },
        "propertyOrdering": ["city", "when", "kind", "level"],
        "required": ["city"],
    }
    with pytest.raises(ConfigError, match="recursive"):
        to_gemini_schema({"$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}}, "$ref": "#/$defs/N"})


def test_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="GOOGLE_API_KEY"):
        GoogleProvider()
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    assert GoogleProvider().api_key == KEY
    with pytest.raises(ConfigError, match="unknown option"):
        GoogleProvider(region="eu")


def test_every_constructor_keyword_is_still_accepted() -> None:
    keywords = {"api_key", "base_url", "timeout", "max_retries", "max_retry_after", "embedding_model", "headers", "transport"}
    assert set(GoogleProvider.known_options()) == keywords
    provider = GoogleProvider(
        "gemini-x", api_key=KEY, base_url="http://h/", timeout=5, max_retries=0, max_retry_after=1,
        embedding_model="e", headers={"x-extra": "1"}, transport=httpx.MockTransport(lambda r: httpx.Response(200)),
    )
    assert (provider.base_url, provider.embedding_model, provider.http.timeout) == ("http://h", "e", 5)
    assert provider.http.headers == {"x-goog-api-key": KEY, "x-extra": "1"}


def test_import_is_light_and_alias_registered() -> None:
    code = (
        "import sys, kaizen_google; assert 'httpx' not in sys.modules\n"
        "from kaizen_core import plugins\n"
        "reg = plugins.get_registry().find('provider', 'gemini'); assert reg is not None and reg.name == 'google', reg"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- ProviderSuite over a canned Gemini API (respx) -------------------------------------------


def canned_gemini(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    path = request.url.path
    if path.endswith(":batchEmbedContents"):
        return httpx.Response(200, json={"embeddings": [{"values": [0.1, 0.2]} for _ in body["requests"]]})
    usage = {"promptTokenCount": 9, "candidatesTokenCount": 2}
    allowed = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("allowedFunctionNames")
    if allowed:
        decl = next(d for t in body["tools"] for d in t["functionDeclarations"] if d["name"] == allowed[0])
        parts = [{"functionCall": {"name": decl["name"], "args": sample_value(decl["parameters"])}}]
    elif "responseSchema" in body.get("generationConfig", {}):
        parts = [{"text": json.dumps(sample_value(body["generationConfig"]["responseSchema"]))}]
    else:
        parts = [{"text": "Hello"}]
    if path.endswith(":streamGenerateContent"):
        chunks = [
            {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]},
            {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}, "finishReason": "STOP"}], "usageMetadata": usage},
        ]
        return httpx.Response(200, text="".join(f"data: {json.dumps(c)}\n\n" for c in chunks))
    return httpx.Response(200, json={"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}], "usageMetadata": usage})


class TestGoogleProviderSuite(ProviderSuite):
    """The conformance suite over a canned Gemini API: checks our translation both ways, not Gemini."""

    supports_embeddings = True

    @pytest.fixture
    def provider(self) -> Any:
        with respx.mock(assert_all_called=False) as mock:
            mock.post(url__startswith=f"{GEMINI_BASE_URL}/models/").mock(side_effect=canned_gemini)
            yield GoogleProvider("gemini-2.0-flash", api_key=KEY)
