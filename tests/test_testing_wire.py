"""kaizen_testing.wire: the helpers provider wire tests share."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import respx

from kaizen_testing.wire import (
    RecordingSleep,
    closed_port,
    fixture_loader,
    recorded_response,
    sample_value,
    sent,
    sse_response,
)


@pytest.mark.anyio
async def test_recording_sleep_records_without_waiting() -> None:
    sleep = RecordingSleep()
    await sleep(30.0)
    await sleep(0.5)
    assert sleep.delays == [30.0, 0.5]


def test_fixture_loader_and_recorded_response(tmp_path: Path) -> None:
    (tmp_path / "err.json").write_text(json.dumps({"status": 429, "headers": {"retry-after": "3"}, "response": {"error": "slow"}}))
    (tmp_path / "ok.json").write_text(json.dumps({"response": {"ok": True}}))
    load = fixture_loader(tmp_path)
    err = recorded_response(load("err.json"))
    assert (err.status_code, err.headers["retry-after"], err.json()) == (429, "3", {"error": "slow"})
    ok = recorded_response(load("ok.json"))
    assert (ok.status_code, ok.json()) == (200, {"ok": True})


def test_sent_reads_the_json_body_of_a_call() -> None:
    import httpx

    with respx.mock() as mock:
        route = mock.post("https://api.test/x").mock(return_value=sse_response("data: 1\n\n"))
        with httpx.Client() as client:
            first = client.post("https://api.test/x", json={"n": 1})
            client.post("https://api.test/x", json={"n": 2})
    assert first.headers["content-type"] == "text/event-stream" and first.text == "data: 1\n\n"
    assert (sent(route), sent(route, 0)) == ({"n": 2}, {"n": 1})


def test_sample_value_fills_nested_objects_in_any_case() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "object", "properties": {"n": {"type": "integer"}}}, "c": {}},
    }
    assert sample_value(schema) == {"a": "Paris", "b": {"n": 1}, "c": "Paris"}
    assert sample_value({"type": "OBJECT", "properties": {"x": {"type": "NUMBER"}, "y": {"type": "BOOLEAN"}}}) == {"x": 0.9, "y": True}


def test_closed_port_refuses_connections() -> None:
    port = closed_port()
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
