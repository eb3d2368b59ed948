"""Shared parts of the orchestration tests: mock agents and a provider the test holds in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from kaizen_core import BaseAgent, InputField, OutputField, Signature, plugins
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.types import Completion, CompletionRequest


class TaskSignature(Signature):
    """Work on a task."""

    task: str = InputField(desc="The task")
    answer: str = OutputField(desc="The answer")


class VoteSignature(Signature):
    """Vote on a decision."""

    task: str = InputField(desc="The question to decide")
    context: str = InputField(desc="Context, earlier votes", default="")
    decision: str = OutputField(desc="The decision")
    confidence: float = OutputField(desc="0..1")


class TierSignature(Signature):
    """Answer if you can; say how confident you are."""

    task: str = InputField(desc="The request")
    context: str = InputField(desc="What the previous tier said", default="")
    answer: str = OutputField(desc="The answer")
    confidence: float = OutputField(desc="0..1")
    handoff_to: str = OutputField(desc="Agent to hand off to", default="")


class PerCallProvider(MockProvider):
    """A mock provider answering its n-th call with ``script[n]`` (the built-in mock picks by the
    conversation's assistant turns, so every fresh run would get ``script[0]``)."""

    def reply_for(self, request: CompletionRequest) -> Any:
        index = len(self.requests) - 1  # complete() records the request first
        return self.script[index] if index < len(self.script) else None


def mock_agent(
    agent_id: str,
    signature: Any = TaskSignature,
    *,
    capability: str | None = None,
    script: list[Any] | None = None,
    replies: list[Any] | None = None,
    provider: MockProvider | None = None,
    **config: Any,
) -> BaseAgent:
    """A BaseAgent on the mock provider (``provider.requests`` records every call).

    ``script``: replies by conversation turn (the mock's own rule); ``replies``: one per call.
    """
    if provider is None:
        provider = PerCallProvider(script=replies) if replies is not None else MockProvider(script=script)
    parts = {k: config.pop(k) for k in ("execution_context", "hook_manager", "state_manager") if k in config}
    agent = BaseAgent({"llm_provider": "mock", **config}, signature, provider=provider, agent_id=agent_id, **parts)
    if capability is not None:
        agent.capability = capability
    return agent


def calls(agent: BaseAgent) -> int:
    """Model calls the agent's mock provider received."""
    provider = agent.provider
    assert isinstance(provider, MockProvider)
    return len(provider.requests)


class Flight:
    """Counts model calls in flight across providers and lets the test hold and release them.

    ``await flight.until(n)`` waits (on a condition, no polling) until ``n`` calls are in
    flight; ``flight.release(k)`` lets the ``k`` oldest in-flight calls return.
    """

    def __init__(self) -> None:
        self.in_flight: list[asyncio.Event] = []
        self.max_in_flight = 0
        self.started = 0
        self.finished = 0
        self.history: list[tuple[str, int]] = []  # ("start"|"end", in flight after)
        self._changed: asyncio.Condition | None = None

    @property
    def changed(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def enter(self) -> None:
        gate = asyncio.Event()
        async with self.changed:
            self.in_flight.append(gate)
            self.started += 1
            self.max_in_flight = max(self.max_in_flight, len(self.in_flight))
            self.history.append(("start", len(self.in_flight)))
            self.changed.notify_all()
        try:
            await gate.wait()
        finally:
            async with self.changed:
                if gate in self.in_flight:
                    self.in_flight.remove(gate)
                self.finished += 1
                self.history.append(("end", len(self.in_flight)))
                self.changed.notify_all()

    async def until(self, predicate: Any) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: predicate(self))

    def release(self, count: int | None = None) -> None:
        for gate in list(self.in_flight)[: count if count is not None else len(self.in_flight)]:
            gate.set()


class HeldProvider(MockProvider):
    """A mock provider whose calls wait in a :class:`Flight` until the test releases them."""

    def __init__(self, flight: Flight, **options: Any) -> None:
        super().__init__(**options)
        self.flight = flight

    async def complete(self, request: CompletionRequest) -> Completion:
        await self.flight.enter()
        return await super().complete(request)


@pytest.fixture
def core_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only kaizen-core's built-ins (no embedding provider): routing is lexical."""
    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")
    plugins.reset()
    yield
    monkeypatch.undo()
    plugins.reset()
