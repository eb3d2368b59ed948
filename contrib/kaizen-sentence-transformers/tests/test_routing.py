"""Semantic agent routing on real all-MiniLM-L6-v2 embeddings: with this plugin installed it is
the default embedding provider, so the router scores meaning and says so."""

from __future__ import annotations

from kaizen_core import BaseAgent, BaseAgentConfig, plugins
from kaizen_core.orchestration import MetaController, Pipeline
from kaizen_core.providers.mock import MockProvider


def _agent(agent_id: str, capability: str) -> BaseAgent:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "task -> answer", provider=MockProvider(), agent_id=agent_id)
    agent.capability = capability
    return agent


def test_router_sends_each_task_to_the_agent_whose_capability_means_it() -> None:
    plugins.reset()
    qa = _agent("qa_agent", "Question answering and general knowledge")
    code = _agent("code_agent", "Code generation and analysis")
    data = _agent("data_agent", "Data analysis and visualization")
    router = Pipeline.router([qa, code, data], routing_strategy="semantic")
    result = router.run(task="Analyze sales data and create visualization")
    assert result["scorer"] == "semantic" and result["selected_agent"] == "data_agent"
    assert result["ranking"][0]["score"] > result["ranking"][1]["score"]
    # no word in common with the code agent's card: only meaning can route it there
    result = router.run(task="Write a Python function that parses JSON")
    assert result["selected_agent"] == "code_agent" and result["scorer"] == "semantic"


def test_meta_controller_and_ensemble_use_the_same_default_embeddings() -> None:
    plugins.reset()
    agents = [_agent("qa_agent", "Question answering and general knowledge"), _agent("data_agent", "Charts and statistics")]
    result = MetaController(agents).route_task("Plot monthly revenue as a bar graph")
    assert result["scorer"] == "semantic" and result["selected_agent"] == "data_agent"
    ensemble = Pipeline.ensemble(agents, top_k=1).run(task="Plot monthly revenue as a bar graph")
    assert ensemble["selected_agents"] == ["data_agent"] and ensemble["scorer"] == "semantic"
