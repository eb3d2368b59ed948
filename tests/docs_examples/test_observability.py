"""quick-reference.md, "Observability & Performance Monitoring", run as written.

Imports translated: ``kaizen.core.base_agent`` -> ``kaizen_core``; ``config`` and ``signature``
supplied (mock provider). The core env has neither kaizen-prometheus nor kaizen-otel: the
one-liner switches on the JSON logs and the audit trail and says which parts are missing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature, plugins
from kaizen_core.agents.observability_methods import ObservabilityWarning
from kaizen_core.audit import verify_chain
from kaizen_core.cli import main
from kaizen_core.hooks.builtin import JsonFormatter


class QASignature(Signature):
    """Answer a question."""

    question: str = InputField(desc="User question")
    answer: str = OutputField(desc="Generated answer")


@pytest.fixture(autouse=True)
def core_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")
    plugins.reset()
    yield
    plugins.reset()
    kaizen = logging.getLogger("kaizen")
    for handler in [h for h in kaizen.handlers if isinstance(h.formatter, JsonFormatter)]:
        kaizen.removeHandler(handler)


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
