"""Pipelines in real processes: SIGKILL mid-pipeline then resume; Ctrl+C on a parallel pipeline.

The test acts on readiness lines the child prints from inside its model calls, never after a sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaizen_core.state import StateManager

CHILD = Path(__file__).with_name("orchestration_crash_child.py")
pytestmark = pytest.mark.anyio


def _start(mode: str, workdir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), mode, str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _ready_lines(child: subprocess.Popen[str], count: int) -> Iterator[str]:
    """The child's first ``count`` READY lines (blocking reads: the child announces itself)."""
    assert child.stdout is not None
    seen = 0
    for line in child.stdout:
        if line.startswith("READY"):
            seen += 1
            yield line.split()[1]
            if seen == count:
                return
    raise AssertionError(f"child ended before {count} READY lines: {child.stderr.read() if child.stderr else ''}")


def _calls(workdir: Path) -> list[str]:
    return (workdir / "calls.log").read_text().split()


async def test_sigkill_mid_pipeline_then_resume_does_not_rerun_finished_children(tmp_path: Path) -> None:
    child = _start("run", tmp_path)
    try:
        assert list(_ready_lines(child, 1)) == ["a2"]  # a0 and a1 finished, a2 is in its model call
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert _calls(tmp_path) == ["a0", "a1", "a2"]

    resumed = subprocess.run([sys.executable, str(CHILD), "resume", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert _calls(tmp_path) == ["a0", "a1", "a2", "a2"]  # only the unfinished child ran again
    assert result["answer"] == "answer of a2" and result["status"] == "success"
    assert [s["agent"] for s in result["intermediate_results"]] == ["a0", "a1", "a2"]
    assert [c.get("replayed", False) for c in result["_meta"]["children"]] == [True, True, False]
    assert result["_meta"]["resumed_from"]


async def test_ctrl_c_on_a_parallel_pipeline_stops_every_child_with_its_checkpoint(tmp_path: Path) -> None:
    child = _start("fanout", tmp_path)
    try:
        assert sorted(_ready_lines(child, 3)) == ["p0", "p1", "p2"]  # all three children in flight
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err  # 128 + SIGINT, through Kaizen's exit hook
    report = json.loads(out.strip().splitlines()[-1])
    assert report["reason"]["metadata"]["signal"] == "SIGINT"
    assert sorted(c["agent_id"] for c in report["children"]) == ["p0", "p1", "p2"]
    assert {c["status"] for c in report["children"]} == {"interrupted"}
    manager = StateManager(f"file://{tmp_path}/ckpt")
    for name in ("p0", "p1", "p2"):
        (meta,) = await manager.list_checkpoints(name)
        assert meta.status == "interrupted"
        assert meta.checkpoint_id in {c["checkpoint_id"] for c in report["children"]}
    (pipeline_checkpoint,) = await manager.list_checkpoints("fanout")
    assert pipeline_checkpoint.status == "interrupted"
