"""The nine Pipeline patterns on the mock provider: what each child gets, what each result holds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from orchestration_support import (
    Flight,
    HeldProvider,
    TierSignature,
    VoteSignature,
    calls,
    core_only,  # noqa: F401 -- a fixture
    mock_agent,
)

from kaizen_core import InputField, OutputField, Signature
from kaizen_core.errors import ConvergenceError, ProviderError, WorkflowBuildError
from kaizen_core.orchestration import ConsensusPattern, Pipeline, SupervisorWorkerPattern
from kaizen_core.providers.mock import MockProvider
from kaizen_core.state import StateManager

pytestmark = pytest.mark.anyio

BOOM = {"error": {"status": 500, "message": "model down"}}


def user_text(agent) -> str:  # type: ignore[no-untyped-def]
    """What the agent's last model call was asked (its user message)."""
    return agent.provider.requests[-1].messages[-1].content


# --- sequential ----------------------------------------------------------------------------------
class Summarize(Signature):
    """Summarize the text."""

    text: str = InputField(desc="Text")
    summary: str = OutputField(desc="Summary")


class Title(Signature):
    """Title a summary."""

    summary: str = InputField(desc="Summary")
    title: str = OutputField(desc="Title")


async def test_sequential_hands_each_agent_the_previous_outputs() -> None:
    first = mock_agent("summarizer", Summarize, script=[{"summary": "cats sleep a lot"}])
    second = mock_agent("titler", Title, script=[{"title": "Sleepy cats"}])
    result = await Pipeline.sequential(agents=[first, second]).run_async(text="A long text about cats.")
    assert result["title"] == "Sleepy cats" and result["status"] == "success"
    assert [s["agent"] for s in result["intermediate_results"]] == ["summarizer", "titler"]
    assert "cats sleep a lot" in user_text(second)  # the summary, by name
    assert "A long text" not in user_text(second)  # nothing else


async def test_sequential_stops_at_a_failing_agent_with_its_error() -> None:
    first = mock_agent("a", script=[BOOM])
    second = mock_agent("b")
    with pytest.raises(ProviderError) as info:
        await Pipeline.sequential([first, second]).run_async(task="x")
    assert info.value.code == "AGENT_004" and calls(second) == 0


# --- parallel --------------------------------------------------------------------------------------
async def test_parallel_runs_at_most_max_workers_at_once_in_waves() -> None:
    flight = Flight()
    agents = [mock_agent(f"w{i}", provider=HeldProvider(flight)) for i in range(6)]
    pipeline = Pipeline.parallel(agents=agents, max_workers=2, timeout=None)
    running = asyncio.ensure_future(pipeline.run_async(task="count"))
    for wave in range(3):
        await flight.until(lambda f, w=wave: f.started == 2 * (w + 1) and len(f.in_flight) == 2)
        await asyncio.sleep(0)  # give a third call every chance to start: it must not
        assert len(flight.in_flight) == 2 and flight.started == 2 * (wave + 1)
        flight.release()
    result = await running
    assert flight.max_in_flight == 2 and flight.started == 6
    assert result["succeeded"] == 6 and result["status"] == "success"
    assert [r["agent"] for r in result["results"]] == [f"w{i}" for i in range(6)]


async def test_parallel_reports_the_timed_out_child_and_keeps_the_others(tmp_path: Path) -> None:
    flight = Flight()  # never released: the slow child would wait forever
    slow = mock_agent("slow", provider=HeldProvider(flight), checkpoint_storage=f"file://{tmp_path}/ckpt")
    fast = [mock_agent(f"fast{i}", script=[{"answer": f"a{i}"}]) for i in range(3)]
    # The fast mock children take milliseconds; the slow child's model call is cancelled at once by
    # the graceful stop, so the long grace costs nothing and its checkpoint is never cut short.
    pipeline = Pipeline.parallel(agents=[slow, *fast], timeout=5.0, graceful_shutdown_timeout=120.0)
    result = await pipeline.run_async(task="go")
    assert result["timed_out"] == ["slow"] and result["status"] == "partial"
    assert [r["outputs"]["answer"] for r in result["results"][1:4]] == ["a0", "a1", "a2"]
    assert result["results"][0]["status"] == "timeout"
    # the slow child was stopped gracefully and left its checkpoint
    (meta,) = await StateManager(f"file://{tmp_path}/ckpt").list_checkpoints("slow")
    assert meta.status == "interrupted"
    slow_entry = next(c for c in result["_meta"]["children"] if c["agent_id"] == "slow")
    assert slow_entry["status"] == "timeout" and slow_entry["checkpoint_id"] == meta.checkpoint_id


async def test_parallel_cancels_a_child_that_ignores_the_graceful_stop() -> None:
    flight = Flight()  # never released
    deaf = mock_agent("deaf", provider=HeldProvider(flight), enable_interrupts=False)
    fast = mock_agent("fast", script=[{"answer": "a"}])
    pipeline = Pipeline.parallel(agents=[fast, deaf], timeout=5.0, graceful_shutdown_timeout=0.5)
    result = await pipeline.run_async(task="go")  # returns: the deaf child is cancelled after the grace
    assert result["timed_out"] == ["deaf"] and result["status"] == "partial"
    assert result["results"][0]["outputs"]["answer"] == "a" and result["results"][1]["status"] == "timeout"


async def test_parallel_failing_child_is_reported_and_aggregators_see_the_rest() -> None:
    agents = [mock_agent("ok1", script=[{"answer": "1"}]), mock_agent("bad", script=[BOOM]), mock_agent("ok2", script=[{"answer": "2"}])]
    seen: list[list[dict]] = []

    def join(outputs: list[dict]) -> str:
        seen.append(outputs)
        return "+".join(o["answer"] for o in outputs)

    result = await Pipeline.parallel(agents, join).run_async(task="t")
    assert result["failed"] == ["bad"] and result["succeeded"] == 2 and result["status"] == "partial"
    assert result["results"][1]["error"]["code"] == "AGENT_004"
    assert result["aggregated"] == "1+2" and seen == [[{"answer": "1"}, {"answer": "2"}]]

    class Merge(Signature):
        """Merge answers."""

        results: list = InputField(desc="The answers")
        merged: str = OutputField(desc="Merged")

    merger = mock_agent("merger", Merge, script=[{"merged": "both"}])
    agents = [mock_agent("x", script=[{"answer": "1"}]), mock_agent("y", script=[{"answer": "2"}])]
    result = await Pipeline.parallel(agents, aggregator=merger).run_async(task="t")
    assert result["merged"] == "both" and result["aggregated"] == {"merged": "both"}
    assert '"answer": "1"' in user_text(merger) or '"answer":"1"' in user_text(merger)


# --- router ---------------------------------------------------------------------------------------
def specialists() -> tuple:  # type: ignore[type-arg]
    qa = mock_agent("qa", capability="Question answering and general knowledge", script=[{"answer": "qa"}])
    code = mock_agent("code", capability="Code generation and analysis", script=[{"answer": "code"}])
    data = mock_agent("data", capability="Data analysis and visualization", script=[{"answer": "data"}])
    return qa, code, data


@pytest.mark.usefixtures("core_only")
async def test_router_lexical_without_embeddings_says_so() -> None:
    qa, code, data = specialists()
    result = await Pipeline.router([qa, code, data], routing_strategy="semantic").run_async(
        task="Analyze sales data and create visualization"
    )
    assert result["selected_agent"] == "data" and result["answer"] == "data"
    assert result["scorer"] == "lexical" and result["matched"] is True
    assert result["ranking"][0]["agent"] == "data" and 0 < result["confidence_score"] < 1
    assert calls(qa) == calls(code) == 0


async def test_router_semantic_with_an_embedding_provider() -> None:
    qa, code, data = specialists()
    pipeline = Pipeline.router([qa, code, data], routing_strategy="semantic", embedding_provider=MockProvider())
    result = await pipeline.run_async(task="Generate Python code for an API endpoint")
    assert result["scorer"] == "semantic" and result["selected_agent"] == "code"


@pytest.mark.usefixtures("core_only")
async def test_router_without_a_match_falls_back_deterministically() -> None:
    qa, code, data = specialists()
    result = await Pipeline.router([qa, code, data], fallback_agent=code).run_async(task="zzz qqq")
    assert result["matched"] is False and result["selected_agent"] == "code"
    result = await Pipeline.router([qa, code, data]).run_async(task="zzz qqq")
    assert result["matched"] is False and result["selected_agent"] == "qa"  # the first agent given


@pytest.mark.usefixtures("core_only")
async def test_router_graceful_tries_the_fallback_fail_fast_raises() -> None:
    qa = mock_agent("qa", capability="general questions", script=[{"answer": "fallback answer"}])
    data = mock_agent("data", capability="data analysis", script=[BOOM])
    result = await Pipeline.router([data, qa], error_handling="graceful", fallback_agent=qa).run_async(task="data analysis")
    assert result["selected_agent"] == "qa" and result["answer"] == "fallback answer"
    assert [(a["agent"], a["status"]) for a in result["attempts"]] == [("data", "failed"), ("qa", "success")]
    assert result["attempts"][0]["error"]["code"] == "AGENT_004"

    failing = [mock_agent(f"f{i}", capability="data analysis", script=[BOOM]) for i in range(3)]
    result = await Pipeline.router(failing, max_retries=1).run_async(task="data analysis")
    assert result["status"] == "failed" and len(result["attempts"]) == 2 and result["error"]["code"] == "AGENT_004"

    with pytest.raises(ProviderError):
        await Pipeline.router([mock_agent("d", capability="data", script=[BOOM]), qa], error_handling="fail-fast").run_async(task="data")


async def test_router_round_robin_and_random() -> None:
    agents = [mock_agent(f"a{i}") for i in range(3)]
    pipeline = Pipeline.router(agents, routing_strategy="round-robin")
    picked = [(await pipeline.run_async(task="t"))["selected_agent"] for _ in range(4)]
    assert picked == ["a0", "a1", "a2", "a0"]
    assert (await pipeline.run_async(task="t"))["confidence_score"] is None
    one = [(await Pipeline.router(agents, routing_strategy="random", seed=7).run_async(task="t"))["selected_agent"] for _ in range(2)]
    assert one[0] == one[1]  # same seed, same first choice


def test_unknown_options_are_build_errors() -> None:
    with pytest.raises(WorkflowBuildError) as info:
        Pipeline.router([mock_agent("a")], routing_strategy="telepathy")
    assert info.value.code == "EXEC_002" and "semantic" in (info.value.hint or "")
    with pytest.raises(WorkflowBuildError):
        Pipeline.sequential([])
    with pytest.raises(WorkflowBuildError):
        Pipeline.debate([mock_agent("only")], judge=mock_agent("j"))


# --- consensus ----------------------------------------------------------------------------------
def voters(*decisions: str, confidences: tuple[float, ...] = ()) -> list:  # type: ignore[type-arg]
    confs = confidences or (0.9,) * len(decisions)
    return [
        mock_agent(f"v{i}", VoteSignature, script=[{"decision": d, "confidence": c}] * 3)
        for i, (d, c) in enumerate(zip(decisions, confs, strict=True))
    ]


async def test_consensus_two_of_three_agree() -> None:
    result = await Pipeline.consensus(agents=voters("Yes.", "yes", "no"), threshold=0.67).run_async(task="Migrate?")
    assert result["consensus_achieved"] is True and result["final_decision"] == "Yes."
    assert result["confidence_score"] == pytest.approx(2 / 3) and result["rounds"] == 1
    assert [v["vote"] for v in result["votes"]] == ["Yes.", "yes", "no"]


async def test_consensus_unanimous_needs_everyone_and_rounds_show_the_votes() -> None:
    agents = voters("yes", "yes", "no")
    result = await Pipeline.consensus(agents, voting_strategy="unanimous", max_rounds=3).run_async(task="Migrate?")
    assert result["consensus_achieved"] is False and result["rounds"] == 3 and len(result["round_history"]) == 3
    assert "previous_votes" in user_text(agents[2])  # round 2+ shows the earlier votes through context


async def test_consensus_weighted_by_confidence_and_documented_class() -> None:
    agents = voters("yes", "no", "no", confidences=(0.95, 0.2, 0.2))
    result = await Pipeline.consensus(agents, threshold=0.6, voting_strategy="weighted").run_async(task="q")
    assert result["final_decision"] == "yes" and result["consensus_achieved"] is True
    pattern = ConsensusPattern(agents=voters("a", "a", "b"), consensus_threshold=0.66, max_rounds=3)
    decision = await pattern.run_async(task="Should we?", context={"team_size": 15})
    assert decision["consensus_achieved"] is True and pattern.consensus_threshold == 0.66


# --- debate -----------------------------------------------------------------------------------------
async def test_debate_of_three_rounds_calls_the_judge_once() -> None:
    class Argue(Signature):
        """Argue your position."""

        topic: str = InputField(desc="Topic")
        context: str = InputField(desc="The other side's last argument", default="")
        argument: str = OutputField(desc="Argument")

    class Judge(Signature):
        """Judge the debate."""

        topic: str = InputField(desc="Topic")
        transcript: list = InputField(desc="The debate")
        winner: str = OutputField(desc="proponent or opponent")

    pro = mock_agent("pro", Argue, script=[{"argument": "pro says yes"}])
    con = mock_agent("con", Argue, script=[{"argument": "con says no"}])
    judge = mock_agent("judge", Judge, script=[{"winner": "opponent"}])
    result = await Pipeline.debate(agents=[pro, con], rounds=3, judge=judge).run_async(topic="Tabs or spaces?")
    assert calls(judge) == 1 and calls(pro) == calls(con) == 3
    assert len(result["rounds"]) == 3 and result["winner"] == "opponent" and result["verdict"] == {"winner": "opponent"}
    assert "pro says yes" in user_text(con)  # the opponent answers the proponent's argument
    assert "con says no" in user_text(pro)  # ... and the proponent the opponent's last one
    assert user_text(judge).count("pro says yes") == 3  # only the judge sees the whole transcript


# --- handoff ------------------------------------------------------------------------------------------
async def test_handoff_escalates_on_low_confidence_and_failure() -> None:
    tier1 = mock_agent("tier1", TierSignature, script=[{"answer": "unsure", "confidence": 0.2}])
    tier2 = mock_agent("tier2", TierSignature, script=[BOOM])
    tier3 = mock_agent("tier3", TierSignature, script=[{"answer": "expert", "confidence": 0.95}])
    result = await Pipeline.handoff(agents=[tier1, tier2, tier3]).run_async(task="hard question")
    assert result["handled_by"] == "tier3" and result["tier"] == 3 and result["answer"] == "expert"
    assert [(e["from"], e["reason"]) for e in result["escalations"]] == [("tier1", "low_confidence"), ("tier2", "failed")]
    assert "AGENT_004" in user_text(tier3)  # the last holder's failure, as context


async def test_handoff_ping_pong_is_a_convergence_error() -> None:
    a = mock_agent("a", TierSignature, script=[{"answer": "ask b", "confidence": 0.9, "handoff_to": "b"}] * 5)
    b = mock_agent("b", TierSignature, script=[{"answer": "ask a", "confidence": 0.9, "handoff_to": "a"}] * 5)
    with pytest.raises(ConvergenceError) as info:
        await Pipeline.handoff([a, b]).run_async(task="who handles this?")
    assert info.value.code == "AGENT_005" and "same outputs" in info.value.message
    assert info.value.result["path"] == ["a", "b", "a"]  # a hands off again exactly as before: a loop


async def test_handoff_back_and_forth_with_new_outputs_is_cut_too() -> None:
    a = mock_agent("a", TierSignature, replies=[{"answer": f"a{i}", "confidence": 0.9, "handoff_to": "b"} for i in range(9)])
    b = mock_agent("b", TierSignature, replies=[{"answer": f"b{i}", "confidence": 0.9, "handoff_to": "a"} for i in range(9)])
    with pytest.raises(ConvergenceError) as info:
        await Pipeline.handoff([a, b], max_handoffs=10).run_async(task="who handles this?")
    assert "back and forth" in info.value.message and info.value.result["path"] == ["a", "b", "a", "b"]


# --- ensemble ------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("core_only")
async def test_ensemble_discovers_the_top_k_and_synthesizes() -> None:
    class Synth(Signature):
        """Combine perspectives."""

        task: str = InputField(desc="Task")
        perspectives: list = InputField(desc="The answers")
        synthesis: str = OutputField(desc="Combined answer")

    experts = [
        mock_agent("code_expert", capability="code review and refactoring of a codebase", script=[{"answer": "refactor"}]),
        mock_agent("data_expert", capability="data analysis", script=[{"answer": "metrics"}]),
        mock_agent("writing_expert", capability="writing prose", script=[{"answer": "docs"}]),
        mock_agent("research_expert", capability="research on codebase improvements", script=[{"answer": "papers"}]),
    ]
    synth = mock_agent("synth", Synth, script=[{"synthesis": "all of it"}])
    result = await Pipeline.ensemble(agents=experts, synthesizer=synth, discovery_mode="a2a", top_k=2).run_async(
        task="Analyze codebase and suggest improvements"
    )
    assert result["selected_agents"] == ["research_expert", "code_expert"] and result["scorer"] == "lexical"
    assert result["synthesis"] == "all of it" and calls(experts[2]) == 0
    assert "papers" in user_text(synth) and "refactor" in user_text(synth)
    everyone = await Pipeline.ensemble(experts, synth, discovery_mode="all").run_async(task="x")
    assert len(everyone["perspectives"]) == 4


# --- blackboard ---------------------------------------------------------------------------------------
@pytest.mark.usefixtures("core_only")
async def test_blackboard_follows_the_controllers_requests() -> None:
    class Control(Signature):
        """Decide what the board still needs."""

        task: str = InputField(desc="Task")
        blackboard: list = InputField(desc="Contributions so far")
        next_step: str = OutputField(desc="What is needed next")
        done: bool = OutputField(desc="Solved?")

    coder = mock_agent("coder", capability="python code", script=[{"answer": "def f(): ..."}])
    tester = mock_agent("tester", capability="unit tests", script=[{"answer": "test_f"}])
    controller = mock_agent(
        "controller",
        Control,
        replies=[{"next_step": "write unit tests", "done": False}, {"next_step": "", "done": True}],
    )
    result = await Pipeline.blackboard(specialists=[coder, tester], controller=controller, max_iterations=5).run_async(
        task="python code for f"
    )
    assert [e["specialist"] for e in result["blackboard"]] == ["coder", "tester"]
    assert result["converged"] is True and result["stop_reason"] == "done" and result["iterations"] == 2
    assert "def f()" in user_text(controller)


@pytest.mark.usefixtures("core_only")
async def test_blackboard_controller_without_direction_cannot_loop() -> None:
    specs = [mock_agent(f"s{i}") for i in range(2)]
    controller = mock_agent("ctrl")  # no done/next fields: the same request every time
    result = await Pipeline.blackboard(specs, controller, max_iterations=10).run_async(task="anything")
    assert result["stop_reason"] == "exhausted" and result["iterations"] == 2


# --- supervisor-worker --------------------------------------------------------------------------------
@pytest.mark.usefixtures("core_only")
async def test_supervisor_splits_assigns_and_coordinates() -> None:
    class Plan(Signature):
        """Split the task into subtasks."""

        task: str = InputField(desc="Task")
        subtasks: list[str] = OutputField(desc="Subtasks")

    class Report(Signature):
        """Combine the results."""

        task: str = InputField(desc="Task")
        results: list = InputField(desc="Subtask results")
        report: str = OutputField(desc="Report")

    supervisor = mock_agent("boss", Plan, script=[{"subtasks": ["write python code for the api", "analyze the sales data"]}])
    code = mock_agent("coder", capability="python code generation", script=[{"answer": "code done"}])
    data = mock_agent("analyst", capability="sales data analysis", script=[{"answer": "data done"}])
    coordinator = mock_agent("coordinator", Report, script=[{"report": "all done"}])
    pool: dict = {}
    pattern = SupervisorWorkerPattern(supervisor, [code, data], coordinator, pool)
    result = await pattern.execute_task_async("Build the sales dashboard")
    assert [(s["subtask"], s["worker"]) for s in result["subtasks"]] == [
        ("write python code for the api", "coder"),
        ("analyze the sales data", "analyst"),
    ]
    assert result["report"] == "all done" and result["final_result"] == {"report": "all done"}
    assert set(pool) == {"subtask-0", "subtask-1"} and pool["subtask-1"]["outputs"] == {"answer": "data done"}
    assert "write python code" in user_text(code) and "analyze the sales" not in user_text(code)

    best = await pattern.supervisor.select_worker_for_task_async("analyze sales data", return_score=True)
    assert best["worker"] is data and 0 < best["score"] <= 1
    assert pattern.supervisor.select_worker_for_task("python code", available_workers=[data, code]) is code


async def test_supervisor_round_robin_without_a_supervisor() -> None:
    workers = [mock_agent("w0"), mock_agent("w1")]
    pipeline = Pipeline.supervisor_worker(None, workers, selection_mode="round_robin")
    assert (await pipeline.run_async(task="a"))["subtasks"][0]["worker"] == "w0"
    assert (await pipeline.run_async(task="b"))["subtasks"][0]["worker"] == "w1"


def test_every_result_is_json() -> None:
    result = Pipeline.parallel([mock_agent("a"), mock_agent("b")]).run(task="t")
    assert json.loads(json.dumps(result)) == result  # plain JSON types only: nothing lost in the round trip


async def test_a_child_error_carries_no_secret_into_the_result() -> None:
    from kaizen_core import BaseAgent, BaseAgentConfig
    from kaizen_core.providers.types import Completion, CompletionRequest

    class LeakyProvider(MockProvider):
        async def complete(self, request: CompletionRequest) -> Completion:
            raise RuntimeError("upstream rejected api_key=sk-live-0123456789abcdef")

    leaky = BaseAgent(BaseAgentConfig(llm_provider="mock"), "task -> answer", provider=LeakyProvider(), agent_id="leaky")
    ok = mock_agent("ok", script=[{"answer": "fine"}])
    result = await Pipeline.parallel([leaky, ok]).run_async(task="t")
    assert result["failed"] == ["leaky"]
    text = json.dumps(result, default=str)
    assert "sk-live-0123456789abcdef" not in text
    assert result["results"][0]["error"]["type"] == "RuntimeError"
