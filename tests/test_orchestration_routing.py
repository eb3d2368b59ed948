"""Routing over A2A cards: the one scorer (semantic or BM25, and it says which), MetaController's
strategies and fallbacks, load balancing, worker selection."""

from __future__ import annotations

import asyncio

import pytest
from orchestration_support import (
    Flight,
    HeldProvider,
    TaskSignature,
    calls,
    core_only,  # noqa: F401 -- a fixture
    mock_agent,
)

import kaizen_core
from kaizen_core import BaseAgent, InputField, OutputField, Signature, plugins
from kaizen_core.errors import NoProviderError
from kaizen_core.orchestration import CapabilityScorer, MetaController, NoAgentMatchedError, Pipeline, card_text
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.similarity import bm25_scores
from kaizen_core.tools import tool

pytestmark = pytest.mark.anyio
BOOM = {"error": {"status": 500, "message": "model down"}}


# --- the scorer ---------------------------------------------------------------------------------------
def test_bm25_ranks_rare_terms_higher_and_normalizes() -> None:
    docs = [["data", "analysis", "and", "visualization"], ["code", "generation", "and", "analysis"], ["questions", "and", "answers"]]
    raw = bm25_scores(["data", "and", "visualization"], docs)
    assert raw[0] > raw[1] > 0 and raw[1] == pytest.approx(raw[2], rel=0.3)  # "and" is everywhere: it weighs little
    normalized = bm25_scores(["data", "and", "visualization"], docs, normalize=True)
    assert all(0 <= s < 1 for s in normalized)
    assert bm25_scores(["absent"], docs) == [0.0, 0.0, 0.0] and bm25_scores([], docs) == [0.0, 0.0, 0.0]


def test_card_text_is_what_the_a2a_card_says_plus_declared_capability() -> None:
    class DataAnalysis(Signature):
        """Analyze datasets."""

        data_description: str = InputField(desc="What to analyze")
        visualizations: list = OutputField(desc="Chart specs")

    @tool
    def plot_chart(kind: str) -> str:
        """Draw a chart of the given kind."""
        return kind

    agent = mock_agent("analyst", DataAnalysis)
    agent.capability = "Data analysis and visualization"
    agent.skills = ["sql", {"name": "forecasting", "description": "time series", "tags": ["stats"]}]
    text = card_text(agent)
    for piece in ("Data analysis and visualization", "Analyze datasets.", "data_description", "visualizations", "sql", "forecasting", "stats"):
        assert piece in text
    plotting = BaseAgent({"llm_provider": "mock"}, "task -> answer", provider=MockProvider(), tools=[plot_chart])
    assert "plot_chart" in card_text(plotting) and "Draw a chart" in card_text(plotting)


@pytest.mark.usefixtures("core_only")
async def test_scorer_modes_say_which_ran() -> None:
    agents = [mock_agent("qa", capability="general questions"), mock_agent("data", capability="sales data charts")]
    lexical = await CapabilityScorer().rank("chart the sales data", agents)
    assert lexical.scorer == "lexical" and lexical.best is not None and lexical.best.agent == "data"
    semantic = await CapabilityScorer(embedding_provider=MockProvider()).rank("chart the sales data", agents)
    assert semantic.scorer == "semantic" and semantic.best is not None and semantic.best.agent == "data"
    with pytest.raises(NoProviderError) as info:
        await CapabilityScorer(mode="semantic").rank("x", agents)
    assert "kaizen-sentence-transformers" in (info.value.hint or "")
    forced = await CapabilityScorer(mode="lexical", embedding_provider=MockProvider()).rank("sales", agents)
    assert forced.scorer == "lexical"


def test_installed_default_embedding_provider_makes_routing_semantic(monkeypatch: pytest.MonkeyPatch) -> None:
    class EmbedPlugin:
        @kaizen_core.hookimpl
        def register_providers(self, register):  # type: ignore[no-untyped-def]
            register("local-embedder", MockProvider, embedding_priority=10)

    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")
    plugins.reset()
    try:
        with plugins.plugin_registered(EmbedPlugin(), name="embedder"):
            agents = [mock_agent("qa", capability="general questions"), mock_agent("data", capability="sales data charts")]
            result = Pipeline.router(agents, routing_strategy="semantic").run(task="chart the sales data")
            assert result["scorer"] == "semantic" and result["selected_agent"] == "data"
    finally:
        plugins.reset()


# --- MetaController -------------------------------------------------------------------------------------
class ContextTask(Signature):
    """Work on a task with context."""

    task: str = InputField(desc="The task")
    context: dict = InputField(desc="Context", default={})
    answer: str = OutputField(desc="The answer")


def team(**scripts: list) -> list:  # type: ignore[type-arg]
    caps = {"code": "Code generation and analysis", "data": "Data analysis and visualization", "writing": "Writing prose and product descriptions"}
    return [mock_agent(name, ContextTask, capability=caps[name], script=scripts.get(name, [{"answer": name}])) for name in caps]


@pytest.mark.usefixtures("core_only")
async def test_meta_controller_routes_with_score_ranking_and_context() -> None:
    code, data, writing = team()
    controller = MetaController(agents=[code, data, writing], selection_strategy="semantic", fallback_strategy="round_robin", enable_load_balancing=True)
    result = await controller.route_task_async("Analyze sales data and create visualization", context={"format": "dashboard"})
    assert result["selected_agent"] == "data" and result["answer"] == "data"
    assert result["score"] == result["confidence_score"] and result["score"] > 0
    assert result["ranking"][0]["agent"] == "data" and len(result["ranking"]) == 3
    assert result["scorer"] == "lexical"
    assert "dashboard" in data.provider.requests[-1].messages[-1].content  # context reached the agent
    assert (await controller.rank_async("Write product description"))[0]["agent"] == "writing"
    assert controller.route_task("Generate code for an API")["selected_agent"] == "code"  # the sync API


@pytest.mark.usefixtures("core_only")
async def test_fallback_fail_raises_with_the_ranking() -> None:
    controller = MetaController(team(), fallback_strategy="fail")
    with pytest.raises(NoAgentMatchedError) as info:
        await controller.route_task_async("zzz qqq")
    assert info.value.code == "EXEC_003" and len(info.value.ranking) == 3


@pytest.mark.usefixtures("core_only")
async def test_fallback_all_tries_every_agent_until_one_succeeds() -> None:
    code, data, writing = team(code=[BOOM], data=[BOOM])
    result = await MetaController([code, data, writing], fallback_strategy="all", max_retries=0).route_task_async("code and data")
    assert result["selected_agent"] == "writing"
    assert [a["status"] for a in result["attempts"]] == ["failed", "failed", "success"]


@pytest.mark.usefixtures("core_only")
async def test_fallback_round_robin_rotates_unmatched_tasks() -> None:
    controller = MetaController(team(), fallback_strategy="round_robin")
    picked = [(await controller.route_task_async("zzz qqq"))["selected_agent"] for _ in range(4)]
    assert picked == ["code", "data", "writing", "code"]


@pytest.mark.usefixtures("core_only")
async def test_fallback_default_uses_the_default_agent() -> None:
    code, data, writing = team()
    result = await MetaController([code, data, writing], fallback_strategy="default", default_agent=writing).route_task_async("zzz")
    assert result["selected_agent"] == "writing" and result["matched"] is False


@pytest.mark.usefixtures("core_only")
async def test_load_balancing_breaks_ties_by_load_then_cost() -> None:
    flight = Flight()
    twins = [mock_agent(f"twin{i}", TaskSignature, capability="data analysis", provider=HeldProvider(flight)) for i in range(2)]
    balanced = MetaController(twins, enable_load_balancing=True)
    first = asyncio.ensure_future(balanced.route_task_async("data analysis"))
    await flight.until(lambda f: len(f.in_flight) == 1)
    second = asyncio.ensure_future(balanced.route_task_async("data analysis"))
    await flight.until(lambda f: len(f.in_flight) == 2)
    flight.release()
    assert [(await first)["selected_agent"], (await second)["selected_agent"]] == ["twin0", "twin1"]  # load

    priced = [
        mock_agent(f"p{i}", capability="data analysis", provider=MockProvider(cost_per_input_token=0.01)) for i in range(2)
    ]
    by_cost = MetaController(priced, enable_load_balancing=True)
    picked = [(await by_cost.route_task_async("data analysis"))["selected_agent"] for _ in range(3)]
    assert picked == ["p0", "p1", "p0"]  # the one that has cost less so far wins the tie
    plain = MetaController([mock_agent("q0", capability="data"), mock_agent("q1", capability="data")])
    assert {(await plain.route_task_async("data"))["selected_agent"] for _ in range(3)} == {"q0"}
    assert calls(priced[0]) == 2 and calls(priced[1]) == 1


@pytest.mark.usefixtures("core_only")
async def test_ensemble_and_supervisor_share_the_one_scorer() -> None:
    scorer = CapabilityScorer(embedding_provider=MockProvider())
    code, data, writing = team()
    ensemble = Pipeline.ensemble([code, data, writing], top_k=1, scorer=scorer)
    supervisor = Pipeline.supervisor_worker(None, [code, data, writing], scorer=scorer)
    assert (await ensemble.run_async(task="sales data visualization"))["selected_agents"] == ["data"]
    result = await supervisor.run_async(task="sales data visualization")
    assert result["subtasks"][0]["worker"] == "data" and result["scorer"] == "semantic"
    assert ensemble.selector.scorer is supervisor.selector.scorer is scorer
