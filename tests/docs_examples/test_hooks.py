"""The hooks examples of the original Kaizen documentation, run as written.

Each test copies one example (imports translated: ``kaizen.core.autonomy.hooks`` ->
``kaizen_core.hooks``, ``kaizen.core.base_agent`` / ``kaizen.agents.autonomous.base`` ->
``kaizen_core``), supplies what the excerpt leaves undefined (``config``, ``signature``,
the user's own metrics/tracer/audit objects) and asserts the documented outcome.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kaizen_core import (
    AutonomousConfig,
    BaseAgent,
    BaseAgentConfig,
    BaseAutonomousAgent,
    InputField,
    OutputField,
    Signature,
)
from kaizen_core.hooks import (
    BaseHook,
    HookContext,
    HookEvent,
    HookManager,
    HookPriority,
    HookResult,
    hook_metadata,
)
from kaizen_core.hooks.builtin import AuditHook, LoggingHook, MetricsHook
from kaizen_core.providers.mock import tool_calls_reply
from kaizen_core.tools import tool


class QASignature(Signature):
    """Type-safe input/output definition."""

    question: str = InputField(desc="User question")
    answer: str = OutputField(desc="Generated answer")
    confidence: float = OutputField(desc="Confidence score 0-1")


class ResearchSignature(Signature):
    """Research a topic."""

    task: str = InputField(desc="What to research")
    findings: str = OutputField(desc="What was found")


@tool
def word_lookup(word: str) -> str:
    """Look a word up in the glossary."""
    return f"{word}: artificial intelligence"


def _tool_config(**fields: Any) -> BaseAgentConfig:
    """A mock-backed config whose model calls ``word_lookup`` once, then answers."""
    script = [tool_calls_reply(("word_lookup", {"word": "AI"})), {"answer": "AI is...", "confidence": 0.9}]
    return BaseAgentConfig(llm_provider="mock", provider_config={"script": script}, **fields)


# --- api-reference.md, "Hooks System" ------------------------------------------------------


def test_api_reference_hooks_example_1_hookmanager(capsys: pytest.CaptureFixture[str]) -> None:
    """api-reference.md, Hooks System > HookManager: register(event_type=, handler=, priority=) + hook_manager=."""
    config = BaseAgentConfig(llm_provider="mock")
    signature = QASignature()

    # Create hook manager
    hook_manager = HookManager()

    # Define hook handler
    async def audit_hook(context: HookContext) -> HookResult:
        """Log all agent executions for compliance."""
        print(f"Agent {context.agent_id} executed at {context.timestamp}")
        print(f"Status: {context.metadata.get('status')}")
        return HookResult(success=True)

    # Register hook with priority
    hook_manager.register(
        event_type=HookEvent.POST_AGENT_LOOP,
        handler=audit_hook,
        priority=HookPriority.HIGH,  # Execute before normal priority hooks
    )

    # Use with agent
    agent = BaseAgent(config=config, signature=signature, hook_manager=hook_manager)

    result = agent.run(question="What is AI?")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Agent {agent.agent_id} executed at ")
    float(out[0].rsplit(" ", 1)[1])  # the timestamp: seconds since the epoch
    assert out[1] == "Status: success"
    assert isinstance(result["confidence"], float)
    assert agent.hook_manager is hook_manager and agent._hook_manager is hook_manager


def test_api_reference_hooks_available_events_and_priorities() -> None:
    """api-reference.md, Hooks System > Available Events and HookPriority Levels."""
    for name in (
        "PRE_AGENT_INIT",
        "POST_AGENT_INIT",
        "PRE_AGENT_LOOP",
        "POST_AGENT_LOOP",
        "PRE_TOOL_CALL",
        "POST_TOOL_CALL",
        "PRE_CHECKPOINT_SAVE",
        "POST_CHECKPOINT_SAVE",
        "PRE_INTERRUPT",
        "POST_INTERRUPT",
    ):
        assert isinstance(getattr(HookEvent, name), HookEvent)

    # Execution order (ascending)
    assert HookPriority.CRITICAL == 1  # value=1, first to execute
    assert HookPriority.HIGH == 2  # value=2
    assert HookPriority.NORMAL == 3  # value=3 (default)
    assert HookPriority.LOW == 4  # value=4
    assert HookPriority.LOWEST == 5  # value=5, last to execute


def test_api_reference_hooks_example_audit_trail(tmp_path: Path) -> None:
    """api-reference.md, Hooks System > Production Hook Examples > 1. Audit Trail Hook.

    The log path /var/log/kaizen/audit.log is moved under tmp_path.
    """
    hook_manager = HookManager()

    class AuditTrailHook(BaseHook):
        """Enterprise audit trail with PCI DSS compliance."""

        def __init__(self, audit_log_path: str):
            super().__init__(name="audit_trail")
            self.audit_log = audit_log_path
            self.events = [HookEvent.POST_AGENT_LOOP, HookEvent.POST_TOOL_CALL, HookEvent.POST_CHECKPOINT_SAVE]

        async def handle(self, context: HookContext) -> HookResult:
            """Log all agent actions for forensic analysis."""
            log_entry = {
                "timestamp": context.timestamp,
                "agent_id": context.agent_id,
                "event": context.event.value,
                "user": context.metadata.get("user_id"),
                "action": context.metadata.get("action"),
                "result": context.metadata.get("result"),
            }

            # Write to tamper-proof audit log
            with open(self.audit_log, "a") as f:
                f.write(json.dumps(log_entry) + "\n")

            return HookResult(success=True)

    # Register audit hook
    hook = AuditTrailHook(str(tmp_path / "audit.log"))
    hook_manager.register_hook(hook, priority=HookPriority.CRITICAL)

    agent = BaseAgent(_tool_config(), QASignature(), hook_manager=hook_manager, tools=[word_lookup])
    with hook_metadata(user_id="alice"):  # the request's user
        agent.run(question="What is AI?")
    rows = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert [(r["event"], r["action"], r["user"]) for r in rows] == [
        ("post_tool_call", "word_lookup", "alice"),
        ("post_agent_loop", "run", "alice"),
    ]
    assert rows[0]["result"] == "AI: artificial intelligence"
    assert rows[1]["result"] == {"answer": "AI is...", "confidence": 0.9}
    assert all(isinstance(r["timestamp"], float) and r["agent_id"] == agent.agent_id for r in rows)
    assert hook_manager.stats()["audit_trail"]["failures"] == 0


def test_api_reference_hooks_example_distributed_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    """api-reference.md, Hooks System > Production Hook Examples > 2. Distributed Tracing Hook.

    The process's tracer provider is an OpenTelemetry SDK one with an in-memory exporter.
    """
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "get_tracer", provider.get_tracer)

    from opentelemetry import trace as otel_trace
    from opentelemetry.trace import SpanKind

    class DistributedTracingHook(BaseHook):
        """OpenTelemetry integration for distributed tracing."""

        def __init__(self):
            super().__init__(name="distributed_tracing")
            self.tracer = otel_trace.get_tracer("kaizen.agent")
            self.events = [
                HookEvent.PRE_AGENT_LOOP,
                HookEvent.POST_AGENT_LOOP,
            ]

        async def handle(self, context: HookContext) -> HookResult:
            """Create trace spans for agent execution."""
            if context.event == HookEvent.PRE_AGENT_LOOP:
                # Start span
                span = self.tracer.start_span(f"agent.{context.agent_id}", kind=SpanKind.INTERNAL)
                span.set_attribute("agent.id", context.agent_id)
                context.metadata["span"] = span

            elif context.event == HookEvent.POST_AGENT_LOOP:
                # End span
                span = context.metadata.get("span")
                if span:
                    span.set_attribute("agent.status", context.metadata.get("status"))
                    span.end()

            return HookResult(success=True)

    hook_manager = HookManager()
    hook_manager.register_hook(DistributedTracingHook())
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), QASignature(), hook_manager=hook_manager)
    agent.run(question="What is AI?")
    agent.run(question="And ML?")

    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == [f"agent.{agent.agent_id}"] * 2
    assert all(s.kind is SpanKind.INTERNAL for s in spans)
    assert [dict(s.attributes or {}) for s in spans] == [{"agent.id": agent.agent_id, "agent.status": "success"}] * 2
    assert all(s.end_time is not None and s.end_time >= (s.start_time or 0) for s in spans)


def test_api_reference_hooks_example_prometheus_metrics() -> None:
    """api-reference.md, Hooks System > Production Hook Examples > 3. Prometheus Metrics Hook."""
    from prometheus_client import REGISTRY, Counter, Histogram

    class PrometheusMetricsHook(BaseHook):
        """Export Prometheus metrics for monitoring."""

        def __init__(self):
            super().__init__(name="prometheus_metrics")
            self.events = [HookEvent.POST_AGENT_LOOP, HookEvent.POST_TOOL_CALL]

            # Define metrics
            self.agent_executions = Counter(
                "kaizen_agent_executions_total", "Total agent executions", ["agent_id", "status"]
            )
            self.execution_duration = Histogram(
                "kaizen_agent_execution_duration_seconds", "Agent execution duration", ["agent_id"]
            )

        async def handle(self, context: HookContext) -> HookResult:
            """Record metrics for Prometheus scraping."""
            if context.event == HookEvent.POST_AGENT_LOOP:
                status = context.metadata.get("status", "unknown")
                self.agent_executions.labels(agent_id=context.agent_id, status=status).inc()

                duration = context.metadata.get("duration_seconds", 0.0)
                self.execution_duration.labels(agent_id=context.agent_id).observe(duration)

            return HookResult(success=True)

    hook = PrometheusMetricsHook()
    try:
        hook_manager = HookManager()
        hook_manager.register_hook(hook)
        agent = BaseAgent(_tool_config(), QASignature(), hook_manager=hook_manager, tools=[word_lookup])
        agent.run(question="What is AI?")
        labels = {"agent_id": agent.agent_id}
        assert REGISTRY.get_sample_value("kaizen_agent_executions_total", {**labels, "status": "success"}) == 1.0
        assert REGISTRY.get_sample_value("kaizen_agent_execution_duration_seconds_count", labels) == 1.0
        assert (REGISTRY.get_sample_value("kaizen_agent_execution_duration_seconds_sum", labels) or 0.0) > 0.0
    finally:
        REGISTRY.unregister(hook.agent_executions)
        REGISTRY.unregister(hook.execution_duration)


# --- quick-reference.md / quick-reference-v0.5.md ----------------------------------------------


def _lifecycle_infrastructure_hooks(caplog: pytest.LogCaptureFixture) -> None:
    """The hooks part (1.) of "Lifecycle Infrastructure", identical in both quick references."""
    config = BaseAgentConfig(llm_provider="mock")
    signature = QASignature()

    # Every BaseAgent has lifecycle infrastructure built-in
    agent = BaseAgent(config=config, signature=signature)

    # 1. Hooks - Event-driven monitoring
    agent._hook_manager.register_hook(LoggingHook(log_level="INFO"))
    agent._hook_manager.register_hook(MetricsHook())

    # Execute agent
    with caplog.at_level(logging.INFO, logger="kaizen.hooks.events"):
        result = agent.run(question="test")

    assert isinstance(result["answer"], str)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "kaizen.hooks.events"]
    assert [line["event"] for line in lines] == [
        "pre_agent_loop",
        "pre_model_call",
        "post_model_call",
        "post_agent_loop",
    ]
    assert lines[-1]["metadata"]["status"] == "success" and lines[-1]["duration_ms"] >= 0
    (metrics,) = [h for h in _hooks_of(agent) if isinstance(h, MetricsHook)]
    exported = metrics.export()
    assert exported["counters"] == {
        "pre_agent_loop": 1,
        "pre_model_call": 1,
        "post_model_call": 1,
        "post_agent_loop": 1,
    }
    assert exported["latency_ms"]["agent_loop"]["count"] == 1


def _hooks_of(agent: BaseAgent) -> list[Any]:
    """The BaseHook instances registered on the agent's manager (for the assertions)."""
    entries = [e for es in agent.hook_manager._handlers.values() for e in es]
    return list({id(e.owner): e.owner for e in entries}.values())


def test_quick_reference_lifecycle_infrastructure_hooks(caplog: pytest.LogCaptureFixture) -> None:
    """quick-reference.md, Lifecycle Infrastructure, part 1 (hooks on agent._hook_manager)."""
    _lifecycle_infrastructure_hooks(caplog)


def test_quick_reference_v0_5_lifecycle_infrastructure_hooks(caplog: pytest.LogCaptureFixture) -> None:
    """quick-reference-v0.5.md, Lifecycle Infrastructure (NEW in v0.5.0), part 1 (hooks)."""
    _lifecycle_infrastructure_hooks(caplog)


def test_quick_reference_hooks_system_quick_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """quick-reference.md, Autonomy Infrastructure > 1. Hooks System - Event-Driven Observability, Quick Start."""
    monkeypatch.chdir(tmp_path)
    config = BaseAgentConfig(llm_provider="mock")
    signature = QASignature()

    # Create agent
    agent = BaseAgent(config=config, signature=signature)

    # Register hooks for lifecycle events
    agent._hook_manager.register_hook(LoggingHook(log_level="INFO"))
    agent._hook_manager.register_hook(MetricsHook(export_interval=60))
    agent._hook_manager.register_hook(AuditHook(storage_path="./audit_logs"))

    # All agent operations now tracked automatically (zero overhead)
    with caplog.at_level(logging.INFO, logger="kaizen.hooks.events"):
        result = agent.run(question="What is AI?")

    assert isinstance(result["confidence"], float)
    audit = [json.loads(line) for line in (tmp_path / "audit_logs" / "kaizen-audit.jsonl").read_text().splitlines()]
    assert [row["event"] for row in audit] == ["pre_agent_loop", "pre_model_call", "post_model_call", "post_agent_loop"]
    assert audit[-1]["metadata"]["result"] == {k: result[k] for k in ("answer", "confidence")}
    assert [json.loads(r.getMessage())["event"] for r in caplog.records if r.name == "kaizen.hooks.events"] == [
        "pre_agent_loop",
        "pre_model_call",
        "post_model_call",
        "post_agent_loop",
    ]
    (metrics,) = [h for h in _hooks_of(agent) if isinstance(h, MetricsHook)]
    assert metrics.export_interval == 60 and metrics.export()["counters"]["post_agent_loop"] == 1


def test_quick_reference_lifecycle_events_tool_use() -> None:
    """quick-reference.md, 1. Hooks System, Lifecycle Events: PRE/POST_TOOL_USE are the tool-call events."""
    assert HookEvent.PRE_TOOL_USE is HookEvent.PRE_TOOL_CALL
    assert HookEvent.POST_TOOL_USE is HookEvent.POST_TOOL_CALL
    agent = BaseAgent(_tool_config(), QASignature(), tools=[word_lookup])
    seen: list[tuple[str, Any]] = []
    agent.hook_manager.register(
        HookEvent.PRE_TOOL_USE, lambda ctx: seen.append((ctx.event.value, ctx.metadata["tool"]))
    )
    agent.hook_manager.register(
        HookEvent.POST_TOOL_USE, lambda ctx: seen.append((ctx.event.value, ctx.metadata["status"]))
    )
    agent.run(question="What is AI?")
    assert seen == [("pre_tool_call", "word_lookup"), ("post_tool_call", "success")]


# --- autonomy-overview.md --------------------------------------------------------------------------


def test_autonomy_overview_lifecycle_management_example(capsys: pytest.CaptureFixture[str]) -> None:
    """autonomy-overview.md, Subsystems > 1. Lifecycle Management (Hooks System), Example.

    The excerpt's agent has tools (cycles are the turns of a tool loop; a single-shot run has none).
    """
    config = _tool_config()
    signature = QASignature()

    async def audit_hook(context):
        print(f"Agent {context.agent_id} at cycle {context.metadata['cycle']}")
        return HookResult(success=True)

    hook_manager = HookManager()
    hook_manager.register(HookEvent.POST_CYCLE, audit_hook)

    agent = BaseAgent(config, signature, hook_manager=hook_manager, tools=[word_lookup])

    agent.run(question="What is AI?")
    assert capsys.readouterr().out.splitlines() == [
        f"Agent {agent.agent_id} at cycle 1",
        f"Agent {agent.agent_id} at cycle 2",
    ]
    assert (
        hook_manager.stats()["test_autonomy_overview_lifecycle_management_example.<locals>.audit_hook"]["failures"] == 0
    )


@pytest.mark.anyio
async def test_autonomy_overview_agent_with_hooks_checkpoints_interrupts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """autonomy-overview.md, Examples > 2. Agent with Hooks + Checkpoints + Interrupts (llm_provider mock)."""
    monkeypatch.chdir(tmp_path)
    from kaizen_core.interrupts.handlers import TimeoutInterruptHandler
    from kaizen_core.state import FilesystemStorage, StateManager

    # Setup hooks
    async def audit_hook(context):
        print(f"Cycle {context.metadata['cycle']}: {context.agent_id}")
        return HookResult(success=True)

    hook_manager = HookManager()
    hook_manager.register(HookEvent.POST_CYCLE, audit_hook)

    # Setup checkpointing
    storage = FilesystemStorage(base_dir="./checkpoints")
    state_manager = StateManager(storage, checkpoint_frequency=10)

    # Configure agent with interrupts
    config = AutonomousConfig(
        llm_provider="mock",
        model="gpt-4",
        max_cycles=50,
        enable_interrupts=True,
        graceful_shutdown_timeout=5.0,
        checkpoint_on_interrupt=True,
    )

    # Create agent
    agent = BaseAutonomousAgent(
        config=config, signature=ResearchSignature(), hook_manager=hook_manager, state_manager=state_manager
    )

    # Add timeout handler
    agent.interrupt_manager.add_handler(TimeoutInterruptHandler(timeout_seconds=300))

    # Execute with full autonomy stack
    try:
        result = await agent.execute_autonomously("Complex research task")
    except InterruptedError as e:
        print(f"Interrupted: {e.reason.message}")
        checkpoint_id = e.reason.metadata.get("checkpoint_id")

        # Resume from checkpoint later
        latest_state = await state_manager.resume_from_latest(agent.agent_id)
        raise AssertionError(f"not interrupted in this run: {checkpoint_id} {latest_state}") from e

    assert isinstance(result["findings"], str) and result["cycles_used"] == 1
    assert capsys.readouterr().out.splitlines() == [f"Cycle 1: {agent.agent_id}"]
    assert (tmp_path / "checkpoints").is_dir()


class _Recorder:
    """Stands in for the user's metrics client / tracer / audit log of the examples."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> _Recorder:
            self.calls.append((name, args, kwargs))
            return self

        return record

    def named(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(args, kwargs) for n, args, kwargs in self.calls if n == name]


def test_autonomy_overview_monitoring_and_observability(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """autonomy-overview.md, Production Deployment > Monitoring and Observability.

    ``metrics``, ``tracer`` and ``audit_log`` are the user's own clients (recorders here); the
    hooks go on an autonomous agent that calls one tool, then answers.
    """
    monkeypatch.chdir(tmp_path)  # the autonomous agent checkpoints under ./.kaizen
    metrics, tracer, audit_log = _Recorder(), _Recorder(), _Recorder()

    # Prometheus metrics
    async def prometheus_metrics_hook(context):
        metrics.record("agent_cycle_duration", context.duration_ms)
        metrics.record("agent_cost", context.metadata.get("cost_usd", 0))
        metrics.inc("agent_cycles_total")
        return HookResult(success=True)

    # Distributed tracing
    async def tracing_hook(context):
        span = tracer.start_span(name=f"{context.agent_id}_cycle_{context.metadata['cycle']}", parent=context.trace_id)
        span.set_tag("agent_id", context.agent_id)
        span.set_tag("cycle", context.metadata["cycle"])
        span.finish()
        return HookResult(success=True)

    # Audit trail
    async def audit_hook(context):
        audit_log.info(
            {
                "timestamp": context.timestamp,
                "agent_id": context.agent_id,
                "event": context.event_type,
                "cycle": context.metadata.get("cycle"),
                "cost": context.metadata.get("cost_usd"),
                "user": context.metadata.get("user_id"),
            }
        )
        return HookResult(success=True)

    hook_manager = HookManager()
    hook_manager.register(HookEvent.POST_CYCLE, prometheus_metrics_hook)
    hook_manager.register(HookEvent.POST_CYCLE, tracing_hook)
    hook_manager.register(HookEvent.POST_AGENT_LOOP, audit_hook)

    script = [tool_calls_reply(("word_lookup", {"word": "AI"})), {"findings": "AI is..."}]
    config = AutonomousConfig(llm_provider="mock", provider_config={"script": script})
    agent = BaseAutonomousAgent(
        config=config, signature=ResearchSignature(), hook_manager=hook_manager, tools=[word_lookup]
    )
    result = agent.run_autonomous_sync("What is AI?")

    assert result["findings"] == "AI is..." and result["cycles_used"] == 2
    durations = [args[1] for args, _ in metrics.named("record") if args[0] == "agent_cycle_duration"]
    assert len(durations) == 2 and all(isinstance(d, float) and d >= 0 for d in durations)
    assert [args for args, _ in metrics.named("inc")] == [("agent_cycles_total",)] * 2
    spans = tracer.named("start_span")
    assert [kw["name"] for _, kw in spans] == [f"{agent.agent_id}_cycle_1", f"{agent.agent_id}_cycle_2"]
    assert {kw["parent"] for _, kw in spans} == {result["run_id"]}
    (((entry,), _),) = audit_log.named("info")
    assert entry["event"] is HookEvent.POST_AGENT_LOOP and entry["agent_id"] == agent.agent_id
    assert entry["cycle"] == 2 and entry["cost"] == 0.0 and entry["user"] is None
    assert all(s["failures"] == 0 for s in hook_manager.stats().values())


# --- advanced-patterns.md ----------------------------------------------------------------------


def test_advanced_patterns_observable_autonomous_systems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """advanced-patterns.md, Pattern 8: Observable Autonomous Systems.

    ``metrics_client``, ``sentry`` and ``audit_log`` are the user's own clients (recorders here).
    One run succeeds, a second one fails in the provider (ON_ERROR with the exception).
    """
    monkeypatch.chdir(tmp_path)
    metrics_client, sentry, audit_log = _Recorder(), _Recorder(), _Recorder()

    import logging
    import time

    # Setup logging
    logging.basicConfig(level=logging.INFO)
    logger = logging.getLogger(__name__)

    # 1. Performance tracking hook
    async def performance_monitoring_hook(context: HookContext) -> HookResult:
        """Track execution time and log slow operations."""
        if context.event == HookEvent.PRE_AGENT_LOOP:
            context.metadata["start_time"] = time.time()

        elif context.event == HookEvent.POST_AGENT_LOOP:
            duration = time.time() - context.metadata.get("start_time", time.time())

            if duration > 5.0:  # Log slow operations
                logger.warning(
                    f"Slow operation detected",  # noqa: F541 - as written in the docs
                    extra={
                        "agent_id": context.agent_id,
                        "duration_seconds": duration,
                        "loop_iteration": context.metadata.get("iteration", 0),
                    },
                )

            # Send to monitoring system
            metrics_client.gauge("agent.loop_duration", duration, tags=[f"agent:{context.agent_id}"])

        return HookResult(success=True)

    # 2. Error tracking hook
    async def error_tracking_hook(context: HookContext) -> HookResult:
        """Capture and report errors to monitoring system."""
        if context.event == HookEvent.ON_ERROR:
            error = context.metadata.get("error")

            # Log to application monitoring
            logger.error(
                f"Agent error: {error}",
                extra={
                    "agent_id": context.agent_id,
                    "error_type": type(error).__name__,
                    "traceback": context.metadata.get("traceback"),
                },
            )

            # Send to error tracking service
            sentry.capture_exception(error, extra={"agent_id": context.agent_id, "context": context.metadata})

        return HookResult(success=True)

    # 3. Audit trail hook
    async def audit_trail_hook(context: HookContext) -> HookResult:
        """Log all agent actions for compliance."""
        if context.event in [HookEvent.POST_AGENT_LOOP, HookEvent.POST_CHECKPOINT_SAVE]:
            audit_log.write(
                {
                    "timestamp": context.timestamp,
                    "agent_id": context.agent_id,
                    "event": context.event.value,
                    "metadata": context.metadata,
                    "user_id": context.metadata.get("user_id"),
                }
            )

        return HookResult(success=True)

    config = AutonomousConfig(llm_provider="mock", checkpoint_storage=f"file://{tmp_path}/checkpoints")
    signature = ResearchSignature()

    # 4. Setup agent with all hooks
    hook_manager = HookManager()
    hook_manager.register(HookEvent.PRE_AGENT_LOOP, performance_monitoring_hook)
    hook_manager.register(HookEvent.POST_AGENT_LOOP, performance_monitoring_hook)
    hook_manager.register(HookEvent.ON_ERROR, error_tracking_hook)
    hook_manager.register(HookEvent.POST_AGENT_LOOP, audit_trail_hook)
    hook_manager.register(HookEvent.POST_CHECKPOINT_SAVE, audit_trail_hook)

    agent = BaseAutonomousAgent(config=config, signature=signature, hook_manager=hook_manager)

    with hook_metadata(user_id="u-42"):
        result = agent.run_autonomous_sync("Summarize the findings")
    assert isinstance(result["findings"], str)
    (((name, duration), kwargs),) = metrics_client.named("gauge")
    assert kwargs == {"tags": [f"agent:{agent.agent_id}"]}
    written = [args[0] for args, _ in audit_log.named("write")]
    # start_time came from the PRE event: the POST event's metadata still carries it (no fallback)
    start_time = written[-1]["metadata"]["start_time"]
    assert name == "agent.loop_duration" and isinstance(start_time, float)
    assert 0 <= duration <= time.time() - start_time
    assert {w["event"] for w in written} == {"post_checkpoint_save", "post_agent_loop"}
    assert written[-1]["event"] == "post_agent_loop" and written[-1]["metadata"]["status"] == "success"
    assert {w["user_id"] for w in written} == {"u-42"}
    assert sentry.calls == []

    from kaizen_core.errors import ProviderError
    from kaizen_core.providers.mock import MockProvider

    failing = BaseAutonomousAgent(
        config=config,
        signature=signature,
        hook_manager=hook_manager,
        provider=MockProvider(script=[{"error": {"status": 503, "message": "overloaded"}}]),
    )
    with caplog.at_level(logging.ERROR, logger=__name__), pytest.raises(ProviderError):
        failing.run_autonomous_sync("Summarize the findings")
    (((error,), kwargs),) = sentry.named("capture_exception")
    assert isinstance(error, ProviderError) and kwargs["extra"]["agent_id"] == failing.agent_id
    (record,) = [r for r in caplog.records if r.name == __name__ and r.levelno == logging.ERROR]
    assert record.error_type == "ProviderError" and "Traceback" in record.traceback  # type: ignore[attr-defined]
    assert written != [args[0] for args, _ in audit_log.named("write")]  # the failed run was audited too
    assert audit_log.named("write")[-1][0][0]["metadata"]["status"] == "error"


def test_advanced_patterns_monitor_everything_register_all() -> None:
    """advanced-patterns.md, Best Practices > 3. Monitor Everything: hook_manager.register_all([...])."""
    from kaizen_core.hooks import CostTrackingHook, PerformanceProfilerHook

    hook_manager = HookManager()
    performance_hook, cost_tracking_hook = PerformanceProfilerHook(), CostTrackingHook()
    error_tracking_hook, audit_trail_hook = LoggingHook(log_level="ERROR"), MetricsHook()

    # Comprehensive monitoring
    hook_manager.register_all([performance_hook, cost_tracking_hook, error_tracking_hook, audit_trail_hook])

    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), QASignature(), hook_manager=hook_manager)
    agent.run(question="What is AI?")
    assert performance_hook.report()["agent_loop"]["count"] == 1
    assert cost_tracking_hook.totals()["runs"] == 1
    assert audit_trail_hook.export()["counters"]["post_agent_loop"] == 1
