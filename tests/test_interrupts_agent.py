"""Interrupts wired into BaseAgent: timeout and budget handlers stop real runs with a
loadable checkpoint; a real process stops on a real SIGINT / SIGTERM with 130 / 143."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import BaseAgentConfig
from kaizen_core.errors import AgentInterrupted
from kaizen_core.interrupts import (
    BudgetInterruptHandler,
    InterruptMode,
    InterruptSource,
    TimeoutInterruptHandler,
)
from kaizen_core.providers.mock import MockProvider
from kaizen_core.state import StateManager
from kaizen_core.tools import tool

pytestmark = pytest.mark.anyio

SCRIPT = Path(__file__).with_name("interrupt_agent_script.py")
GRACE = 1.0


def _config(tmp_path: Path, **extra: object) -> BaseAgentConfig:
    return BaseAgentConfig(
        llm_provider="mock",
        checkpoint_storage=f"file://{tmp_path / 'checkpoints'}",
        graceful_shutdown_timeout=GRACE,
        timeout=300,
        **extra,
    )


async def test_timeout_handler_stops_an_agent_stuck_in_a_slow_provider(tmp_path: Path) -> None:
    provider = MockProvider(script=[{"delay": 30, "answer": "too late"}])
    agent = BaseAgent(_config(tmp_path), "question -> answer", provider=provider, agent_id="slow-agent")
    agent.interrupt_manager.add_handler(TimeoutInterruptHandler(0.5))

    started = time.monotonic()
    with pytest.raises(AgentInterrupted) as info:
        await agent.run_async(question="anyone there?")
    elapsed = time.monotonic() - started

    assert 0.5 <= elapsed < 0.5 + GRACE + 10  # timeout + grace, far below the provider's 30 s
    assert isinstance(info.value, InterruptedError) and info.value.code == "INTERRUPT_003"
    reason = info.value.reason
    assert reason.source is InterruptSource.SYSTEM and reason.metadata["handler"] == "timeout"
    assert reason.mode is InterruptMode.IMMEDIATE and reason.metadata["escalated"] is True
    state = await StateManager(f"file://{tmp_path / 'checkpoints'}").load_checkpoint(reason.metadata["checkpoint_id"])
    assert state.agent_id == "slow-agent" and state.status == "interrupted"
    assert any("anyone there?" in str(m.get("content")) for m in state.conversation_history)
    assert state.checkpoint_id == reason.metadata["checkpoint_id"]


async def test_budget_handler_stops_a_scripted_run_when_cost_passes_the_limit(tmp_path: Path) -> None:
    calls: list[int] = []

    @tool
    def lookup(n: int) -> int:
        """Look a number up."""
        calls.append(n)
        return n * 2

    script = [{"tool_calls": [{"name": "lookup", "arguments": {"n": i}}]} for i in range(10)]
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


def _start(tmp_path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(tmp_path / "checkpoints"), str(GRACE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the provider call is running
    if line.strip() != "READY":
        proc.kill()
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"agent script did not start: {line!r}\n{err}")
    return proc


@pytest.mark.parametrize(("signum", "expected_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_real_process_stops_on_a_real_signal(tmp_path: Path, signum: signal.Signals, expected_code: int) -> None:
    proc = _start(tmp_path)
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=GRACE + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
    stopped_after = time.monotonic() - sent

    assert proc.returncode == expected_code, err
    assert stopped_after < GRACE + 20  # the provider would have slept 60 s
    report = json.loads(out.strip().splitlines()[-1])
    assert report["signal"] == signum.name
    state = await StateManager(f"file://{tmp_path / 'checkpoints'}").load_checkpoint(report["checkpoint_id"])
    assert state.agent_id == "signal-agent" and state.status == "interrupted"
    assert any("What takes a minute?" in str(m.get("content")) for m in state.conversation_history)
