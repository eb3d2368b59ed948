"""The shared provider HTTP path: HTTPProvider, retries, Retry-After, error mapping, SSE/NDJSON, pricing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kaizen_core.errors import ConfigError, ExecutionTimeoutError, ProviderError
from kaizen_core.providers.http import (
    HTTPClient,
    HTTPProvider,
    error_message_from_body,
    iter_ndjson,
    iter_sse,
    parse_retry_after,
)
from kaizen_core.providers.pricing import cost_usd, lookup_price
from kaizen_core.providers.types import Completion, CompletionRequest, Message, Usage
from kaizen_testing.stub_http import StubHTTPServer, StubReply
from kaizen_testing.wire import RecordingSleep, closed_port

KEY = "sk-test-SECRETSECRET1234567890"


def make_client(url: str, sleep: RecordingSleep, **kw: object) -> HTTPClient:
    return HTTPClient(
        provider="testprov",
        base_url=url,
        headers={"Authorization": f"Bearer {KEY}"},
        secrets=(KEY,),
        sleep=sleep,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.anyio
async def test_429_with_retry_after_then_200_honours_the_header() -> None:
    replies = [
        StubReply(429, {"Retry-After": "3"}, {"error": {"message": "slow down"}}),
        StubReply(200, body={"ok": True}),
    ]
    sleep = RecordingSleep()
    with StubHTTPServer(replies) as srv:
        client = make_client(srv.url, sleep)
        assert await client.post_json("/v1/x", {"a": 1}) == {"ok": True}
        await client.aclose()
    assert sleep.delays == [3.0]
    assert [r.body for r in srv.requests] == [{"a": 1}, {"a": 1}]
    assert srv.requests[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.anyio
async def test_500_then_200_backs_off_with_jitter_within_bounds() -> None:
    replies = [StubReply(500, body={"error": "boom"}), StubReply(503, body={}), StubReply(200, body={"n": 2})]
    sleep = RecordingSleep()
    with StubHTTPServer(replies) as srv:
        client = make_client(srv.url, sleep, backoff_base=0.5, max_retries=3)
        assert await client.post_json("x", {}) == {"n": 2}
        await client.aclose()
    assert len(sleep.delays) == 2
    assert 0 <= sleep.delays[0] <= 0.5 and 0 <= sleep.delays[1] <= 1.0
    assert len(srv.requests) == 3


@pytest.mark.anyio
async def test_retries_exhausted_raises_agent_004_with_provider_message_and_no_key() -> None:
    replies = [StubReply(500, body={"error": {"message": f"internal failure for key {KEY}", "type": "server_error"}})]
    sleep = RecordingSleep()
    with StubHTTPServer(replies) as srv:
        client = make_client(srv.url, sleep, max_retries=2)
        with pytest.raises(ProviderError) as info:
            await client.post_json("x", {})
        await client.aclose()
    err = info.value
    assert err.code == "AGENT_004" and err.status == 500 and err.retryable
    assert "internal failure" in str(err) and "server_error" in str(err)
    assert KEY not in str(err)
    assert len(srv.requests) == 3 and len(sleep.delays) == 2


@pytest.mark.anyio
async def test_400_is_not_retried() -> None:
    sleep = RecordingSleep()
    with StubHTTPServer([StubReply(400, body={"error": {"message": "bad field 'response_format'"}})]) as srv:
        client = make_client(srv.url, sleep)
        with pytest.raises(ProviderError) as info:
            await client.post_json("x", {})
        await client.aclose()
    assert info.value.status == 400 and not info.value.retryable
    assert "response_format" in info.value.message
    assert len(srv.requests) == 1 and sleep.delays == []


@pytest.mark.anyio
async def test_retry_after_beyond_cap_fails_fast() -> None:
    sleep = RecordingSleep()
    with StubHTTPServer([StubReply(429, {"Retry-After": "3600"}, {"error": "quota"})]) as srv:
        client = make_client(srv.url, sleep, max_retry_after=30)
        with pytest.raises(ProviderError, match="3600s"):
            await client.post_json("x", {})
        await client.aclose()
    assert sleep.delays == [] and len(srv.requests) == 1


@pytest.mark.anyio
async def test_unreachable_endpoint_names_url_and_hides_key() -> None:
    port = closed_port()
    sleep = RecordingSleep()
    client = make_client(f"http://127.0.0.1:{port}/v1", sleep, max_retries=1)
    with pytest.raises(ProviderError) as info:
        await client.post_json(f"/chat?key={KEY}", {})
    err = info.value
    assert err.code == "AGENT_004"
    assert "unreachable" in str(err) and f"127.0.0.1:{port}/v1/chat" in str(err)
    assert KEY not in str(err) and KEY not in repr(err.details)
    assert len(sleep.delays) == 1  # connection errors are retried


@pytest.mark.anyio
async def test_sse_stream_over_real_socket() -> None:
    body = 'data: {"n": 1}\n\n: comment\nevent: delta\ndata: {"n": 2}\n\ndata: [DONE]\n\n'
    with StubHTTPServer([StubReply(200, {"Content-Type": "text/event-stream"}, body)]) as srv:
        client = make_client(srv.url, RecordingSleep())
        events = [e async for e in client.stream_sse("s", {"stream": True})]
        await client.aclose()
    assert [(e.event, e.data) for e in events] == [("message", '{"n": 1}'), ("delta", '{"n": 2}'), ("message", "[DONE]")]
    assert events[1].json() == {"n": 2}


@pytest.mark.anyio
async def test_ndjson_stream_and_stream_error_mapping() -> None:
    body = '{"a": 1}\n\n{"a": 2}\n'
    with StubHTTPServer([StubReply(503, body={"error": "overloaded"}), StubReply(200, body=body)]) as srv:
        sleep = RecordingSleep()
        client = make_client(srv.url, sleep)
        items = [x async for x in client.stream_ndjson("n", {})]
        await client.aclose()
    assert items == [{"a": 1}, {"a": 2}] and len(sleep.delays) == 1


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


@pytest.mark.anyio
async def test_sse_parser_multiline_data_and_trailing_event() -> None:
    events = [e async for e in iter_sse(_lines("data: a", "data: b", "", "id: 7", "data:c"))]
    assert [(e.data, e.id) for e in events] == [("a\nb", None), ("c", "7")]
    assert [x async for x in iter_ndjson(_lines('{"x":1}', "  ", "[2]"))] == [{"x": 1}, [2]]


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert parse_retry_after({"retry-after": "soon"}) is None


def test_error_message_shapes() -> None:
    assert error_message_from_body('{"error": {"type": "invalid_request_error", "message": "m1"}}') == (
        "invalid_request_error: m1"
    )
    assert error_message_from_body('{"error": "model not found"}') == "model not found"
    assert error_message_from_body('[{"error": {"code": 400, "message": "m3", "status": "INVALID_ARGUMENT"}}]') == (
        "INVALID_ARGUMENT: m3"
    )
    assert error_message_from_body("plain text") == "plain text"


def test_sync_use_across_event_loops() -> None:
    import asyncio

    from kaizen_core._sync import run_sync

    with StubHTTPServer([StubReply(200, body={"ok": 1})]) as srv:
        client = make_client(srv.url, RecordingSleep())
        assert run_sync(client.post_json, "a", {}) == {"ok": 1}  # Kaizen's background loop
        assert asyncio.run(client.post_json("b", {})) == {"ok": 1}  # another loop: a new pool
    assert [r.path for r in srv.requests] == ["/a", "/b"]


def test_module_import_does_not_import_httpx() -> None:
    code = "import sys, kaizen_core.providers.http, kaizen_core.providers.pricing; assert 'httpx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cost_usd_exact_versioned_and_unknown() -> None:
    table = {"gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.5, 10.0), "gemini-1.5-flash": (0.075, 0.3)}
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000)
    assert cost_usd(table, "gpt-4o-mini", usage) == pytest.approx(0.15 + 0.30)
    assert cost_usd(table, "gpt-4o-2024-08-06", usage) == pytest.approx(2.5 + 5.0)
    assert cost_usd(table, "models/gemini-1.5-flash-002", usage) == pytest.approx(0.075 + 0.15)
    assert cost_usd(table, "gpt-4o-audio-preview", usage) is None
    assert cost_usd(table, "unknown", usage) is None
    assert lookup_price(table, None) is None


def test_cost_usd_prices_cached_and_cache_write_tokens_where_the_table_says() -> None:
    table = {"cached": (1.0, 2.0, 0.1, 1.25), "plain": (1.0, 2.0)}
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=400_000, cache_write_tokens=100_000, output_tokens=0)
    assert cost_usd(table, "cached", usage) == pytest.approx(0.5 * 1.0 + 0.4 * 0.1 + 0.1 * 1.25)
    assert cost_usd(table, "plain", usage) == pytest.approx(1.0)  # no cached price: cached tokens cost the input price
    total = usage + Usage(input_tokens=10, cached_input_tokens=5, cache_write_tokens=1)
    assert (total.cached_input_tokens, total.cache_write_tokens) == (400_005, 100_001)


# -- HTTPProvider: the base every HTTP provider builds on ------------------------------------
class EchoProvider(HTTPProvider):
    """A provider as a plugin author writes one: only what differs from the base."""

    name = "echo"
    default_model = "echo-1"
    default_base_url = "https://api.echo.test/v1"
    base_url_env = ("ECHO_BASE_URL",)
    api_key_env = ("ECHO_API_KEY", "ECHO_TOKEN")
    default_timeout = 42.0
    extra_options = ("flavour",)

    def __init__(self, model: str | None = None, *, flavour: str = "plain", **options: Any) -> None:
        self.flavour = flavour
        super().__init__(model, **options)

    def _auth_headers(self) -> dict[str, str]:
        return {"x-echo-key": self.api_key or ""}

    def _default_headers(self) -> dict[str, str]:
        return {"echo-version": "2024-01", "x-flavour": self.flavour}

    async def complete(self, request: CompletionRequest) -> Completion:
        data = await self.http.post_json("chat", {"model": request.model or self.model}, timeout=request.params.timeout)
        return Completion(content=data["text"], model=self.model)


class EmbeddingEcho(EchoProvider):
    name = "echo-embed"
    supports_embeddings = True
    default_embedding_model = "echo-embed-1"


@pytest.fixture
def echo_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("ECHO_BASE_URL", "ECHO_API_KEY", "ECHO_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _question() -> CompletionRequest:
    return CompletionRequest(messages=[Message(role="user", content="hi")])


@pytest.mark.anyio
async def test_http_provider_owns_the_shared_keywords_and_client_wiring(echo_env: pytest.MonkeyPatch) -> None:
    import httpx

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"text": "pong"})

    provider = EchoProvider(
        api_key=KEY,
        base_url="https://proxy.test/echo/",
        timeout=5,
        max_retries=1,
        max_retry_after=7,
        headers={"X-Extra": "1", "echo-version": "override"},
        transport=httpx.MockTransport(handler),
        flavour="spicy",
    )
    assert (await provider.complete(_question())).content == "pong"
    await provider.aclose()
    request = seen[0]
    assert str(request.url) == "https://proxy.test/echo/chat"
    assert request.headers["x-echo-key"] == KEY and "authorization" not in request.headers
    assert request.headers["x-extra"] == "1" and request.headers["x-flavour"] == "spicy"
    assert request.headers["echo-version"] == "override"  # the user's headers win
    assert (provider.http.timeout, provider.http.max_retries, provider.http.max_retry_after) == (5, 1, 7)
    assert KEY not in repr(provider)


def test_http_provider_reads_key_and_url_from_the_environment(echo_env: pytest.MonkeyPatch) -> None:
    echo_env.setenv("ECHO_TOKEN", "tok-from-env-123456")
    echo_env.setenv("ECHO_BASE_URL", "http://127.0.0.1:9/v2/")
    provider = EchoProvider()
    assert provider.api_key == "tok-from-env-123456"  # the second variable, the first being unset
    assert provider.base_url == "http://127.0.0.1:9/v2" and provider.http.timeout == 42.0
    echo_env.delenv("ECHO_BASE_URL")
    assert EchoProvider().base_url == "https://api.echo.test/v1"


def test_http_provider_configuration_errors(echo_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as missing:
        EchoProvider()
    assert missing.value.code == "KAIZEN_002" and "ECHO_API_KEY or ECHO_TOKEN" in str(missing.value)
    with pytest.raises(ConfigError, match="unknown option") as unknown:
        EchoProvider(api_key=KEY, colour="red", embedding_model="e")  # no embeddings: not an option here
    assert "colour" in str(unknown.value) and "embedding_model" in unknown.value.message
    assert "flavour" in (unknown.value.hint or "") and "transport" in (unknown.value.hint or "")
    embedder = EmbeddingEcho(api_key=KEY)
    assert embedder.embedding_model == "echo-embed-1"
    assert EmbeddingEcho(api_key=KEY, embedding_model="big").embedding_model == "big"
    assert EmbeddingEcho.known_options()[-2:] == ("embedding_model", "flavour")


@pytest.mark.anyio
async def test_a_request_past_the_http_timeout_is_agent_003(echo_env: pytest.MonkeyPatch) -> None:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    provider = EchoProvider(api_key=KEY, max_retries=0, timeout=3, transport=httpx.MockTransport(handler))
    with pytest.raises(ProviderError) as info:
        await provider.complete(_question())
    error = info.value
    assert isinstance(error, ExecutionTimeoutError) and isinstance(error, TimeoutError)
    assert error.code == "AGENT_003" and error.retryable and "timed out after 3" in error.message
