"""The original docs' autonomous-agent examples (autonomy-overview.md) that are not about one subsystem,
run as written. (Quick Start 2 and "Cost Control" are in test_interrupts.py, "Tool Integration" in
test_tools.py.)

Imports translated: ``kaizen.agents.autonomous`` -> ``kaizen_core.agents.autonomous``,
``kaizen.signatures`` -> ``kaizen_core.signatures``; ``llm_provider="mock"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kaizen_core.providers.mock import MockProvider

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the autonomous agent's default store is file://./.kaizen/checkpoints


async def test_autonomy_overview_quick_start_basic_autonomous_agent(capsys: pytest.CaptureFixture[str]) -> None:
    """autonomy-overview.md, "Quick Start", "1. Basic Autonomous Agent"."""
    from kaizen_core.agents.autonomous import AutonomousConfig, BaseAutonomousAgent
    from kaizen_core.signatures import InputField, OutputField, Signature

    # Define signature
    class ResearchSignature(Signature):
        task: str = InputField(description="Research task")
        observation: str = InputField(description="Last observation", default="")

        findings: str = OutputField(description="Research findings")
        next_action: str = OutputField(description="Next action")
        tool_calls: list = OutputField(description="Tool calls", default=[])

    # Configure agent
    config = AutonomousConfig(
        llm_provider="mock", model="gpt-4", max_cycles=15, planning_enabled=True, checkpoint_frequency=5
    )

    # Create agent (tools auto-configured via MCP)
    agent = BaseAutonomousAgent(config=config, signature=ResearchSignature())

    # Execute autonomously
    result = await agent.execute_autonomously("Research Python async programming patterns and create summary")

    print(f"✅ Completed in {result['cycles_used']} cycles")
    print(f"Findings: {result.get('findings', 'N/A')}")

    out = capsys.readouterr().out
    assert result["cycles_used"] == 1 and result["stop_reason"] == "converged"
    assert isinstance(result["findings"], str) and f"Findings: {result['findings']}" in out
    assert "plan" in result  # planning_enabled: the plan came first
    provider = agent.provider
    assert isinstance(provider, MockProvider)
    # the task string went to the signature's `task` input; `observation` took its default
    assert "task: Research Python async programming" in (provider.requests[0].messages[1].content or "")
    # the run is checkpointed in the default store (a completed checkpoint holds the result)
    state = await agent.state_manager.load_checkpoint(result["checkpoint_id"])  # type: ignore[union-attr]
    assert state.status == "completed"
