"""kaizen-otel as a Kaizen plugin: found through its entry point, enabled by name, cheap to import."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from otel_recorded import make_recorded

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.hooks import HookEvent, HookManager
from kaizen_core.hooks.builtin import TracingHook
from kaizen_core.plugins import get_registry
from kaizen_core.redaction import redact
from kaizen_otel.hook import OTelHook


def _python(code: str, **env: str) -> str:
    import os

    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_entry_point_registers_the_otel_lifecycle_hook() -> None:
    registry = get_registry()
    assert "otel" in registry.names("lifecycle_hook")
    assert registry.load("lifecycle_hook", "otel") is OTelHook
    assert issubclass(OTelHook, TracingHook)  # the core's tracing interface, made real


def test_importing_the_plugin_imports_no_opentelemetry() -> None:
    out = _python(
        """
        import sys, kaizen_core, kaizen_otel, kaizen_otel.plugin
        from kaizen_core.plugins import get_registry
        get_registry().names("lifecycle_hook")  # loads every plugin's hookimpls
        print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
        """
    )
    assert out.strip() == "[]"


def test_a_config_enables_it_by_name_with_options() -> None:
    recorded = make_recorded()
    config = BaseAgentConfig(
        llm_provider="mock",
        hooks=[{"name": "otel", "tracer_provider": recorded.hook.tracer_provider, "metrics": False}],
        enable_tracing=True,  # names the same hook: still one
    )
    agent = BaseAgent(config, "question -> answer", agent_id="configured")
    assert [n for n in agent.hook_manager.handler_names(HookEvent.PRE_AGENT_LOOP) if n == "otel"] == ["otel"]
    agent.run(question="q")
    assert [s.name for s in recorded.spans("invoke_agent")] == ["invoke_agent configured"]


def test_enable_tracing_and_the_standard_env_build_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    manager = HookManager.from_config(BaseAgentConfig(llm_provider="mock", enable_tracing=True).hooks)
    assert "otel" in manager.handler_names(HookEvent.PRE_MODEL_CALL)
    with pytest.raises(Exception, match="OTEL_TRACES_EXPORTER='jaeger'"):
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "jaeger")
        OTelHook(service_name="other")


def test_an_application_that_configured_opentelemetry_gets_the_spans_in_its_own_pipeline() -> None:
    out = _python(
        """
        import json
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from kaizen_core import BaseAgent, BaseAgentConfig

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        agent = BaseAgent(BaseAgentConfig(llm_provider="mock", enable_tracing=True), "q -> a", agent_id="app")
        with trace.get_tracer("app").start_as_current_span("request"):
            agent.run(q="x")
        spans = exporter.get_finished_spans()
        names = {s.context.span_id: s.name for s in spans}
        print(json.dumps({s.name: names.get(s.parent.span_id) if s.parent else None for s in spans}))
        """,
        OTEL_METRICS_EXPORTER="none",
    )
    # The sync agent.run() keeps the caller's current span: the run is a child of the request.
    assert json.loads(out) == {"request": None, "invoke_agent app": "request", "chat mock-model": "invoke_agent app"}


def test_otel_sdk_disabled_records_nothing() -> None:
    out = _python(
        """
        from kaizen_core import BaseAgent, BaseAgentConfig
        from kaizen_otel.hook import OTelHook
        hook = OTelHook(service_name="off")
        agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a")
        agent.hook_manager.register_hook(hook)
        agent.run(q="x")
        print(type(hook.tracer_provider).__name__, hook.tracer.start_span("x").is_recording())
        """,
        OTEL_SDK_DISABLED="true",
    )
    assert out.split() == ["NoOpTracerProvider", "False"]


def test_header_values_are_secrets(caplog: pytest.LogCaptureFixture) -> None:
    token = "otlp-hdr-Z9y8X7w6V5u4"
    caplog.set_level("DEBUG")
    hook = OTelHook(endpoint="http://127.0.0.1:9", headers=f"authorization=Bearer%20{token}", metrics=False)
    try:
        assert token not in redact(f"failed with Bearer {token}")
        assert token not in repr(hook) and token not in repr(vars(hook))
        assert token not in caplog.text
    finally:
        hook.shutdown()


def test_unsupported_export_settings_are_refused_not_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaizen_core.errors import ConfigError

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    with pytest.raises(ConfigError, match="HTTP/protobuf only") as refused:
        OTelHook(service_name="grpc-user")
    assert refused.value.code == "KAIZEN_002"
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL")
    secret = "no-equals-sign-secret-value"
    with pytest.raises(ConfigError, match="invalid headers entry") as bad:
        OTelHook(endpoint="http://127.0.0.1:9", headers=f"authorization=ok,{secret}")
    assert secret not in str(bad.value) and secret not in repr(bad.value.hint)
