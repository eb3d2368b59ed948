"""Live ``kaizen serve`` processes on loopback for the tests (readiness: the port accepts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kaizen_testing.servers._process import (
    LoopbackServer,
    free_port,
    port_open,
    stop_process,
    wait_closed,
    wait_until,
)

HERE = Path(__file__).parent
AGENTS = HERE / "agents"
REPO = HERE.parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "agent.toml"
KEY = "ksk_test-key-" + "x" * 20


def kaizen_program() -> str:
    return str(Path(sys.executable).parent / "kaizen")


class ServeProcess(LoopbackServer):
    """``kaizen serve FILES`` in ``workdir`` on a free port; ``.url``, ``.client()``."""

    def __init__(self, workdir: Path, files: list[Path], *, storage: str | None = None, args: list[str] | None = None,
                 key: str | None = KEY) -> None:  # fmt: skip
        self.workdir = workdir
        self.files = files
        self.storage = storage or f"sqlite:///{workdir / 'serve.db'}"
        self.args = args or []
        self.key = key
        self.port = free_port()
        self.log = workdir / f"serve-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.running:
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAIZEN_SERVE")}
        if self.key:
            env["KAIZEN_SERVE_API_KEY"] = self.key
        command = [kaizen_program(), "serve", *map(str, self.files), "--port", str(self.port)]
        command += ["--storage", self.storage, "--log-level", "warning", *self.args]
        wait_closed(self.port)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env)  # fmt: skip
        wait_until(lambda: port_open(self.port), what="kaizen serve", timeout=60, process=self.process, log=self.log)

    def stop(self) -> None:
        stop_process(self.process, timeout=30)
        wait_closed(self.port)

    def client(self, key: str | None = KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=httpx.Timeout(30.0))

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def serve(workdir: Path) -> Iterator[Any]:
    """A factory of started servers; all are stopped at the end of the test."""
    started: list[ServeProcess] = []

    def make(*files: Path, **options: Any) -> ServeProcess:
        server = ServeProcess(workdir, list(files) or [QUICKSTART], **options)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def sse_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The events of an open ``text/event-stream`` response: ``{"id", "event", "data"}`` dicts."""
    event: dict[str, Any] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in event:
                event["data"] = json.loads(event["data"])
                yield event
            event = {}
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            event[field] = value[1:] if value.startswith(" ") else value


def unique() -> str:
    return uuid.uuid4().hex[:8]


def approving_stream(client: httpx.Client, run_id: str, *, after: int | str | None = None) -> list[dict[str, Any]]:
    """The events of ``run_id`` (after the ``Last-Event-ID`` ``after``) until its stream ends,
    approving every approval request on the way (each answer must be accepted: 202)."""
    headers = {"Last-Event-ID": str(after)} if after is not None else {}
    events: list[dict[str, Any]] = []
    with client.stream("GET", f"/runs/{run_id}/events", headers=headers) as response:
        for event in sse_events(response):
            events.append(event)
            if event["event"] == "approval_request":
                request_id = event["data"]["data"]["request_id"]
                answer = client.post(f"/runs/{run_id}/responses/{request_id}", json={"approved": True})
                assert answer.status_code == 202, answer.text
    return events


def first_event_id(client: httpx.Client, run_id: str, event_type: str) -> int:
    """The id of ``run_id``'s first event of ``event_type`` (the stream is read until it comes)."""
    with client.stream("GET", f"/runs/{run_id}/events") as response:
        for event in sse_events(response):
            if event["event"] == event_type:
                return int(event["id"])
    raise AssertionError(f"run {run_id} ended without a {event_type!r} event")
