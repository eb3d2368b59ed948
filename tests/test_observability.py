"""``agent.enable_observability(...)`` and the structured JSON logs (``json_logs``), with no
observability plugin installed (the core env), and with stand-in ``otel``/``prometheus`` plugins."""

from __future__ import annotations

import io
import json
import logging
import warnings
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature, hookimpl, plugins
from kaizen_core.agents.observability_methods import ObservabilityWarning
from kaizen_core.audit import verify_chain
from kaizen_core.hooks import BaseHook, HookContext, HookEvent, hook_metadata
from kaizen_core.hooks.builtin import JsonFormatter, JsonLogsHook
from kaizen_core.providers.mock import tool_calls_reply
from kaizen_core.redaction import forget_secrets, register_secret
from kaizen_core.tools import tool

SECRET = "tok-9f8e7d6c5b4a39281706"


class Ask(Signature):
    """Answer a question."""

    question: str = InputField(desc="the question")
    answer: str = OutputField(desc="the answer")


@tool
def lookup(word: str) -> str:
    """Look a word up."""
    return f"{word}: found"


@tool
def purge(target: str) -> str:
    """Remove everything."""
    return "purged"


pytestmark = pytest.mark.usefixtures("observability_core_env")  # tests/conftest.py


def _agent(script: list[Any] | None = None, **config: Any) -> BaseAgent:
    provider_config = {"script": script} if script is not None else {}
    return BaseAgent(
        BaseAgentConfig(llm_provider="mock", provider_config=provider_config, **config), Ask(), tools=[lookup, purge]
    )


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_without_plugins_it_warns_lists_the_install_commands_and_still_runs(tmp_path: Path) -> None:
    agent = _agent()
    out = io.StringIO()
    with pytest.warns(ObservabilityWarning, match=r"pip install kaizen-prometheus.*pip install kaizen-otel"):
        status = agent.enable_observability(
            service_name="my-agent", audit_options={"path": str(tmp_path / "audit.jsonl")}, log_stream=out
        )
    assert status.enabled == ["json_logs", "audit"]
    assert status.missing == {"metrics": "pip install kaizen-prometheus", "tracing": "pip install kaizen-otel"}
    assert status.service_name == "my-agent" and status.log_handler is True

    result = agent.run(question="test")
    assert isinstance(result["answer"], str)
    lines = [line for line in _json_lines(out) if line.get("event") in ("run", "model_call")]
    assert [line["event"] for line in lines] == ["model_call", "run"]
    assert all(line["service"] == "my-agent" and line["agent_id"] == agent.agent_id for line in lines)
    assert lines[1]["status"] == "success" and lines[0]["provider"] == "mock"
    assert lines[0]["usage"]["total_tokens"] == result["_meta"]["usage"]["total_tokens"]
    trail = verify_chain(tmp_path / "audit.jsonl")
    assert trail.ok and trail.records == 6  # pre/post agent loop, cycle and model call
    assert json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[0])["who"]["service"] == "my-agent"


def test_calling_it_again_adds_nothing_twice(tmp_path: Path) -> None:
    agent = _agent()
    out = io.StringIO()
    options: dict[str, Any] = {"audit_options": {"path": str(tmp_path / "a.jsonl")}, "log_stream": out}
    with pytest.warns(ObservabilityWarning):
        agent.enable_observability("svc", **options)
    with pytest.warns(ObservabilityWarning):
        again = agent.enable_observability("svc", **options)
    assert again.enabled == ["json_logs", "audit"] and again.log_handler is False
    agent.run(question="q")
    assert [line["event"] for line in _json_lines(out) if line.get("event") == "run"] == [
        "run"
    ]  # one hook, one handler
    assert verify_chain(tmp_path / "a.jsonl").records == 6  # one audit hook


def test_parts_switched_off_are_not_enabled_and_not_warned_about() -> None:
    agent = _agent()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status = agent.enable_observability("svc", enable_metrics=False, enable_tracing=False, enable_audit=False)
    assert status.enabled == ["json_logs"] and status.missing == {}


class _StandIn(BaseHook):
    """What the otel/prometheus plugins' hooks look like to enable_observability."""

    events: ClassVar[list[HookEvent]] = [HookEvent.POST_AGENT_LOOP]
    made: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, service_name: str = "kaizen", port: int | None = None) -> None:
        self.made.append({"type": type(self).__name__, "service_name": service_name, "port": port})

    async def handle(self, context: HookContext) -> None:
        return None


class FakeOTel(_StandIn):
    pass


class FakePrometheus(_StandIn):
    pass


class FakeObservabilityPlugin:
    @hookimpl
    def register_lifecycle_hooks(self, register: Any) -> None:
        register("otel", f"{__name__}:FakeOTel")
        register("prometheus", f"{__name__}:FakePrometheus")


def test_installed_plugins_are_enabled_with_the_service_name_and_their_options(tmp_path: Path) -> None:
    _StandIn.made.clear()
    with plugins.plugin_registered(FakeObservabilityPlugin(), name="fake-obs"):
        agent = _agent()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing missing: no warning
            status = agent.enable_observability(
                "shop",
                metrics_options={"port": 9464},
                audit_options={"path": str(tmp_path / "a.jsonl")},
                log_stream=io.StringIO(),
            )
        assert status.enabled == ["prometheus", "otel", "json_logs", "audit"] and status.missing == {}
        assert _StandIn.made == [
            {"type": "FakePrometheus", "service_name": "shop", "port": 9464},
            {"type": "FakeOTel", "service_name": "shop", "port": None},
        ]
        # a part the config already selected is kept as it is
        configured = BaseAgent(BaseAgentConfig(llm_provider="mock", hooks=["otel"]), Ask()).enable_observability(
            "shop", enable_audit=False, enable_logging=False, enable_metrics=False
        )
        assert configured.enabled == ["otel"] and len(_StandIn.made) == 3  # not built a second time


def test_bad_options_are_config_errors_as_in_a_config(tmp_path: Path) -> None:
    """enable_observability builds each hook as HookManager.from_config does: same errors."""
    from kaizen_core.errors import ConfigError

    agent = _agent()
    with pytest.raises(ConfigError, match="invalid options for lifecycle hook 'audit'") as info:
        agent.enable_observability("svc", audit_options={"colour": "blue"}, enable_logging=False)
    assert info.value.code == "KAIZEN_002"
    with pytest.raises(ConfigError, match="invalid options for lifecycle hook 'audit'"):
        BaseAgent(BaseAgentConfig(llm_provider="mock", hooks=[{"name": "audit", "colour": "blue"}]), Ask())


def test_json_logs_one_line_per_operation_with_who_and_redaction(tmp_path: Path) -> None:
    register_secret(SECRET)
    try:
        out = io.StringIO()
        script = [tool_calls_reply(("lookup", {"word": SECRET}), ("purge", {"target": "/"})), {"answer": SECRET}]
        agent = _agent(script, denied_tools=["purge"])
        agent.hook_manager.register_hook(JsonLogsHook(stream=out, service_name="svc"))
        with hook_metadata(user_id="alice", session_id="s-1"):
            agent.run(question=f"use {SECRET}")
    finally:
        forget_secrets(SECRET)
    text = out.getvalue()
    assert SECRET not in text
    lines = _json_lines(out)
    assert [line["event"] for line in lines] == ["model_call", "tool_call", "permission", "model_call", "run"]
    assert {(line["user_id"], line["session_id"], line["service"]) for line in lines} == {("alice", "s-1", "svc")}
    assert len({line["run_id"] for line in lines}) == 1
    tool_call, permission = lines[1], lines[2]
    assert permission["tool"] == "purge" and permission["decision"] == "deny"  # allowed decisions are not logged
    assert tool_call["tool"] == "lookup" and tool_call["outcome"] == "success" and tool_call["duration_ms"] >= 0
    assert "arguments" not in tool_call and "result" not in tool_call  # no content in logs
    assert "trace_id" not in tool_call  # no tracing plugin active


def test_json_logs_go_through_logging_under_kaizen_events_with_levels(caplog: pytest.LogCaptureFixture) -> None:
    agent = _agent([{"error": {"status": 401, "message": f"bad key {SECRET}"}}], retry_attempts=0)
    agent.hook_manager.register_hook(JsonLogsHook())
    register_secret(SECRET)
    try:
        with caplog.at_level(logging.INFO, logger="kaizen.events"), pytest.raises(Exception):  # noqa: B017
            agent.run(question="q")
    finally:
        forget_secrets(SECRET)
    records = [r for r in caplog.records if r.name.startswith("kaizen.events.")]
    assert [(r.name, r.levelname) for r in records] == [
        ("kaizen.events.model_call", "WARNING"),
        ("kaizen.events.error", "ERROR"),
        ("kaizen.events.run", "WARNING"),
    ]
    assert all(SECRET not in r.getMessage() for r in records)
    model_call, error, run = (json.loads(r.getMessage()) for r in records)
    assert model_call["error_type"] == "ProviderError" and run["status"] == "error"
    assert error["error_code"] == "AGENT_004" and "***" in error["error_message"]


def test_json_logs_selectable_by_name_in_config(caplog: pytest.LogCaptureFixture) -> None:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock", hooks=["json_logs"]), Ask())
    with caplog.at_level(logging.INFO, logger="kaizen.events"):
        agent.run(question="q")
    assert [r.name for r in caplog.records if r.name.startswith("kaizen.events.")] == [
        "kaizen.events.model_call",
        "kaizen.events.run",
    ]


def test_json_formatter_formats_other_kaizen_records_as_json() -> None:
    record = logging.LogRecord("kaizen.hooks", logging.WARNING, __file__, 1, "key=%s", (SECRET,), None)
    register_secret(SECRET)
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        forget_secrets(SECRET)
    assert line["level"] == "WARNING" and line["logger"] == "kaizen.hooks" and SECRET not in line["message"]


def test_json_logs_carry_the_operations_trace_and_span_ids_while_a_tracer_is_active() -> None:
    from kaizen_core.hooks import HookPriority
    from kaizen_core.tracecontext import register_propagator, unregister_propagator

    spans: list[str] = []  # the open spans, innermost last (what a tracer keeps current)

    def propagator(carrier: Any) -> None:
        if spans:
            carrier["traceparent"] = f"00-{'a' * 32}-{spans[-1]}-01"

    class Tracer(BaseHook):
        """Opens a span at each PRE and closes it at the POST, before the log hook sees the POST."""

        events: ClassVar[list[HookEvent]] = [
            e for e in HookEvent if e.phase in ("agent_loop", "model_call", "tool_call")
        ]
        priority = HookPriority.CRITICAL

        async def handle(self, context: HookContext) -> None:
            if context.event.is_pre:
                spans.append(f"{len(spans) + 1:016x}" if context.event.phase != "tool_call" else "7" * 16)
            else:
                spans.pop()

    out = io.StringIO()
    agent = _agent([tool_calls_reply(("lookup", {"word": "x"})), {"answer": "ok"}])
    agent.hook_manager.register_hook(Tracer())
    agent.hook_manager.register_hook(JsonLogsHook(stream=out))
    register_propagator(propagator)
    try:
        agent.run(question="q")
    finally:
        unregister_propagator(propagator)
    lines = _json_lines(out)
    assert {line["trace_id"] for line in lines} == {"a" * 32}
    by_event = {(line["event"], line["span_id"]) for line in lines}
    assert by_event == {("model_call", f"{2:016x}"), ("tool_call", "7" * 16), ("run", f"{1:016x}")}


@pytest.mark.anyio
async def test_json_logs_an_interrupted_run_its_checkpoint_and_the_interrupt(tmp_path: Path) -> None:
    from kaizen_core.errors import AgentInterrupted
    from kaizen_core.interrupts import BudgetInterruptHandler
    from kaizen_core.providers.mock import MockProvider

    script = [tool_calls_reply(("lookup", {"word": str(i)})) for i in range(10)]
    provider = MockProvider(script=script, cost_per_output_token=0.01)
    config = BaseAgentConfig(llm_provider="mock", checkpoint_storage=f"file://{tmp_path}/ckpt")
    agent = BaseAgent(config, Ask(), provider=provider, tools=[lookup])
    agent.interrupt_manager.add_handler(BudgetInterruptHandler(0.1))
    out = io.StringIO()
    agent.hook_manager.register_hook(JsonLogsHook(stream=out))
    with pytest.raises(AgentInterrupted) as info:
        await agent.run_async(question="spend")
    lines = _json_lines(out)
    checkpoint, interrupt, run = (
        next(line for line in lines if line["event"] == kind) for kind in ("checkpoint", "interrupt", "run")
    )
    assert checkpoint["checkpoint_id"] == interrupt["checkpoint_id"] == info.value.reason.metadata["checkpoint_id"]
    assert interrupt["reason"]["metadata"]["handler"] == "budget"
    assert run["status"] == "interrupted" and lines[-1] is run
