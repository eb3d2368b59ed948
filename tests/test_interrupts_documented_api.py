"""The interrupt API under the original docs' names: BudgetInterruptHandler's spellings and
track_by, checkpoint_before_stop, InterruptSignal/InterruptType, request_interrupt(signal=,
reason=), agent.interrupt(), handlers written as documented, and config.model changes."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, MockProvider
from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.errors import ConfigError, InterruptHandlerError
from kaizen_core.interrupts import (
    BaseInterruptHandler,
    BudgetInterruptHandler,
    InterruptContext,
    InterruptManager,
    InterruptMode,
    InterruptReason,
    InterruptScope,
    InterruptSignal,
    InterruptSource,
    InterruptType,
)
from kaizen_core.interrupts.signals import dispatcher
from kaizen_core.tools import tool

pytestmark = pytest.mark.anyio


def ctx(run: str, spent: float, **fields: Any) -> InterruptContext:
    return InterruptContext(agent_id=fields.pop("agent_id", "bot"), run_id=run, budget_spent_usd=spent, **fields)


# ---------------------------------------------------------------- BudgetInterruptHandler
def test_budget_limit_and_max_budget_usd_are_one_limit() -> None:
    assert BudgetInterruptHandler(budget_limit=5.0).max_budget_usd == 5.0
    assert BudgetInterruptHandler(max_budget_usd=5.0).budget_limit == 5.0
    assert BudgetInterruptHandler(5.0, budget_limit=5.0).max_budget_usd == 5.0
    with pytest.raises(ConfigError, match="two limits"):
        BudgetInterruptHandler(max_budget_usd=5.0, budget_limit=6.0)
    with pytest.raises(ConfigError, match="needs a limit"):
        BudgetInterruptHandler()
    with pytest.raises(ConfigError, match="track_by"):
        BudgetInterruptHandler(1.0, track_by="team")  # type: ignore[arg-type]


def test_track_by_run_counts_each_run_alone() -> None:
    handler = BudgetInterruptHandler(1.0)
    assert handler.check_interrupt(ctx("r1", 0.6)) is None
    assert handler.check_interrupt(ctx("r2", 0.6)) is None
    reason = handler.check_interrupt(ctx("r1", 1.0))
    assert reason is not None and reason.metadata["budget_spent_usd"] == 1.0


def test_track_by_session_adds_up_the_runs_of_a_session() -> None:
    handler = BudgetInterruptHandler(1.0, track_by="session")
    assert handler.check_interrupt(ctx("r1", 0.6, session_id="s")) is None
    assert handler.check_interrupt(ctx("r1", 0.6, session_id="s")) is None  # the same run again: not twice
    handler.reset()  # r1 ended, r2 starts: the session's spending carries on
    assert handler.check_interrupt(ctx("r2", 0.3, session_id="other")) is None
    reason = handler.check_interrupt(ctx("r2", 0.5, session_id="s"))
    assert reason is not None
    assert reason.metadata["budget_spent_usd"] == pytest.approx(1.1) and reason.metadata["run_spent_usd"] == 0.5
    assert reason.metadata["track_by"] == "session"
    assert handler.check_interrupt(ctx("r3", 0.9)) is None  # no session: the run counts alone


def test_track_by_agent_and_user() -> None:
    per_agent = BudgetInterruptHandler(1.0, track_by="agent")
    assert per_agent.check_interrupt(ctx("r1", 0.5, session_id="a")) is None
    assert per_agent.check_interrupt(ctx("r2", 0.5, session_id="b")) is not None  # sessions do not matter
    assert per_agent.check_interrupt(ctx("r3", 0.1, agent_id="other-bot")) is None

    per_user = BudgetInterruptHandler(1.0, track_by="user")
    assert per_user.check_interrupt(ctx("r1", 0.6, user_id="ann")) is None
    assert per_user.check_interrupt(ctx("r2", 0.6, user_id="bob")) is None
    assert per_user.check_interrupt(ctx("r3", 0.5, user_id="ann")) is not None
    # A run whose user is unknown counts against its agent (never less than any one user's total).
    assert per_user.check_interrupt(ctx("r4", 0.5)) is None
    assert per_user.check_interrupt(ctx("r5", 0.5)) is not None


async def test_track_by_session_stops_the_second_run_of_a_session(tmp_path: Path) -> None:
    config = AutonomousConfig(
        llm_provider="mock",
        checkpoint_storage=f"file://{tmp_path}",
        provider_config={"cost_per_output_token": 0.1},
    )
    agent = BaseAutonomousAgent(config, "task -> result")
    first = await agent.run_autonomous("one", session_id="s1")
    handler = BudgetInterruptHandler(max_budget_usd=first["cost"] * 1.2, track_by="session")
    agent.interrupt_manager.add_handler(handler)
    await agent.run_autonomous("two", session_id="s1")  # spent first["cost"]: under the limit
    await agent.run_autonomous("three", session_id="s2")  # another session: its own total
    with pytest.raises(InterruptedError) as info:
        # Its first reply is a tool call, so the run has a next cycle to stop before.
        agent.provider.script = [{"tool_calls": [{"name": "lookup", "arguments": {"q": "x" * 10}}]}]  # type: ignore[attr-defined]
        await agent.run_autonomous("four", session_id="s1")
    metadata = info.value.reason.metadata  # type: ignore[attr-defined]
    assert metadata["track_by"] == "session"
    # The session's total stopped it, not the run's own spending.
    assert metadata["run_spent_usd"] < handler.max_budget_usd <= metadata["budget_spent_usd"]


async def test_track_by_user_counts_the_runs_of_the_user_set_with_hook_metadata(tmp_path: Path) -> None:
    from kaizen_core.hooks import hook_metadata

    seen: list[str | None] = []

    class Watch(BaseInterruptHandler):
        def check_interrupt(self, context: InterruptContext) -> None:
            seen.append(context.user_id)

    config = AutonomousConfig(llm_provider="mock", checkpoint_storage=f"file://{tmp_path}")
    agent = BaseAutonomousAgent(config, "task -> result")
    agent.interrupt_manager.add_handler(Watch())
    with hook_metadata(user_id="ann"):
        await agent.run_autonomous("t")
    await agent.run_autonomous("t")
    assert "ann" in seen and seen[-1] is None


# ---------------------------------------------------------------- checkpoint_before_stop
class StopAtOnce(BaseInterruptHandler):
    """Fires on the first check."""

    def check_interrupt(self, context: InterruptContext) -> InterruptReason:
        return self._reason("stop")


@pytest.mark.parametrize(("config_says", "handler_says", "saved"), [(False, True, True), (True, False, False)])
async def test_checkpoint_before_stop_overrides_checkpoint_on_interrupt(
    tmp_path: Path, config_says: bool, handler_says: bool, saved: bool
) -> None:
    config = AutonomousConfig(
        llm_provider="mock",
        checkpoint_storage=f"file://{tmp_path}",
        checkpoint_on_interrupt=config_says,
        provider_config={"script": [{"tool_calls": [{"name": "lookup", "arguments": {}}]}]},
    )
    agent = BaseAutonomousAgent(config, "task -> result")
    agent.interrupt_manager.add_handler(StopAtOnce(checkpoint_before_stop=handler_says))
    with pytest.raises(InterruptedError) as info:
        await agent.run_autonomous("anything")
    reason = info.value.reason  # type: ignore[attr-defined]
    assert reason.metadata["checkpoint_before_stop"] is handler_says
    assert ("checkpoint_id" in reason.metadata) is saved
    if saved:
        state = await agent.state_manager.load_checkpoint(reason.metadata["checkpoint_id"])  # type: ignore[union-attr]
        assert state.status == "interrupted"


def test_every_builtin_handler_takes_checkpoint_before_stop() -> None:
    from kaizen_core.interrupts import ResourceInterruptHandler, TimeoutInterruptHandler

    for handler in (
        TimeoutInterruptHandler(1, checkpoint_before_stop=True),
        BudgetInterruptHandler(1, checkpoint_before_stop=True),
        ResourceInterruptHandler(max_memory_mb=1e9, checkpoint_before_stop=True),
    ):
        assert handler.checkpoint_before_stop is True


# ---------------------------------------------------------------- signals, types, request shapes
@pytest.mark.parametrize(
    ("kind", "source"),
    [
        (InterruptSignal.USER_REQUESTED, InterruptSource.USER),
        (InterruptSignal.SHUTDOWN, InterruptSource.USER),
        (InterruptSignal.RATE_LIMIT, InterruptSource.SYSTEM),
        (InterruptSignal.BUDGET_EXCEEDED, InterruptSource.SYSTEM),
        (InterruptSignal.TIMEOUT, InterruptSource.SYSTEM),
        (InterruptSignal.CUSTOM, InterruptSource.PROGRAMMATIC),
    ],
)
def test_request_interrupt_with_a_signal_and_a_reason(kind: InterruptSignal, source: InterruptSource) -> None:
    scope = InterruptScope()
    assert scope.request_interrupt(signal=kind, reason="Awaiting approval") is True
    assert scope.reason is not None and scope.reason.source is source and scope.reason.message == "Awaiting approval"
    assert scope.reason.interrupt_signal is kind and scope.reason.interrupt_type is source
    assert scope.reason.metadata == {"interrupt_signal": kind.value}


def test_request_interrupt_shapes() -> None:
    assert InterruptType is InterruptSource
    scope = InterruptScope()
    scope.request_interrupt(signal="rate_limit", source=InterruptSource.PROGRAMMATIC)  # an explicit source wins
    assert scope.reason is not None and scope.reason.source is InterruptSource.PROGRAMMATIC
    assert scope.reason.message == "programmatic interrupt"

    scope = InterruptScope()
    scope.request_interrupt()  # code asked, nothing more said
    assert scope.reason is not None and scope.reason.source is InterruptSource.PROGRAMMATIC

    given = InterruptReason(source=InterruptSource.SYSTEM, mode=InterruptMode.IMMEDIATE, message="m", metadata={"k": 1})
    scope = InterruptScope()
    scope.request_interrupt(reason=given)
    assert scope.reason is not None and (scope.reason.source, scope.reason.mode) == (given.source, given.mode)
    assert scope.reason.metadata == {"k": 1} and scope.reason.message == "m"

    with pytest.raises(ConfigError, match="once"):
        InterruptScope().request_interrupt(message="a", reason="b")
    with pytest.raises(ConfigError, match="unknown interrupt signal"):
        InterruptScope().request_interrupt(signal="coffee_break")


def test_a_request_with_no_active_run_changes_nothing_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    manager = InterruptManager()
    with caplog.at_level(logging.INFO, logger="kaizen.interrupts"):
        assert manager.request_interrupt(signal=InterruptSignal.USER_REQUESTED, reason="Awaiting approval") is False
    assert not manager.is_interrupted()
    assert any("no run of this agent is active" in r.getMessage() for r in caplog.records)


@pytest.fixture
def app_handlers() -> Iterator[list[int]]:
    """The application's own SIGINT/SIGTERM handlers, restored afterwards."""
    received: list[int] = []
    originals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in originals:
        signal.signal(s, lambda signum, frame: received.append(signum))
    yield received
    for s, handler in originals.items():
        signal.signal(s, handler)


@pytest.mark.parametrize(
    ("signum", "kind"), [(signal.SIGINT, InterruptSignal.USER_REQUESTED), (signal.SIGTERM, InterruptSignal.SHUTDOWN)]
)
def test_os_signals_are_recorded_as_interrupt_signals(
    app_handlers: list[int], signum: int, kind: InterruptSignal
) -> None:
    scope = InterruptScope()
    with dispatcher.watching(scope):
        signal.raise_signal(signum)
    assert scope.reason is not None and scope.reason.interrupt_signal is kind
    assert scope.reason.metadata["signal"] == signal.Signals(signum).name and app_handlers == []


# ---------------------------------------------------------------- agent.interrupt / _interrupt_manager
async def test_agent_interrupt_stops_the_active_run(tmp_path: Path) -> None:
    agent: BaseAgent

    @tool(description="Stop the agent")
    def halt() -> str:
        assert agent.interrupt(reason="enough", signal=InterruptSignal.CUSTOM) is True
        assert agent._interrupt_manager.is_interrupted()
        return "halting"

    config = BaseAgentConfig(
        llm_provider="mock",
        checkpoint_storage=f"file://{tmp_path}",
        provider_config={"script": [{"tool_calls": [{"name": "halt", "arguments": {}}]}]},
    )
    agent = BaseAgent(config, "question -> answer", tools=[halt])
    assert agent._interrupt_manager is agent.interrupt_manager
    with pytest.raises(InterruptedError) as info:
        await agent.run_async(question="q")
    reason = info.value.reason  # type: ignore[attr-defined]
    assert reason.source is InterruptSource.PROGRAMMATIC and reason.message == "enough"
    assert reason.interrupt_signal is InterruptSignal.CUSTOM and reason.metadata["checkpoint_id"]
    agent.provider.script = []  # type: ignore[attr-defined]  # the next run's model just answers
    assert (await agent.run_async(question="again"))["answer"]  # and the run starts clean


# ---------------------------------------------------------------- handlers as users write them
class NoSuperInit(BaseInterruptHandler):
    def __init__(self, answer: Any) -> None:  # does not call super().__init__()
        self.answer = answer

    def check_interrupt(self, context: InterruptContext) -> Any:
        return self.answer


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (True, "interrupt handler 'NoSuperInit' asked to stop"),
        ("disk almost full", "disk almost full"),
        ({"message": "from a dict", "source": "user"}, "from a dict"),
        (InterruptReason(source=InterruptSource.PROGRAMMATIC, message="a reason"), "a reason"),
    ],
)
async def test_handler_answers_that_stop_the_run(answer: Any, message: str) -> None:
    handler = NoSuperInit(answer)
    assert repr(handler) == "NoSuperInit(name='NoSuperInit', mode=graceful)"
    manager = InterruptManager()
    manager.add_handler(handler)
    reason = await manager.check(InterruptContext())
    assert reason is not None and reason.message == message and reason.metadata["handler"] == "NoSuperInit"
    assert reason.mode is InterruptMode.GRACEFUL


@pytest.mark.parametrize("answer", [None, False])
async def test_handler_answers_that_go_on(answer: Any) -> None:
    manager = InterruptManager()
    manager.add_handler(NoSuperInit(answer))
    assert await manager.check(InterruptContext()) is None


@pytest.mark.parametrize("answer", [42, {"mode": "sideways"}])
async def test_a_handler_answer_that_means_nothing_is_a_handler_error(
    answer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    manager = InterruptManager()
    manager.add_handler(NoSuperInit(answer))
    with caplog.at_level(logging.ERROR, logger="kaizen.interrupts"):
        assert await manager.check(InterruptContext()) is None
    (record,) = caplog.records
    assert InterruptHandlerError.code in record.getMessage() and "NoSuperInit" in record.getMessage()


async def test_a_failing_handler_is_logged_once_per_run(caplog: pytest.LogCaptureFixture) -> None:
    manager = InterruptManager()
    manager.add_handler(NoSuperInit(42))
    with caplog.at_level(logging.ERROR, logger="kaizen.interrupts"):
        for _ in range(2):  # two runs
            scope = InterruptScope(manager=manager)
            for _ in range(3):
                await scope.poll()
    assert len(caplog.records) == 2


def test_the_context_reads_like_a_dict() -> None:
    clock = iter([10.0, 13.5]).__next__
    context = InterruptContext(
        agent_id="bot", cycle=3, error_count=2, started_at=5.0, clock=clock, metadata={"user": "ann"}
    )
    assert context.get("error_count") == 2 and context["cycle"] == 3 and context["user"] == "ann"
    assert context.get("missing", "default") == "default" and context.get("clock") is None
    assert "agent_id" in context and "user" in context and "clock" not in context
    assert context["elapsed_s"] == 5.0  # measured now, as current_elapsed() does
    assert context.to_dict()["user"] == "ann" and "budget_spent_usd" in context.keys()
    with pytest.raises(KeyError):
        context["missing"]


async def test_the_run_context_has_session_and_error_count(tmp_path: Path) -> None:
    seen: list[InterruptContext] = []

    class Watch(BaseInterruptHandler):
        def check_interrupt(self, context: InterruptContext) -> None:
            seen.append(context)

    script = [{"tool_calls": [{"name": "nope", "arguments": {}}]}]
    config = AutonomousConfig(
        llm_provider="mock", checkpoint_storage=f"file://{tmp_path}", provider_config={"script": script}
    )
    agent = BaseAutonomousAgent(config, "task -> result")
    agent.interrupt_manager.add_handler(Watch())
    await agent.run_autonomous("t", session_id="s9")
    assert all(c.session_id == "s9" and c.agent_id == agent.agent_id for c in seen)
    assert seen[-1].error_count == 1 and seen[0].error_count == 0


# ---------------------------------------------------------------- config.model after construction
def test_changing_config_model_changes_the_model_asked_for() -> None:
    provider = MockProvider(model="gpt-4")
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock", model="gpt-4"), "question -> answer", provider=provider)
    assert agent.run(question="q")["_meta"]["model"] == "gpt-4"
    agent.config.model = "gpt-3.5-turbo"
    result = agent.run(question="q")
    assert provider.requests[-1].model == "gpt-3.5-turbo" and result["_meta"]["model"] == "gpt-3.5-turbo"
    agent.config.model = None  # back to the provider's own model
    agent.run(question="q")
    assert provider.requests[-1].model == "gpt-4"
