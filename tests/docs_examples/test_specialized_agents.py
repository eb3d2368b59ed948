"""The original docs' single-agent examples, run as written on the mock provider.

* quick-reference.md "Basic Agent Usage", "Basic Agent Pattern", "Memory-Enabled Agent",
  "Available Specialized Agents", "Single-Agent Patterns" (Planning, PEV, Tree of Thoughts)
  and "5. Planning Agents";
* api-reference.md "Planning Agents API" (PlanningAgent, PEVAgent);
* advanced-patterns.md Pattern 3 and Pattern 6 (PlanningAgent / PEVAgent built from keywords).

Translated: ``kaizen.agents`` -> ``kaizen_core.agents``, ``kaizen.agents.specialized.<m>`` ->
``kaizen_core.agents.specialized.<m>``; ``"openai"`` -> ``"mock"``, and the zero-config
``QAConfig()`` -> ``QAConfig(llm_provider="mock")`` (zero config auto-detects a provider,
which a test must not depend on). Where the docs only print, the test asserts the keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from kaizen_core.providers.mock import MockProvider


def test_quick_start_basic_agent_usage(capsys: pytest.CaptureFixture[str]) -> None:
    from kaizen_core.agents import QAConfig, SimpleQAAgent

    # Zero-config usage
    agent = SimpleQAAgent(QAConfig(llm_provider="mock"))
    result = agent.ask("What is AI?")
    print(result["answer"])  # Direct answer access

    # Progressive configuration
    @dataclass
    class CustomConfig:
        llm_provider: str = "mock"
        model: str = "gpt-4"
        temperature: float = 0.7
        max_tokens: int = 500

    agent = SimpleQAAgent(CustomConfig())

    assert capsys.readouterr().out == "mock answer\n"
    assert (agent.config.model, agent.config.temperature, agent.config.max_tokens) == ("gpt-4", 0.7, 500)


def test_basic_agent_pattern_and_memory_enabled_agent() -> None:
    from kaizen_core.agents import SimpleQAAgent
    from kaizen_core.agents.specialized.simple_qa import QAConfig

    config = QAConfig(llm_provider="mock", model="gpt-4", temperature=0.7)
    agent = SimpleQAAgent(config)
    result = agent.ask("What is quantum computing?")
    answer = result.get("answer", "No answer")
    confidence = result.get("confidence", 0.0)
    assert isinstance(answer, str) and 0.0 <= confidence <= 1.0

    # Enable memory with max_turns parameter
    config = QAConfig(llm_provider="mock", model="gpt-4", max_turns=10)
    agent = SimpleQAAgent(config)
    agent.provider = provider = MockProvider(
        script=[{"answer": "Hi Alice", "confidence": 1.0}, {"answer": "Your name is Alice", "confidence": 1.0}]
    )
    result1 = agent.ask("My name is Alice", session_id="user123")
    result2 = agent.ask("What's my name?", session_id="user123")
    assert result2["answer"] == "Your name is Alice" and result1["answer"] == "Hi Alice"
    assert any("My name is Alice" in (m.content or "") for m in provider.requests[1].messages)


def test_available_specialized_agents_import() -> None:
    from kaizen_core.agents import (  # noqa: F401
        ChainOfThoughtAgent,  # Step-by-step reasoning
        CodeGenerationAgent,  # Code generation
        MemoryAgent,  # Memory-enhanced conversations
        RAGResearchAgent,  # Research with retrieval
        ReActAgent,  # Reasoning + action cycles
        SimpleQAAgent,  # Question answering
    )


def test_quick_reference_single_agent_patterns() -> None:
    # 1. Planning Agent - Plan Before You Act
    from kaizen_core.agents.specialized.planning import PlanningAgent, PlanningConfig

    agent = PlanningAgent(
        PlanningConfig(llm_provider="mock", max_plan_steps=5, validation_mode="strict", enable_replanning=True)
    )
    result = agent.run(task="Create research report", context={"length": "2000 words"})
    assert {"plan", "validation_result", "execution_results", "final_result"} <= set(result)

    # 2. PEV Agent - Plan, Execute, Verify, Refine
    from kaizen_core.agents.specialized.pev import PEVAgent, PEVAgentConfig

    agent = PEVAgent(
        PEVAgentConfig(
            llm_provider="mock", max_iterations=5, verification_strictness="medium", enable_error_recovery=True
        )
    )
    result = agent.run(task="Generate production-ready code")
    assert {"refinements", "verification", "final_result"} <= set(result)

    # 3. Tree-of-Thoughts Agent - Multi-Path Exploration
    from kaizen_core.agents.specialized.tree_of_thoughts import ToTAgent, ToTAgentConfig

    agent = ToTAgent(
        ToTAgentConfig(
            llm_provider="mock", num_paths=5, temperature=0.9, evaluation_criteria="quality", parallel_execution=True
        )
    )
    result = agent.run(task="Strategic decision: choose go-to-market strategy")
    assert len(result["paths"]) == 5 == len(result["scores"]) and result["selected_path"] in result["paths"]
    assert isinstance(result["final_result"], str)


def test_quick_reference_planning_agents_section() -> None:
    from kaizen_core.agents.specialized.planning import PlanningAgent, PlanningConfig

    agent = PlanningAgent(
        PlanningConfig(
            llm_provider="mock",
            model="gpt-4",
            max_plan_steps=5,  # Maximum steps in plan
            validation_mode="strict",  # Pre-execution validation (strict/warn/off)
            enable_replanning=True,  # Replan if validation fails
            plan_format="structured",  # structured/narrative
        )
    )
    result = agent.run(
        task="Create research report on quantum computing", context={"length": "2000 words", "audience": "technical"}
    )
    assert result["validation_result"]["valid"] is True

    from kaizen_core.agents.specialized.pev import PEVAgent, PEVAgentConfig

    agent = PEVAgent(
        PEVAgentConfig(
            llm_provider="mock",
            model="gpt-4",
            max_iterations=5,
            verification_strictness="medium",
            enable_error_recovery=True,
            early_stop_threshold=0.9,
        )
    )
    result = agent.run(
        task="Generate production-ready code for API endpoint", context={"language": "python", "framework": "fastapi"}
    )
    assert result["verification"]["strictness"] == "medium"


def test_api_reference_planning_agent(capsys: pytest.CaptureFixture[str]) -> None:
    from kaizen_core.agents import PlanningAgent, PlanningConfig

    config = PlanningConfig(
        llm_provider="mock",
        model="gpt-4",
        max_plan_steps=10,  # Maximum steps in plan
        validation_mode="strict",  # strict, warn, off
        enable_replanning=True,  # Retry if validation fails
        max_replanning_attempts=3,
    )
    agent = PlanningAgent(config=config)
    result = agent.run(task="Create comprehensive research report on AI ethics")
    print(result["plan"])
    print(result["validation_result"])
    print(result["execution_results"])
    print(result["final_result"])

    out = capsys.readouterr().out.splitlines()
    assert out[1] == "{'valid': True, 'issues': [], 'warnings': [], 'mode': 'strict'}"
    assert result["plan"][0]["step"] == 1 and {"step", "action"} <= set(result["plan"][0])
    assert result["execution_results"][0]["status"] == "completed"


def test_api_reference_pev_agent(capsys: pytest.CaptureFixture[str]) -> None:
    from kaizen_core.agents import PEVAgent, PEVConfig

    config = PEVConfig(
        llm_provider="mock",
        model="gpt-4",
        max_iterations=10,  # Max refinement loops
        verification_strictness="strict",  # strict, medium, lenient
        enable_error_recovery=True,  # Continue on errors
        min_confidence_threshold=0.8,  # Stop when confidence > 0.8
    )
    agent = PEVAgent(config=config)
    result = agent.run(task="Generate Python code with passing tests")
    print(f"Iterations: {len(result['refinements'])}")
    print(result["verification"])
    print(result["refinements"])
    print(result["final_result"])

    assert capsys.readouterr().out.startswith("Iterations: 9\n")  # the mock's verifier always finds an issue
    assert {"passed", "confidence", "issues_found", "issues_fixed"} <= set(result["verification"])
    assert {"iteration", "issue", "fix"} <= set(result["refinements"][0])


def test_advanced_patterns_keyword_constructors() -> None:
    from kaizen_core.agents import PEVAgent, PlanningAgent

    # Pattern 3
    agent = PEVAgent(llm_provider="mock", model="gpt-4", max_iterations=10, verification_strictness="strict")
    result = agent.run(task="Extract data from 10 sources")
    assert result.get("record_count", 0) == 0 and "final_result" in result

    # Pattern 6, Level 1 and 2
    planner = PlanningAgent(llm_provider="mock", model="gpt-4", max_plan_steps=10, validation_mode="strict", timeout=30)
    result: Any = planner.run(task="t")
    assert {"status": "success", "quality": "high", "result": result}["result"]["final_result"]
    planner = PlanningAgent(
        llm_provider="mock", model="gpt-3.5-turbo", max_plan_steps=5, validation_mode="warn", timeout=20
    )
    assert planner.run(task="t")["validation_result"]["mode"] == "warn"
