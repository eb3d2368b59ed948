"""Each pipeline pattern on the bundled model returns its documented shape (quality not asserted).

Small budgets: greedy decoding, two or three agents, one or two rounds (the session provider
of conftest.py, shared by every agent: the model loads once).
"""

from __future__ import annotations

from typing import Any

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.orchestration import MetaController, Pipeline
from kaizen_llamacpp.provider import LlamaCppProvider

CONFIG = BaseAgentConfig(llm_provider="llamacpp", temperature=0.0, seed=1, max_tokens=120, retry_attempts=2)


def _agent(provider: LlamaCppProvider, agent_id: str, spec: str = "task -> answer", capability: str | None = None) -> BaseAgent:
    agent = BaseAgent(CONFIG, spec, provider=provider, agent_id=agent_id)
    if capability:
        agent.capability = capability
    return agent


def _local(result: dict[str, Any], calls: int) -> None:
    meta = result["_meta"]
    assert meta["provider_calls"] >= calls and meta["usage"]["total_tokens"] > 0
    assert {c["status"] for c in meta["children"]} <= {"success", "failed"} and meta["children"]


def test_sequential_parallel_and_router(provider: LlamaCppProvider) -> None:
    writer = _agent(provider, "writer", "topic -> sentence")
    titler = _agent(provider, "titler", "sentence -> title")
    result = Pipeline.sequential([writer, titler]).run(topic="the sea")
    assert isinstance(result["title"], str) and len(result["intermediate_results"]) == 2
    _local(result, 2)

    pair = [_agent(provider, "a", "question -> answer"), _agent(provider, "b", "question -> answer")]
    result = Pipeline.parallel(pair, max_workers=2, timeout=120).run(question="What is 2 plus 2?")
    assert result["status"] in ("success", "partial") and len(result["results"]) == 2
    _local(result, 2)

    qa = _agent(provider, "qa", capability="Question answering and general knowledge")
    data = _agent(provider, "data", capability="Data analysis and visualization")
    result = Pipeline.router([qa, data]).run(task="Analyze sales data and create visualization")
    assert result["selected_agent"] == "data" and isinstance(result["answer"], str)
    assert result["scorer"] == "lexical" and isinstance(result["confidence_score"], float)
    result = MetaController([qa, data]).route_task("Who wrote Hamlet?", context={"level": "school"})
    assert {"selected_agent", "score", "ranking"} <= set(result)


def test_consensus_debate_and_handoff(provider: LlamaCppProvider) -> None:
    voters = [_agent(provider, f"v{i}", "question -> decision, confidence: float") for i in range(3)]
    result = Pipeline.consensus(voters, max_rounds=1).run(question="Is water wet? Answer yes or no.")
    assert isinstance(result["consensus_achieved"], bool) and len(result["votes"]) == 3 and result["rounds"] == 1
    assert isinstance(result["confidence_score"], float)
    _local(result, 3)

    pro, con = _agent(provider, "pro", "topic -> argument"), _agent(provider, "con", "topic -> argument")
    judge = _agent(provider, "judge", "topic, transcript: list -> winner, reason")
    result = Pipeline.debate([pro, con], rounds=1, judge=judge).run(topic="Cats are better than dogs")
    assert len(result["rounds"]) == 1 and isinstance(result["verdict"], dict) and isinstance(result["winner"], str)
    _local(result, 3)

    tiers = [_agent(provider, f"tier{i}", "task -> answer, confidence: float") for i in (1, 2)]
    result = Pipeline.handoff(tiers).run(task="What is the capital of France?")
    assert result["handled_by"] in ("tier1", "tier2") and isinstance(result["escalations"], list)
    _local(result, 1)


def test_ensemble_blackboard_and_supervisor(provider: LlamaCppProvider) -> None:
    experts = [
        _agent(provider, "coder", capability="Python code"),
        _agent(provider, "analyst", capability="sales data analysis"),
        _agent(provider, "poet", capability="poems"),
    ]
    synth = _agent(provider, "synth", "task, perspectives: list -> summary")
    result = Pipeline.ensemble(experts, synth, top_k=2).run(task="Analyze the sales data with Python code")
    assert len(result["selected_agents"]) == 2 and isinstance(result["summary"], str)
    _local(result, 3)

    controller = _agent(provider, "controller", "task, blackboard: list -> solution, done: bool")
    result = Pipeline.blackboard(experts[:2], controller, max_iterations=2).run(task="Plan a sales report in Python")
    assert 1 <= result["iterations"] <= 2 and result["stop_reason"] in ("done", "max_iterations", "exhausted")
    _local(result, 2)

    supervisor = _agent(provider, "boss", "task -> subtasks: list[str]")
    result = Pipeline.supervisor_worker(supervisor, experts[:2], max_subtasks=2).run(task="Write code and analyze sales")
    assert 1 <= len(result["subtasks"]) <= 2 and result["status"] in ("success", "partial", "failed")
    _local(result, 2)
