"""kaizen-google against recorded Gemini API wire fixtures (respx): exact request bodies, parsing, errors.

Every exchange goes through the ``wire`` transport (tests/google_sdk.py): each request
validates against the google-genai SDK's types and each fixture reply against its
response types, or the test fails.
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
from google_sdk import GeminiWire, call, embeddings, response, sse, stream_chunks, text, usage

from kaizen_core.errors import ConfigError, ProviderError
from kaizen_core.providers import CompletionRequest, GenerationParams, Message, ToolCall, ToolDefinition
from kaizen_google.provider import GEMINI_BASE_URL, GoogleProvider
from kaizen_google.schema import to_gemini_schema
from kaizen_testing.provider_suite import ProviderSuite
from kaizen_testing.wire import RecordingSleep, fixture_loader, recorded_response, sample_value, sent, sse_response

FIXTURES = Path(__file__).parent / "fixtures"
fixture = fixture_loader(FIXTURES)
KEY = "AIzaSyTESTSECRETKEY0123456789"
MODEL = "gemini-3.8-flash"
GEN = f"{GEMINI_BASE_URL}/models/{MODEL}:generateContent"
STREAM = f"{GEMINI_BASE_URL}/models/{MODEL}:streamGenerateContent"
WEATHER = ToolDefinition(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False},
)


@pytest.fixture
def provider(wire: GeminiWire) -> GoogleProvider:
    p = GoogleProvider(MODEL, api_key=KEY, transport=wire)
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
    assert completion.usage.cost_usd == pytest.approx((21 * 1.50 + 13 * 7.50) / 1e6)


ROME = {"google": {"id": "fc_rome", "thought_signature": "Q2lJQmpyOVJkMlk="}}


@pytest.mark.anyio
@respx.mock
async def test_function_calling_history_and_forced_function(provider: GoogleProvider) -> None:
    fx = fixture("generate_function_call.json")
    route = respx.post(GEN).respond(json=fx["response"])
    request = CompletionRequest(
        messages=[
            Message(role="user", content="Weather in Rome, then Paris?"),
            Message(role="assistant", tool_calls=[ToolCall(id="fc_rome", name="get_weather", arguments={"city": "Rome"}, provider_data=ROME)]),
            Message(role="tool", tool_call_id="fc_rome", content='{"forecast": "sunny"}'),
        ],
        tools=[WEATHER],
        tool_choice="get_weather",
    )
    completion = await provider.complete(request)
    assert sent(route) == fx["body"]
    paris = {"google": {"id": "fc_paris", "thought_signature": "Q2lJQnBhcmlz"}}
    assert completion.tool_calls == [ToolCall(id="fc_paris", name="get_weather", arguments={"city": "Paris"}, provider_data=paris)]
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
    batch = fixture("embed_batch.json")
    route = respx.post(f"{GEMINI_BASE_URL}/models/gemini-embedding-001:batchEmbedContents")
    route.side_effect = [httpx.Response(200, json=embeddings([[0.5, 0.5]], prompt_tokens=1)), httpx.Response(200, json=batch["response"])]
    single = await provider.embed(["a"])
    assert single.vectors == [[0.5, 0.5]] and sent(route, 0) == {"requests": [batch["body"]["requests"][0]]}
    result = await provider.embed(["a", "b"])
    assert sent(route) == batch["body"]
    assert result.vectors == [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]
    assert result.usage.input_tokens == 4 and result.usage.cost_usd == pytest.approx(4 * 0.15 / 1e6)
    respx.post(f"{GEMINI_BASE_URL}/models/embedding-x:batchEmbedContents").respond(json=embeddings([[1.0]]))
    unpriced = await provider.embed(["a"], model="embedding-x")
    assert unpriced.usage.cost_usd is None  # not in the price table: unknown, never a guess


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


def test_schema_translation_keeps_json_schema_and_drops_what_gemini_lacks() -> None:
    city = {"type": "object", "properties": {"name": {"type": "string", "pattern": "^[A-Z]", "minLength": 1}}, "required": ["name"], "title": "City"}
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"City": city},
        "type": "object",
        "properties": {
            "city": {"$ref": "#/$defs/City", "description": "Where"},
            "home": {"$ref": "#/$defs/City", "default": None},
            "when": {"type": ["string", "null"], "format": "date-time", "default": None},
            "kind": {"const": "weather"},
            "level": {"type": "integer", "exclusiveMinimum": 0, "maximum": 9},
            "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "scores": {"type": "object", "additionalProperties": {"type": "number", "examples": [1]}},
            "wrapped": {"allOf": [{"$ref": "#/$defs/City"}], "description": "w"},
            "flag": {"enum": [True, "x", 2]},
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    clean_city = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "title": "City"}
    assert to_gemini_schema(schema) == {
        "$defs": {"City": clean_city},
        "type": "object",
        "properties": {
            "city": {**clean_city, "description": "Where"},  # no sibling of $ref: inlined
            "home": {"$ref": "#/$defs/City"},  # its only sibling was dropped: stays a reference
            "when": {"type": ["string", "null"], "format": "date-time"},
            "kind": {"enum": ["weather"]},
            "level": {"type": "integer", "maximum": 9},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},  # dict values keep their type
            "wrapped": {**clean_city, "description": "w"},
            "flag": {"enum": ["x", 2]},
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    recursive = {"$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}}, "$ref": "#/$defs/N"}
    assert to_gemini_schema(recursive)["properties"]["next"] == {"$ref": "#/$defs/N"}  # Gemini unrolls optional cycles
    with pytest.raises(ConfigError, match="recursive"):
        to_gemini_schema({"$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N", "description": "d"}}}}, "$ref": "#/$defs/N"})


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
    keywords = {"api_key", "base_url", "timeout", "max_retries", "max_retry_after", "embedding_model", "headers", "transport",
                "top_p", "top_k", "frequency_penalty", "presence_penalty"}
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
    """Answers like the Gemini API (replies built with the SDK's types), from the request."""
    body = json.loads(request.content)
    path = request.url.path
    if path.endswith(":batchEmbedContents"):
        return httpx.Response(200, json=embeddings([[0.1, 0.2] for _ in body["requests"]]))
    counts = usage(9, 2)
    mode = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {})
    config = body.get("generationConfig", {})
    if mode.get("mode") == "ANY":
        decls = [d for t in body["tools"] for d in t["functionDeclarations"]]
        decl = next(d for d in decls if d["name"] in mode.get("allowedFunctionNames", [d["name"]]))
        reply = response(call(decl["name"], sample_value(decl["parametersJsonSchema"])), usage_=counts)
    elif "responseJsonSchema" in config:
        reply = response(text(json.dumps(sample_value(config["responseJsonSchema"]))), usage_=counts)
    else:
        reply = response(text("Hel"), text("lo"), usage_=counts)
    if path.endswith(":streamGenerateContent"):
        return httpx.Response(200, text=sse(stream_chunks(reply)), headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json=reply)


class TestGoogleProviderSuite(ProviderSuite):
    """The conformance suite over a canned Gemini API: checks our translation both ways, not Gemini."""

    supports_embeddings = True

    @pytest.fixture
    def provider(self, wire: GeminiWire) -> Any:
        with respx.mock(assert_all_called=False) as mock:
            mock.post(url__startswith=f"{GEMINI_BASE_URL}/models/").mock(side_effect=canned_gemini)
            yield GoogleProvider(MODEL, api_key=KEY, transport=wire)
