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


ONE_TOOL_TASKS = [
    ("get_weather", "city", "What is the weather in Paris? Use the get_weather tool."),
    ("get_weather", "city", "Use the get_weather tool to tell me the weather in Tokyo."),
    ("get_weather", "city", "Check the weather in Oslo with the get_weather tool."),
    ("lookup_capital", "country", "Use the lookup_capital tool to find the capital of Japan."),
    ("lookup_capital", "country", "What is the capital of Italy? Use the lookup_capital tool."),
    ("lookup_capital", "country", "Find the capital of Spain using the lookup_capital tool."),
    ("word_count", "text", "Use the word_count tool to count the words in 'the quick brown fox'."),
    ("word_count", "text", "How many words are in 'hello big wide world'? Use the word_count tool."),
    ("to_upper", "text", "Use the to_upper tool to convert 'kaizen' to upper case."),
    ("to_upper", "text", "Convert 'agents' to capital letters with the to_upper tool."),
]


def test_one_tool_tasks_converge_to_a_typed_answer(tmp_path: Path) -> None:
    """Issue 10: the bundled 135M model used to repeat one call until max_cycles.

    The repeat guard answers a repeated call from memory and then asks for the final
    answer with the tools withheld; every run must end with a valid typed answer or a
    ConvergenceError, never a result that violates the signature. The count is printed
    (pytest -s) for the closing note; the floor below is what this model reaches.
    """
    from kaizen_core.agents.autonomous import BaseAutonomousAgent
    from kaizen_core.config import AutonomousConfig
    from kaizen_core.errors import ConvergenceError
    from kaizen_core.tools import tool

    @tool(read_only=True, idempotent=True)
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return f"Sunny, 21 C in {city}"

    @tool(read_only=True, idempotent=True)
    def lookup_capital(country: str) -> str:
        """Return the capital city of a country."""
        return {"japan": "Tokyo", "italy": "Rome", "spain": "Madrid"}.get(country.strip().lower(), "unknown")

    @tool(read_only=True, idempotent=True)
    def word_count(text: str) -> int:
        """Count the words in a text."""
        return len(text.split())

    @tool(read_only=True, idempotent=True)
    def to_upper(text: str) -> str:
        """Convert a text to upper case."""
        return text.upper()

    class TaskSignature(Signature):
        """Complete the task using the tools."""

        task: str = InputField(desc="The task")
        summary: str = OutputField(desc="The result of the task")

    tools = {t.name: t for t in (get_weather, lookup_capital, word_count, to_upper)}
    converged = 0
    outcomes: list[str] = []
    for i, (name, _, task) in enumerate(ONE_TOOL_TASKS):
        agent = BaseAutonomousAgent(
            AutonomousConfig(
                llm_provider="llamacpp",
                temperature=0.0,
                seed=1,
                max_tokens=96,
                max_cycles=5,
                checkpoint_storage=f"file://{tmp_path / f'ckpt{i}'}",
            ),
            TaskSignature(),
            tools=[tools[name]],
        )
        try:
            result = agent.run_autonomous_sync(task)
        except ConvergenceError as exc:
            outcomes.append(f"{name}: ConvergenceError after {exc.result.get('cycles_used')} cycles")
            continue
        assert isinstance(result["summary"], str)  # a returned result always satisfies the signature
        outcomes.append(f"{name}: {result['stop_reason']} in {result['cycles_used']} cycles")
        converged += 1
    print(f"\none-tool tasks on the bundled model: {converged}/10 returned a valid typed answer")
    print("\n".join(outcomes))
    assert converged >= 8, outcomes
