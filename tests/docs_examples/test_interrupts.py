"""The original docs' Interrupt Mechanism examples, run as written.

Each test copies one example (imports translated: ``kaizen.core.autonomy.interrupts`` ->
``kaizen_core.interrupts``, ``kaizen.agents.autonomous[.base|.config]`` ->
``kaizen_core.agents.autonomous`` / ``kaizen_core.config``; ``llm_provider="mock"``).

An example is run twice where it has an ``except InterruptedError`` branch: once as
written (the mock model answers at once: the documented result dict), and once with the
interrupt it is about made to happen, to check the branch's documented shape
(``e.reason.message``, ``.source``, ``.mode``, ``.metadata["checkpoint_id"]``...). The
scaffolding for that is outside the example's lines and marked "not in the example":

* timeouts: the agent's InterruptManager gets a clock the test moves, by the timeout,
  during the first model call (no test waits on a wall clock);
* budgets: the mock model charges per output token (``provider_config``), and its first
  reply is a tool call with a long argument, so the first cycle spends the budget;
* in both cases the model's first reply is a tool call, so the run has a next cycle to
  stop before (a GRACEFUL interrupt lets a finished last step return its result).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import InputField, OutputField, Signature
from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.errors import AgentInterrupted, InterruptHandlerError
from kaizen_core.interrupts import InterruptMode, InterruptSource
from kaizen_core.providers.types import Completion, CompletionRequest

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the autonomous agent's default store is file://./.kaizen/checkpoints


class TaskSignature(Signature):
    """Carry out the task."""

    task: str = InputField(description="The task")
    result: str = OutputField(description="The result")


MySignature = ResearchSignature = TaskSignature

#: A first reply that calls a tool (unknown to the agent: it only gets an error back), with an
#: argument long enough that a per-output-token price makes the call expensive.
TOOL_FIRST = {"tool_calls": [{"name": "lookup", "arguments": {"query": "x" * 400}}]}


def tool_first(**extra: Any) -> dict[str, Any]:
    """``provider_config`` for the mock: a tool call first, then a final answer (from the schema)."""
    return {"script": [TOOL_FIRST], **extra}


#: One USD per output token: the first reply (about 110 tokens) costs about $110.
EXPENSIVE = tool_first(cost_per_output_token=1.0)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def time_passes_in_model_calls(agent: BaseAutonomousAgent, seconds: float) -> None:
    """Not in the examples: the agent's runs are timed by a fake clock that moves ``seconds``
    during each model call (a slow model, without waiting for one)."""
    clock = FakeClock()
    agent.interrupt_manager.clock = clock
    complete = agent.provider.complete

    async def slow_complete(request: CompletionRequest) -> Completion:
        clock.now += seconds
        return await complete(request)

    agent.provider.complete = slow_complete  # type: ignore[method-assign]


def assert_result(result: dict[str, Any]) -> None:
    """The documented result of an autonomous run: the signature's outputs plus the run's facts."""
    assert isinstance(result["result"], str)
    assert result["stop_reason"] == "converged" and result["cycles_used"] >= 1
    assert result["checkpoint_id"] is not None and "_meta" in result


# ------------------------------------------------------------------------ api-reference.md
async def api_reference_interrupt_manager(
    scaffold: dict[str, Any], prepare: Callable[[BaseAutonomousAgent], None] = lambda agent: None
) -> dict[str, Any]:
    """api-reference.md "Interrupt Mechanism" > "InterruptManager", as written; returns its variables."""
    result = restored_state = None

    # --- the example ---------------------------------------------------------------------
    from kaizen_core.agents.autonomous import AutonomousConfig, BaseAutonomousAgent
    from kaizen_core.interrupts import (
        InterruptManager,  # noqa: F401 -- imported by the example
        InterruptMode,  # noqa: F401
        InterruptReason,  # noqa: F401
        InterruptSource,  # noqa: F401
    )

    # Enable interrupts in agent config
    config = AutonomousConfig(
        llm_provider="mock",
        model="gpt-4",
        enable_interrupts=True,  # Enable interrupt handling
        graceful_shutdown_timeout=5.0,  # Max time for graceful shutdown
        checkpoint_on_interrupt=True,  # Auto-save checkpoint before exit
        **scaffold,  # not in the example
    )

    # Create autonomous agent with interrupts
    agent = BaseAutonomousAgent(config=config, signature=TaskSignature())

    # Add timeout handler (auto-stop after 300 seconds)
    from kaizen_core.interrupts.handlers import TimeoutInterruptHandler

    timeout_handler = TimeoutInterruptHandler(timeout_seconds=300.0)
    agent.interrupt_manager.add_handler(timeout_handler)

    prepare(agent)  # not in the example
    state_manager = agent.state_manager  # not in the example

    # Run agent - handles Ctrl+C, timeouts, budget limits gracefully
    try:
        result = await agent.run_autonomous(task="Analyze large dataset")
    except InterruptedError as e:
        print(f"Agent interrupted: {e.reason.message}")
        print(f"Source: {e.reason.source}")  # USER, SYSTEM, or PROGRAMMATIC
        print(f"Mode: {e.reason.mode}")  # GRACEFUL or IMMEDIATE

        # Restore from checkpoint if needed
        checkpoint_id = e.reason.metadata.get("checkpoint_id")
        if checkpoint_id:
            restored_state = await state_manager.load_checkpoint(checkpoint_id)
    # --- end of the example --------------------------------------------------------------
    return {"agent": agent, "result": result, "restored_state": restored_state}


async def test_api_reference_interrupt_manager_example() -> None:
    """api-reference.md, "Interrupt Mechanism" > "InterruptManager": the run finishes in time."""
    made = await api_reference_interrupt_manager({})
    assert_result(made["result"])
    assert made["restored_state"] is None


async def test_api_reference_interrupt_manager_example_timed_out(capsys: pytest.CaptureFixture[str]) -> None:
    """api-reference.md, "Interrupt Mechanism" > "InterruptManager": the 300 s timeout stops the run."""
    made = await api_reference_interrupt_manager(
        {"provider_config": tool_first()}, prepare=lambda agent: time_passes_in_model_calls(agent, 301)
    )
    assert made["result"] is None
    assert capsys.readouterr().out.splitlines() == [
        "Agent interrupted: run exceeded its timeout of 300s",
        f"Source: {InterruptSource.SYSTEM}",
        f"Mode: {InterruptMode.GRACEFUL}",
    ]
    restored = made["restored_state"]
    assert restored is not None and restored.status == "interrupted"
    assert restored.agent_id == made["agent"].agent_id and restored.custom_state["cycle"] == 1


def test_api_reference_interrupt_sources_and_modes() -> None:
    """api-reference.md, "Interrupt Mechanism" > "Interrupt Sources" and "Interrupt Modes"."""
    # --- the examples --------------------------------------------------------------------
    from kaizen_core.interrupts import InterruptSource

    # Three interrupt sources
    InterruptSource.USER  # User-initiated (Ctrl+C, SIGINT, SIGTERM)  # noqa: B018
    InterruptSource.SYSTEM  # System-initiated (timeout, budget, resources)  # noqa: B018
    InterruptSource.PROGRAMMATIC  # API-initiated (agent.interrupt(), hook)  # noqa: B018

    from kaizen_core.interrupts import InterruptMode

    # Two shutdown modes
    InterruptMode.GRACEFUL  # Finish current cycle, save checkpoint (default)  # noqa: B018
    InterruptMode.IMMEDIATE  # Stop immediately, may lose state  # noqa: B018
    # --- end of the examples -------------------------------------------------------------
    assert [s.name for s in InterruptSource] == ["USER", "SYSTEM", "PROGRAMMATIC"]
    assert [m.name for m in InterruptMode] == ["GRACEFUL", "IMMEDIATE"]


async def test_api_reference_interrupt_sources_agent_interrupt() -> None:
    """api-reference.md, "Interrupt Sources": ``PROGRAMMATIC # API-initiated (agent.interrupt(), hook)``.

    ``agent.interrupt()`` called while the agent runs (here by a tool) stops it, with source PROGRAMMATIC.
    """
    from kaizen_core.tools import tool

    agent: BaseAutonomousAgent

    @tool(description="Ask the agent to stop")
    def stop_now() -> str:
        assert agent.interrupt("operator asked to stop") is True
        return "stopping"

    config = AutonomousConfig(llm_provider="mock", provider_config={"script": [tool_calls_to("stop_now")]})
    agent = BaseAutonomousAgent(config=config, signature=TaskSignature(), tools=[stop_now])
    with pytest.raises(InterruptedError) as info:
        await agent.run_autonomous(task="anything")
    reason = info.value.reason  # type: ignore[attr-defined]
    assert reason.source is InterruptSource.PROGRAMMATIC and reason.mode is InterruptMode.GRACEFUL
    assert reason.message == "operator asked to stop" and reason.metadata["checkpoint_id"]
    assert agent.interrupt("too late") is False  # no run is active any more: nothing to stop


def tool_calls_to(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def test_api_reference_built_in_interrupt_handlers() -> None:
    """api-reference.md, "Interrupt Mechanism" > "Built-in Interrupt Handlers"."""
    agent = BaseAutonomousAgent(AutonomousConfig(llm_provider="mock"), TaskSignature())  # not in the example

    # --- the example ---------------------------------------------------------------------
    from kaizen_core.interrupts.handlers import (
        BudgetInterruptHandler,
        ResourceInterruptHandler,
        TimeoutInterruptHandler,
    )

    # 1. Timeout Handler (stop after N seconds)
    timeout = TimeoutInterruptHandler(timeout_seconds=300.0)
    agent.interrupt_manager.add_handler(timeout)

    # 2. Budget Handler (stop when budget exceeded)
    budget = BudgetInterruptHandler(max_budget_usd=10.0)
    agent.interrupt_manager.add_handler(budget)

    # 3. Resource Handler (stop when memory/CPU exceeded)
    resource = ResourceInterruptHandler(max_memory_mb=1000, max_cpu_percent=80.0)
    agent.interrupt_manager.add_handler(resource)
    # --- end of the example --------------------------------------------------------------

    assert agent.interrupt_manager.handlers == [timeout, budget, resource]
    assert (budget.max_budget_usd, budget.budget_limit, resource.max_memory_mb) == (10.0, 10.0, 1000)


# The custom handler, exactly as documented (api-reference.md "Custom Interrupt Handler"); the
# names it uses without importing them (Callable, InterruptSource, InterruptMode) come from this
# module's imports, as they would from a user's.
from kaizen_core.interrupts import BaseInterruptHandler, InterruptReason  # noqa: E402


class CustomInterruptHandler(BaseInterruptHandler):
    """Custom interrupt logic."""

    def __init__(self, condition_check: Callable):  # type: ignore[type-arg]
        self.condition_check = condition_check

    async def check_interrupt(self, context: dict) -> InterruptReason | None:  # type: ignore[override,type-arg]
        """Check if interrupt condition met."""
        if await self.condition_check(context):
            return InterruptReason(
                source=InterruptSource.PROGRAMMATIC,
                mode=InterruptMode.GRACEFUL,
                message="Custom condition met",
                metadata={"context": context},
            )
        return None


def _custom_handler_agent(errors_before_answer: int) -> BaseAutonomousAgent:
    """Not in the example: an agent whose model makes ``errors_before_answer`` failing tool calls."""
    script = [tool_calls_to("missing_tool") for _ in range(errors_before_answer)]
    config = AutonomousConfig(llm_provider="mock", max_tool_errors=0, provider_config={"script": script})
    return BaseAutonomousAgent(config=config, signature=TaskSignature())


async def test_api_reference_custom_interrupt_handler() -> None:
    """api-reference.md, "Interrupt Mechanism" > "Custom Interrupt Handler".

    The documented class awaits ``self.condition_check(context)``, so the condition must be
    awaitable: here the documented lambda's condition as an ``async`` function (the
    lambda itself is the next test). The context reads like the documented dict:
    ``ctx.get("error_count")`` is the run's failed tool calls so far.
    """
    agent = _custom_handler_agent(errors_before_answer=8)

    async def condition(ctx: Any) -> bool:  # the documented lambda's condition, awaitable
        return ctx.get("error_count") > 5

    # --- the example (its last two lines) ------------------------------------------------
    # Use custom handler
    handler = CustomInterruptHandler(condition)
    agent.interrupt_manager.add_handler(handler)
    # --- end of the example --------------------------------------------------------------

    with pytest.raises(InterruptedError) as info:
        await agent.run_autonomous(task="keep trying")
    reason = info.value.reason  # type: ignore[attr-defined]
    assert reason.message == "Custom condition met" and reason.source is InterruptSource.PROGRAMMATIC
    assert reason.metadata["handler"] == "CustomInterruptHandler"
    assert reason.metadata["context"].get("error_count") == 6  # stopped at the first cycle past 5 errors
    assert reason.metadata["checkpoint_id"]
    # Stopped at the next safe point after the 6th failure: before cycle 7 when a poll (every
    # poll_interval) came between that call and the next model call, else after cycle 7's.
    assert info.value.result["cycles_used"] in (6, 7)  # type: ignore[attr-defined]


async def test_api_reference_custom_interrupt_handler_with_the_documented_lambda(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """api-reference.md, "Custom Interrupt Handler", with ``lambda ctx: ctx.get("error_count") > 5``
    as written: the class awaits the lambda's bool, which no Python can do (TypeError in the
    handler). The run is not stopped by a broken handler; the failure is reported once per
    run as INTERRUPT_001 naming the handler, not on every poll (docs/interrupts.md)."""
    agent = _custom_handler_agent(errors_before_answer=8)
    handler = CustomInterruptHandler(lambda ctx: ctx.get("error_count") > 5)
    agent.interrupt_manager.add_handler(handler)

    with caplog.at_level(logging.ERROR, logger="kaizen.interrupts"):
        result = await agent.run_autonomous(task="keep trying")
    assert result["cycles_used"] == 9  # the run went on: 8 failing tool calls, then the answer
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and InterruptHandlerError.code in errors[0]
    assert "'CustomInterruptHandler'" in errors[0] and "can't be used in 'await' expression" in errors[0]


# ----------------------------------------------------------------------- quick-reference.md
async def quick_reference_interrupt_quick_start(
    scaffold: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """quick-reference.md "3. Interrupt Mechanism - Graceful Shutdown" > "Quick Start", as written."""
    result = checkpoint_id = None

    # --- the example ---------------------------------------------------------------------
    from kaizen_core.agents.autonomous import BaseAutonomousAgent
    from kaizen_core.config import AutonomousConfig
    from kaizen_core.interrupts.handlers import BudgetInterruptHandler, TimeoutInterruptHandler

    # Enable interrupts in config
    config = AutonomousConfig(
        llm_provider="mock",
        model="llama3.2:1b",
        enable_interrupts=True,  # Enable interrupt handling
        graceful_shutdown_timeout=5.0,  # Max time for graceful shutdown
        checkpoint_on_interrupt=True,  # Save checkpoint before exit
        **scaffold,  # not in the example
    )

    # Create autonomous agent
    agent = BaseAutonomousAgent(config=config, signature=MySignature())

    # Add interrupt handlers
    timeout_handler = TimeoutInterruptHandler(timeout_seconds=30.0)
    agent.interrupt_manager.add_handler(timeout_handler)

    budget_handler = BudgetInterruptHandler(budget_limit=5.0)  # $5 limit
    agent.interrupt_manager.add_handler(budget_handler)

    # Run agent - gracefully handles Ctrl+C, timeouts, budget limits
    try:
        result = await agent.run_autonomous(task="Analyze data")
    except InterruptedError as e:
        print(f"Agent interrupted: {e.reason.message}")
        checkpoint_id = e.reason.metadata.get("checkpoint_id")
    # --- end of the example --------------------------------------------------------------
    return {"agent": agent, "result": result, "checkpoint_id": checkpoint_id, "out": capsys.readouterr().out}


async def test_quick_reference_interrupt_mechanism_quick_start(capsys: pytest.CaptureFixture[str]) -> None:
    """quick-reference.md, "3. Interrupt Mechanism - Graceful Shutdown" > "Quick Start": within budget."""
    made = await quick_reference_interrupt_quick_start({}, capsys)
    assert_result(made["result"])
    assert made["out"] == ""


async def test_quick_reference_interrupt_mechanism_quick_start_over_budget(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """quick-reference.md, "3. Interrupt Mechanism - Graceful Shutdown" > "Quick Start": the $5
    ``budget_limit`` stops the run after its first (expensive) cycle, with a checkpoint."""
    made = await quick_reference_interrupt_quick_start({"provider_config": EXPENSIVE}, capsys)
    assert made["result"] is None
    assert re.fullmatch(r"Agent interrupted: budget exhausted: spent \$\d+\.\d{4} of \$5\.0000\n", made["out"])
    state = await made["agent"].state_manager.load_checkpoint(made["checkpoint_id"])
    assert state.status == "interrupted" and state.budget_spent_usd > 5.0


async def test_quick_reference_lifecycle_infrastructure_interrupt_part(capsys: pytest.CaptureFixture[str]) -> None:
    """quick-reference.md, "Lifecycle infrastructure", "3. Interrupts - Graceful shutdown for
    autonomous agents" (the hooks and state parts are in test_checkpoints.py); over budget."""
    checkpoint_id = None

    # --- the example (its third part) ------------------------------------------------------
    from kaizen_core.agents.autonomous import BaseAutonomousAgent
    from kaizen_core.config import AutonomousConfig
    from kaizen_core.interrupts.handlers import BudgetInterruptHandler, TimeoutInterruptHandler

    # Enable interrupts in config
    config = AutonomousConfig(
        llm_provider="mock",
        model="llama3.2:1b",
        enable_interrupts=True,  # Enable interrupt handling
        graceful_shutdown_timeout=5.0,  # Max time for graceful shutdown
        checkpoint_on_interrupt=True,  # Save checkpoint before exit
        provider_config=EXPENSIVE,  # not in the example
    )

    # Create autonomous agent
    autonomous_agent = BaseAutonomousAgent(config=config, signature=MySignature())

    # Add interrupt handlers
    timeout_handler = TimeoutInterruptHandler(timeout_seconds=30.0)
    autonomous_agent.interrupt_manager.add_handler(timeout_handler)

    budget_handler = BudgetInterruptHandler(budget_limit=5.0)
    autonomous_agent.interrupt_manager.add_handler(budget_handler)

    # Run agent - gracefully handles Ctrl+C, timeouts, budget limits
    try:
        result = await autonomous_agent.run_autonomous(task="Analyze data")  # noqa: F841
    except InterruptedError as e:
        print(f"Agent interrupted: {e.reason.message}")
        checkpoint_id = e.reason.metadata.get("checkpoint_id")
    # --- end of the example part -----------------------------------------------------------

    assert capsys.readouterr().out.startswith("Agent interrupted: budget exhausted")
    assert checkpoint_id is not None and checkpoint_id.startswith(autonomous_agent.agent_id + "_step_1_")


async def test_quick_reference_v05_lifecycle_infrastructure_interrupts() -> None:
    """quick-reference-v0.5.md, "Lifecycle infrastructure" ("Every BaseAgent has lifecycle
    infrastructure built-in"), the whole example.

    Its interrupt part runs after ``agent.run`` has returned, when the agent has no run: an
    interrupt belongs to a run, so the request changes nothing and ``is_interrupted()`` is
    False (a request left pending would stop the next run for a stale reason; see the next
    test for the same calls made while the agent runs).
    """
    from kaizen_core import BaseAgentConfig

    config = BaseAgentConfig(llm_provider="mock")  # not in the example
    signature = "question -> answer"  # not in the example

    # --- the example ---------------------------------------------------------------------
    from kaizen_core import BaseAgent
    from kaizen_core.hooks.builtin import LoggingHook, MetricsHook
    from kaizen_core.interrupts import InterruptSignal
    from kaizen_core.state import FilesystemStorage, StateManager

    # Every BaseAgent has lifecycle infrastructure built-in
    agent = BaseAgent(config=config, signature=signature)

    # 1. Hooks - Event-driven monitoring
    agent._hook_manager.register_hook(LoggingHook(log_level="INFO"))
    agent._hook_manager.register_hook(MetricsHook())

    # 2. State - Persistent checkpoints
    storage = FilesystemStorage(base_path="./agent_state")
    state_manager = StateManager(storage_backend=storage)

    # Create checkpoint before risky operation
    checkpoint_id = await state_manager.create_checkpoint(agent_id=agent.agent_id, description="Before processing")

    # Execute agent
    result = agent.run(question="test")

    current_state = agent.get_state()  # not in the example
    # Save state
    await state_manager.save_state(current_state)

    # 3. Interrupts - Graceful control
    agent._interrupt_manager.request_interrupt(signal=InterruptSignal.USER_REQUESTED, reason="Awaiting approval")

    if agent._interrupt_manager.is_interrupted():
        # Save and pause
        await state_manager.save_state(current_state)
    # --- end of the example --------------------------------------------------------------

    assert isinstance(result["answer"], str) and checkpoint_id is not None
    assert not agent._interrupt_manager.is_interrupted()
    assert len(await state_manager.list_checkpoints(agent.agent_id)) == 2  # create + save, no "save and pause"
    assert agent.run(question="again")["answer"]  # the next run is not stopped by the old request


async def test_quick_reference_v05_interrupt_request_during_a_run() -> None:
    """quick-reference-v0.5.md, "3. Interrupts - Graceful control": the same two calls, made by a
    tool while the agent runs, stop the run with the signal's source (USER) and message."""
    from kaizen_core import BaseAgent, BaseAgentConfig
    from kaizen_core.interrupts import InterruptSignal
    from kaizen_core.tools import tool

    seen: list[bool] = []
    agent: BaseAgent

    @tool(description="Ask a person before going on")
    def ask_approval() -> str:
        # --- the example's interrupt part ---------------------------------------------------
        agent._interrupt_manager.request_interrupt(signal=InterruptSignal.USER_REQUESTED, reason="Awaiting approval")

        if agent._interrupt_manager.is_interrupted():
            # Save and pause
            seen.append(True)
        # --- end ----------------------------------------------------------------------------
        return "asked"

    config = BaseAgentConfig(llm_provider="mock", provider_config={"script": [tool_calls_to("ask_approval")]})
    agent = BaseAgent(config, "question -> answer", tools=[ask_approval])
    with pytest.raises(InterruptedError) as info:
        agent.run(question="delete the files?")
    reason = info.value.reason  # type: ignore[attr-defined]
    assert seen == [True]
    assert reason.source is InterruptSource.USER and reason.message == "Awaiting approval"
    assert reason.interrupt_signal is InterruptSignal.USER_REQUESTED


# --------------------------------------------------------------------- autonomy-overview.md
async def autonomy_overview_interrupt_example(
    scaffold: dict[str, Any], prepare: Callable[[BaseAutonomousAgent], None] = lambda agent: None
) -> dict[str, Any]:
    """autonomy-overview.md "3. Interrupt Mechanism (Graceful Shutdown)" > "Example", as written."""
    signature = TaskSignature()  # not in the example
    task = "Summarize the logs"  # not in the example
    result = None

    # --- the example (the config names no provider: ``llm_provider="mock"`` added) --------
    from kaizen_core.interrupts.handlers import TimeoutInterruptHandler

    config = AutonomousConfig(
        llm_provider="mock",
        enable_interrupts=True,
        graceful_shutdown_timeout=5.0,
        checkpoint_on_interrupt=True,
        **scaffold,  # not in the example
    )

    agent = BaseAutonomousAgent(config, signature)
    agent.interrupt_manager.add_handler(TimeoutInterruptHandler(timeout_seconds=30))
    prepare(agent)  # not in the example

    try:
        result = await agent.run_autonomous(task)
    except InterruptedError as e:
        checkpoint_id = e.reason.metadata.get("checkpoint_id")
        print(f"Interrupted: {e.reason.message}, checkpoint: {checkpoint_id}")
    # --- end of the example --------------------------------------------------------------
    return {"agent": agent, "result": result}


async def test_autonomy_overview_interrupt_mechanism_example() -> None:
    """autonomy-overview.md, "3. Interrupt Mechanism (Graceful Shutdown)" > "Example": finishes in time."""
    assert_result((await autonomy_overview_interrupt_example({}))["result"])


async def test_autonomy_overview_interrupt_mechanism_example_timed_out(capsys: pytest.CaptureFixture[str]) -> None:
    """autonomy-overview.md, "3. Interrupt Mechanism (Graceful Shutdown)" > "Example": the 30 s timeout."""
    made = await autonomy_overview_interrupt_example(
        {"provider_config": tool_first()}, prepare=lambda agent: time_passes_in_model_calls(agent, 31)
    )
    assert made["result"] is None
    out = capsys.readouterr().out
    agent_id = made["agent"].agent_id
    assert re.fullmatch(
        rf"Interrupted: run exceeded its timeout of 30s, checkpoint: {re.escape(agent_id)}_step_1_\d{{8}}_\d{{6}}_[0-9a-f]{{8}}\n",
        out,
    )


async def autonomy_overview_cost_control(scaffold: dict[str, Any]) -> dict[str, Any]:
    """autonomy-overview.md "Cost Control", as written."""
    signature = TaskSignature()  # not in the example
    task = "Process the invoices"  # not in the example
    result = None

    # --- the example ---------------------------------------------------------------------
    from kaizen_core.interrupts import InterruptType  # not in the example's imports, which use it
    from kaizen_core.interrupts.handlers import BudgetInterruptHandler

    # Budget-based interrupts
    config = AutonomousConfig(
        llm_provider="mock",
        model="gpt-4",
        max_cycles=100,
        enable_interrupts=True,
        **scaffold,  # not in the example
    )

    agent = BaseAutonomousAgent(config, signature)

    # Add budget limit (stop at $1.00)
    budget_handler = BudgetInterruptHandler(
        max_budget_usd=1.0,
        track_by="session",  # or "agent", "user"
    )
    agent.interrupt_manager.add_handler(budget_handler)

    # Agent will gracefully stop when budget exceeded
    try:
        result = await agent.execute_autonomously(task)
    except InterruptedError as e:
        if e.reason.interrupt_type == InterruptType.SYSTEM:
            print(f"Budget exceeded: ${e.reason.metadata['budget_spent_usd']}")
    # --- end of the example --------------------------------------------------------------
    return {"agent": agent, "result": result, "handler": budget_handler}


async def test_autonomy_overview_cost_control() -> None:
    """autonomy-overview.md, "Production Deployment" > "Cost Control": within budget."""
    assert_result((await autonomy_overview_cost_control({}))["result"])


async def test_autonomy_overview_cost_control_over_budget(capsys: pytest.CaptureFixture[str]) -> None:
    """autonomy-overview.md, "Production Deployment" > "Cost Control": the $1.00 limit stops the run."""
    made = await autonomy_overview_cost_control({"provider_config": EXPENSIVE})
    assert made["result"] is None
    spent = float(re.fullmatch(r"Budget exceeded: \$(\d+\.\d+)\n", capsys.readouterr().out).group(1))  # type: ignore[union-attr]
    assert spent > 1.0 and made["handler"].track_by == "session"


async def test_autonomy_overview_quick_start_hooks_checkpoints_interrupts(capsys: pytest.CaptureFixture[str]) -> None:
    """autonomy-overview.md, "Quick Start" > "2. Agent with Hooks + Checkpoints + Interrupts"."""
    from kaizen_core.hooks import HookResult  # the example uses it without importing it

    latest_state = None

    # --- the example ---------------------------------------------------------------------
    from kaizen_core.agents.autonomous import AutonomousConfig, BaseAutonomousAgent
    from kaizen_core.hooks import HookEvent, HookManager
    from kaizen_core.interrupts.handlers import TimeoutInterruptHandler
    from kaizen_core.state import FilesystemStorage, StateManager

    # Setup hooks
    async def audit_hook(context):  # type: ignore[no-untyped-def]
        print(f"Cycle {context.metadata['cycle']}: {context.agent_id}")
        return HookResult(success=True)

    hook_manager = HookManager()
    hook_manager.register(HookEvent.POST_CYCLE, audit_hook)

    # Setup checkpointing
    storage = FilesystemStorage(base_dir="./checkpoints")
    state_manager = StateManager(storage, checkpoint_frequency=10)

    # Configure agent with interrupts
    config = AutonomousConfig(
        llm_provider="mock",
        model="gpt-4",
        max_cycles=50,
        enable_interrupts=True,
        graceful_shutdown_timeout=5.0,
        checkpoint_on_interrupt=True,
    )

    # Create agent
    agent = BaseAutonomousAgent(
        config=config, signature=ResearchSignature(), hook_manager=hook_manager, state_manager=state_manager
    )

    # Add timeout handler
    agent.interrupt_manager.add_handler(TimeoutInterruptHandler(timeout_seconds=300))

    # Execute with full autonomy stack
    try:
        result = await agent.execute_autonomously("Complex research task")
    except InterruptedError as e:
        print(f"Interrupted: {e.reason.message}")
        checkpoint_id = e.reason.metadata.get("checkpoint_id")  # noqa: F841

        # Resume from checkpoint later
        latest_state = await state_manager.resume_from_latest(agent.agent_id)
    # --- end of the example --------------------------------------------------------------

    assert_result(result)
    assert latest_state is None
    assert capsys.readouterr().out == f"Cycle 1: {agent.agent_id}\n"
    assert (await state_manager.load_checkpoint(result["checkpoint_id"])).status == "completed"


# ----------------------------------------------------------------------- advanced-patterns.md
def test_advanced_patterns_budget_aware_multi_stage_processing(capsys: pytest.CaptureFixture[str]) -> None:
    """advanced-patterns.md, "Pattern 4: Budget-Aware Multi-Stage Processing".

    The mock model charges per output token and its first reply is a long tool call (about
    $6), so the $5 limit stops the first run with a checkpoint; the example then switches
    the model, replaces the handler with a $10 one and resumes from the checkpoint, where
    a short final answer (about $0.6 more) ends the run.
    """
    import asyncio

    large_dataset = list(range(1000))  # not in the example

    # --- the example ---------------------------------------------------------------------
    from kaizen_core.agents.autonomous import BaseAutonomousAgent
    from kaizen_core.config import AutonomousConfig
    from kaizen_core.interrupts.handlers import BudgetInterruptHandler

    # 1. Configure budget-aware agent
    config = AutonomousConfig(
        llm_provider="mock",
        model="gpt-4",  # Expensive model
        enable_interrupts=True,
        checkpoint_on_interrupt=True,
        provider_config=tool_first(cost_per_output_token=0.06),  # not in the example
    )

    agent = BaseAutonomousAgent(config=config, signature=MySignature())

    # 2. Add budget constraint
    budget_handler = BudgetInterruptHandler(
        max_budget_usd=5.0,  # $5 limit
        checkpoint_before_stop=True,
    )
    agent.interrupt_manager.add_handler(budget_handler)

    # 3. Implement fallback strategy
    async def budget_aware_processing(data_batch):  # type: ignore[no-untyped-def]
        """
        Start with expensive model, fallback to cheaper if budget exceeded.
        """
        try:
            # Try with GPT-4 first
            result = await agent.run_autonomous(task=f"Process {len(data_batch)} items")
            return result

        except InterruptedError as e:
            if "budget" in e.reason.message.lower():
                print("⚠️  Budget limit reached, switching to GPT-3.5-turbo")

                # Switch to cheaper model
                agent.config.model = "gpt-3.5-turbo"
                agent.interrupt_manager.remove_handler(budget_handler)

                # Add higher budget for cheaper model
                budget_handler_cheap = BudgetInterruptHandler(max_budget_usd=10.0)
                agent.interrupt_manager.add_handler(budget_handler_cheap)

                # Resume processing
                checkpoint_id = e.reason.metadata.get("checkpoint_id")
                result = await agent.resume_from_checkpoint(checkpoint_id)
                return result

    # Process large dataset with cost controls
    batch_result = asyncio.run(budget_aware_processing(large_dataset))
    # --- end of the example --------------------------------------------------------------

    assert capsys.readouterr().out == "⚠️  Budget limit reached, switching to GPT-3.5-turbo\n"
    assert isinstance(batch_result["result"], str) and batch_result["stop_reason"] == "converged"
    assert batch_result["resumed_from"] and 5.0 < batch_result["cost"] < 10.0
    assert batch_result["_meta"]["model"] == "gpt-3.5-turbo"  # the switch reached the model
    handlers = agent.interrupt_manager.handlers
    assert len(handlers) == 1 and handlers[0].max_budget_usd == 10.0


def test_advanced_patterns_design_for_failure_config() -> None:
    """advanced-patterns.md, "Best Practices" > "1. Design for Failure"."""
    # --- the example ---------------------------------------------------------------------
    # Use checkpoints + interrupts for fault tolerance
    config = AutonomousConfig(
        enable_interrupts=True, checkpoint_frequency=10, checkpoint_on_interrupt=True, graceful_shutdown_timeout=30.0
    )
    # --- end of the example --------------------------------------------------------------
    agent = BaseAutonomousAgent(config.model_copy(update={"llm_provider": "mock"}), TaskSignature())
    assert agent.interrupt_manager.graceful_shutdown_timeout == 30.0 and agent.config.checkpoint_frequency == 10


def test_interrupted_error_is_agent_interrupted() -> None:
    """What every ``except InterruptedError as e`` above relies on."""
    assert issubclass(AgentInterrupted, InterruptedError)
