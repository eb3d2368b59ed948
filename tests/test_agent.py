"""BaseAgent: typed results, retries, errors, config conversion, hooks, tools, A2A card."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import uuid

import anyio
import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.agents.strategies import MultiCycleStrategy, SingleShotStrategy
from kaizen_core.errors import (
    ConfigError,
    ExecutionTimeoutError,
    InputValidationError,
    OutputValidationError,
    ProviderError,
)
from kaizen_core.hooks import HookEvent, HookManager, HookPriority, HookResult
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.types import Completion, CompletionRequest
from kaizen_core.tools import tool


class QASignature(Signature):
    """Answer the question accurately."""

    question: str = InputField(desc="The question")
    answer: str = OutputField(desc="The answer")
    confidence: float = OutputField(desc="Confidence 0..1")


def make_agent(script: list | None = None, **config: object) -> BaseAgent:
    cfg = BaseAgentConfig(llm_provider="mock", **config)  # type: ignore[arg-type]
    return BaseAgent(cfg, QASignature(), provider=MockProvider(script=script))


async def wait_for_release(release: threading.Event) -> None:
    """Block until the test sets ``release`` (after its assertions): a step that never finishes
    first, however slow the machine. It waits in a worker thread, so the sync API's loop stays
    free and a timeout can abandon the wait; the 30 s only bounds a hang if that timeout is broken."""
    await anyio.to_thread.run_sync(release.wait, 30, abandon_on_cancel=True)


class UnansweringProvider(MockProvider):
    """The mock model, but a call answers only once ``release`` is set."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.release = threading.Event()

    async def complete(self, request: CompletionRequest) -> Completion:
        await wait_for_release(self.release)
        return await super().complete(request)


def test_qa_returns_declared_types_and_meta() -> None:
    result = make_agent().run(question="What is 2+2?")
    assert isinstance(result["answer"], str)
    assert isinstance(result["confidence"], float)
    meta = result["_meta"]
    assert meta["provider"] == "mock"
    assert meta["usage"]["input_tokens"] > 0 and meta["usage"]["output_tokens"] > 0
    assert meta["cost"] == 0.0
    assert meta["latency_ms"] >= 0 and len(meta["run_id"]) == 32


def test_every_run_has_its_own_uuid4_run_id() -> None:
    agent = make_agent()
    ids = [agent.run(question="q")["_meta"]["run_id"] for _ in range(3)]
    assert len(set(ids)) == 3
    for run_id in ids:
        parsed = uuid.UUID(hex=run_id)
        assert parsed.hex == run_id and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_provider_selected_by_config_name_with_script() -> None:
    agent = BaseAgent(
        BaseAgentConfig(llm_provider="mock", provider_config={"script": [{"answer": "4", "confidence": 1}]}),
        QASignature(),
    )
    assert agent.run(question="2+2?")["answer"] == "4"


def test_invalid_then_valid_reply_succeeds_after_one_retry() -> None:
    agent = make_agent([{"answer": "x", "confidence": "very"}, {"answer": "4", "confidence": 0.9}])
    result = agent.run(question="2+2?")
    assert result["answer"] == "4" and result["confidence"] == 0.9
    assert result["_meta"]["attempts"] == 2
    # the retry showed the model its validation error
    retry_request = agent.provider.requests[1]  # type: ignore[attr-defined]
    assert "confidence" in (retry_request.messages[-1].content or "")
    assert retry_request.messages[-2].role == "assistant"


def test_two_invalid_replies_with_one_retry_raise_coded_error() -> None:
    agent = make_agent(["not json", {"answer": "x"}], retry_attempts=1)
    with pytest.raises(OutputValidationError) as info:
        agent.run(question="2+2?")
    assert info.value.code == "AGENT_006"
    assert info.value.raw_output == json.dumps({"answer": "x"})


def test_invalid_input_names_the_field() -> None:
    with pytest.raises(InputValidationError) as info:
        make_agent().run(questionn="typo")
    assert info.value.code == "EXEC_001"
    assert "question" in info.value.message


def test_unknown_provider_and_bad_values_are_config_errors() -> None:
    with pytest.raises(ConfigError) as info:
        BaseAgent(BaseAgentConfig(llm_provider="no-such-provider"), QASignature())
    assert info.value.code == "KAIZEN_002" and "llm_provider" in info.value.message
    with pytest.raises(ConfigError) as info2:
        BaseAgentConfig(temperature=9)
    assert "temperature" in info2.value.message


def test_domain_config_objects_are_converted() -> None:
    @dataclasses.dataclass
    class MyAppConfig:
        llm_provider: str = "mock"
        model: str = "mock-large"
        temperature: float = 0.3
        database_url: str = "postgresql://ignored"

    agent = BaseAgent(MyAppConfig(), QASignature())
    assert agent.config.model == "mock-large" and agent.config.temperature == 0.3
    assert agent.provider.model == "mock-large"


def test_signature_may_be_a_string_or_a_class() -> None:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "topic: str -> summary: str, words: int")
    result = agent.run(topic="x")
    assert isinstance(result["summary"], str) and isinstance(result["words"], int)
    assert isinstance(BaseAgent(BaseAgentConfig(llm_provider="mock"), QASignature).signature, QASignature)


def test_run_works_inside_a_running_event_loop() -> None:
    async def notebook_cell() -> dict:
        return make_agent().run(question="from a running loop")

    result = asyncio.run(notebook_cell())
    assert isinstance(result["confidence"], float)


def test_provider_error_propagates_with_code() -> None:
    with pytest.raises(ProviderError) as info:
        make_agent([{"error": {"status": 401, "message": "bad key"}}]).run(question="q")
    assert info.value.code == "AGENT_004"


def test_provider_timeout_is_agent_003() -> None:
    provider = UnansweringProvider(script=[{"answer": "late", "confidence": 1}])
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock", timeout=0.2), QASignature(), provider=provider)
    try:
        with pytest.raises(ProviderError) as info:
            agent.run(question="q")
    finally:
        provider.release.set()
    assert isinstance(info.value, ExecutionTimeoutError) and isinstance(info.value, TimeoutError)
    assert info.value.code == "AGENT_003" and "0.2s" in info.value.message


def test_lifecycle_hooks_fire_in_priority_order_and_failures_do_not_stop_the_run() -> None:
    calls: list[str] = []
    hooks = HookManager(default_timeout=0.2)
    hooks.register(HookEvent.PRE_AGENT_LOOP, lambda ctx: calls.append("low"), HookPriority.LOW)
    hooks.register(HookEvent.PRE_AGENT_LOOP, lambda ctx: calls.append("critical"), HookPriority.CRITICAL)
    hooks.register(HookEvent.PRE_AGENT_LOOP, lambda ctx: calls.append("normal"))

    def boom(ctx: object) -> None:
        raise RuntimeError("hook bug")

    release = threading.Event()

    async def slow(ctx: object) -> None:
        await wait_for_release(release)  # still running when its 0.2 s timeout ends it

    boom_name = hooks.register(HookEvent.POST_AGENT_LOOP, boom)
    slow_name = hooks.register(HookEvent.POST_AGENT_LOOP, slow)
    results_seen: list[HookResult] = []
    hooks.register(
        HookEvent.POST_AGENT_LOOP, lambda ctx: results_seen.append(ctx.metadata["usage"]), HookPriority.LOWEST
    )
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), QASignature(), provider=MockProvider(), hook_manager=hooks)
    try:
        result = agent.run(question="q")
    finally:
        release.set()
    assert calls == ["critical", "normal", "low"]
    assert isinstance(result["answer"], str)
    stats = hooks.stats()
    assert stats[boom_name]["failures"] == 1 and stats[slow_name]["failures"] == 1
    assert results_seen and results_seen[0]["input_tokens"] > 0


def test_hooks_enabled_by_name_in_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    audit = tmp_path / "audit.jsonl"
    agent = BaseAgent(
        BaseAgentConfig(llm_provider="mock", hooks=[{"name": "audit", "path": str(audit)}]), QASignature()
    )
    agent.run(question="q")
    events = [json.loads(line)["event"] for line in audit.read_text().splitlines()]
    assert "pre_agent_loop" in events and "post_agent_loop" in events


def test_tools_switch_to_multi_cycle_and_results_reach_the_model() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    provider = MockProvider(
        script=[
            {"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]},
            {"tool_calls": [{"name": "add", "arguments": {"a": "two"}}]},
            {"answer": "5", "confidence": 1.0},
        ]
    )
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), QASignature(), provider=provider, tools=[add])
    assert isinstance(agent.strategy, MultiCycleStrategy)
    result = agent.run(question="2+3?")
    assert result["answer"] == "5"
    assert result["_meta"]["cycles_used"] == 3
    outcomes = [c["outcome"] for c in result["_meta"]["tool_calls"]]
    assert outcomes == ["success", "error"]
    tool_messages = [m for m in provider.requests[-1].messages if m.role == "tool"]
    assert tool_messages[0].content == "5"
    assert "EXEC_001" in (tool_messages[1].content or "")
    assert isinstance(make_agent().strategy, SingleShotStrategy)


def test_pre_tool_call_hook_can_block_a_tool() -> None:
    ran: list[int] = []

    @tool
    def side_effect(n: int) -> int:
        """Record n."""
        ran.append(n)
        return n

    hooks = HookManager()
    hooks.register(HookEvent.PRE_TOOL_CALL, lambda ctx: HookResult.block("not allowed today"))
    provider = MockProvider(script=[{"tool_calls": [{"name": "side_effect", "arguments": {"n": 1}}]}])
    agent = BaseAgent(
        BaseAgentConfig(llm_provider="mock"), QASignature(), provider=provider, tools=[side_effect], hook_manager=hooks
    )
    result = agent.run(question="q")
    assert ran == []
    assert result["_meta"]["tool_calls"][0]["outcome"] == "blocked"
    fed_back = next(m for m in provider.requests[-1].messages if m.role == "tool")
    assert "not allowed today" in (fed_back.content or "")


def test_streaming_config_uses_provider_stream() -> None:
    result = make_agent([{"answer": "streamed", "confidence": 0.5}], stream=True).run(question="q")
    assert result["answer"] == "streamed"


def test_a2a_card_validates_against_a2a_sdk() -> None:
    from a2a.types import AgentCard
    from google.protobuf.json_format import ParseDict

    @tool
    def lookup(term: str) -> str:
        """Look a term up."""
        return term

    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), QASignature(), tools=[lookup], agent_id="qa-agent")
    card = ParseDict(agent.to_a2a_card(url="http://127.0.0.1:9000/"), AgentCard())
    assert card.name == "qa-agent"
    assert [s.name for s in card.skills] == ["QASignature", "lookup"]
    assert "question" in card.skills[0].description and "confidence" in card.skills[0].description
    assert card.supported_interfaces[0].url == "http://127.0.0.1:9000/"


def test_session_memory_feeds_previous_turns() -> None:
    provider = MockProvider()
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock", max_turns=5), QASignature(), provider=provider)
    agent.run(question="My name is Alice", session_id="user123")
    agent.run(question="What's my name?", session_id="user123")
    second = provider.requests[-1].messages
    assert any("My name is Alice" in (m.content or "") for m in second[1:-1])
    agent.run(question="Who am I?", session_id="other")
    assert not any("Alice" in (m.content or "") for m in provider.requests[-1].messages)
