"""quick-reference.md, "Observability & Performance Monitoring", run as written.

Imports translated: ``kaizen.core.base_agent`` -> ``kaizen_core``; ``config`` and ``signature``
supplied (mock provider). The core env has neither kaizen-prometheus nor kaizen-otel: the
one-liner switches on the JSON logs and the audit trail and says which parts are missing.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.agents.observability_methods import ObservabilityWarning
from kaizen_core.audit import verify_chain
from kaizen_core.cli import main


class QASignature(Signature):
    """Answer a question."""

    question: str = InputField(desc="User question")
    answer: str = OutputField(desc="Generated answer")


@pytest.fixture(autouse=True)
def core_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, observability_core_env: None) -> None:
    monkeypatch.chdir(tmp_path)  # the example's trail lands in the current directory


def test_quick_reference_enable_observability_one_liner(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    config = BaseAgentConfig(llm_provider="mock")
    signature = QASignature()

    # Create agent
    agent = BaseAgent(config=config, signature=signature)

    # Enable full observability stack (one line!)
    with pytest.warns(ObservabilityWarning, match="pip install kaizen-otel"):
        agent.enable_observability(
            service_name="my-agent",  # Service name for all systems
            enable_metrics=True,  # Prometheus metrics
            enable_logging=True,  # Structured JSON logs
            enable_tracing=True,  # Distributed tracing
            enable_audit=True,  # Compliance audit trails
        )

    # All operations now tracked with zero overhead
    with caplog.at_level(logging.INFO, logger="kaizen.events"):
        result = agent.run(question="test")

    assert isinstance(result["answer"], str)
    runs = [json.loads(r.getMessage()) for r in caplog.records if r.name == "kaizen.events.run"]
    assert [(r["service"], r["status"]) for r in runs] == [("my-agent", "success")]
    trail = tmp_path / "kaizen-audit.jsonl"  # AuditHook's default path
    assert verify_chain(trail).ok
    assert main(["audit", "verify", str(trail)]) == 0
    assert capsys.readouterr().out.startswith("ok ")
