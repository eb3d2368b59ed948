"""The original docs' multi-agent examples, run as written on the mock provider.

* quick-reference.md "Pipeline Patterns": the nine ``Pipeline.*`` calls and ``to_agent``;
  "Multi-Agent Coordination" (``SupervisorWorkerPattern``); "6. Meta-Controller Routing"
  (MetaController, the router pipeline, ensemble discovery);
* api-reference.md "Meta-Controller Routing API": the router example and its strategy and
  error-handling forms;
* advanced-patterns.md "Pattern 1: Hierarchical Planning with Specialized Executors" and
  "Pattern 2: Consensus-Building with Multiple Perspectives".

Imports translated: ``kaizen.orchestration.pipeline`` -> ``kaizen_core.orchestration.pipeline``,
``kaizen.orchestration.meta_controller`` and ``kaizen.orchestration.patterns.meta_controller``
-> ``kaizen_core.orchestration.meta_controller``, ``kaizen.orchestration.patterns`` and
``kaizen.agents.coordination`` -> ``kaizen_core.orchestration``, ``kaizen.core.base_agent`` ->
``kaizen_core``, ``kaizen.signatures`` -> ``kaizen_core.signatures``; ``"openai"`` -> ``"mock"``.

``SimpleQAAgent``, ``CodeGenerationAgent``, ``PlanningAgent`` and their configs are the real
ones (``kaizen.agents`` -> ``kaizen_core.agents``; ``QAConfig()`` -> ``QAConfig(llm_provider="mock")``).

Not in the examples (defined by the tests, outside the example lines): the agents the examples
use without defining (``agent1``, ``supervisor``, ``workers``, ...: mock agents), the
``AnalysisSignature`` of Pattern 2, and stand-ins for ``DataAnalystAgent``, ``DataConfig`` and
``WritingAgent``, which the docs name but Kaizen does not ship (a config object, a signature
whose instructions describe the agent). Four
quick-reference lines pass a positional argument after keyword ones (not valid Python:
``Pipeline.ensemble(agents=[...], synthesizer, ...)``); they are written with the keyword
the parameter has (``synthesizer=synthesizer``). Routing is lexical here (no embedding
provider is installed in the core test environment), so scores differ from the docs' 0.9.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, plugins
from kaizen_core.providers.mock import MockProvider

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _core_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")  # no embedding provider: routing is lexical and says so
    plugins.reset()
    yield
    monkeypatch.undo()
    plugins.reset()


def _agent(agent_id: str, spec: str = "task -> answer", capability: str | None = None, script: list | None = None) -> BaseAgent:  # type: ignore[type-arg]
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), spec, provider=MockProvider(script=script), agent_id=agent_id)
    if capability:
        agent.capability = capability
    return agent


# --- stand-ins for the specialized agents (not in the examples) -----------------------------------------
@dataclass
class DataConfig:
    llm_provider: str = "mock"


class _StandIn(BaseAgent):
    spec = "task -> answer"
    instructions = ""

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        from kaizen_core.signatures import Signature

        super().__init__(
            BaseAgentConfig(llm_provider="mock"), Signature.parse(self.spec, name=f"{type(self).__name__}Signature", instructions=self.instructions)
        )


class DataAnalystAgent(_StandIn):
    spec = "data_description -> analysis, visualizations: list"
    instructions = "Analyze data, such as sales data, and create charts and visualization specs."


class WritingAgent(_StandIn):
    spec = "topic -> text"
    instructions = "Write articles and a product description or marketing copy."


# --- quick-reference.md: Pipeline Patterns -----------------------------------------------------------------
def test_quick_reference_the_nine_pipeline_patterns() -> None:
    agent1, agent2, agent3 = (_agent(f"agent{i}") for i in (1, 2, 3))
    supervisor = _agent("supervisor", "task -> subtasks: list[str]", script=[{"subtasks": ["write code", "analyze data"]}])
    workers = [_agent("coder", capability="write code"), _agent("analyst", capability="analyze data")]
    many = [_agent("m1", capability="code"), _agent("m2", capability="data"), _agent("m3", capability="writing"), _agent("m4")]
    synthesizer = _agent("synth", "task, perspectives: list -> summary")
    controller = _agent("controller", "task, blackboard: list -> solution, done: bool")
    proponent, opponent = _agent("pro", "task -> argument"), _agent("con", "task -> argument")
    judge = _agent("judge", "task, transcript: list -> winner, reasoning")
    tier1, tier2, tier3 = (_agent(f"tier{i}", "task -> answer, confidence: float") for i in (1, 2, 3))

    def aggregator(outputs: list[dict[str, Any]]) -> list[str]:
        return [o["answer"] for o in outputs]

    # --- the example ------------------------------------------------------------------------------------
    from kaizen_core.orchestration.pipeline import Pipeline

    # 1. Sequential - Linear step-by-step processing
    pipeline = Pipeline.sequential(agents=[agent1, agent2, agent3])
    sequential = pipeline.run(task="Write a report")

    # 2. Supervisor-Worker - Task decomposition with A2A semantic worker selection
    pipeline = Pipeline.supervisor_worker(supervisor, workers, selection_mode="semantic")
    supervised = pipeline.run(task="Build the sales dashboard")

    # 3. Router - Intelligent routing via A2A capability matching
    pipeline = Pipeline.router(agents=[agent1, agent2, agent3], routing_strategy="semantic")
    routed = pipeline.run(task="Answer this")

    # 4. Ensemble - Multi-perspective with A2A agent discovery (top-k)
    pipeline = Pipeline.ensemble(agents=many, synthesizer=synthesizer, discovery_mode="a2a", top_k=3)
    ensembled = pipeline.run(task="Review the code and the data")

    # 5. Blackboard - Iterative specialist collaboration with A2A selection
    pipeline = Pipeline.blackboard(specialists=many, controller=controller, selection_mode="semantic", max_iterations=5)
    blackboard = pipeline.run(task="Solve the data problem")

    # 6. Consensus - Democratic voting for agreement
    pipeline = Pipeline.consensus(agents=[agent1, agent2, agent3], threshold=0.67, voting_strategy="majority")
    consensus = pipeline.run(task="Approve the release?")

    # 7. Debate - Adversarial analysis with proponent/opponent
    pipeline = Pipeline.debate(agents=[proponent, opponent], rounds=3, judge=judge)
    debate = pipeline.run(task="Tabs or spaces?")

    # 8. Handoff - Tier escalation based on complexity
    pipeline = Pipeline.handoff(agents=[tier1, tier2, tier3])
    handoff = pipeline.run(task="Reset my password")

    # 9. Parallel - Concurrent execution for 10-100x speedup
    pipeline = Pipeline.parallel(agents=[agent1, agent2, agent3], aggregator=aggregator, max_workers=5, timeout=30)
    parallel = pipeline.run(task="Summarize")

    # All pipelines can be converted to BaseAgent
    agent = pipeline.to_agent(name="my_pipeline")
    # --- end of the example ------------------------------------------------------------------------------

    for result in (sequential, supervised, routed, ensembled, blackboard, consensus, debate, handoff, parallel):
        assert result["status"] == "success" and "usage" in result["_meta"] and result["_meta"]["children"]
    assert {"answer", "intermediate_results"} <= set(sequential)
    assert [s["worker"] for s in supervised["subtasks"]] == ["coder", "analyst"]
    assert {"selected_agent", "confidence_score", "ranking"} <= set(routed) and routed["scorer"] == "lexical"
    assert len(ensembled["selected_agents"]) == 3 and "summary" in ensembled
    assert blackboard["iterations"] >= 1 and "solution" in blackboard
    assert {"consensus_achieved", "final_decision", "confidence_score", "votes", "rounds"} <= set(consensus)
    assert len(debate["rounds"]) == 3 and debate["verdict"] is not None
    assert handoff["handled_by"] in ("tier1", "tier2", "tier3")
    assert parallel["aggregated"] == ["mock answer"] * 3 and parallel["timed_out"] == []
    assert isinstance(agent, BaseAgent) and agent.agent_id == "my_pipeline"
    assert agent.run(task="again")["succeeded"] == 3


def test_quick_reference_multi_agent_coordination() -> None:
    from kaizen_core.agents import CodeConfig, CodeGenerationAgent

    supervisor = _agent("supervisor")
    code_expert = CodeGenerationAgent(CodeConfig(llm_provider="mock"))
    data_expert = DataAnalystAgent()
    writing_expert = WritingAgent()
    workers = [code_expert, data_expert, writing_expert]
    coordinator, shared_pool = None, {}

    # --- the example ------------------------------------------------------------------------------------
    from kaizen_core.orchestration import SupervisorWorkerPattern

    # Semantic capability matching (NO hardcoded if/else!)
    pattern = SupervisorWorkerPattern(supervisor, workers, coordinator, shared_pool)

    # A2A automatically selects best worker
    best_worker = pattern.supervisor.select_worker_for_task(
        task="Analyze sales data and create visualization",
        available_workers=[code_expert, data_expert, writing_expert],
        return_score=True,
    )
    # Returns: {"worker": <DataAnalystAgent>, "score": 0.9}
    # --- end of the example ------------------------------------------------------------------------------

    assert best_worker["worker"] is data_expert and 0 < best_worker["score"] <= 1
    result = pattern.execute_task("Analyze this codebase and suggest improvements")  # quick-reference-v0.5.md
    assert result["status"] == "success" and shared_pool


def test_quick_reference_meta_controller_routing() -> None:
    from kaizen_core.agents import CodeConfig, CodeGenerationAgent

    config = CodeConfig(llm_provider="mock")
    code_expert, data_expert, writing_expert = CodeGenerationAgent(config), DataAnalystAgent(), WritingAgent()
    research_expert = _agent("research_expert", capability="research codebase improvements and suggest them")
    synthesis_agent = _agent("synthesis_agent", "task, perspectives: list -> summary")

    # --- the example ------------------------------------------------------------------------------------
    from kaizen_core.orchestration.meta_controller import MetaController
    from kaizen_core.orchestration.pipeline import Pipeline

    # Create specialized agents
    code_agent = CodeGenerationAgent(config)
    data_agent = DataAnalystAgent(config)
    writing_agent = WritingAgent(config)

    # Create meta-controller with A2A semantic matching
    meta_controller = MetaController(
        agents=[code_agent, data_agent, writing_agent],
        selection_strategy="semantic",  # A2A-based capability matching
        fallback_strategy="round_robin",  # Fallback if no match
        enable_load_balancing=True,
    )

    # Automatic agent selection based on task semantics
    result = meta_controller.route_task(
        task="Analyze sales data and create visualization", context={"data_source": "database", "format": "dashboard"}
    )
    # Automatically selects data_agent (highest capability match)

    # Router pattern with semantic routing
    router = Pipeline.router(
        agents=[code_agent, data_agent, writing_agent],
        routing_strategy="semantic",  # A2A-based routing
    )

    # Execute - automatically routes to best agent
    result1 = router.run(task="Generate Python code for API endpoint")
    # Routes to code_agent

    result2 = router.run(task="Write product description")
    # Routes to writing_agent

    # Ensemble pattern with A2A agent discovery
    ensemble = Pipeline.ensemble(
        agents=[code_expert, data_expert, writing_expert, research_expert],
        synthesizer=synthesis_agent,
        discovery_mode="a2a",  # Use A2A to find relevant agents
        top_k=3,  # Select top 3 agents for task
    )

    # Execute - automatically discovers and selects best 3 agents
    result3 = ensemble.run(task="Analyze codebase and suggest improvements")
    # --- end of the example ------------------------------------------------------------------------------

    assert result["selected_agent"] == "DataAnalystAgent" and {"score", "ranking"} <= set(result)
    assert result1["selected_agent"] == "CodeGenerationAgent" and "code" in result1
    assert result2["selected_agent"] == "WritingAgent" and "text" in result2
    assert len(result3["selected_agents"]) == 3 and "research_expert" in result3["selected_agents"]
    assert "summary" in result3 and result3["scorer"] == "lexical"


# --- api-reference.md: Meta-Controller Routing API --------------------------------------------------------------
def test_api_reference_router_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    # --- the example ------------------------------------------------------------------------------------
    from kaizen_core.agents import CodeConfig, CodeGenerationAgent, QAConfig, SimpleQAAgent
    from kaizen_core.orchestration.pipeline import Pipeline

    # Create specialized agents
    qa_agent = SimpleQAAgent(config=QAConfig(llm_provider="mock"))
    code_agent = CodeGenerationAgent(config=CodeConfig(llm_provider="mock"))
    data_agent = DataAnalystAgent(config=DataConfig())

    # Each agent has A2A capability card
    qa_agent.capability = "Question answering and general knowledge"
    code_agent.capability = "Code generation and analysis"
    data_agent.capability = "Data analysis and visualization"

    # Create semantic router (NO hardcoded if/else logic!)
    pipeline = Pipeline.router(
        agents=[qa_agent, code_agent, data_agent],
        routing_strategy="semantic",  # Options: semantic, round-robin, random
        error_handling="graceful",  # Options: graceful, fail-fast
        fallback_agent=qa_agent,  # Default if no match
    )

    # Route task to best agent automatically
    result = pipeline.run(task="Analyze sales data and create visualization", input="sales.csv")

    # A2A automatically selected data_agent (score: 0.9)
    print(result["selected_agent"])
    # Output: "DataAnalystAgent"

    print(result["confidence_score"])
    # Output: 0.9
    # --- end of the example ------------------------------------------------------------------------------

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "DataAnalystAgent" and 0 < float(out[1]) <= 1
    assert result["scorer"] == "lexical" and {"analysis", "visualizations"} <= set(result)
    assert data_agent.provider.requests and not qa_agent.provider.requests  # type: ignore[attr-defined]


def test_api_reference_routing_strategies_and_error_handling() -> None:
    agent1, agent2, agent3 = (_agent(f"agent{i}") for i in (1, 2, 3))
    primary_agent = _agent("primary", capability="billing", script=[{"error": {"status": 500, "message": "down"}}])
    secondary_agent = _agent("secondary", capability="refunds")
    qa_agent = _agent("qa", capability="general questions", script=[{"answer": "from the fallback"}])

    # --- the example ------------------------------------------------------------------------------------
    from kaizen_core.orchestration.pipeline import Pipeline

    # 1. Semantic Routing (A2A capability matching)
    pipeline = Pipeline.router(
        agents=[agent1, agent2, agent3],
        routing_strategy="semantic",  # Uses Google A2A protocol
    )
    semantic = pipeline.run(task="anything")

    # 2. Round-Robin (distribute load evenly)
    pipeline = Pipeline.router(agents=[agent1, agent2, agent3], routing_strategy="round-robin")
    rotation = [pipeline.run(task="t")["selected_agent"] for _ in range(3)]

    # 3. Random (random selection)
    pipeline = Pipeline.router(agents=[agent1, agent2, agent3], routing_strategy="random")
    randomly = pipeline.run(task="t")

    # Graceful error handling (try fallback agent)
    pipeline = Pipeline.router(
        agents=[primary_agent, secondary_agent], error_handling="graceful", fallback_agent=qa_agent, max_retries=3
    )
    graceful = pipeline.run(task="billing question")

    # Fail-fast (raise error immediately)
    pipeline = Pipeline.router(agents=[agent1, agent2], error_handling="fail-fast")
    # --- end of the example ------------------------------------------------------------------------------

    assert semantic["status"] == "success" and rotation == ["agent1", "agent2", "agent3"]
    assert randomly["selected_agent"] in {"agent1", "agent2", "agent3"} and randomly["confidence_score"] is None
    assert graceful["selected_agent"] == "qa" and graceful["answer"] == "from the fallback"
    from kaizen_core.errors import ProviderError

    failing = Pipeline.router(agents=[primary_agent, secondary_agent], error_handling="fail-fast")
    with pytest.raises(ProviderError):
        failing.run(task="billing question")
    assert pipeline.run(task="t")["status"] == "success"


# --- advanced-patterns.md -----------------------------------------------------------------------------------------
def test_advanced_patterns_1_hierarchical_planning(capsys: pytest.CaptureFixture[str]) -> None:
    # --- the example ------------------------------------------------------------------------------------
    from kaizen_core import BaseAgent
    from kaizen_core.agents import PlanningAgent
    from kaizen_core.orchestration.meta_controller import Pipeline
    from kaizen_core.signatures import InputField, OutputField, Signature

    # 1. Define specialized agents
    class CodeGenerationSignature(Signature):
        task: str = InputField(description="Coding task description")
        code: str = OutputField(description="Generated code")
        tests: str = OutputField(description="Unit tests")

    code_expert = BaseAgent(config={"llm_provider": "mock", "model": "gpt-4"}, signature=CodeGenerationSignature())

    class DataAnalysisSignature(Signature):
        data_description: str = InputField(description="Data analysis task")
        analysis: str = OutputField(description="Analysis results")
        visualizations: list = OutputField(description="Chart specs")

    data_expert = BaseAgent(config={"llm_provider": "mock", "model": "gpt-4"}, signature=DataAnalysisSignature())

    # 2. Create planning coordinator
    planning_coordinator = PlanningAgent(llm_provider="mock", model="gpt-4", max_plan_steps=10, validation_mode="strict")

    # 3. Route to specialists via meta-controller
    pipeline = Pipeline.router(
        agents=[code_expert, data_expert],
        routing_strategy="semantic",  # A2A capability matching
        error_handling="graceful",
    )

    # 4. Execute complex task
    task = """
    Analyze user engagement data from database,
    generate insights report, and create dashboard code.
    """

    # Planning coordinator creates execution plan
    plan_result = planning_coordinator.run(task=task)

    # Specialists execute plan steps
    for step in plan_result["plan"]["steps"]:
        step_result = pipeline.run(task=step["description"], input=step.get("inputs"))
        print(f"✓ {step['description']}: {step_result['status']}")
    # --- end of the example ------------------------------------------------------------------------------

    steps = plan_result["plan"]["steps"]
    printed = capsys.readouterr().out.splitlines()
    assert steps and printed == [f"✓ {step['description']}: success" for step in steps]
    calls = len(data_expert.provider.requests) + len(code_expert.provider.requests)  # type: ignore[attr-defined]
    assert calls == len(steps)  # each step went to exactly one specialist
    routed = pipeline.run(task="Analyze user engagement data", input="engagement table")  # not in the example
    assert routed["selected_agent"] == data_expert.agent_id and "Analyze user engagement" in (
        data_expert.provider.requests[-1].messages[-1].content  # type: ignore[attr-defined]
    )


def test_advanced_patterns_2_consensus_building(capsys: pytest.CaptureFixture[str]) -> None:
    from kaizen_core.signatures import InputField, OutputField, Signature

    class AnalysisSignature(Signature):  # not in the example: the docs use it without defining it
        """Analyze the question in its context and recommend a decision."""

        task: str = InputField(desc="The question")
        context: str = InputField(desc="The situation", default="")
        recommendation: str = OutputField(desc="The recommendation")
        confidence: float = OutputField(desc="0..1")

    # --- the example ------------------------------------------------------------------------------------
    from kaizen_core import BaseAgent
    from kaizen_core.orchestration import ConsensusPattern

    # Create agents with different "personalities"
    conservative_agent = BaseAgent(
        config={"llm_provider": "mock", "model": "gpt-4", "temperature": 0.2}, signature=AnalysisSignature()
    )

    innovative_agent = BaseAgent(
        config={"llm_provider": "mock", "model": "gpt-4", "temperature": 0.9}, signature=AnalysisSignature()
    )

    balanced_agent = BaseAgent(
        config={"llm_provider": "mock", "model": "gpt-4", "temperature": 0.5}, signature=AnalysisSignature()
    )

    # Consensus pattern
    consensus = ConsensusPattern(
        agents=[conservative_agent, innovative_agent, balanced_agent],
        consensus_threshold=0.66,  # 2 out of 3 must agree
        max_rounds=3,
    )

    # Execute with consensus requirement
    decision = consensus.run(
        task="Should we migrate to microservices architecture?", context={"current_system": "monolith", "team_size": 15}
    )

    print(f"Consensus reached: {decision['consensus_achieved']}")
    print(f"Final recommendation: {decision['final_decision']}")
    print(f"Confidence: {decision['confidence_score']:.2%}")
    # --- end of the example ------------------------------------------------------------------------------

    assert capsys.readouterr().out.splitlines() == [
        "Consensus reached: True",
        "Final recommendation: mock recommendation",
        "Confidence: 100.00%",
    ]
    assert decision["rounds"] == 1 and len(decision["votes"]) == 3
    assert '"team_size": 15' in conservative_agent.provider.requests[0].messages[-1].content  # type: ignore[attr-defined]
