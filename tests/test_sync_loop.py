"""The sync API runs on one persistent background event loop: per-loop clients live across
``run()`` calls and are closed by ``agent.close()``; it works from threads and inside a
running loop; Ctrl+C while a blocking call waits stops the run gracefully."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
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
    assert provider.loops[0] is provider.loops[1] is background_loop()
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
        self.pools: list[object] = []

    async def complete(self, request: CompletionRequest) -> Completion:
        body = await self.http.post_json("v1/answer", {"q": request.messages[-1].content})
        self.pools.append(self.http._client)
        return Completion(content=f'{{"answer": "{body["answer"]}"}}', usage=Usage(), model="stub")

    async def aclose(self) -> None:
        await self.http.aclose()


def test_the_http_connection_pool_survives_across_sync_runs() -> None:
    with StubHTTPServer([StubReply(200, body={"answer": "a1"}), StubReply(200, body={"answer": "a2"})]) as server:
        provider = HTTPProvider(server.url)
        with _agent(provider) as agent:
            assert agent.run(question="1")["answer"] == "a1"
            assert agent.run(question="2")["answer"] == "a2"
            pool = provider.pools[0]
            assert provider.pools == [pool, pool] and not pool.is_closed  # type: ignore[attr-defined]
        assert pool.is_closed  # type: ignore[attr-defined]
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


def test_when_no_thread_can_be_started_the_call_runs_in_the_calling_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # Python 3.12 refuses new threads in atexit handlers, where buffered memory is flushed.
    import kaizen_core._sync as sync

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(sync, "_background", sync._BackgroundLoop())  # not started yet
    monkeypatch.setattr(threading.Thread, "start", refuse)
    provider = RecordingProvider()
    assert _agent(provider).run(question="at exit")["_meta"]["provider_calls"] == 1
    assert provider.loops[0].is_closed()  # a loop of its own (asyncio.run), not the shared one
