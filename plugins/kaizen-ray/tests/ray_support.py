"""Agents and tools the kaizen-ray tests run on the cluster (importable by the Ray workers:
the tests put this directory on the workers' PYTHONPATH).

Tools coordinate through files, never through timing: ``record`` appends a side effect,
``gate`` writes a marker saying where it waits and waits until a release file exists.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.hooks.context import current_hook_metadata
from kaizen_core.permissions import ExecutionContext
from kaizen_core.tools import DangerLevel, tool


def _who() -> str:
    """Which run of a batch or pipeline the calling tool serves (its hook metadata)."""
    meta = current_hook_metadata()
    index = meta.get("batch_index")
    return str(index) if index is not None else str(meta.get("pipeline_step"))


@tool(danger_level=DangerLevel.LOW)
def record(path: str) -> str:
    """Append who called to ``path``: a side effect that must happen exactly once per run (not idempotent)."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(_who() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return "recorded"


@tool(idempotent=True, danger_level=DangerLevel.LOW, read_only=True)
async def gate(markers: str, release: str) -> str:
    """Say where this run waits (``<markers>/<who>`` holds the worker's pid), then wait for ``release`` to exist."""
    Path(markers, _who()).write_text(str(os.getpid()), encoding="utf-8")
    while not Path(release).exists():
        await asyncio.sleep(0.02)
    return "released"


def step(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def gated_agent(workdir: Path, agent_id: str = "gated", *, final: dict[str, Any] | None = None) -> BaseAutonomousAgent:
    """An autonomous agent: ``record`` once, wait at the ``gate``, then answer. Checkpoints in ``workdir/ckpt``."""
    script = [
        step("record", path=str(workdir / "effects.txt")),
        step("gate", markers=str(workdir / "markers"), release=str(workdir / "release")),
        final or {"summary": "done"},
    ]
    return _autonomous(workdir, agent_id, script, [record, gate], max_cycles=6)


def slow_agent(workdir: Path, agent_id: str) -> BaseAutonomousAgent:
    """An autonomous agent that marks its start (``gate`` already released) and then waits on a model call
    that never ends by itself: only an interrupt stops it."""
    script = [
        step("gate", markers=str(workdir / "markers"), release=str(workdir / "released")),
        {"delay": 3600, "summary": "never"},
    ]
    return _autonomous(workdir, agent_id, script, [gate], graceful_shutdown_timeout=30)


def _autonomous(workdir: Path, agent_id: str, script: list[Any], tools: list[Any], **config: Any) -> BaseAutonomousAgent:
    """An autonomous mock agent following ``script``, its checkpoints in ``workdir/ckpt``."""
    settings = AutonomousConfig(
        llm_provider="mock",
        provider_config={"script": script},
        checkpoint_storage=f"file://{workdir / 'ckpt'}",
        permission_mode="bypass",
        **config,
    )
    return BaseAutonomousAgent(settings, "task: str -> summary: str", tools=tools, agent_id=agent_id)


def qa_agent(
    agent_id: str,
    *,
    answer: str | None = None,
    delay: float = 0.0,
    execution_context: ExecutionContext | None = None,
    **config: Any,
) -> BaseAgent:
    """A one-call agent on the mock provider (its answer scripted, or derived from the schema)."""
    provider_config: dict[str, Any] = {"delay": delay}
    if answer is not None:
        provider_config["script"] = [{"answer": answer, "confidence": 0.9}]
    return BaseAgent(
        {"llm_provider": "mock", "provider_config": provider_config, **config},
        "question: str -> answer: str, confidence: float",
        agent_id=agent_id,
        execution_context=execution_context,
    )
