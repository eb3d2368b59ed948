"""Interrupts wired into agents, as a user hits them: per-run state (a stopped run leaves
nothing behind), handlers added after construction, overlapping runs, storage outages
on the interrupt path, and real processes stopped by real signals (exit 130 / 143).

Runs wait in a provider or tool that announces itself (an event, or a line on a pipe);
interrupts are sent after that, never after a sleep."""

from __future__ import annotations

import asyncio
import builtins
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import AutonomousConfig, BaseAgentConfig
from kaizen_core.errors import AgentInterrupted, StorageError
from kaizen_core.hooks import HookEvent, HookManager
from kaizen_core.interrupts import (
    BaseInterruptHandler,
    BudgetInterruptHandler,
    InterruptContext,
    InterruptManager,
    InterruptMode,
    InterruptReason,
    InterruptScope,
    InterruptSource,
    TimeoutInterruptHandler,
    current_scope,
)
from kaizen_core.providers.mock import MockProvider, tool_calls_reply
from kaizen_core.providers.types import Completion, CompletionRequest
from kaizen_core.state import CheckpointMeta, CheckpointStore, FilesystemStorage, StateManager
from kaizen_core.tools import tool

pytestmark = pytest.mark.anyio

SCRIPT = Path(__file__).with_name("interrupt_agent_script.py")
GRACE = 0.5


def _config(tmp_path: Path, **extra: Any) -> BaseAgentConfig:
    return BaseAgentConfig(
        llm_provider="mock",
        checkpoint_storage=f"file://{tmp_path / 'checkpoints'}",
        graceful_shutdown_timeout=GRACE,
        timeout=300,
        **extra,
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class GatedProvider(MockProvider):
    """The mock provider, but each call reports ``(scope of its run, gate)`` on ``entered``
    and waits until the test opens the gate (a stuck model until then)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entered: asyncio.Queue[tuple[InterruptScope | None, asyncio.Event]] = asyncio.Queue()

    async def complete(self, request: CompletionRequest) -> Completion:
        gate = asyncio.Event()
        await self.entered.put((current_scope(), gate))
        await gate.wait()
        return await super().complete(request)


class HeldProvider(MockProvider):
    """The mock provider, but a call answers only once ``release`` is set (a slow model
    that has not answered yet). It waits in a worker thread, so a sync ``run()`` can use
    it and an interrupt can abandon the wait; 30 s only bounds a hang."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = threading.Event()

    async def complete(self, request: CompletionRequest) -> Completion:
        await anyio.to_thread.run_sync(self.release.wait, 30, abandon_on_cancel=True)
        return await super().complete(request)


class StopWhenAsked(BaseInterruptHandler):
    """Fires (IMMEDIATE) once ``flag`` is set: a handler whose condition the test controls."""

    name = "stop_when_asked"

    def __init__(self) -> None:
        super().__init__(InterruptMode.IMMEDIATE)
        self.flag = asyncio.Event()

    def check_interrupt(self, context: InterruptContext) -> InterruptReason | None:
        return self._reason("asked to stop") if self.flag.is_set() else None


# ---------------------------------------------------------------- per-run state
def test_a_timeout_handler_added_after_construction_stops_a_slow_reply_and_the_next_run_succeeds(
    tmp_path: Path,
) -> None:
    provider = HeldProvider(script=[{"answer": "too late"}])  # answers only once released, below
    # Default settings (graceful_shutdown_timeout=5): a GRACEFUL stop cancels a model call at once,
    # since a model call has no side effect to finish (tool calls get the grace period).
    config = BaseAgentConfig(llm_provider="mock", checkpoint_storage=f"file://{tmp_path / 'checkpoints'}")
    agent = BaseAgent(config, "question -> answer", provider=provider, agent_id="slow-agent")
    agent.interrupt_manager.add_handler(TimeoutInterruptHandler(timeout_seconds=0.5))

    try:
        with pytest.raises(InterruptedError) as info:
            agent.run(question="anyone there?")
    finally:
        provider.release.set()

    # The reply cannot come before the release: the handler stopped the run, and at once (a
    # GRACEFUL stop that waited out the 5 s grace would say "escalated"), whatever the speed.
    assert isinstance(info.value, AgentInterrupted)
    reason = info.value.reason
    assert reason.source is InterruptSource.SYSTEM and reason.metadata["handler"] == "timeout"
    assert reason.mode is InterruptMode.GRACEFUL and "escalated" not in reason.metadata
    manager = StateManager(f"file://{tmp_path / 'checkpoints'}")
    loaded = asyncio.run(manager.load_checkpoint(reason.metadata["checkpoint_id"]))
    assert loaded.agent_id == "slow-agent" and loaded.status == "interrupted"
    assert any("anyone there?" in str(m.get("content")) for m in loaded.conversation_history)

    provider.script = [{"answer": "quick"}]
    assert agent.run(question="and now?")["answer"] == "quick"  # a fresh run: a fresh timeout window


async def test_each_run_gets_a_fresh_timeout_window_on_the_injected_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    manager = InterruptManager(graceful_shutdown_timeout=GRACE, poll_interval=0.01, clock=clock)
    provider = GatedProvider(script=[{"answer": "fine"}])
    agent = BaseAgent(_config(tmp_path), "question -> answer", provider=provider, interrupt_manager=manager)
    manager.add_handler(TimeoutInterruptHandler(10, mode="immediate"))

    first = asyncio.create_task(agent.run_async(question="one"))
    _, _gate = await provider.entered.get()
    clock.now = 10.0  # the first run is now 10 s old
    with pytest.raises(AgentInterrupted) as info:
        await first
    assert info.value.reason.metadata["elapsed_s"] == 10.0

    second = asyncio.create_task(agent.run_async(question="two"))
    _, gate = await provider.entered.get()
    clock.now = 19.0  # 9 s into the second run: within its own window
    gate.set()
    assert (await second)["answer"] == "fine"


async def test_a_handler_watches_runs_even_when_interrupts_are_disabled_in_the_config(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGINT)
    provider = GatedProvider()
    agent = BaseAgent(_config(tmp_path, enable_interrupts=False), "question -> answer", provider=provider)
    stop = StopWhenAsked()
    agent.interrupt_manager.add_handler(stop)

    run = asyncio.create_task(agent.run_async(question="stuck"))
    await provider.entered.get()
    assert signal.getsignal(signal.SIGINT) is before  # disabled: no signal handlers installed
    stop.flag.set()
    with pytest.raises(AgentInterrupted) as info:
        await run
    assert info.value.reason.metadata["handler"] == "stop_when_asked"
    assert info.value.reason.metadata["checkpoint_id"]


async def test_overlapping_runs_of_one_agent_stop_independently(tmp_path: Path) -> None:
    provider = GatedProvider(script=[{"answer": "done"}])
    agent = BaseAgent(_config(tmp_path), "question -> answer", provider=provider)

    run_a = asyncio.create_task(agent.run_async(question="a"))
    scope_a, _ = await provider.entered.get()
    run_b = asyncio.create_task(agent.run_async(question="b"))
    scope_b, gate_b = await provider.entered.get()
    assert scope_a is not None and scope_b is not None and scope_a is not scope_b
    assert agent.interrupt_manager.runs == [scope_a, scope_b]

    scope_a.request_interrupt(InterruptSource.PROGRAMMATIC, InterruptMode.IMMEDIATE, "only a")
    with pytest.raises(AgentInterrupted) as info:
        await run_a
    assert info.value.reason.message == "only a"
    assert not scope_b.is_interrupted()
    gate_b.set()
    assert (await run_b)["answer"] == "done"
    assert agent.interrupt_manager.runs == []


async def test_request_interrupt_on_the_manager_stops_every_active_run_of_the_agent(tmp_path: Path) -> None:
    provider = GatedProvider()
    agent = BaseAgent(_config(tmp_path), "question -> answer", provider=provider)
    runs = [asyncio.create_task(agent.run_async(question=q)) for q in ("a", "b")]
    for _ in runs:
        await provider.entered.get()

    assert agent.interrupt_manager.request_interrupt("programmatic", "immediate", "shut the agent down")
    for task in runs:
        with pytest.raises(AgentInterrupted) as info:
            await task
        assert info.value.reason.message == "shut the agent down"
    assert not agent.interrupt_manager.request_interrupt("programmatic")  # nothing runs now
    provider.script = [{"answer": "back"}]
    assert (await _open_gate_and_run(agent, provider))["answer"] == "back"


async def _open_gate_and_run(agent: BaseAgent, provider: GatedProvider) -> dict[str, Any]:
    run = asyncio.create_task(agent.run_async(question="again"))
    _, gate = await provider.entered.get()
    gate.set()
    return await run


async def test_budget_handler_stops_a_scripted_run_when_cost_passes_the_limit(tmp_path: Path) -> None:
    calls: list[int] = []

    @tool
    def lookup(n: int) -> int:
        """Look a number up."""
        calls.append(n)
        return n * 2

    script = [tool_calls_reply(("lookup", {"n": i})) for i in range(10)]
    script.append({"answer": "done"})
    # Every reply costs 0.01 USD per output token; a tool-call reply is a handful of tokens.
    provider = MockProvider(script=script, cost_per_output_token=0.01)
    agent = BaseAgent(_config(tmp_path), "question -> answer", provider=provider, tools=[lookup], agent_id="spender")
    limit = 0.1
    agent.interrupt_manager.add_handler(BudgetInterruptHandler(limit))

    with pytest.raises(AgentInterrupted) as info:
        await agent.run_async(question="count")

    reason = info.value.reason
    assert reason.metadata["handler"] == "budget" and reason.mode is InterruptMode.GRACEFUL
    spent = reason.metadata["budget_spent_usd"]
    assert spent >= limit
    # It stopped at the first cycle that crossed the limit: one reply fewer cost less than the limit.
    per_call = spent / len(provider.requests)
    assert spent - per_call < limit + 1e-9
    assert 1 < len(provider.requests) < 10 and len(calls) == len(provider.requests)
    state = await agent.state_manager.load_checkpoint(reason.metadata["checkpoint_id"])  # type: ignore[union-attr]
    assert state.status == "interrupted" and state.budget_spent_usd == pytest.approx(spent)
    assert len(state.completed_tool_calls) == len(calls)


# ---------------------------------------------------------------- storage outage on the interrupt path
class DownStore(CheckpointStore):
    """A FilesystemStorage whose writes raise StorageError while ``down`` is set."""

    scheme = "down"

    def __init__(self, root: Path, down: bool = True) -> None:
        self.inner = FilesystemStorage(root)
        self.down = down

    @classmethod
    def from_url(cls, url: str, **options: Any) -> DownStore:
        raise NotImplementedError

    async def write(self, meta: CheckpointMeta, payload: bytes) -> None:
        if self.down:
            raise StorageError("down://test is unreachable", hint="the test's outage")
        await self.inner.write(meta, payload)

    async def read(self, checkpoint_id: str) -> tuple[CheckpointMeta, bytes]:
        return await self.inner.read(checkpoint_id)

    async def list(self, agent_id: str) -> builtins.list[CheckpointMeta]:
        return await self.inner.list(agent_id)

    async def delete(self, checkpoint_id: str) -> bool:
        return await self.inner.delete(checkpoint_id)

    async def list_agents(self) -> builtins.list[str]:
        return await self.inner.list_agents()

    async def journal_append(self, stream: str, record: bytes) -> None:
        await self.inner.journal_append(stream, record)

    async def journal_read(self, stream: str) -> builtins.list[bytes]:
        return await self.inner.journal_read(stream)


def _errors_seen() -> tuple[HookManager, list[dict[str, Any]]]:
    hooks = HookManager()
    seen: list[dict[str, Any]] = []
    hooks.register(HookEvent.ON_ERROR, lambda ctx: seen.append(dict(ctx.metadata)))
    return hooks, seen


async def test_an_interrupt_still_raises_agent_interrupted_when_the_checkpoint_store_is_down(tmp_path: Path) -> None:
    hooks, errors = _errors_seen()
    provider = GatedProvider()
    agent = BaseAgent(
        BaseAgentConfig(llm_provider="mock", graceful_shutdown_timeout=GRACE),
        "question -> answer",
        provider=provider,
        hook_manager=hooks,
        state_manager=StateManager(DownStore(tmp_path)),
    )
    run = asyncio.create_task(agent.run_async(question="q"))
    await provider.entered.get()
    agent.interrupt_manager.request_interrupt("user", "immediate", "stop")

    with pytest.raises(AgentInterrupted) as info:
        await run
    assert "checkpoint_id" not in info.value.reason.metadata
    result = info.value.result
    assert result is not None and result["_meta"]["provider_calls"] == 0
    (record,) = result["_meta"]["storage_errors"]
    assert record["phase"] == "checkpoint" and record["status"] == "interrupted"
    assert record["error_code"] == StorageError.code and "unreachable" in record["error"]
    assert [e["phase"] for e in errors] == ["checkpoint"] and errors[0]["error_code"] == StorageError.code


async def test_an_autonomous_run_interrupted_during_an_outage_keeps_its_partial_result(tmp_path: Path) -> None:
    store = DownStore(tmp_path, down=False)
    entered = asyncio.Event()

    @tool
    async def outage() -> str:
        """Take the store down, then hang."""
        store.down = True
        entered.set()
        await asyncio.Event().wait()
        return "unreachable"

    hooks, errors = _errors_seen()
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", graceful_shutdown_timeout=GRACE),
        "task -> summary",
        provider=MockProvider(script=[tool_calls_reply(("outage", {}))]),
        tools=[outage],
        hook_manager=hooks,
        state_manager=StateManager(store),
    )
    run = asyncio.create_task(agent.run_autonomous("break the store"))
    await entered.wait()
    agent.interrupt_manager.request_interrupt("user", "immediate", "stop")

    with pytest.raises(AgentInterrupted) as info:
        await run
    result = info.value.result
    assert result is not None and result["stop_reason"] == "interrupted" and result["cycles_used"] == 1
    assert any(
        e["phase"] == "checkpoint" and e.get("status") == "interrupted" for e in result["_meta"]["storage_errors"]
    )
    assert any(e.get("status") == "interrupted" for e in errors)
    assert result["checkpoint_id"]  # the run's first checkpoint, saved before the outage, is the one to resume


# ---------------------------------------------------------------- real processes, real signals
def _start(mode: str, tmp_path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), mode, str(tmp_path / "checkpoints"), str(GRACE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the agent waits in its tool / provider
    if line.strip() != "READY":
        proc.kill()
        _, err = proc.communicate(timeout=60)
        pytest.fail(f"agent script did not start: {line!r}\n{err}")
    return proc


@pytest.mark.parametrize("mode", ["async", "sync", "base"])
@pytest.mark.parametrize(("signum", "expected_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_an_uncaught_signal_interrupt_exits_128_plus_signum_with_a_loadable_checkpoint(
    tmp_path: Path, mode: str, signum: signal.Signals, expected_code: int
) -> None:
    proc = _start(mode, tmp_path)
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == expected_code, err
    assert f"received {signum.name}" in err and "AgentInterrupted" in err  # the usual report of an uncaught error
    assert "Error in sys.excepthook" not in err
    manager = StateManager(f"file://{tmp_path / 'checkpoints'}")
    state = await manager.resume_from_latest("signal-agent")
    assert state is not None and state.status == "interrupted"
    assert any("Wait for the signal" in str(m.get("content")) for m in state.conversation_history)
    loaded = await manager.load_checkpoint(state.checkpoint_id)
    assert loaded.checkpoint_id == state.checkpoint_id
