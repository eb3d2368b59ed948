"""Built-in lifecycle hooks: logging, metrics, cost, profiler, audit, tracing interface."""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from kaizen_core.audit import verify_chain
from kaizen_core.errors import ConfigError
from kaizen_core.hooks import (
    AuditHook,
    CostTrackingHook,
    HookContext,
    HookEvent,
    HookManager,
    LoggingHook,
    MetricsHook,
    PerformanceProfilerHook,
    TracingHook,
)
from kaizen_core.hooks.builtin import percentile
from kaizen_core.providers.types import Usage

pytestmark = pytest.mark.anyio
E = HookEvent


def ctx(event: HookEvent, **kw: Any) -> HookContext:
    return HookContext(event=event, agent_id=kw.pop("agent_id", "a"), run_id=kw.pop("run_id", "r1"), **kw)


async def test_logging_hook_writes_json_lines_to_a_stream() -> None:
    stream = io.StringIO()
    hooks = HookManager()
    hooks.register_hook(LoggingHook(stream=stream))
    await hooks.trigger(E.PRE_TOOL_CALL, agent_id="a1", run_id="r1", cycle=2, metadata={"tool": "read_file"})
    await hooks.trigger(E.ON_ERROR, agent_id="a1", metadata={"error": "api_key=sk-abcdefghijklmnop", "obj": object()})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["event"] == "pre_tool_call" and lines[0]["cycle"] == 2
    assert lines[0]["metadata"] == {"tool": "read_file"} and lines[0]["run_id"] == "r1"
    assert lines[1]["event"] == "on_error"
    assert "abcdefghijklmnop" not in stream.getvalue()  # secrets redacted
    assert lines[1]["metadata"]["obj"].startswith("<object")


async def test_logging_hook_uses_a_logger(caplog: pytest.LogCaptureFixture) -> None:
    hook = LoggingHook("test.kaizen.events")
    with caplog.at_level(logging.INFO, logger="test.kaizen.events"):
        await hook.handle(ctx(E.POST_CYCLE, cycle=1))
    (record,) = [r for r in caplog.records if r.name == "test.kaizen.events"]
    assert json.loads(record.getMessage())["event"] == "post_cycle"


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0


async def test_metrics_hook_counters_and_percentiles() -> None:
    metrics = MetricsHook()
    hooks = HookManager()
    hooks.register_hook(metrics)
    # 100 tool calls reporting their own duration 1..100 ms, in shuffled order
    durations = [float((i * 37) % 100 + 1) for i in range(100)]
    for d in durations:
        await hooks.trigger(E.PRE_TOOL_CALL, agent_id="a", run_id="r")
        await hooks.trigger(E.POST_TOOL_CALL, agent_id="a", run_id="r", metadata={"duration_ms": d})
    await hooks.trigger(E.ON_ERROR, agent_id="a")
    out = metrics.export()
    assert out["counters"] == {"pre_tool_call": 100, "post_tool_call": 100, "on_error": 1}
    tool = out["latency_ms"]["tool_call"]
    assert sorted(durations) == [float(v) for v in range(1, 101)]
    assert (tool["count"], tool["p50"], tool["p95"], tool["p99"], tool["max"]) == (100, 50.0, 95.0, 99.0, 100.0)
    assert tool["mean"] == pytest.approx(50.5)
    json.dumps(out)  # exportable


class FakeClock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_metrics_hook_measures_pre_to_post_time() -> None:
    clock = FakeClock()
    hooks = HookManager(clock=clock)
    metrics = MetricsHook(max_samples=3)
    hooks.register_hook(metrics)
    for i in range(5):
        await hooks.trigger(E.PRE_CYCLE, agent_id="a", run_id="r", cycle=i)
        clock.now += 0.010 * (i + 1)  # 10, 20, ... 50 ms
        await hooks.trigger(E.POST_CYCLE, agent_id="a", run_id="r", cycle=i)
    await hooks.trigger(E.POST_CHECKPOINT_SAVE, agent_id="a")  # no PRE: counted, no latency
    out = metrics.export()
    cycle = out["latency_ms"]["cycle"]
    assert cycle["count"] == 3  # bounded: the newest 3 (30, 40, 50 ms)
    assert (cycle["p50"], cycle["max"]) == (pytest.approx(40.0), pytest.approx(50.0))
    assert "checkpoint_save" not in out["latency_ms"]
    assert out["counters"]["post_checkpoint_save"] == 1


async def test_metrics_hook_exports_every_interval() -> None:
    clock = FakeClock()
    snapshots: list[dict[str, Any]] = []
    hooks = HookManager()
    hooks.register_hook(MetricsHook(export_interval=60, exporter=snapshots.append, clock=clock))
    await hooks.trigger(E.PRE_AGENT_LOOP, agent_id="a")
    assert snapshots == []  # not due yet
    clock.now += 60
    await hooks.trigger(E.POST_AGENT_LOOP, agent_id="a")
    assert [s["counters"] for s in snapshots] == [{"pre_agent_loop": 1, "post_agent_loop": 1}]
    clock.now += 59
    await hooks.trigger(E.ON_ERROR, agent_id="a")
    assert len(snapshots) == 1
    with pytest.raises(ConfigError):
        MetricsHook(export_interval=0)


async def test_metrics_hook_default_export_logs_json(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    metrics = MetricsHook(export_interval=1, clock=clock)
    clock.now += 1
    with caplog.at_level(logging.INFO, logger="kaizen.hooks.metrics"):
        await metrics.handle(ctx(E.ON_ERROR))
    (record,) = [r for r in caplog.records if r.name == "kaizen.hooks.metrics"]
    assert json.loads(record.getMessage())["counters"] == {"on_error": 1}


async def test_cost_tracking_sums_usage_dicts_and_models() -> None:
    cost = CostTrackingHook()
    hooks = HookManager()
    hooks.register_hook(cost)
    await hooks.trigger(
        E.POST_AGENT_LOOP, agent_id="a", metadata={"usage": {"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.25}}
    )
    await hooks.trigger(E.POST_AGENT_LOOP, agent_id="a", metadata={"usage": Usage(input_tokens=3, output_tokens=2, cost_usd=0.5)})
    await hooks.trigger(E.POST_AGENT_LOOP, agent_id="b", metadata={"usage": Usage(input_tokens=1, output_tokens=1)})
    await hooks.trigger(E.POST_AGENT_LOOP, agent_id="b", metadata={})  # no usage: ignored
    assert cost.by_agent()["a"] == {
        "runs": 2, "input_tokens": 13, "output_tokens": 7, "cost_usd": 0.75, "runs_with_unknown_cost": 0
    }
    assert cost.by_agent()["b"]["runs_with_unknown_cost"] == 1
    total = cost.totals()
    assert (total["runs"], total["input_tokens"], total["output_tokens"]) == (3, 14, 8)
    assert total["cost_usd"] == pytest.approx(0.75)


async def test_profiler_times_each_phase_with_nesting() -> None:
    clock = FakeClock()
    hooks = HookManager(clock=clock)
    profiler = PerformanceProfilerHook()
    hooks.register_hook(profiler)
    run = {"agent_id": "a", "run_id": "r1"}
    await hooks.trigger(E.PRE_AGENT_LOOP, **run)
    for i in range(3):
        await hooks.trigger(E.PRE_CYCLE, cycle=i, **run)
        await hooks.trigger(E.PRE_TOOL_CALL, step=f"call-{i}", **run)
        clock.now += 0.001
        await hooks.trigger(E.POST_TOOL_CALL, step=f"call-{i}", **run)
        clock.now += 0.002
        await hooks.trigger(E.POST_CYCLE, cycle=i, **run)
    clock.now += 0.001
    await hooks.trigger(E.POST_AGENT_LOOP, **run)
    report = profiler.report()
    assert next(iter(report)) == "agent_loop"  # slowest phase first: it encloses the others
    assert report["cycle"]["count"] == 3 and report["tool_call"]["count"] == 3
    assert report["agent_loop"]["count"] == 1
    assert report["agent_loop"]["total_ms"] == pytest.approx(10.0)
    assert report["cycle"]["total_ms"] == pytest.approx(9.0) and report["tool_call"]["max_ms"] == pytest.approx(1.0)
    assert report["cycle"]["mean_ms"] == pytest.approx(3.0)


async def test_audit_hook_appends_and_fsyncs_across_managers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit" / "trail.jsonl"
    fsynced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        fsynced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)

    first = HookManager()
    audit1 = AuditHook(path)
    first.register_hook(audit1)
    await first.trigger(E.PRE_AGENT_LOOP, agent_id="a1", run_id="r1")
    await first.trigger(E.POST_AGENT_LOOP, agent_id="a1", run_id="r1", metadata={"ok": True})
    audit1.close()
    assert len(fsynced) == 2
    before = path.read_bytes()

    second = HookManager.from_config([{"name": "audit", "path": str(path)}])
    await second.trigger(E.PRE_TOOL_CALL, agent_id="a2", metadata={"tool": "x"})
    after = path.read_bytes()
    assert after.startswith(before)  # appended, never rewritten
    rows = [json.loads(line) for line in after.decode().splitlines()]
    assert [(r["who"]["agent_id"], r["event"], r["seq"]) for r in rows] == [
        ("a1", "pre_agent_loop", 1), ("a1", "post_agent_loop", 2), ("a2", "pre_tool_call", 3)
    ]
    assert verify_chain(path).message == "ok 3 records"  # the second manager continued the chain
    assert rows[1]["metadata"]["ok"] is True and rows[1]["duration_ms"] >= 0
    assert len(fsynced) == 3
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


async def test_audit_hook_concurrent_tasks_write_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    hooks = HookManager()
    hooks.register_hook(AuditHook(path))
    other = AuditHook(path)  # a second writer on the same file

    async def fire(i: int) -> None:
        await hooks.trigger(E.POST_CYCLE, agent_id="a", cycle=i, metadata={"pad": "x" * 2000})

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(fire, i)
            tg.start_soon(other.handle, ctx(E.PRE_CYCLE, cycle=i))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 40
    assert verify_chain(path).ok  # two writers on one file: still one chain
    assert sorted(r["cycle"] for r in rows if r["event"] == "post_cycle") == list(range(20))


class _ListTracer(TracingHook):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, str]] = []
        self.errors = 0

    def start_span(self, name: str, context: HookContext) -> Any:
        self.log.append(("start", name))
        return {"name": name}

    def end_span(self, span: Any, context: HookContext) -> None:
        self.log.append(("end", span["name"]))

    def record_error(self, context: HookContext) -> None:
        self.errors += 1


async def test_tracing_interface_pairs_spans() -> None:
    tracer = _ListTracer()
    hooks = HookManager()
    hooks.register_hook(tracer)
    for event in (E.PRE_AGENT_LOOP, E.PRE_TOOL_CALL, E.POST_TOOL_CALL, E.ON_ERROR, E.POST_AGENT_LOOP, E.POST_CYCLE):
        await hooks.trigger(event, agent_id="a", run_id="r")
    assert tracer.log == [("start", "agent_loop"), ("start", "tool_call"), ("end", "tool_call"), ("end", "agent_loop")]
    assert tracer.errors == 1
    with pytest.raises(TypeError):
        TracingHook()  # type: ignore[abstract]
