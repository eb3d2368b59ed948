"""The specialized agents (kaizen_core.agents.specialized) on the scripted mock provider."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kaizen_core.agents import (
    ChainOfThoughtAgent,
    CodeConfig,
    CodeGenerationAgent,
    MemoryAgent,
    PEVAgent,
    PEVAgentConfig,
    PEVConfig,
    PlanningAgent,
    PlanningConfig,
    QAConfig,
    RAGResearchAgent,
    ReActAgent,
    SimpleQAAgent,
    ToTAgent,
    ToTAgentConfig,
)
from kaizen_core.errors import BudgetExceededError, ConvergenceError, OutputValidationError
from kaizen_core.providers.mock import MockProvider, tool_calls_reply
from kaizen_core.tools import DangerLevel, tool


def mock(*script: Any, **options: Any) -> MockProvider:
    # each phase of a multi-step agent is its own short exchange: replies in call order
    return MockProvider(script=list(script), script_order="calls", **options)


# --- exports ---------------------------------------------------------------------------------------
def test_import_kaizen_core_loads_no_specialized_agent() -> None:
    code = "import sys, kaizen_core, kaizen_core.agents; print(any('specialized' in m for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_documented_module_paths_and_aliases() -> None:
    from kaizen_core.agents.specialized.pev import PEVAgent as pev
    from kaizen_core.agents.specialized.planning import PlanningAgent as planning
    from kaizen_core.agents.specialized.simple_qa import QAConfig as qa_config
    from kaizen_core.agents.specialized.tree_of_thoughts import ToTAgent as tot

    assert (pev, planning, qa_config, tot) == (PEVAgent, PlanningAgent, QAConfig, ToTAgent)
    assert PEVConfig is PEVAgentConfig
    with pytest.raises(ImportError):
        exec("from kaizen_core.agents import NoSuchAgent")


def test_the_mock_refuses_an_unknown_script_order() -> None:
    from kaizen_core.errors import ConfigError

    with pytest.raises(ConfigError, match="script_order"):
        MockProvider(script_order="random")


# --- constructor forms -------------------------------------------------------------------------------
def test_config_object_keywords_and_domain_dataclass() -> None:
    @dataclass
    class CustomConfig:
        llm_provider: str = "mock"
        model: str = "gpt-4"
        temperature: float = 0.7
        max_tokens: int = 500
        domain_only: str = "kept out"

    agent = SimpleQAAgent(CustomConfig())
    assert agent.config.max_tokens == 500 and agent.agent_id.startswith("simpleqaagent-")
    assert SimpleQAAgent(llm_provider="mock", agent_id="qa").agent_id == "qa"
    by_keywords = PlanningAgent(llm_provider="mock", max_plan_steps=10, validation_mode="warn", timeout=30)
    assert (by_keywords.config.max_plan_steps, by_keywords.config.validation_mode, by_keywords.config.timeout) == (
        10,
        "warn",
        30,
    )
    on_top = PlanningAgent(PlanningConfig(llm_provider="mock", max_plan_steps=2), validation_mode="off")
    assert (on_top.config.max_plan_steps, on_top.config.validation_mode) == (2, "off")
    pev = PEVAgent(llm_provider="mock", verification_strictness="strict", min_confidence_threshold=0.8)
    assert (pev.config.verification_strictness, pev.config.early_stop_threshold) == ("high", 0.8)


# --- SimpleQA / CoT / Memory ----------------------------------------------------------------------------
def test_simple_qa_ask_with_session_memory() -> None:
    provider = mock({"answer": "Hello Alice", "confidence": 0.9}, {"answer": "Alice", "confidence": 0.8})
    agent = SimpleQAAgent(QAConfig(llm_provider="mock", max_turns=10), provider=provider)
    first = agent.ask("My name is Alice", session_id="user123")
    second = agent.ask("What's my name?", session_id="user123")
    assert (first["answer"], second["answer"], second["confidence"]) == ("Hello Alice", "Alice", 0.8)
    assert any("My name is Alice" in (m.content or "") for m in provider.requests[1].messages)
    agent.ask("What's my name?", session_id="other")
    assert not any("My name is Alice" in (m.content or "") for m in provider.requests[2].messages)


def test_chain_of_thought_returns_steps_and_final_answer() -> None:
    steps = ["120 km at 60 km/h", "120 / 60 = 2 h", "9:00 + 2 h = 11:00"]
    agent = ChainOfThoughtAgent(
        llm_provider="mock", provider=mock({"steps": steps, "final_answer": "11:00", "confidence": 0.9})
    )
    result = agent.solve("A train leaves at 9:00 ... when does it arrive?")
    assert (result["steps"], result["final_answer"]) == (steps, "11:00")


def test_memory_agent_remembers_per_session() -> None:
    provider = mock({"response": "Nice to meet you"}, {"response": "You are Bob"})
    agent = MemoryAgent(llm_provider="mock", provider=provider)
    agent.chat("I am Bob", session_id="s1")
    assert agent.chat("Who am I?", session_id="s1")["response"] == "You are Bob"
    assert any("I am Bob" in (m.content or "") for m in provider.requests[1].messages)


# --- ReAct ------------------------------------------------------------------------------------------------
def test_react_loop_runs_tools_through_the_gate() -> None:
    ran: list[str] = []

    @tool
    def lookup(city: str) -> str:
        """Population of a city."""
        ran.append(city)
        return "2.1 million"

    @tool(danger_level=DangerLevel.HIGH)
    def wipe(target: str) -> str:
        """Delete things."""
        ran.append("wipe")
        return "wiped"

    provider = mock(
        {**tool_calls_reply(("wipe", {"target": "all"})), "content": "I will clean up first"},
        {**tool_calls_reply(("lookup", {"city": "Paris"})), "content": "I need the population"},
        {"answer": "About 2.1 million", "confidence": 0.9},
    )
    agent = ReActAgent(llm_provider="mock", provider=provider, tools=[lookup, wipe])
    result = agent.run(task="Population of Paris?")
    assert ran == ["Paris"]  # the HIGH tool was denied by the gate (no control protocol to approve it)
    assert [(s["action"], s["is_error"]) for s in result["steps"]] == [("wipe", True), ("lookup", False)]
    assert (
        result["steps"][1]["thought"] == "I need the population" and result["steps"][1]["observation"] == "2.1 million"
    )
    assert "EXEC_005" in result["steps"][0]["observation"]
    assert result["answer"] == "About 2.1 million" and result["_meta"]["provider_calls"] == 3


def test_react_forces_an_answer_after_max_cycles() -> None:
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    provider = mock(
        tool_calls_reply(("ping", {})), tool_calls_reply(("ping", {})), {"answer": "done", "confidence": 1.0}
    )
    result = ReActAgent(llm_provider="mock", max_cycles=2, provider=provider, tools=[ping]).run(task="t")
    assert result["answer"] == "done" and len(result["steps"]) == 2
    assert provider.requests[-1].tools == []  # the tools were withheld for the last call


# --- RAG --------------------------------------------------------------------------------------------------
def test_rag_retrieves_top_k_and_cites_sources() -> None:
    provider = mock({"answer": "Kaizen is an agent framework [1]", "cited": [1, 9], "confidence": 0.8})
    documents = [
        {"title": "Kaizen", "content": "Kaizen is a Python agent framework", "url": "https://example.org/k"},
        "Bananas are yellow",
        "An agent framework runs models",
    ]
    agent = RAGResearchAgent(llm_provider="mock", top_k=2, provider=provider, documents=documents)
    result = agent.research("Kaizen agent framework")
    assert [s["title"] for s in result["sources"]] == ["Kaizen", "source 2"]
    assert result["sources"][0]["url"] == "https://example.org/k"
    assert [c["title"] for c in result["citations"]] == ["Kaizen"]  # [9] is not a source: dropped
    prompt = provider.requests[0].messages[-1].content or ""
    assert "[1] Kaizen: Kaizen is a Python agent framework" in prompt and "Bananas" not in prompt


def test_rag_searches_a_long_term_memory() -> None:
    from kaizen_core.memory import LongTermMemory

    memory = LongTermMemory("memory://", agent_id="kb")
    memory.add("The launch is on Tuesday", metadata={"title": "Plan"})
    agent = RAGResearchAgent(llm_provider="mock", knowledge_base=memory)
    result = agent.research("When is the launch?")
    assert [s["title"] for s in result["sources"]] == ["Plan"]


# --- code generation ---------------------------------------------------------------------------------------------
CODE = "def rev(s):\n    return s[::-1]\n"
TESTS = "from solution import rev\nassert rev('ab') == 'ba'\nprint('tests ok')\n"


def _code_agent(tmp_path: Path, **options: Any) -> CodeGenerationAgent:
    config = CodeConfig(
        llm_provider="mock",
        execute_tests=True,
        allowed_commands=[sys.executable],
        test_command=f"{sys.executable} test_solution.py",
        workspace_root=str(tmp_path),
        **options,
    )
    return CodeGenerationAgent(config, provider=mock({"code": CODE, "tests": TESTS, "explanation": "slicing"}))


def test_code_generation_without_execution_runs_nothing(tmp_path: Path) -> None:
    agent = CodeGenerationAgent(
        llm_provider="mock",
        workspace_root=str(tmp_path),
        provider=mock({"code": CODE, "tests": TESTS, "explanation": "x"}),
    )
    result = agent.generate("reverse a string")
    assert (result["code"], result["tests"]) == (CODE, TESTS) and "test_results" not in result
    assert agent.tools is None and not any(tmp_path.iterdir())


def test_code_generation_tests_need_the_gate(tmp_path: Path) -> None:
    result = _code_agent(tmp_path).generate("reverse a string")
    assert result["test_results"]["passed"] is False and result["test_results"]["error_code"] == "EXEC_005"


def test_code_generation_runs_tests_when_allowed(tmp_path: Path) -> None:
    agent = _code_agent(tmp_path, permission_rules=[{"pattern": "bash_command", "permission_type": "allow"}])
    result = agent.generate("reverse a string")
    assert result["test_results"]["passed"] is True and "tests ok" in result["test_results"]["output"]
    assert Path(result["test_results"]["directory"]).is_relative_to(tmp_path)


def test_code_generation_python_is_not_allowed_by_default(tmp_path: Path) -> None:
    config = CodeConfig(
        llm_provider="mock",
        execute_tests=True,
        workspace_root=str(tmp_path),
        permission_rules=[{"pattern": "bash_command", "permission_type": "allow"}],
    )
    result = CodeGenerationAgent(config, provider=mock({"code": CODE, "tests": TESTS, "explanation": "x"})).generate(
        "t"
    )
    assert result["test_results"]["passed"] is False and result["test_results"]["error_code"] == "EXEC_005"


# --- planning ---------------------------------------------------------------------------------------------------
def _steps(*actions: str) -> dict[str, Any]:
    return {"steps": [{"action": a} for a in actions]}


def test_planning_plan_validate_execute_synthesize() -> None:
    provider = mock(
        _steps("Research", "Write"),
        {"feasible": True, "issues": []},
        {"result": "notes"},
        {"result": "draft"},
        {"final_result": "Report"},
        cost_per_input_token=1e-6,
    )
    agent = PlanningAgent(PlanningConfig(llm_provider="mock", max_plan_steps=3), provider=provider)
    result = agent.run(task="Create research report", context={"length": "2000 words"})
    assert [s["action"] for s in result["plan"]] == ["Research", "Write"]
    assert result["plan"]["steps"] is result["plan"]  # advanced-patterns' form
    assert result["validation_result"] == {"valid": True, "issues": [], "warnings": [], "mode": "strict"}
    assert [(r["step"], r["status"], r["output"]) for r in result["execution_results"]] == [
        (1, "completed", "notes"),
        (2, "completed", "draft"),
    ]
    assert result["final_result"] == "Report"
    meta = result["_meta"]
    assert meta["provider_calls"] == 5 == len(provider.requests)
    assert meta["cost"] == pytest.approx(meta["usage"]["input_tokens"] * 1e-6) and meta["usage"]["input_tokens"] > 0
    assert "notes" in (provider.requests[3].messages[-1].content or "")  # step 2 sees step 1's result
    # each phase is its own exchange (role + phase prompt): the prompt does not carry every earlier phase
    assert [len(r.messages) for r in provider.requests] == [2, 2, 2, 2, 2]


def test_planning_strict_replans_a_plan_that_is_too_long() -> None:
    provider = mock(
        _steps("a", "b", "c"), _steps("a"), {"feasible": True, "issues": []}, {"result": "x"}, {"final_result": "done"}
    )
    result = PlanningAgent(llm_provider="mock", max_plan_steps=2, provider=provider).run(task="t")
    assert result["replanning_attempts"] == 1 and len(result["plan"]) == 1
    assert "at most 2" in (provider.requests[1].messages[-1].content or "")  # the issue is shown to the planner


def test_planning_strict_without_a_valid_plan_raises_agent_005() -> None:
    provider = mock(_steps("a"), {"feasible": False, "issues": ["impossible"]})
    agent = PlanningAgent(llm_provider="mock", enable_replanning=False, provider=provider)
    with pytest.raises(ConvergenceError, match="impossible") as info:
        agent.run(task="t")
    assert info.value.code == "AGENT_005"


def test_planning_warn_executes_with_warnings_and_off_skips_validation() -> None:
    warn = mock(_steps("a"), {"feasible": False, "issues": ["risky"]}, {"result": "x"}, {"final_result": "done"})
    result = PlanningAgent(llm_provider="mock", validation_mode="warn", provider=warn).run(task="t")
    assert result["validation_result"]["warnings"] == ["risky"] and result["final_result"] == "done"
    off = mock(_steps("a"), {"result": "x"}, {"final_result": "done"})
    result = PlanningAgent(llm_provider="mock", validation_mode="off", provider=off).run(task="t")
    assert result["final_result"] == "done" and len(off.requests) == 3


def test_planning_budget_is_checked_before_every_call() -> None:
    provider = mock(cost_per_input_token=0.001)
    agent = PlanningAgent(llm_provider="mock", max_budget_usd=0.5, provider=provider)
    with pytest.raises(BudgetExceededError) as info:
        agent.run(task="Create research report")
    assert 1 <= len(provider.requests) < 4  # stopped between phases, before the synthesis
    assert info.value.result["_meta"]["provider_calls"] == len(provider.requests)  # type: ignore[attr-defined]


# --- PEV ---------------------------------------------------------------------------------------------------------
def test_pev_refines_until_verified() -> None:
    provider = mock(
        {"plan": ["write", "test"]},
        {"result": "def f(: pass"},
        {"issues": [{"issue": "Syntax error", "severity": "critical"}], "confidence": 0.3},
        {"result_fixed": "def f(): pass", "fix": "Added missing parenthesis"},
        {"issues": [{"issue": "Minor style issue", "severity": "minor"}], "confidence": 0.95},
    )
    result = PEVAgent(PEVAgentConfig(llm_provider="mock", max_iterations=5), provider=provider).run(
        task="Generate code"
    )
    assert result["refinements"] == [{"iteration": 2, "issue": "Syntax error", "fix": "Added missing parenthesis"}]
    assert result["verification"] == {
        "passed": True,
        "confidence": 0.95,
        "issues_found": ["Minor style issue"],
        "issues_fixed": 1,
        "strictness": "medium",
    }
    assert result["final_result"] == "def f(): pass" and result["_meta"]["provider_calls"] == 5


def test_pev_high_strictness_refines_minor_issues_and_stops_at_max_iterations() -> None:
    minor = {"issues": [{"issue": "style", "severity": "minor"}], "confidence": 0.99}
    provider = mock({"plan": ["p"]}, {"result": "r1"}, minor, {"result_fixed": "r2", "fix": "f"}, minor)
    result = PEVAgent(llm_provider="mock", max_iterations=2, verification_strictness="high", provider=provider).run(
        task="t"
    )
    assert result["verification"]["passed"] is False and len(result["refinements"]) == 1


def test_pev_error_recovery_goes_on_after_an_invalid_reply() -> None:
    bad = {"wrong": 1}
    script: list[Any] = [{"plan": ["p"]}, bad, bad, bad, {"result": "r"}, {"issues": [], "confidence": 1.0}]
    result = PEVAgent(llm_provider="mock", retry_attempts=2, provider=mock(*script)).run(task="t")
    assert result["refinements"][0]["error_code"] == "AGENT_006" and result["final_result"] == "r"
    with pytest.raises(OutputValidationError):
        PEVAgent(llm_provider="mock", retry_attempts=2, enable_error_recovery=False, provider=mock(*script)).run(
            task="t"
        )


# --- Tree of thoughts -----------------------------------------------------------------------------------------------
def test_tot_selects_the_best_scored_path() -> None:
    provider = mock(
        {"approach": "direct sales", "reasoning": ["a"]},
        {"approach": "partners", "reasoning": ["b"]},
        {"approach": "self-serve", "reasoning": ["c"]},
        {"score": 0.4, "evaluation": "slow"},
        {"score": 0.9, "evaluation": "fast reach"},
        {"score": 0.9, "evaluation": "also good"},
        {"result": "Go with partners"},
    )
    config = ToTAgentConfig(llm_provider="mock", num_paths=3, parallel_execution=False)
    result = ToTAgent(config, provider=provider).run(task="Strategic decision: choose go-to-market strategy")
    assert result["scores"] == [0.4, 0.9, 0.9]
    assert result["selected_path"]["approach"] == "partners"  # the first of equal scores
    assert [p["path"] for p in result["paths"]] == [1, 2, 3] and result["final_result"] == "Go with partners"
    assert "partners" in (provider.requests[2].messages[-1].content or "")  # a later path sees the earlier ones
    assert all(r.params.temperature == 0.9 for r in provider.requests)


@pytest.mark.anyio
async def test_tot_parallel_paths_are_concurrent_and_share_the_budget() -> None:
    import anyio

    from kaizen_core.permissions import ExecutionContext

    class Gate(MockProvider):
        def __init__(self) -> None:
            super().__init__()
            self.waiting = 0
            self.all_in = anyio.Event()

        async def complete(self, request: Any) -> Any:
            if "path_number" in (request.messages[-1].content or "") and not self.all_in.is_set():
                self.waiting += 1
                if self.waiting == 4:
                    self.all_in.set()
                await self.all_in.wait()  # returns only when all four generate calls are in flight together
            return await super().complete(request)

    provider = Gate()
    result = await ToTAgent(llm_provider="mock", num_paths=4, provider=provider).run_async(task="t")
    assert len(result["paths"]) == 4 and result["_meta"]["provider_calls"] == 9 == len(provider.requests)
    usage = result["_meta"]["usage"]
    assert usage["input_tokens"] == sum(provider._usage(r, None, []).input_tokens for r in provider.requests)

    limited = ExecutionContext(call_limit=3)
    agent = ToTAgent(llm_provider="mock", num_paths=4, provider=MockProvider(), execution_context=limited)
    with pytest.raises(BudgetExceededError):
        await agent.run_async(task="t")
    assert limited.calls_made <= 3


@pytest.mark.anyio
async def test_an_interrupt_stops_a_multi_step_agent_between_phases(tmp_path: Path) -> None:
    from kaizen_core.errors import AgentInterrupted
    from kaizen_core.state import StateManager

    class StopsAfterTwo(MockProvider):
        async def complete(self, request: Any) -> Any:
            completion = await super().complete(request)
            if len(self.requests) == 2:
                agent.interrupt_manager.request_interrupt("programmatic", "graceful", "user pressed stop")
            return completion

    provider = StopsAfterTwo(script=[_steps("a", "b"), {"feasible": True, "issues": []}], script_order="calls")
    state = StateManager(f"file://{tmp_path}")
    agent = PlanningAgent(llm_provider="mock", provider=provider, state_manager=state)
    with pytest.raises(AgentInterrupted) as info:
        await agent.run_async(task="t")
    assert len(provider.requests) == 2  # no step ran after the interrupt
    assert info.value.result["_meta"]["provider_calls"] == 2
    saved = await state.load_checkpoint(info.value.reason.metadata["checkpoint_id"])
    assert saved.status == "interrupted" and saved.custom_state["planning"]["plan"][0]["action"] == "a"
