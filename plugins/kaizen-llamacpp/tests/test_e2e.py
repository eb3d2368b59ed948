"""End to end on the bundled model, offline: agents built only from config names."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature


class QASignature(Signature):
    """Answer the question in a few words."""

    question: str = InputField(desc="The question to answer")
    answer: str = OutputField(desc="A short answer")
    confidence: float = OutputField(desc="How sure you are, from 0.0 to 1.0")


def test_base_agent_answers_with_typed_outputs_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    agent = BaseAgent(BaseAgentConfig(llm_provider="llamacpp", temperature=0.0, max_tokens=96, seed=1), QASignature())
    result = agent.run(question="What is the capital of France?")
    assert isinstance(result["answer"], str) and result["answer"].strip()
    assert isinstance(result["confidence"], float)
    meta = result["_meta"]
    assert meta["provider"] == "llamacpp"
    assert meta["model"] == "SmolLM2-135M-Instruct"
    assert meta["usage"]["total_tokens"] > 0
    assert meta["cost"] == 0.0


def test_auto_detection_falls_back_to_the_bundled_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """No llm_provider and no key: the acceptance check of the issue, as a user runs it."""
    for var in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    from kaizen_core.providers.selection import detect_provider

    if detect_provider() != "llamacpp":
        pytest.fail(f"auto-detection chose {detect_provider()!r}: a local server or key is visible to this test run")
    agent = BaseAgent(BaseAgentConfig(max_tokens=96, temperature=0.0, seed=1), QASignature())
    result = agent.run(question="What color is the sky on a clear day?")
    assert isinstance(result["answer"], str)
    assert isinstance(result["confidence"], float)


def test_autonomous_agent_completes_a_one_tool_task(tmp_path: Path) -> None:
    from kaizen_core.agents.autonomous import BaseAutonomousAgent
    from kaizen_core.config import AutonomousConfig
    from kaizen_core.tools import tool

    calls: list[str] = []

    @tool(name="lookup_capital", idempotent=True)
    def lookup_capital(country: str) -> str:
        """Return the capital city of a country."""
        calls.append(country)
        return {"france": "Paris", "japan": "Tokyo"}.get(country.strip().lower(), "unknown")

    class TaskSignature(Signature):
        """Complete the task using the tools."""

        task: str = InputField(desc="The task")
        summary: str = OutputField(desc="The result of the task")

    agent = BaseAutonomousAgent(
        AutonomousConfig(
            llm_provider="llamacpp",
            temperature=0.0,
            seed=1,
            max_tokens=96,
            max_cycles=4,
            checkpoint_storage=f"file://{tmp_path / 'ckpt'}",
            permission_mode="bypass",
        ),
        TaskSignature(),
        tools=[lookup_capital],
    )
    result = agent.run_autonomous_sync("Use the lookup_capital tool to find the capital of France.")
    assert calls, "the model never called the tool"
    assert result["tool_calls"], result
    assert result["stop_reason"] == "converged", result["stop_reason"]
    assert isinstance(result["summary"], str)
    assert "Paris" in result["summary"], result["summary"]  # the tool's result reached the answer
    assert result["cycles_used"] >= 2
