"""kaizen-serve throughput and SSE latency, against a bare Starlette endpoint in the same run.

    python benchmarks/bench_serve.py [--quick] [--requests 400]

(a) Requests per second of ``POST /agents/qa/runs?wait=true`` on the mock provider (a
    single-shot ``question -> answer`` agent) at 1, 10 and 100 concurrent clients, against
    a bare Starlette endpoint (``POST /run``) that calls the same agent's ``run_async``
    directly. Both are uvicorn processes on loopback started by this script, driven by
    the same httpx client code; they run one after the other at each concurrency level.
    Printed: requests/s, p50 latency, and the ratio kaizen-serve / bare. What the
    difference is made of: API key check, body and input validation, the run record and
    its events written to the storage (sqlite here), a fresh agent per run (TOML agents
    never share state between runs), the interrupt scope and the event hooks.
(b) SSE latency from event to client: an autonomous agent whose tool call waits for an
    approval; the client opens ``GET /runs/{id}/events``, answers the approval, and for
    every event that happens after the stream opened measures ``received - event.timestamp``
    (one host, one clock). Baseline: a bare Starlette ``text/event-stream`` endpoint
    whose events carry the time they were yielded. Printed: p50/p95 in ms and events.

Wall clock (``time.perf_counter`` for rates, ``time.time`` for the cross-process stamps).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "kaizen-testing"))

from kaizen_testing.servers._process import free_port, port_open, stop_process, wait_until  # noqa: E402

KEY = "ksk_bench_" + "k" * 24

QA_TOML = """\
[agent]
id = "qa"
signature = "question: str -> answer: str"
llm_provider = "mock"
"""

WRITER_TOML = """\
[agent]
id = "writer"
type = "autonomous"
signature = "task: str -> summary: str"
llm_provider = "mock"
tools = ["write_file"]
workspace_root = "."
max_cycles = 4
approval_timeout = 60

[agent.provider_config]
script = [
  {tool_calls = [{name = "write_file", arguments = {path = "out.txt", content = "hello"}}]},
  {summary = "wrote out.txt"},
]
"""

BARE = textwrap.dedent(
    """
    import asyncio, json, sys, time
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route
    from kaizen_core.agent_loader import load_agent

    agent = load_agent(sys.argv[1], enable_interrupts=False)

    async def run(request: Request) -> JSONResponse:
        body = await request.json()
        result = await agent.run_async(**body["inputs"])
        return JSONResponse(dict(result))

    async def events(request: Request) -> StreamingResponse:
        count = int(request.query_params.get("n", "20"))

        async def body():
            for i in range(1, count + 1):
                await asyncio.sleep(0.005)
                data = json.dumps({"id": i, "type": "tick", "data": {}, "timestamp": time.time()})
                yield f"id: {i}\\nevent: tick\\ndata: {data}\\n\\n".encode()

        return StreamingResponse(body(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/run", run, methods=["POST"]), Route("/events", events)])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    """
)


class Process:
    """One uvicorn server child process on a free loopback port."""

    def __init__(self, name: str, command: list[str], port: int, cwd: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = port
        self.log = cwd / f"{name}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: port_open(port), what=name, timeout=60, process=self.process, log=self.log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process, timeout=30)


async def load(
    url: str, path: str, body: dict[str, Any], concurrency: int, total: int, headers: dict[str, str]
) -> tuple[float, float]:
    """``total`` POSTs by ``concurrency`` clients; (requests per second, p50 latency in ms)."""
    latencies: list[float] = []
    remaining = total
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await client.post(path, json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{url}{path}: {response.status_code} {response.text[:300]}")

        await asyncio.gather(*(worker() for _ in range(min(concurrency, 4))))  # warm-up, not timed
        latencies.clear()
        remaining = total
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return total / elapsed, statistics.median(latencies) * 1000


async def sse_latencies(
    url: str, path: str, headers: dict[str, str], on_event: Callable[[dict[str, Any]], Awaitable[None]] | None = None
) -> list[float]:
    """Open ``path``, collect ``received - timestamp`` (ms) of the events stamped after the stream opened."""
    found: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
        async with client.stream("GET", path) as response:
            opened = time.time()
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                received = time.time()
                event = json.loads(line[5:])
                if event["timestamp"] >= opened:
                    found.append((received - event["timestamp"]) * 1000)
                if on_event is not None:
                    await on_event(event)
    return found


async def serve_sse(server: Process, runs: int) -> list[float]:
    auth = {"Authorization": f"Bearer {KEY}"}
    found: list[float] = []
    async with httpx.AsyncClient(base_url=server.url, headers=auth, timeout=60) as client:
        for _ in range(runs):
            started = await client.post("/agents/writer/runs", json={"inputs": {"task": "write"}})
            run_id = started.json()["run_id"]

            async def answer(event: dict[str, Any], run_id: str = run_id) -> None:
                if event["type"] == "approval_request":
                    request_id = event["data"]["request_id"]
                    await client.post(f"/runs/{run_id}/responses/{request_id}", json={"approved": True})

            found += await sse_latencies(server.url, f"/runs/{run_id}/events", auth, answer)
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (a quick look)")
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level and server")
    parser.add_argument("--sse-runs", type=int, default=20)
    args = parser.parse_args()
    total = 60 if args.quick else args.requests
    sse_runs = 4 if args.quick else args.sse_runs

    with tempfile.TemporaryDirectory(prefix="kaizen-bench-serve-") as tmp:
        work = Path(tmp)
        (work / "qa.toml").write_text(QA_TOML)
        (work / "writer.toml").write_text(WRITER_TOML)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAIZEN_SERVE")}
        env["KAIZEN_SERVE_API_KEY"] = KEY
        kaizen = str(Path(sys.executable).parent / "kaizen")
        serve_port, bare_port = free_port(), free_port()
        serve_cmd = [kaizen, "serve", "qa.toml", "writer.toml", "--port", str(serve_port)]
        serve_cmd += ["--storage", f"sqlite:///{work / 'serve.db'}", "--log-level", "warning"]
        servers: list[Process] = []
        try:
            serve = Process("kaizen-serve", serve_cmd, serve_port, work, env)
            servers.append(serve)
            bare = Process("bare", [sys.executable, "-c", BARE, "qa.toml", str(bare_port)], bare_port, work, env)
            servers.append(bare)
            body = {"inputs": {"question": "What is 2+2?"}}
            auth = {"Authorization": f"Bearer {KEY}"}

            print(
                f"(a) ?wait=true runs on the mock provider, {total} requests per level and server (at least 4 per client)"
            )
            print(
                f"{'clients':>8} {'serve req/s':>12} {'bare req/s':>11} {'ratio':>6} {'serve p50':>10} {'bare p50':>9}"
            )
            for concurrency in (1, 10, 100):
                count = max(total, 4 * concurrency)  # every client sends several requests, not one
                s_rps, s_p50 = asyncio.run(load(serve.url, "/agents/qa/runs?wait=true", body, concurrency, count, auth))
                b_rps, b_p50 = asyncio.run(load(bare.url, "/run", body, concurrency, count, {}))
                print(
                    f"{concurrency:>8} {s_rps:>12.0f} {b_rps:>11.0f} {s_rps / b_rps:>6.2f} "
                    f"{s_p50:>8.1f}ms {b_p50:>7.1f}ms"
                )

            serve_sse_ms = asyncio.run(serve_sse(serve, sse_runs))
            bare_sse_ms: list[float] = []
            for _ in range(sse_runs):
                bare_sse_ms += asyncio.run(sse_latencies(bare.url, "/events?n=10", {}))
            print(f"(b) SSE latency, event to client ({sse_runs} approval runs; bare: {sse_runs} streams of 10)")
            for name, values in (("kaizen-serve", serve_sse_ms), ("bare", bare_sse_ms)):
                print(
                    f"{name:>13}: p50 {statistics.median(values):6.2f} ms  p95 {pct(values, 0.95):6.2f} ms  "
                    f"({len(values)} events)"
                )
            print(f"{'ratio p50':>13}: {statistics.median(serve_sse_ms) / statistics.median(bare_sse_ms):.2f}")
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main()
