"""Child process for tests/test_autonomous_crash.py: a run the test kills with SIGKILL, then resumes.

usage: python autonomous_crash_child.py <run|resume> <workdir>
env KILL_AT=line 3  -> hang inside append_line("line 3") after its side effect
env KILL_AT=pause   -> hang inside pause() after append_line("line 4") completed
The parent waits for <workdir>/hanging, then kills the process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.providers.mock import MockProvider
from kaizen_core.tools import DangerLevel, ToolRegistry, tool

mode, workdir = sys.argv[1], Path(sys.argv[2])
kill_at = os.environ.get("KILL_AT")


def hang() -> None:
    (workdir / "hanging").write_text("1")
    time.sleep(120)


@tool
def append_line(line: str) -> str:
    """Append one line to lines.txt (not idempotent)."""
    with open(workdir / "ws" / "lines.txt", "a") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    if kill_at == line:
        hang()
    return "appended"


@tool(idempotent=True, danger_level=DangerLevel.LOW)  # LOW: runs after append_line, not concurrently
def pause() -> str:
    """Does nothing (idempotent); hangs when the test wants to kill here."""
    if kill_at == "pause":
        hang()
    return "paused"


def step(*calls: tuple[str, dict]) -> dict:
    return {"tool_calls": [{"name": n, "arguments": a} for n, a in calls]}


script = [
    step(("append_line", {"line": "line 1"})),
    step(("append_line", {"line": "line 2"})),
    step(("append_line", {"line": "line 3"})),
    step(("append_line", {"line": "line 4"}), ("pause", {})),
    step(("append_line", {"line": "line 5"})),
    step(("append_line", {"line": "line 6"})),
    {"summary": "six lines"},
]
config = AutonomousConfig(
    llm_provider="mock",
    checkpoint_storage=f"file://{workdir / 'ckpt'}",
    workspace_root=str(workdir / "ws"),
    checkpoint_frequency=3,
    permission_mode="bypass",
    enable_interrupts=False,
)
agent = BaseAutonomousAgent(
    config,
    "task -> summary",
    provider=MockProvider(script=script),
    tools=ToolRegistry([append_line, pause]),
    agent_id="appender",
)
result = agent.run_autonomous_sync("append six lines") if mode == "run" else agent.resume_from_latest_sync()
print(json.dumps({k: result[k] for k in ("summary", "stop_reason", "cycles_used", "tool_calls", "resumed_from")}))
