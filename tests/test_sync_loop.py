"""The sync API runs on a persistent loop: the main thread's own (no thread hop), or the
shared background loop for other threads and for callers inside a running loop. Per-loop
clients live across ``run()`` calls, one per loop, and are closed by ``agent.close()``;
Ctrl+C while a blocking call runs stops the run gracefully, then at once, then cancels
the call. Signals are raised by the run itself (event-driven, never after a sleep)."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from kaizen_core._sync import background_loop, run_sync
from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import BaseAgentConfig
from kaizen_core.errors import AgentInterrupted
from kaizen_core.providers.http import HTTPClient
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.types import Completion, CompletionRequest, Usage
from kaizen_core.state import StateManager
from kaizen_testing.stub_http import StubHTTPServer, StubReply

pytestmark = pytest.mark.anyio


class LoopClient:
    """A client bound to the loop that created it, like an httpx / redis / asyncpg pool."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.closed = False

    async def aclose(self) -> None:
        assert asyncio.get_running_loop() is self.loop, "closed from another loop"
        self.closed = True


class RecordingProvider(MockProvider):
    """Records the loop of every call; creates its client on first use; closes it in aclose()."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.clients: list[LoopClient] = []
        self.client: LoopClient | None = None

    async def complete(self, request: CompletionRequest) -> Completion:
        self.loops.append(asyncio.get_running_loop())
        if self.client is None or self.client.loop is not asyncio.get_running_loop():
            self.client = LoopClient()
            self.clients.append(self.client)
        return await super().complete(request)

    async def aclose(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.aclose()


def _agent(provider: MockProvider, **config: Any) -> BaseAgent:
    return BaseAgent(BaseAgentConfig(llm_provider="mock", **config), "question -> answer", provider=provider)


def test_sync_runs_share_one_loop_and_reuse_the_client_until_close() -> None:
    provider = RecordingProvider()
    agent = _agent(provider)
    agent.run(question="one")
    agent.run(question="two")
    # the main thread's own loop: the same for both calls, not the background thread's, kept open
    assert provider.loops[0] is provider.loops[1] and provider.loops[0] is not background_loop()
    assert not provider.loops[0].is_closed() and not provider.loops[0].is_running()
    assert len(provider.clients) == 1  # made in call 1, reused in call 2
    client = provider.clients[0]
    assert not client.closed
    agent.close()
    assert client.closed
    agent.close()  # twice is fine


def test_the_agent_as_a_context_manager_closes_its_clients() -> None:
    provider = RecordingProvider()
    with _agent(provider) as agent:
        assert agent.run(question="q")["_meta"]["provider_calls"] == 1
    assert provider.clients[0].closed


async def test_the_agent_as_an_async_context_manager_closes_its_clients() -> None:
    provider = RecordingProvider()
    async with _agent(provider) as agent:
        await agent.run_async(question="q")
        assert provider.loops == [asyncio.get_running_loop()]
    assert provider.clients[0].closed


class HTTPProvider(MockProvider):
    """A provider talking to a stub HTTP server through the shared HTTPClient."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.http = HTTPClient(provider="stub", base_url=url, max_retries=0)
        self.pools: list[list[Any]] = []

    async def complete(self, request: CompletionRequest) -> Completion:
        body = await self.http.post_json("v1/answer", {"q": request.messages[-1].content})
        self.pools.append(self.http.clients)
        return Completion(content=f'{{"answer": "{body["answer"]}"}}', usage=Usage(), model="stub")

    async def aclose(self) -> None:
        await self.http.aclose()


def test_the_http_connection_pool_survives_across_sync_runs() -> None:
    with StubHTTPServer([StubReply(200, body={"answer": "a1"}), StubReply(200, body={"answer": "a2"})]) as server:
        provider = HTTPProvider(server.url)
        with _agent(provider) as agent:
            assert agent.run(question="1")["answer"] == "a1"
            assert agent.run(question="2")["answer"] == "a2"
            (pool,) = provider.pools[0]  # one loop (the main thread's), one pool
            assert provider.pools == [[pool], [pool]] and not pool.is_closed
        assert pool.is_closed
    assert [r.path for r in server.requests] == ["/v1/answer", "/v1/answer"]


async def test_the_sync_api_works_inside_a_running_event_loop() -> None:
    provider = RecordingProvider()
    agent = _agent(provider)
    result = agent.run(question="from a notebook cell")  # blocks this loop while the background one runs it
    assert result["_meta"]["provider_calls"] == 1
    assert provider.loops == [background_loop()] and provider.loops[0] is not asyncio.get_running_loop()


def test_sync_runs_from_several_threads_run_concurrently_on_the_shared_loop() -> None:
    threads = 4
    barrier: list[asyncio.Barrier] = []

    class MeetingProvider(RecordingProvider):
        async def complete(self, request: CompletionRequest) -> Completion:
            await barrier[0].wait()  # returns only when all four runs are in flight at once
            return await super().complete(request)

    async def make_barrier() -> None:
        barrier.append(asyncio.Barrier(threads))

    run_sync(make_barrier)
    provider = MeetingProvider()
    agent = _agent(provider)
    answers: list[dict[str, Any]] = []
    workers = [threading.Thread(target=lambda: answers.append(agent.run(question="q"))) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(answers) == threads and set(map(id, provider.loops)) == {id(background_loop())}


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


def test_the_callers_context_variables_reach_the_run() -> None:
    seen: list[str] = []

    class ContextProvider(MockProvider):
        async def complete(self, request: CompletionRequest) -> Completion:
            seen.append(REQUEST_ID.get())  # e.g. a request id for logs, a tracing context
            return await super().complete(request)

    agent = _agent(ContextProvider())
    token = REQUEST_ID.set("req-1")
    try:
        agent.run(question="q")
    finally:
        REQUEST_ID.reset(token)
    agent.run(question="q")
    assert seen == ["req-1", "unset"]


def test_sync_code_running_on_the_background_loop_does_not_deadlock() -> None:
    inner = _agent(RecordingProvider())

    class NestingProvider(MockProvider):
        async def complete(self, request: CompletionRequest) -> Completion:
            nested = inner.run(question="nested, blocking")  # sync call from inside the shared loop
            assert nested["_meta"]["provider_calls"] == 1
            return await super().complete(request)

    assert _agent(NestingProvider()).run(question="outer")["_meta"]["provider_calls"] == 1


# ---------------------------------------------------------------- Ctrl+C while a sync call waits
class InterruptingProvider(MockProvider):
    """Sends SIGINT to this process once its call is running, then waits to be cancelled."""

    async def complete(self, request: CompletionRequest) -> Completion:
        os.kill(os.getpid(), signal.SIGINT)  # delivered to the main thread, which waits in run()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


@pytest.mark.parametrize("enable_interrupts", [True, False])
def test_ctrl_c_during_a_sync_run_stops_it_gracefully_with_a_checkpoint(
    tmp_path: Path, enable_interrupts: bool
) -> None:
    # enable_interrupts=True: the dispatcher takes the signal; False: it is a KeyboardInterrupt
    # in the waiting thread, turned into the same graceful stop.
    agent = _agent(
        InterruptingProvider(),
        checkpoint_storage=f"file://{tmp_path}",
        graceful_shutdown_timeout=0.3,
        enable_interrupts=enable_interrupts,
    )
    agent.interrupt_manager  # noqa: B018 - the manager (and so a scope per run) even when disabled
    with pytest.raises(AgentInterrupted) as info:
        agent.run(question="q")
    reason = info.value.reason
    assert reason.metadata["signal"] == "SIGINT" and reason.source.value == "user"
    state = asyncio.run(StateManager(f"file://{tmp_path}").load_checkpoint(reason.metadata["checkpoint_id"]))
    assert state.status == "interrupted"


class QuickAfterCtrlC(MockProvider):
    """Sends SIGINT to this process, then answers at once (the run finishes within its grace)."""

    async def complete(self, request: CompletionRequest) -> Completion:
        os.kill(os.getpid(), signal.SIGINT)
        return await super().complete(request)


@pytest.mark.parametrize("enable_interrupts", [True, False])
def test_ctrl_c_is_not_lost_when_the_run_finishes_anyway(enable_interrupts: bool) -> None:
    agent = _agent(QuickAfterCtrlC(), graceful_shutdown_timeout=60, enable_interrupts=enable_interrupts)
    agent.interrupt_manager  # noqa: B018
    with pytest.raises(KeyboardInterrupt):
        agent.run(question="q")


def test_ctrl_c_during_a_sync_call_without_a_run_raises_keyboard_interrupt() -> None:
    cancelled = threading.Event()

    async def stuck() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(KeyboardInterrupt):
        run_sync(stuck)
    assert cancelled.wait(60)  # the abandoned coroutine was cancelled on the background loop


def test_when_no_thread_can_be_started_a_call_from_another_thread_runs_in_that_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python 3.12 refuses new threads in atexit handlers (a daemon thread may still call then).
    import kaizen_core._sync as sync

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    provider = RecordingProvider()
    agent = _agent(provider)
    go, results = threading.Event(), []

    def late_caller() -> None:
        go.wait()
        results.append(agent.run(question="at exit"))

    caller = threading.Thread(target=late_caller)
    caller.start()
    monkeypatch.setattr(sync, "_background", sync._BackgroundLoop())  # not started yet
    monkeypatch.setattr(threading.Thread, "start", refuse)
    go.set()
    caller.join()
    assert results[0]["_meta"]["provider_calls"] == 1
    assert provider.loops[0].is_closed()  # a loop of its own (asyncio.run), not the shared one


ATEXIT_SCRIPT = """
import atexit
from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import BaseAgentConfig

agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer")
# registered before Kaizen's first sync call, so it runs after Kaizen closed the main thread's loop
atexit.register(lambda: print("at exit:", agent.run(question="q")["_meta"]["provider_calls"], flush=True))
print("first:", agent.run(question="q")["_meta"]["provider_calls"], flush=True)
# a worker thread (anyio's are not daemons) is stopped when its call ends: the process can exit
import anyio
from kaizen_core._sync import run_sync
print("thread:", run_sync(anyio.to_thread.run_sync, lambda: 1), flush=True)
"""


def test_sync_calls_work_before_and_after_the_main_loop_is_closed_at_exit() -> None:
    proc = subprocess.run([sys.executable, "-c", ATEXIT_SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["first: 1", "thread: 1", "at exit: 1"]
    assert "Traceback" not in proc.stderr and "unclosed" not in proc.stderr


FORK_SCRIPT = """
import asyncio, os
from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import BaseAgentConfig
from kaizen_core.providers.mock import MockProvider

class Recording(MockProvider):
    async def complete(self, request):
        self.loops = [*getattr(self, "loops", []), asyncio.get_running_loop()]
        return await super().complete(request)

provider = Recording()
agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", provider=provider)
agent.run(question="before fork")
pid = os.fork()
if pid == 0:  # the child: a loop of its own, not the parent's (whose selector it shares)
    agent.run(question="in the child")
    os._exit(0 if provider.loops[-1] is not provider.loops[0] else 1)
_, status = os.waitpid(pid, 0)
agent.run(question="after fork")
print(os.waitstatus_to_exitcode(status), provider.loops[-1] is provider.loops[0], flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX")
def test_a_forked_child_makes_its_own_loop_and_the_parent_keeps_its() -> None:
    proc = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "True"]


# ---------------------------------------------------------------- loops and threads
def test_the_main_thread_and_a_worker_thread_each_keep_their_connection_pool() -> None:
    replies = [StubReply(200, body={"answer": f"a{i}"}) for i in range(4)]
    with StubHTTPServer(replies) as server:
        provider = HTTPProvider(server.url)
        agent = _agent(provider)

        def in_a_thread() -> str:
            answers: list[str] = []
            worker = threading.Thread(target=lambda: answers.append(agent.run(question="w")["answer"]))
            worker.start()
            worker.join()
            return answers[0]

        assert agent.run(question="m")["answer"] == "a0"  # the main thread's loop
        (main_pool,) = provider.http.clients
        assert in_a_thread() == "a1"  # the background loop: a pool of its own
        pools = provider.http.clients
        assert len(pools) == 2 and main_pool in pools
        assert agent.run(question="m")["answer"] == "a2"
        assert in_a_thread() == "a3"
        assert provider.http.clients == pools  # alternating rebuilt neither
        agent.close()  # from the main thread: its pool here, the background loop's there
        assert all(pool.is_closed for pool in pools) and provider.http.clients == []
    assert len(server.requests) == 4


def test_a_pool_of_a_closed_loop_is_dropped_when_another_loop_makes_one() -> None:
    with StubHTTPServer([StubReply(200, body={"answer": "a"}) for _ in range(3)]) as server:
        http = HTTPClient(provider="stub", base_url=server.url, max_retries=0)
        for _ in range(3):  # an application's own asyncio.run, three times
            asyncio.run(http.post_json("v1/answer", {}))
        assert len(http.clients) == 1  # the two earlier loops are closed: their pools are gone
    asyncio.run(http.aclose())


def test_a_sync_call_inside_a_run_on_the_main_loop_runs_on_the_background_loop() -> None:
    inner_provider = RecordingProvider()
    inner = _agent(inner_provider)
    outer_loops: list[asyncio.AbstractEventLoop] = []

    class NestingProvider(MockProvider):
        async def complete(self, request: CompletionRequest) -> Completion:
            outer_loops.append(asyncio.get_running_loop())
            assert inner.run(question="nested, blocking")["_meta"]["provider_calls"] == 1  # this loop is busy
            return await super().complete(request)

    assert _agent(NestingProvider()).run(question="outer")["_meta"]["provider_calls"] == 1
    assert outer_loops[0] is not background_loop() and inner_provider.loops == [background_loop()]


def test_context_variables_set_by_the_run_do_not_leak_into_the_caller() -> None:
    class SettingProvider(MockProvider):
        async def complete(self, request: CompletionRequest) -> Completion:
            REQUEST_ID.set("set by the run")
            return await super().complete(request)

    _agent(SettingProvider()).run(question="q")
    assert REQUEST_ID.get() == "unset"


# ---------------------------------------------------------------- Ctrl+C on the main thread's loop
@pytest.fixture
def app_sigint() -> Any:
    """The application's own SIGINT handler (a KeyboardInterrupt, like Python's default): kept in place."""
    calls: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        calls.append(signum)
        raise KeyboardInterrupt

    saved = signal.signal(signal.SIGINT, handler)
    yield handler, calls
    signal.signal(signal.SIGINT, saved)


class CtrlCInATool:
    """An async tool on the run's loop that presses Ctrl+C ``presses`` times, then waits to be cancelled."""

    def __init__(self, presses: int) -> None:
        self.presses = presses
        self.cancelled = False

    async def stubborn(self) -> str:
        """Presses Ctrl+C."""
        for _ in range(self.presses):
            signal.raise_signal(signal.SIGINT)  # the handler has run when this returns
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("unreachable")


def _tool_agent(press: CtrlCInATool, tmp_path: Path, *, enable_interrupts: bool) -> BaseAgent:
    from kaizen_core.providers.mock import tool_calls_reply
    from kaizen_core.tools import Tool

    stubborn = Tool(press.stubborn, name="stubborn")
    agent = BaseAgent(
        BaseAgentConfig(
            llm_provider="mock",
            checkpoint_storage=f"file://{tmp_path}",
            graceful_shutdown_timeout=60,  # a graceful stop would wait for the tool: only IMMEDIATE ends it
            enable_interrupts=enable_interrupts,
        ),
        "question -> answer",
        provider=MockProvider(script=[tool_calls_reply(("stubborn", {})), {"answer": "done"}]),
        tools=[stubborn],
    )
    agent.interrupt_manager  # noqa: B018 - a scope per run even when disabled
    return agent


@pytest.mark.parametrize("enable_interrupts", [True, False])
def test_a_second_ctrl_c_during_a_sync_run_stops_it_at_once(
    tmp_path: Path, enable_interrupts: bool, app_sigint: Any
) -> None:
    handler, calls = app_sigint
    press = CtrlCInATool(presses=2)
    with pytest.raises(AgentInterrupted) as info:
        _tool_agent(press, tmp_path, enable_interrupts=enable_interrupts).run(question="q")
    reason = info.value.reason
    assert reason.mode.value == "immediate" and reason.metadata["signal"] == "SIGINT"
    assert press.cancelled and "checkpoint_id" in reason.metadata
    assert signal.getsignal(signal.SIGINT) is handler  # the application's handler is back
    # the application's handler got the presses no run took as signals (with interrupts off)
    assert calls == ([] if enable_interrupts else [signal.SIGINT, signal.SIGINT])


@pytest.mark.parametrize("enable_interrupts", [True, False])
def test_a_third_ctrl_c_cancels_the_sync_call_with_keyboard_interrupt(
    tmp_path: Path, enable_interrupts: bool, app_sigint: Any
) -> None:
    handler, _ = app_sigint
    press = CtrlCInATool(presses=3)
    agent = _tool_agent(press, tmp_path, enable_interrupts=enable_interrupts)
    with pytest.raises(KeyboardInterrupt):
        agent.run(question="q")
    assert press.cancelled and signal.getsignal(signal.SIGINT) is handler
    provider = RecordingProvider()
    assert _agent(provider).run(question="again")["_meta"]["provider_calls"] == 1  # the loop goes on
    assert not provider.loops[0].is_closed() and provider.loops[0] is not background_loop()


def test_a_sigint_the_application_ignores_is_left_to_it() -> None:
    class Pressing(MockProvider):
        async def complete(self, request: CompletionRequest) -> Completion:
            signal.raise_signal(signal.SIGINT)
            return await super().complete(request)

    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = _agent(Pressing(), enable_interrupts=False).run(question="q")
        assert result["_meta"]["provider_calls"] == 1 and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, saved)


class CallbackProvider(MockProvider):
    """Leaves a callback ready on the loop as its call returns (like a done callback of a task it ran)."""

    def __init__(self, *, suspend: bool = False) -> None:
        super().__init__()
        self.suspend = suspend
        self.ran: list[str] = []

    async def complete(self, request: CompletionRequest) -> Completion:
        if self.suspend:
            await asyncio.sleep(0)  # the run spans several loop turns
        completion = await super().complete(request)
        asyncio.get_running_loop().call_soon(self.ran.append, "callback")
        return completion


@pytest.mark.parametrize("suspend", [False, True])
def test_callbacks_the_run_leaves_ready_run_before_the_sync_call_returns(suspend: bool) -> None:
    provider = CallbackProvider(suspend=suspend)
    agent = _agent(provider)
    for n in range(1, 4):
        assert agent.run(question="q")["_meta"]["provider_calls"] == 1
        assert provider.ran == ["callback"] * n  # run in the call that made it ready, not in the next one
