"""Child process for tests/test_autonomous_crash.py: the group-committed journal path under SIGKILL.

usage: python autonomous_batch_crash_child.py <run|resume> <workdir>

Cycle 1 asks for three concurrent calls of a SAFE, non-idempotent tool; the journal writes
the reply and the three starts as one batch, and the three results as another.
env KILL_AT=starts  -> hang right after the batch "reply + 3 starts" is durable, before any tool runs
env KILL_AT=results -> hang instead of writing the batch of the 3 results (every tool has run)
The parent waits for <workdir>/hanging, then kills the process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.providers.mock import MockProvider, tool_calls_reply
from kaizen_core.state import StateManager
from kaizen_core.state.filesystem import FilesystemStorage
from kaizen_core.tools import DangerLevel, ToolRegistry, tool

mode, workdir = sys.argv[1], Path(sys.argv[2])
kill_at = os.environ.get("KILL_AT")


def hang() -> None:
    (workdir / "hanging").write_text("1")
    time.sleep(120)


class KillableStore(FilesystemStorage):
    """The file store, with a kill point around the journal's batch writes."""

    async def journal_append_many(self, stream: str, records: Sequence[bytes]) -> None:
        types = [json.loads(r)["type"] for r in records]
        if kill_at == "results" and "result" in types:
            hang()
        await super().journal_append_many(stream, records)
        if kill_at == "starts" and types == ["assistant", "start", "start", "start"]:
            hang()


@tool(danger_level=DangerLevel.SAFE)  # SAFE: the three calls run concurrently
def write_note(name: str) -> str:
    """Append one line to notes.txt (not idempotent)."""
    with open(workdir / "ws" / "notes.txt", "a") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return f"wrote {name}"


script = [
    tool_calls_reply(("write_note", {"name": "a"}), ("write_note", {"name": "b"}), ("write_note", {"name": "c"})),
    {"summary": "three notes"},
]
provider = MockProvider(script=script)
config = AutonomousConfig(
    llm_provider="mock",
    workspace_root=str(workdir / "ws"),
    checkpoint_frequency=10,
    permission_mode="bypass",
    enable_interrupts=False,
)
agent = BaseAutonomousAgent(
    config,
    "task -> summary",
    provider=provider,
    tools=ToolRegistry([write_note]),
    agent_id="noter",
    state_manager=StateManager(KillableStore(workdir / "ckpt")),
)
result = agent.run_autonomous_sync("write three notes") if mode == "run" else agent.resume_from_latest_sync()
out = {k: result[k] for k in ("summary", "stop_reason", "cycles_used", "tool_calls", "resumed_from")}
print(json.dumps({**out, "model_calls": len(provider.requests)}))
