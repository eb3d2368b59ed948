"""Each specialized agent on the bundled model returns its documented shape (quality not asserted).

Small budgets: greedy decoding, few steps, short outputs (64 tokens a call; the session provider of
conftest.py bounds strings to 80 characters).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from kaizen_core.agents import (
    ChainOfThoughtAgent,
    CodeGenerationAgent,
    MemoryAgent,
    PEVAgent,
    PlanningAgent,
    RAGResearchAgent,
    ReActAgent,
    SimpleQAAgent,
    ToTAgent,
)
from kaizen_core.tools import tool
from kaizen_llamacpp.provider import LlamaCppProvider

OPTIONS: dict[str, Any] = {
    "llm_provider": "llamacpp",
    "temperature": 0.0,
    "seed": 1,
    "max_tokens": 64,
    "retry_attempts": 2,
}


def _local(result: dict[str, Any], calls: int = 1) -> None:
    meta = result["_meta"]
    assert meta["provider"] == "llamacpp" and meta["provider_calls"] >= calls and meta["usage"]["total_tokens"] > 0


def test_simple_qa_chain_of_thought_and_memory(provider: LlamaCppProvider) -> None:
    result = SimpleQAAgent(provider=provider, **OPTIONS).ask("What is the capital of France?")
    assert isinstance(result["answer"], str) and isinstance(result["confidence"], float)
    _local(result)
    result = ChainOfThoughtAgent(provider=provider, **OPTIONS).solve("What is 2 plus 3?")
    assert isinstance(result["steps"], list) and isinstance(result["final_answer"], str)
    memory = MemoryAgent(provider=provider, **OPTIONS)
    memory.chat("My name is Alice.", session_id="s")
    result = memory.chat("What is my name?", session_id="s")
    assert isinstance(result["response"], str)
    _local(result)


def test_react_and_rag(provider: LlamaCppProvider) -> None:
    @tool
    def get_time() -> str:
        """The current time."""
        return "12:00"

    result = ReActAgent(provider=provider, max_cycles=2, tools=[get_time], **OPTIONS).run(task="What time is it?")
    assert isinstance(result["answer"], str) and isinstance(result["steps"], list)
    _local(result)
    documents = [{"title": "Paris", "content": "Paris is the capital of France."}, "Bananas are yellow."]
    result = RAGResearchAgent(provider=provider, top_k=2, documents=documents, **OPTIONS).research("capital of France")
    assert isinstance(result["answer"], str) and result["sources"][0]["title"] == "Paris"
    assert isinstance(result["citations"], list)


def test_code_generation_with_test_run(provider: LlamaCppProvider, tmp_path: Path) -> None:
    agent = CodeGenerationAgent(
        provider=provider,
        execute_tests=True,
        allowed_commands=[sys.executable],
        test_command=f"{sys.executable} test_solution.py",
        workspace_root=str(tmp_path),
        permission_rules=[{"pattern": "bash_command", "permission_type": "allow"}],
        **OPTIONS,
    )
    result = agent.generate("A function add(a, b) that returns a + b")
    assert isinstance(result["code"], str) and isinstance(result["tests"], str)
    assert isinstance(result["test_results"]["passed"], bool) and "exit_code" in result["test_results"]


def test_planning_pev_and_tree_of_thoughts(provider: LlamaCppProvider) -> None:
    result = PlanningAgent(provider=provider, max_plan_steps=1, validation_mode="warn", **OPTIONS).run(
        task="Write a haiku"
    )
    assert {"plan", "validation_result", "execution_results", "final_result"} <= set(result)
    assert all(r["status"] == "completed" for r in result["execution_results"])
    _local(result, calls=3)
    result = PEVAgent(provider=provider, max_iterations=1, **OPTIONS).run(task="Write one sentence about the sea")
    assert {"refinements", "verification", "final_result"} <= set(result)
    assert isinstance(result["verification"]["passed"], bool)
    _local(result, calls=3)
    tot = {**OPTIONS, "temperature": 0.9}
    result = ToTAgent(provider=provider, num_paths=2, parallel_execution=False, **tot).run(task="Pick a name for a cat")
    assert len(result["paths"]) == 2 == len(result["scores"]) and result["selected_path"] in result["paths"]
    assert isinstance(result["final_result"], str)
    _local(result, calls=5)
