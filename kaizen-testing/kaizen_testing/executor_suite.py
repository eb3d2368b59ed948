"""The standard executor suite: every executor (``local``, ``ray``, a plugin's) passes it unchanged.

    class TestMyExecutor(ExecutorSuite):
        @pytest.fixture
        def executor(self):
            return MyExecutor(...)

What it checks, through the public API (pipelines and ``agent.run_many``): results equal to
the local executor's, a child's own error and code, interrupts reaching the child (a step
timeout stops it gracefully: AgentInterrupted, not a cancellation), hook metadata crossing
to the child's events, a shared budget held across children. The agents use only
kaizen-core (the mock provider), so a remote executor can rebuild them anywhere.
"""

from __future__ import annotations

from typing import Any

import pytest

from kaizen_core.agents.base import BaseAgent
from kaizen_core.errors import BudgetExceededError, ProviderError
from kaizen_core.hooks import HookEvent
from kaizen_core.hooks.context import hook_metadata
from kaizen_core.orchestration import Pipeline
from kaizen_core.permissions import ExecutionContext

__all__ = ["ExecutorSuite"]


def _agent(agent_id: str, script: list[Any] | None = None, **options: Any) -> BaseAgent:
    provider_config: dict[str, Any] = {"script": script} if script is not None else {}
    return BaseAgent(
        {"llm_provider": "mock", "provider_config": provider_config},
        "question: str -> answer: str",
        agent_id=agent_id,
        **options,
    )


def _outputs(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "_meta"}


class ExecutorSuite:
    """Subclass and provide an ``executor`` fixture (an Executor, or a name/URL ``get_executor`` takes)."""

    @pytest.fixture
    def executor(self) -> Any:
        raise NotImplementedError("provide an executor fixture")

    def test_results_equal_the_local_executors(self, executor: Any) -> None:
        agents = [_agent(f"suite-{i}", [{"answer": f"answer {i}"}]) for i in range(4)]
        local = Pipeline.parallel(agents, max_workers=2).run(task="Which?")
        here = Pipeline.parallel(agents, max_workers=2, executor=executor).run(task="Which?")
        assert _outputs(here) == _outputs(local)
        assert [r["outputs"]["answer"] for r in here["results"]] == [f"answer {i}" for i in range(4)]
        assert [c["step"] for c in sorted(here["_meta"]["children"], key=lambda c: c["step"])] == [
            f"agent-{i}" for i in range(4)
        ]

    def test_a_childs_own_error_and_code_come_back(self, executor: Any) -> None:
        failing = _agent("suite-failing", [{"error": {"status": 400, "message": "bad request"}}])
        result = Pipeline.parallel([failing, _agent("suite-ok")], executor=executor).run(task="Go")
        assert result["status"] == "partial"
        assert result["results"][0]["error"]["code"] == "AGENT_004"
        with pytest.raises(ProviderError) as caught:
            failing.run_many([{"question": "q"}], executor=executor)
        assert caught.value.code == "AGENT_004"

    def test_run_many_gives_one_result_per_input_in_order(self, executor: Any) -> None:
        agent = _agent("suite-batch")
        results = agent.run_many([{"question": f"q{i}"} for i in range(6)], executor=executor, max_concurrency=3)
        assert len(results) == 6
        assert len({r["_meta"]["run_id"] for r in results}) == 6
        assert all(r["answer"] for r in results)

    def test_a_step_timeout_stops_the_child_gracefully(self, executor: Any) -> None:
        # The child would wait an hour; its step timeout interrupts it through its scope, wherever it runs.
        sleeper = _agent("suite-sleeper", [{"delay": 3600, "answer": "late"}])
        pipeline = Pipeline.parallel([sleeper], timeout=0.2, graceful_shutdown_timeout=120, executor=executor)
        result = pipeline.run(task="Wait")
        assert result["timed_out"] == ["suite-sleeper"]
        assert result["results"][0]["error"]["code"] == "INTERRUPT_003"  # stopped, not cancelled

    def test_hook_metadata_reaches_the_childs_events(self, executor: Any) -> None:
        agent = _agent("suite-hooked", [{"answer": "seen"}])
        seen: list[Any] = []

        async def remember(context: Any) -> None:
            seen.append(context)

        agent.hook_manager.register(HookEvent.POST_AGENT_LOOP, remember)
        with hook_metadata(tenant="acme"):
            result = Pipeline.parallel([agent], executor=executor).run(task="Hello")
        [context] = seen
        assert context.agent_id == "suite-hooked"
        assert context.metadata["tenant"] == "acme"
        assert context.metadata["parent_run_id"] == result["_meta"]["run_id"]
        assert context.metadata["pipeline_step"] == "agent-0"

    def test_a_shared_budget_holds_across_children(self, executor: Any) -> None:
        budget = ExecutionContext(call_limit=3)
        agents = [_agent(f"suite-budget-{i}", execution_context=budget) for i in range(8)]
        result = Pipeline.parallel(agents, max_workers=8, executor=executor).run(task="Spend")
        assert result["succeeded"] == 3
        refused = [r for r in result["results"] if r["status"] == "failed"]
        assert len(refused) == 5 and all(r["error"]["code"] == BudgetExceededError.code for r in refused)
        assert budget.calls_made == 3
