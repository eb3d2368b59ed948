"""The process-wide signal dispatcher, as a user hits it: the application's own SIGINT /
SIGTERM handlers survive overlapping runs, a signal reaches every active run, and an
uncaught signal interrupt exits 128 + signum (also from ``kaizen run``).

Signals are raised with ``signal.raise_signal`` in the main thread (the handler has run
when it returns) or sent once a run announces it is waiting; never after a sleep."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import BaseAgentConfig
from kaizen_core.errors import AgentInterrupted
from kaizen_core.interrupts import InterruptMode, InterruptScope, InterruptSource, current_scope
from kaizen_core.interrupts.signals import dispatcher
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.types import Completion, CompletionRequest
from kaizen_core.state import StateManager

pytestmark = pytest.mark.anyio

GRACE = 0.3


class AppHandler:
    """The application's own signal handler: records what it receives."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def __call__(self, signum: int, frame: Any) -> None:
        self.received.append(signum)


@pytest.fixture
def app_handler() -> Iterator[AppHandler]:
    handler = AppHandler()
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in saved:
        signal.signal(s, handler)
    yield handler
    for s, h in saved.items():
        signal.signal(s, h)


class GatedProvider(MockProvider):
    """Each call reports ``(its run's scope, gate)`` on ``entered`` and waits for the gate."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entered: asyncio.Queue[tuple[InterruptScope | None, asyncio.Event]] = asyncio.Queue()

    async def complete(self, request: CompletionRequest) -> Completion:
        gate = asyncio.Event()
        await self.entered.put((current_scope(), gate))
        await gate.wait()
        return await super().complete(request)


def _agent(provider: MockProvider, tmp_path: Path | None = None, **config: Any) -> BaseAgent:
    storage = {"checkpoint_storage": f"file://{tmp_path / 'ckpt'}"} if tmp_path is not None else {}
    return BaseAgent(
        BaseAgentConfig(llm_provider="mock", graceful_shutdown_timeout=GRACE, **storage, **config),
        "question -> answer",
        provider=provider,
    )


# ---------------------------------------------------------------- installed once, restored at the end
@pytest.mark.parametrize("first_to_end", ["a", "b"])
async def test_two_overlapping_runs_leave_the_applications_handlers_in_place(
    app_handler: AppHandler, first_to_end: str
) -> None:
    provider = GatedProvider(script=[{"answer": "done"}])
    agent_a, agent_b = _agent(provider), _agent(provider)
    run_a = asyncio.create_task(agent_a.run_async(question="a"))
    _, gate_a = await provider.entered.get()
    installed = signal.getsignal(signal.SIGTERM)
    assert installed is not app_handler and signal.getsignal(signal.SIGINT) is installed
    run_b = asyncio.create_task(agent_b.run_async(question="b"))
    _, gate_b = await provider.entered.get()
    assert signal.getsignal(signal.SIGTERM) is installed  # installed once, shared

    first, second = [(gate_a, run_a), (gate_b, run_b)][:: 1 if first_to_end == "a" else -1]
    first[0].set()
    assert (await first[1])["answer"] == "done"
    assert signal.getsignal(signal.SIGTERM) is installed  # the other run still takes signals
    second[0].set()
    assert (await second[1])["answer"] == "done"
    assert signal.getsignal(signal.SIGTERM) is app_handler
    assert signal.getsignal(signal.SIGINT) is app_handler
    assert app_handler.received == []


async def test_each_of_several_runs_in_turn_installs_the_handlers_and_puts_the_applications_back(
    app_handler: AppHandler,
) -> None:
    provider = GatedProvider(script=[{"answer": "done"}])
    agent = _agent(provider)
    for question in ("one", "two", "three"):
        run = asyncio.create_task(agent.run_async(question=question))
        scope, gate = await provider.entered.get()
        assert signal.getsignal(signal.SIGTERM) is not app_handler and scope in dispatcher.scopes
        gate.set()
        assert (await run)["answer"] == "done"
        assert signal.getsignal(signal.SIGTERM) is app_handler and signal.getsignal(signal.SIGINT) is app_handler
        assert dispatcher.scopes == () and not dispatcher.installed
        assert agent.interrupt_manager.runs == [] and current_scope() is None


async def test_a_failed_run_puts_the_applications_handlers_back(app_handler: AppHandler) -> None:
    from kaizen_core.errors import ProviderError

    agent = _agent(MockProvider(script=[{"error": {"status": 400, "message": "bad request"}}]))
    with pytest.raises(ProviderError, match="bad request"):
        await agent.run_async(question="q")
    assert signal.getsignal(signal.SIGTERM) is app_handler and signal.getsignal(signal.SIGINT) is app_handler
    assert dispatcher.scopes == () and not dispatcher.installed
    assert agent.interrupt_manager.runs == [] and current_scope() is None


def test_a_blocking_run_and_a_run_in_another_thread_restore_the_handlers(app_handler: AppHandler) -> None:
    import queue

    # The two runs are on two loops (the main thread's own, the background one): gates are
    # opened on their own loop, from the releaser thread.
    entered: queue.Queue[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = queue.Queue()

    class ThreadGatedProvider(MockProvider):
        async def complete(self, request: CompletionRequest) -> Completion:
            gate = asyncio.Event()
            entered.put((asyncio.get_running_loop(), gate))
            await gate.wait()
            return await super().complete(request)

    provider = ThreadGatedProvider(script=[{"answer": "done"}])
    main_agent, thread_agent = _agent(provider), _agent(provider)
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(thread_agent.run(question="t")["answer"]))
    held: list[bool] = []

    def release_both() -> None:
        gates = [entered.get(timeout=60) for _ in range(2)]
        held.append(signal.getsignal(signal.SIGTERM) is not app_handler)  # held by the main thread's call
        for loop, gate in gates:
            loop.call_soon_threadsafe(gate.set)

    worker.start()
    releaser = threading.Thread(target=release_both)
    releaser.start()
    results.append(main_agent.run(question="m")["answer"])
    releaser.join()
    worker.join()
    assert held == [True] and results == ["done", "done"]
    assert signal.getsignal(signal.SIGTERM) is app_handler and signal.getsignal(signal.SIGINT) is app_handler


async def test_a_handler_the_application_installs_during_a_run_is_kept(app_handler: AppHandler) -> None:
    provider = GatedProvider(script=[{"answer": "done"}])
    run = asyncio.create_task(_agent(provider).run_async(question="q"))
    _, gate = await provider.entered.get()
    replacement = AppHandler()
    signal.signal(signal.SIGTERM, replacement)
    gate.set()
    await run
    assert signal.getsignal(signal.SIGTERM) is replacement  # not clobbered by the restore
    assert signal.getsignal(signal.SIGINT) is app_handler


def test_only_the_main_thread_can_hold_the_dispatcher(app_handler: AppHandler) -> None:
    held: list[bool] = []
    thread = threading.Thread(target=lambda: held.append(dispatcher.hold()))
    thread.start()
    thread.join()
    assert held == [False] and signal.getsignal(signal.SIGTERM) is app_handler


# ---------------------------------------------------------------- delivery
async def test_a_signal_reaches_every_active_run_then_escalates(app_handler: AppHandler, tmp_path: Path) -> None:
    provider = GatedProvider()
    agents = [_agent(provider, tmp_path), _agent(provider, tmp_path)]
    runs = [asyncio.create_task(agent.run_async(question="q")) for agent in agents]
    scopes = [(await provider.entered.get())[0] for _ in runs]

    signal.raise_signal(signal.SIGTERM)
    for scope in scopes:
        assert scope is not None and scope.reason is not None
        assert scope.reason.metadata["signal"] == "SIGTERM" and scope.mode is InterruptMode.GRACEFUL
    signal.raise_signal(signal.SIGTERM)  # the second one: stop now
    for task in runs:
        with pytest.raises(AgentInterrupted) as info:
            await task
        assert info.value.reason.mode is InterruptMode.IMMEDIATE
        assert info.value.reason.metadata["signal"] == "SIGTERM" and info.value.reason.metadata["checkpoint_id"]
    assert app_handler.received == []  # the runs took it


async def test_a_nested_run_hears_a_signal_once_through_its_parent(app_handler: AppHandler) -> None:
    provider = GatedProvider()
    inner_agent = _agent(provider)

    class OuterProvider(MockProvider):
        async def complete(self, request: CompletionRequest) -> Completion:
            await inner_agent.run_async(question="inner")  # a sub-agent run inside this run
            raise AssertionError("unreachable")

    outer = asyncio.create_task(_agent(OuterProvider()).run_async(question="outer"))
    inner_scope, _ = await provider.entered.get()
    assert inner_scope is not None and inner_scope.parent is not None

    signal.raise_signal(signal.SIGINT)
    reason = inner_scope.reason
    assert reason is not None and reason.mode is InterruptMode.GRACEFUL  # once, not escalated by a second delivery
    assert reason.metadata["propagated_from_parent"] is True
    signal.raise_signal(signal.SIGINT)
    with pytest.raises(AgentInterrupted) as info:
        await outer
    assert info.value.reason.metadata["signal"] == "SIGINT"


class GatedSideEffectStep:
    """A strategy whose one step has side effects (unlike a model call, a GRACEFUL stop lets it
    finish): it reports ``(its run's scope, gate)`` on ``entered`` and waits for the gate."""

    name = "gated_side_effect"

    def __init__(self) -> None:
        self.entered: asyncio.Queue[tuple[InterruptScope | None, asyncio.Event]] = asyncio.Queue()

    async def execute(self, run: Any) -> dict[str, Any]:
        gate = asyncio.Event()

        async def step() -> None:
            await self.entered.put((current_scope(), gate))
            await gate.wait()

        await run.guard(step)
        return {"answer": "done"}


async def test_a_signal_taken_by_a_run_that_then_finishes_is_passed_on(app_handler: AppHandler) -> None:
    provider = GatedProvider(script=[{"answer": "done"}])
    strategy = GatedSideEffectStep()
    agent_a = BaseAgent(
        BaseAgentConfig(llm_provider="mock", graceful_shutdown_timeout=GRACE),
        "question -> answer",
        provider=provider,
        strategy=strategy,
    )
    agent_b = _agent(provider)
    run_a = asyncio.create_task(agent_a.run_async(question="a"))
    scope_a, gate_a = await strategy.entered.get()
    signal.raise_signal(signal.SIGTERM)
    assert scope_a is not None and scope_a.mode is InterruptMode.GRACEFUL
    run_b = asyncio.create_task(agent_b.run_async(question="b"))  # started after the signal
    scope_b, gate_b = await provider.entered.get()
    assert scope_b is not None and not scope_b.is_interrupted()

    gate_a.set()  # run a finishes its last step within the grace period: its result stands...
    assert (await run_a)["answer"] == "done"
    # ...and the signal goes on to whoever takes it now: the other run
    assert scope_b.reason is not None and scope_b.reason.metadata["signal"] == "SIGTERM"
    # run b is in a model call, which a GRACEFUL stop cancels at once (nothing to finish): it stops
    with pytest.raises(AgentInterrupted):
        await run_b
    gate_b.set()
    await asyncio.sleep(0)
    assert app_handler.received == []  # run b acted on the signal: it is not passed on again


def test_with_no_run_taking_signals_the_original_handler_gets_them(app_handler: AppHandler) -> None:
    with dispatcher.watching():
        assert signal.getsignal(signal.SIGTERM) is not app_handler
        signal.raise_signal(signal.SIGTERM)
    assert app_handler.received == [signal.SIGTERM]


def test_a_sigint_when_every_run_is_already_stopping_raises_keyboard_interrupt(app_handler: AppHandler) -> None:
    scope = InterruptScope()
    scope.request_interrupt(InterruptSource.USER, InterruptMode.IMMEDIATE, "stop now")
    with dispatcher.watching(scope):
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)  # a SIGTERM has no last resort: ignored
    assert app_handler.received == []


# ---------------------------------------------------------------- exit codes
def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [({"signal": "SIGINT"}, 130), ({"signal": "SIGTERM"}, 143), ({}, 1)],
)
def test_an_uncaught_interrupt_exits_with_the_signal_code(metadata: dict[str, str], expected: int) -> None:
    code = """
        import asyncio, atexit, sys
        from kaizen_core.errors import AgentInterrupted
        from kaizen_core.interrupts import InterruptReason, InterruptSource
        from kaizen_core.interrupts.signals import dispatcher

        atexit.register(lambda: print("atexit ran", flush=True))
        async def main():
            with dispatcher.watching():  # what a run does when it starts
                pass
            reason = InterruptReason(source=InterruptSource.USER, metadata=eval(sys.argv[1]))
            raise ExceptionGroup("task group", [AgentInterrupted("stopped", reason=reason)])
        asyncio.run(main())
    """
    proc = _python(code, repr(metadata))
    assert proc.returncode == expected, proc.stderr
    assert "AgentInterrupted" in proc.stderr and "atexit ran" in proc.stdout


def test_an_interactive_session_is_not_ended_by_a_signal_interrupt() -> None:
    script = """
        from kaizen_core.errors import AgentInterrupted
        from kaizen_core.interrupts import InterruptReason, InterruptSource
        from kaizen_core.interrupts.signals import install_exit_hook
        install_exit_hook()
        raise AgentInterrupted("x", reason=InterruptReason(source=InterruptSource.USER, metadata={"signal": "SIGINT"}))
    """
    proc = subprocess.run(
        [sys.executable, "-i", "-c", textwrap.dedent(script)],
        input='print("still here")\n',
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "still here" in proc.stdout and proc.returncode == 0, proc.stderr


def test_kaizen_run_exits_143_on_sigterm_with_a_checkpoint(tmp_path: Path) -> None:
    checkpoints = tmp_path / "ckpt"
    agent_file = tmp_path / "agent.toml"
    agent_file.write_text(
        textwrap.dedent(f"""
            [agent]
            id = "cli-agent"
            type = "autonomous"
            signature = "task -> summary"
            llm_provider = "mock"
            checkpoint_storage = "file://{checkpoints}"
            graceful_shutdown_timeout = {GRACE}

            [agent.provider_config]
            script = [{{delay = 3600, summary = "never"}}]
        """),
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "kaizen_core.cli", "run", str(agent_file), "--input", "task=wait"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Ready when the run's first checkpoint exists (saved after the signal handlers are in place).
        deadline = time.monotonic() + 120
        while not (checkpoints.exists() and any(p.is_file() for p in checkpoints.rglob("*"))):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert '"stop_reason": "interrupted"' in out and "received SIGTERM" in err
    state = asyncio.run(StateManager(f"file://{checkpoints}").resume_from_latest("cli-agent"))
    assert state is not None and state.status == "interrupted"


def test_the_scripts_exit_code_is_not_changed_when_nothing_was_interrupted() -> None:
    proc = _python("""
        import sys
        from kaizen_core.interrupts.signals import install_exit_hook
        install_exit_hook()
        install_exit_hook()  # once only
        assert getattr(sys.excepthook, "_kaizen_exit_hook")
        raise SystemExit(7)
    """)
    assert proc.returncode == 7, proc.stderr
