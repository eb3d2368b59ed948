"""What each lifecycle event adds to the metrics, checked in a scrape of /metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from prom_scrape import label_values, scrape, value

from kaizen_core import AutonomousConfig, BaseAgent, BaseAgentConfig, BaseAutonomousAgent
from kaizen_core.errors import ProviderError
from kaizen_core.hooks import HookEvent, HookManager, HookResult
from kaizen_core.orchestration import Pipeline
from kaizen_core.providers.mock import MockProvider, tool_calls_reply
from kaizen_core.tools import DangerLevel, tool
from kaizen_prometheus import PrometheusHook
from kaizen_testing.servers._process import free_port

pytestmark = pytest.mark.anyio


@tool(danger_level=DangerLevel.SAFE, read_only=True)
async def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"


@tool(danger_level=DangerLevel.HIGH)
async def wipe(path: str) -> str:
    """Delete everything under a path."""
    raise AssertionError("a denied tool must never run")


def metrics_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/metrics"


async def test_tool_calls_denials_checkpoints_and_cost_of_an_autonomous_run(tmp_path: Path) -> None:
    port = free_port()
    script = [
        tool_calls_reply(("lookup", {"key": "a"}), ("lookup", {"key": "b"})),
        tool_calls_reply(("wipe", {"path": "/"})),  # HIGH with nobody to approve it: denied
        {"summary": "done"},
    ]
    config = AutonomousConfig(
        llm_provider="mock",
        checkpoint_storage=f"file://{tmp_path}",
        hooks=[{"name": "prometheus", "port": port}],
    )
    provider = MockProvider(script=script, cost_per_input_token=0.001, cost_per_output_token=0.002)
    agent = BaseAutonomousAgent(config, "task -> summary", tools=[lookup, wipe], provider=provider, agent_id="auto")
    result = await agent.run_autonomous("look things up")
    samples = scrape(metrics_url(port))
    assert value(samples, "kaizen_agent_runs_total", agent="auto", status="success") == 1
    assert value(samples, "kaizen_tool_calls_total", tool="lookup", status="success") == 2
    assert value(samples, "kaizen_tool_call_duration_seconds_count", tool="lookup") == 2
    assert value(samples, "kaizen_tool_calls_total", tool="wipe", status="denied") == 1
    assert value(samples, "kaizen_permission_decisions_total", tool="wipe", decision="deny") == 1
    assert value(samples, "kaizen_permission_decisions_total", tool="lookup", decision="allow") == 2
    calls = result["_meta"]["provider_calls"]
    assert value(samples, "kaizen_provider_calls_total", provider="mock", status="success") == calls == 3
    cost = result["_meta"]["cost"]
    assert cost > 0 and value(samples, "kaizen_cost_usd_total", agent="auto", provider="mock") == pytest.approx(cost)
    saved = len(list(tmp_path.rglob("*.ckpt")))
    assert saved >= 2  # at the start and at the end at least
    assert value(samples, "kaizen_checkpoint_save_duration_seconds_count", agent="auto") == saved


async def test_failed_provider_calls_and_runs_are_counted_as_errors() -> None:
    port = free_port()
    failing = MockProvider(script=[{"error": {"status": 503, "message": "overloaded"}}])
    config = BaseAgentConfig(llm_provider="mock", hooks=[{"name": "prometheus", "port": port}])
    agent = BaseAgent(config, "question -> answer", provider=failing, agent_id="flaky")
    with pytest.raises(ProviderError):
        await agent.run_async(question="q")
    samples = scrape(metrics_url(port))
    assert value(samples, "kaizen_agent_runs_total", agent="flaky", status="error") == 1
    assert value(samples, "kaizen_provider_calls_total", provider="mock", status="error") == 1
    assert value(samples, "kaizen_provider_calls_total", provider="mock", status="success") == 0
    assert "kaizen_tokens_total" not in samples  # a failed call has no usage


async def test_unpriced_calls_are_counted_apart_from_cost() -> None:
    port = free_port()
    hooks = HookManager()
    hooks.register_hook(PrometheusHook(port=port))
    await hooks.trigger(HookEvent.PRE_MODEL_CALL, agent_id="a", step="s1", metadata={"provider": "p", "model": "m"})
    await hooks.trigger(
        HookEvent.POST_MODEL_CALL,
        agent_id="a",
        step="s1",
        metadata={"provider": "p", "model": "m", "usage": {"input_tokens": 7}, "cost_usd_call": None, "error": None},
    )
    samples = scrape(metrics_url(port))
    assert value(samples, "kaizen_unpriced_provider_calls_total", provider="p", model="m") == 1
    assert "kaizen_cost_usd_total" not in samples
    assert value(samples, "kaizen_tokens_total", provider="p", model="m", type="input") == 7


async def test_tool_names_past_the_cap_become_other() -> None:
    """MCP servers bring their own tool names: the label keeps max_label_values of them."""
    port = free_port()
    hooks = HookManager()
    hooks.register_hook(PrometheusHook(port=port, max_label_values=3))
    for i in range(10):
        await hooks.trigger(
            HookEvent.POST_TOOL_CALL,
            agent_id="a",
            step=f"call-{i}",
            metadata={"tool": f"mcp__srv__tool_{i}", "status": "success", "duration_ms": 1.0},
        )
    samples = scrape(metrics_url(port))
    assert label_values(samples, "kaizen_tool_calls_total", "tool") == {
        "mcp__srv__tool_0",
        "mcp__srv__tool_1",
        "mcp__srv__tool_2",
        "other",
    }
    assert value(samples, "kaizen_tool_calls_total", tool="other", status="success") == 7
    assert value(samples, "kaizen_metric_label_overflow_total", label="tool") == 7
    # Values seen before the cap was reached keep their own series.
    await hooks.trigger(
        HookEvent.POST_TOOL_CALL, agent_id="a", step="again", metadata={"tool": "mcp__srv__tool_1", "status": "error"}
    )
    samples = scrape(metrics_url(port))
    assert value(samples, "kaizen_tool_calls_total", tool="mcp__srv__tool_1", status="error") == 1


async def test_every_hook_handler_is_timed_and_failures_counted() -> None:
    port = free_port()
    hooks = HookManager()
    hooks.register_hook(PrometheusHook(port=port))
    hooks.register(HookEvent.PRE_TOOL_CALL, lambda ctx: None, name="policy")
    hooks.register(HookEvent.POST_TOOL_CALL, lambda ctx: HookResult(success=False, error="broken"), name="broken")
    for i in range(2):
        await hooks.trigger(HookEvent.PRE_TOOL_CALL, agent_id="a", step=i, metadata={"tool": "t"})
        await hooks.trigger(HookEvent.POST_TOOL_CALL, agent_id="a", step=i, metadata={"tool": "t", "status": "success"})
    samples = scrape(metrics_url(port))
    assert value(samples, "kaizen_hook_duration_seconds_count", hook="policy", event="pre_tool_call") == 2
    assert value(samples, "kaizen_hook_duration_seconds_count", hook="broken", event="post_tool_call") == 2
    assert value(samples, "kaizen_hook_failures_total", hook="broken", event="post_tool_call") == 2
    assert value(samples, "kaizen_hook_failures_total", hook="policy", event="pre_tool_call") == 0
    assert value(samples, "kaizen_hook_duration_seconds_count", hook="prometheus", event="post_tool_call") == 2
    # A second PrometheusHook on the same manager and port times each call once, not twice.
    hooks.register_hook(PrometheusHook(port=port))
    await hooks.trigger(HookEvent.PRE_TOOL_CALL, agent_id="a", step=9, metadata={"tool": "t"})
    samples = scrape(metrics_url(port))
    assert value(samples, "kaizen_hook_duration_seconds_count", hook="policy", event="pre_tool_call") == 3


async def test_a_pipeline_counts_each_child_run_once() -> None:
    port = free_port()
    hooks = HookManager()
    hooks.register_hook(PrometheusHook(port=port))
    config = BaseAgentConfig(llm_provider="mock")
    shared = BaseAgent(config, "task -> answer", agent_id="shares-hooks", hook_manager=hooks)  # reports its own run
    plain = BaseAgent(config, "task -> answer", agent_id="no-hooks")  # reported by the pipeline only
    await Pipeline.sequential([shared, plain], name="pipe", hook_manager=hooks).run_async(task="t")
    samples = scrape(metrics_url(port))
    assert value(samples, "kaizen_agent_runs_total", agent="shares-hooks", status="success") == 1
    assert value(samples, "kaizen_agent_runs_total", agent="no-hooks", status="success") == 1
    assert value(samples, "kaizen_agent_runs_total", agent="pipe", status="success") == 1


async def test_the_hook_never_fails_on_any_event_or_odd_metadata() -> None:
    hooks = HookManager()
    hooks.register_hook(PrometheusHook(port=None))
    odd = {
        "status": object(),
        "tool": {"name": "unhashable"},
        "provider": ["a", "list"],
        "usage": "n/a",
        "cost_usd_call": "free",
        "duration_ms": "slow",
        "model": 3,
        "decision": None,
    }
    for event in HookEvent:
        for metadata in ({}, odd):
            results = await hooks.trigger(event, agent_id="odd", metadata=metadata)
            assert all(r.success for r in results), (event, [r.error for r in results])
