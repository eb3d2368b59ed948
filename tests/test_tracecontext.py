"""kaizen_core.tracecontext: a tracing plugin's propagator reaches HTTP provider requests; none costs nothing."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

import pytest

from kaizen_core import tracecontext
from kaizen_core.providers.http import HTTPClient
from kaizen_testing.stub_http import StubHTTPServer, StubReply

pytestmark = pytest.mark.anyio
PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _propagator(carrier: MutableMapping[str, str]) -> None:
    carrier["traceparent"] = PARENT


@pytest.fixture
def propagating() -> Iterator[None]:
    tracecontext.register_propagator(_propagator)
    tracecontext.register_propagator(_propagator)  # twice: kept once
    try:
        yield
    finally:
        tracecontext.unregister_propagator(_propagator)


async def test_http_requests_carry_the_registered_propagators_headers(propagating: None) -> None:
    with StubHTTPServer([StubReply(body={"ok": 1})]) as server:
        client = HTTPClient(provider="p", base_url=server.url, headers={"x-fixed": "1"})
        await client.post_json("/v1/x", {"a": 1}, headers={"x-call": "2"})
        await client.aclose()
    (request,) = server.requests
    assert request.headers["traceparent"] == PARENT
    assert request.headers["x-fixed"] == "1" and request.headers["x-call"] == "2"
    assert tracecontext.current_trace_ids() == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")


async def test_without_a_propagator_nothing_is_added() -> None:
    assert tracecontext.current_headers() == {} and tracecontext.current_trace_ids() is None
    headers = {"x": "1"}
    assert tracecontext.with_trace_headers(headers) is headers
    with StubHTTPServer([StubReply(body={"ok": 1})]) as server:
        client = HTTPClient(provider="p", base_url=server.url)
        await client.post_json("/v1/x", {})
        await client.aclose()
    assert "traceparent" not in server.requests[0].headers


def test_a_malformed_traceparent_gives_no_ids() -> None:
    def bad(carrier: MutableMapping[str, str]) -> None:
        carrier["traceparent"] = "00-short-ids-01"

    tracecontext.register_propagator(bad)
    try:
        assert tracecontext.current_trace_ids() is None
    finally:
        tracecontext.unregister_propagator(bad)
