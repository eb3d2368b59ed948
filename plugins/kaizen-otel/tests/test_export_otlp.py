"""Export over OTLP HTTP/protobuf to a real receiver on loopback that decodes what arrives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kaizen_core import AutonomousConfig, BaseAutonomousAgent
from kaizen_core.audit import verify_chain
from kaizen_core.providers.mock import MockProvider, tool_calls_reply
from kaizen_core.tools import DangerLevel, tool
from kaizen_otel.hook import OTelHook
from kaizen_testing.servers._process import ServerUnavailable
from kaizen_testing.servers.otlp import OTLPReceiver


@tool(danger_level=DangerLevel.SAFE, read_only=True)
async def shout(text: str) -> str:
    """Upper-case text."""
    return text.upper()


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    try:
        server = OTLPReceiver()
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    with server:
        yield server


def _run(hook: OTelHook) -> dict:
    provider = MockProvider(
        script=[tool_calls_reply(("shout", {"text": "a"})), {"summary": "done"}],
        cost_per_input_token=1e-6,
        cost_per_output_token=2e-6,
    )
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", max_cycles=3), "task -> summary", provider=provider, tools=[shout],
        agent_id="exporter-test",
    )
    agent.hook_manager.register_hook(hook)
    return dict(agent.run(task="t"))


def test_spans_and_metrics_arrive_decoded_with_service_name_and_headers(receiver: OTLPReceiver) -> None:
    token = "otlp-secret-token-123456"
    hook = OTelHook(
        service_name="shop-assistant", endpoint=receiver.url, headers={"authorization": f"Bearer {token}"}
    )
    try:
        result = _run(hook)
        assert hook.force_flush()
    finally:
        hook.shutdown()  # the receiver stops after the test: nothing may try to export later
    spans = receiver.wait_for_spans(4)
    by_name = {s["name"]: s for s in spans}
    run = by_name["invoke_agent exporter-test"]
    assert run["resource"]["service.name"] == "shop-assistant"
    assert run["attributes"]["kaizen.run.id"] == result["run_id"]
    tool_span = by_name["execute_tool shout"]
    assert tool_span["parent_span_id"] == run["span_id"] and tool_span["trace_id"] == run["trace_id"]
    chats = [s for s in spans if s["name"].startswith("chat ")]
    assert len(chats) == 2 and all(c["parent_span_id"] == run["span_id"] for c in chats)
    assert sum(c["attributes"]["gen_ai.usage.input_tokens"] for c in chats) == result["usage"]["input_tokens"]
    assert {r.headers.get("authorization") for r in receiver.requests} == {f"Bearer {token}"}
    assert all(r.headers["content-type"] == "application/x-protobuf" for r in receiver.requests)
    usage = receiver.wait_for_metric("gen_ai.client.token.usage")
    by_type = {p["attributes"]["gen_ai.token.type"]: p for p in usage}
    assert by_type["input"]["sum"] == result["usage"]["input_tokens"] and by_type["input"]["count"] == 2
    assert by_type["output"]["sum"] == result["usage"]["output_tokens"]
    assert by_type["input"]["attributes"]["gen_ai.provider.name"] == "mock"
    duration = receiver.wait_for_metric("gen_ai.client.operation.duration")
    assert duration[0]["unit"] == "s" and duration[0]["count"] == 2
    cost = receiver.wait_for_metric("kaizen.gen_ai.client.cost")
    assert cost[0]["value"] == pytest.approx(result["usage"]["cost_usd"])


def test_the_standard_env_vars_configure_the_exporter(receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=agents%20one")
    hook = OTelHook(metrics=False)
    try:
        _run(hook)
        assert hook.force_flush()
    finally:
        hook.shutdown()
    spans = receiver.wait_for_spans(4)
    assert {s["resource"]["service.name"] for s in spans} == {"from-env"}
    assert {r.headers.get("x-team") for r in receiver.requests} == {"agents one"}
    assert {r.path for r in receiver.requests} == {"/v1/traces"}  # metrics=False exports no metrics


def test_enable_observability_exports_the_runs_spans_when_the_process_exits(receiver: OTLPReceiver) -> None:
    import os
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        from kaizen_core import BaseAgent, BaseAgentConfig
        agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", agent_id="one-liner")
        status = agent.enable_observability(
            service_name="shop", enable_metrics=False, enable_logging=False, enable_audit=False
        )
        assert status.enabled == ["otel"], status
        agent.run(question="q")
        """
    )
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_METRICS_EXPORTER": "none"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    spans = receiver.wait_for_spans(2)  # flushed by the SDK at interpreter exit
    assert sorted(s["name"] for s in spans) == ["chat mock-model", "invoke_agent one-liner"]
    assert {s["resource"]["service.name"] for s in spans} == {"shop"}


def test_kaizen_run_of_an_agent_toml_file_with_otel_and_audit_by_name(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    """``hooks = [{name = "otel", ...}, {name = "audit", ...}]`` in TOML, run by the ``kaizen`` CLI."""
    import os
    import subprocess
    import sys

    trail = tmp_path / "audit.jsonl"
    agent_file = tmp_path / "agent.toml"
    agent_file.write_text(
        "[agent]\n"
        'id = "toml-agent"\n'
        'signature = "question: str -> answer: str"\n'
        'llm_provider = "mock"\n'
        'hooks = [{name = "otel", service_name = "toml-svc", metrics = false},'
        f' {{name = "audit", path = "{trail.as_posix()}"}}]\n',
        encoding="utf-8",
    )
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
    done = subprocess.run(
        [sys.executable, "-m", "kaizen_core.cli", "run", str(agent_file), "--input", "question=q"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    spans = receiver.wait_for_spans(2)  # flushed by the SDK at interpreter exit
    assert sorted(s["name"] for s in spans) == ["chat mock-model", "invoke_agent toml-agent"]
    assert {s["resource"]["service.name"] for s in spans} == {"toml-svc"}
    assert verify_chain(trail).ok
