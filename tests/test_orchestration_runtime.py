"""What every pipeline gets from running as one agent run: hooks per child, summed usage,
to_agent, the pattern registry, interrupts reaching every child, checkpoints and resume,
and one budget shared by concurrent children."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import pytest
from orchestration_support import Flight, HeldProvider, TaskSignature, calls, mock_agent

import kaizen_core
from kaizen_core import BaseAgent, plugins
from kaizen_core.errors import AgentInterrupted, BudgetExceededError, PluginError, PluginNotInstalledError
from kaizen_core.hooks import HookEvent, HookManager
from kaizen_core.orchestration import Pipeline, PipelineAgent, PipelineRun
from kaizen_core.permissions import ExecutionContext
from kaizen_core.providers.mock import MockProvider
from kaizen_core.state import StateManager

pytestmark = pytest.mark.anyio


# --- hooks and _meta -----------------------------------------------------------------------------------
async def test_children_fire_agent_loop_events_with_the_pipeline_run_as_parent() -> None:
    hooks = HookManager()
    seen: list[tuple[str, str, Any, Any]] = []

    def record(context):  # type: ignore[no-untyped-def]
        seen.append((context.event.value, context.agent_id, context.metadata.get("parent_run_id"), context.metadata.get("child_run_id")))

    hooks.register(HookEvent.PRE_AGENT_LOOP, record)
    hooks.register(HookEvent.POST_AGENT_LOOP, record)
    a, b = mock_agent("a"), mock_agent("b")
    result = await Pipeline.sequential([a, b], name="seq", hook_manager=hooks).run_async(task="t")
    run_id = result["_meta"]["run_id"]
    child_runs = [c["run_id"] for c in result["_meta"]["children"]]
    assert seen == [
        ("pre_agent_loop", "seq", None, None),
        ("pre_agent_loop", "a", run_id, None),
        ("post_agent_loop", "a", run_id, child_runs[0]),
        ("pre_agent_loop", "b", run_id, None),
        ("post_agent_loop", "b", run_id, child_runs[1]),
        ("post_agent_loop", "seq", None, None),
    ]


async def test_a_childs_own_hooks_see_the_pipeline_run_as_parent() -> None:
    own = HookManager()
    seen: list[tuple[str, Any, Any]] = []
    own.register(
        HookEvent.POST_AGENT_LOOP,
        lambda ctx: seen.append((ctx.run_id, ctx.metadata.get("parent_run_id"), ctx.metadata.get("pipeline_step"))),
    )
    child = mock_agent("child", hook_manager=own)
    result = await Pipeline.sequential([mock_agent("first"), child], name="outer").run_async(task="t")
    assert seen == [(result["_meta"]["children"][1]["run_id"], result["_meta"]["run_id"], "step-1")]


async def test_meta_sums_usage_and_cost_over_children() -> None:
    priced = [mock_agent(f"p{i}", provider=MockProvider(cost_per_input_token=0.001, cost_per_output_token=0.002)) for i in range(3)]
    result = await Pipeline.parallel(priced).run_async(task="estimate the cost")
    meta = result["_meta"]
    children = meta["children"]
    assert len(children) == 3 and {c["agent_id"] for c in children} == {"p0", "p1", "p2"}
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        assert meta["usage"][key] == sum(c["usage"][key] for c in children) > 0
    assert meta["cost"] == pytest.approx(sum(c["cost"] for c in children)) and meta["cost"] > 0
    assert meta["provider_calls"] == 3 and meta["pattern"] == "parallel" and meta["provider"] == "pipeline"


# --- to_agent --------------------------------------------------------------------------------------------
async def test_to_agent_is_a_base_agent_usable_inside_another_pipeline() -> None:
    inner = Pipeline.sequential([mock_agent("s1"), mock_agent("s2", script=[{"answer": "inner answer"}])])
    agent = inner.to_agent(name="research_pipeline")
    assert isinstance(agent, BaseAgent) and agent.agent_id == "research_pipeline"
    assert set(agent.signature.input_fields()) == {"task"}
    assert {"answer", "intermediate_results", "status"} <= set(agent.signature.output_fields())
    outer = Pipeline.parallel([agent, mock_agent("solo")])
    result = await outer.run_async(task="go")
    assert result["results"][0]["outputs"]["answer"] == "inner answer"
    assert result["results"][0]["agent"] == "research_pipeline"
    nested = next(c for c in result["_meta"]["children"] if c["agent_id"] == "research_pipeline")
    assert nested["provider_calls"] == 2  # the inner pipeline's two model calls count in the outer
    assert result["_meta"]["provider_calls"] == 3
    card = agent.to_a2a_card()
    assert card["name"] == "research_pipeline"


# --- the registry ------------------------------------------------------------------------------------------
NINE = {"sequential", "supervisor_worker", "router", "ensemble", "blackboard", "consensus", "debate", "handoff", "parallel"}


def test_the_nine_patterns_are_the_cores_own_plugin() -> None:
    registry = plugins.get_registry()
    assert NINE <= set(registry.names("pattern"))
    for name in NINE:
        assert registry.get("pattern", name).distribution == "kaizen-core"
    assert registry.find("pattern", "supervisor") is registry.get("pattern", "supervisor_worker")
    built = Pipeline.create("sequential", [mock_agent("x")])
    assert type(built).pattern == "sequential"


def test_unknown_pattern_lists_the_installed_ones() -> None:
    with pytest.raises(PluginNotInstalledError) as info:
        Pipeline.create("round_table", [mock_agent("x")])
    assert info.value.code == "KAIZEN_003" and "sequential" in info.value.message


class RoundTable(Pipeline):
    """A tenth pattern, as a third-party plugin would ship it: every agent speaks, in turn, twice."""

    pattern: ClassVar[str] = "round_table"
    result_fields: ClassVar[dict[str, Any]] = {"transcript": list}

    def __init__(self, agents: list[BaseAgent], **options: Any) -> None:
        self.agents = list(agents)
        super().__init__(**options)

    def agents_in_order(self) -> list[BaseAgent]:
        return self.agents

    async def execute(self, run: PipelineRun, inputs: dict[str, Any]) -> dict[str, Any]:
        transcript = []
        for turn in range(2):
            for i, agent in enumerate(self.agents):
                outcome = await run.call(f"turn-{turn}/{i}", agent, inputs, text=inputs.get("task"))
                transcript.append(outcome.summary())
        return {"transcript": transcript, "status": "success"}


class RoundTablePlugin:
    @kaizen_core.hookimpl
    def register_patterns(self, register):  # type: ignore[no-untyped-def]
        register("round_table", RoundTable, description="Everyone speaks twice")


async def test_a_third_party_plugin_adds_a_tenth_pattern() -> None:
    with plugins.plugin_registered(RoundTablePlugin(), name="round-table", distribution="kaizen-round-table"):
        registry = plugins.get_registry()
        assert len(NINE | set(registry.names("pattern"))) >= 10
        assert registry.get("pattern", "round_table").distribution == "kaizen-round-table"
        listing = next(p for p in registry.describe()["plugins"] if p["distribution"] == "kaizen-round-table")
        assert listing["registered"]["pattern"] == ["round_table"]
        a, b = mock_agent("a"), mock_agent("b")
        result = await Pipeline.create("round_table", [a, b], name="table").run_async(task="discuss")
        assert len(result["transcript"]) == 4 and calls(a) == calls(b) == 2
        assert result["_meta"]["pattern"] == "round_table" and len(result["_meta"]["children"]) == 4
        assert "round_table" in {*registry.names("pattern")}


def test_a_plugin_reusing_a_core_pattern_name_is_refused() -> None:
    class Clash:
        @kaizen_core.hookimpl
        def register_patterns(self, register):  # type: ignore[no-untyped-def]
            register("router", RoundTable)

    with plugins.plugin_registered(Clash(), name="clash", distribution="kaizen-clash"):
        with pytest.raises(PluginError) as info:
            plugins.get_registry()
    assert "kaizen-core" in info.value.message and "kaizen-clash" in info.value.message


# --- interrupts and checkpoints ----------------------------------------------------------------------------
async def test_interrupting_a_parallel_pipeline_stops_every_child_with_its_checkpoint(tmp_path: Path) -> None:
    store = f"file://{tmp_path}/ckpt"
    flight = Flight()
    fast = [mock_agent(f"fast{i}", script=[{"answer": f"f{i}"}], checkpoint_storage=store) for i in range(2)]
    held = [mock_agent(f"held{i}", provider=HeldProvider(flight), checkpoint_storage=store) for i in range(3)]
    pipeline = Pipeline.parallel([*fast, *held], name="fanout", checkpoint_storage=store, timeout=None)
    running = asyncio.ensure_future(pipeline.run_async(task="work"))
    await flight.until(lambda f: len(f.in_flight) == 3)
    assert pipeline.interrupt_manager.request_interrupt("user", "graceful", "Ctrl+C")
    with pytest.raises(AgentInterrupted) as info:
        await running
    manager = StateManager(store)
    for agent in held:  # every running child stopped gracefully and left its checkpoint
        (meta,) = await manager.list_checkpoints(agent.agent_id)
        assert meta.status == "interrupted"
    children = {c["agent_id"]: c for c in info.value.result["_meta"]["children"]}
    assert {children[a.agent_id]["status"] for a in held} == {"interrupted"}
    assert all(children[a.agent_id]["checkpoint_id"] for a in held)
    state = await manager.resume_from_latest("fanout")
    assert state is not None and state.status == "interrupted"
    assert set(state.custom_state["pipeline"]["steps"]) == {"agent-0", "agent-1"}  # the finished ones

    # resume: the finished children are replayed from the checkpoint, the stopped ones run again
    resumed = asyncio.ensure_future(pipeline.resume_from_latest())
    await flight.until(lambda f: len(f.in_flight) == 3)
    flight.release()
    result = await resumed
    assert result["succeeded"] == 5 and calls(fast[0]) == calls(fast[1]) == 1
    assert [c.get("replayed", False) for c in result["_meta"]["children"][:2]] == [True, True]
    assert result["_meta"]["resumed_from"] == [state.checkpoint_id]
    again = await pipeline.resume_from_latest()  # a completed pipeline returns its result, runs nothing
    assert {k: v for k, v in again.items() if k != "_meta"} == {k: v for k, v in result.items() if k != "_meta"}
    assert again["_meta"]["run_id"] == result["_meta"]["run_id"] and flight.started == 6


async def test_a_child_that_does_not_listen_finishes_and_the_pipeline_stops_after_it() -> None:
    flight = Flight()
    deaf = mock_agent("deaf", provider=HeldProvider(flight), enable_interrupts=False)
    later = mock_agent("later")
    pipeline = Pipeline.sequential([deaf, later])
    running = asyncio.ensure_future(pipeline.run_async(task="t"))
    await flight.until(lambda f: len(f.in_flight) == 1)
    pipeline.interrupt_manager.request_interrupt("user", "graceful", "stop")
    flight.release()
    with pytest.raises(AgentInterrupted) as info:
        await running
    assert calls(later) == 0  # no child starts once the pipeline is stopping
    assert [c["status"] for c in info.value.result["_meta"]["children"]] == ["success"]


def test_pipeline_agent_is_checkpointed_like_any_agent(tmp_path: Path) -> None:
    pipeline = Pipeline.sequential([mock_agent("one"), mock_agent("two")], name="pipe", checkpoint_storage=f"file://{tmp_path}")
    result = pipeline.run(task="t")
    state = pipeline.agent.state_manager
    assert isinstance(pipeline.agent, PipelineAgent) and state is not None
    latest = pipeline.resume_from_latest_sync()
    assert latest["_meta"]["run_id"] == result["_meta"]["run_id"] and latest["answer"] == result["answer"]


# --- one budget across concurrent children -----------------------------------------------------------------
async def test_eight_parallel_children_never_exceed_a_shared_call_budget() -> None:
    budget = ExecutionContext(call_limit=5)
    flight = Flight()
    agents = [mock_agent(f"c{i}", provider=HeldProvider(flight), execution_context=budget) for i in range(8)]
    running = asyncio.ensure_future(Pipeline.parallel(agents, max_workers=8, timeout=None).run_async(task="t"))
    await flight.until(lambda f: len(f.in_flight) == 5)  # all eight started; five got a call
    await asyncio.sleep(0)
    flight.release()
    result = await running
    assert sum(calls(a) for a in agents) == 5 == budget.calls_made and flight.started == 5
    statuses = [r["status"] for r in result["results"]]
    assert statuses.count("success") == 5 and statuses.count("failed") == 3
    assert {r["error"]["code"] for r in result["results"] if r["status"] == "failed"} == {"EXEC_006"}


def test_execution_context_reservations_are_atomic_and_settle() -> None:
    ctx = ExecutionContext(call_limit=2, budget_limit=1.0)
    first = ctx.reserve()
    second = ctx.reserve()
    assert ctx.calls_in_flight == 2 and not ctx.has_budget()
    with pytest.raises(BudgetExceededError) as info:
        ctx.reserve()
    assert info.value.code == "EXEC_006" and "2 in flight" in info.value.message
    ctx.settle(first, cost=0.3, tokens=10)
    ctx.settle(second)  # a call that failed: counted, no usage
    assert ctx.calls_made == 2 and ctx.calls_in_flight == 0 and ctx.budget_spent == pytest.approx(0.3)
    # tool calls are not model calls: the call limit does not deny them
    assert ctx.can_use_tool("read_file")


def test_in_flight_calls_count_against_the_usd_budget_at_the_average_cost() -> None:
    ctx = ExecutionContext(budget_limit=1.0)
    ctx.settle(ctx.reserve(), cost=0.4)  # one call: 0.40 on average
    held = ctx.reserve()  # holds 0.40 more
    assert held.cost == pytest.approx(0.4)
    assert ctx.budget_exhausted(0.3) is not None  # 0.4 spent + 0.4 held + 0.3 > 1.0
    ctx.settle(held, cost=0.1)
    assert ctx.budget_exhausted(0.3) is None and ctx.budget_spent == pytest.approx(0.5)


async def test_sequential_children_sharing_a_budget_stop_when_it_runs_out() -> None:
    budget = ExecutionContext(call_limit=1)
    agents = [mock_agent(f"s{i}", TaskSignature, execution_context=budget) for i in range(2)]
    with pytest.raises(BudgetExceededError) as info:
        await Pipeline.sequential(agents).run_async(task="t")
    assert "s1" in info.value.message and calls(agents[1]) == 0


async def test_the_blocking_run_refuses_to_be_awaited_like_an_agents() -> None:
    from kaizen_core.agents.results import AwaitedSyncResultError

    pipeline = Pipeline.parallel([mock_agent("x")])
    with pytest.raises(AwaitedSyncResultError) as info:
        await pipeline.run(task="t")  # type: ignore[misc]
    assert "run_async" in (info.value.hint or "")
