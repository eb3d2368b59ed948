"""Crash-safe resume, for real: SIGKILL a child process mid-run, resume in a new process.

The child's tool appends a line to a file; after the resume every line is in the
file exactly once and the run completes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).with_name("autonomous_crash_child.py")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KILL_AT"}
    env.update(extra)
    return env


@pytest.mark.parametrize(
    "kill_at, expected_outcomes",
    [
        # killed inside append_line("line 3"): its result was never recorded -> outcome unknown, not re-run
        ("line 3", {"line 3": "unknown"}),
        # killed inside pause() after line 4's result was journaled -> line 4 replayed, pause re-run (idempotent)
        ("pause", {"line 4": "replayed", "pause": "success"}),
    ],
)
def test_sigkill_mid_run_then_resume(tmp_path: Path, kill_at: str, expected_outcomes: dict[str, str]) -> None:
    (tmp_path / "ws").mkdir()
    _kill_when_hanging(CHILD, tmp_path, kill_at)
    lines_file = tmp_path / "ws" / "lines.txt"
    before = lines_file.read_text().splitlines()
    assert before == ["line 1", "line 2", "line 3"] + (["line 4"] if kill_at == "pause" else [])

    result = _resume(CHILD, tmp_path)
    assert result["stop_reason"] == "converged" and result["summary"] == "six lines"
    assert result["cycles_used"] == 7 and result["resumed_from"]
    assert lines_file.read_text().splitlines() == [f"line {i}" for i in range(1, 7)]

    by_label: dict[str, str] = {}
    for call in result["tool_calls"]:
        label = call["arguments"].get("line", call["name"])
        by_label[label] = "replayed" if call.get("replayed") else call["outcome"]
    for label, outcome in expected_outcomes.items():
        assert by_label[label] == outcome, (label, by_label)


BATCH_CHILD = Path(__file__).with_name("autonomous_batch_crash_child.py")


def _resume(script: Path, workdir: Path) -> dict[str, Any]:
    """Run ``script resume workdir`` to its end; its last stdout line is the run's result (JSON)."""
    resumed = subprocess.run(
        [sys.executable, str(script), "resume", str(workdir)], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    result: dict[str, Any] = json.loads(resumed.stdout.strip().splitlines()[-1])
    return result


def _kill_when_hanging(script: Path, workdir: Path, kill_at: str) -> None:
    child = subprocess.Popen(
        [sys.executable, str(script), "run", str(workdir)],
        env=_env(KILL_AT=kill_at),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not (workdir / "hanging").exists():
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "child never reached the kill point"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    "kill_at, notes_before",
    [
        # the reply + 3 starts batch is durable, no tool ran yet
        ("starts", []),
        # all 3 tools ran; the batch of their results was never written
        ("results", ["a", "b", "c"]),
    ],
)
def test_sigkill_around_group_committed_batch(tmp_path: Path, kill_at: str, notes_before: list[str]) -> None:
    """Three concurrent non-idempotent calls share one journal write for their starts and one for
    their results; a kill around either never repeats a call and never loses the model's reply."""
    (tmp_path / "ws").mkdir()
    _kill_when_hanging(BATCH_CHILD, tmp_path, kill_at)
    notes = tmp_path / "ws" / "notes.txt"
    assert sorted(notes.read_text().splitlines() if notes.exists() else []) == notes_before

    result = _resume(BATCH_CHILD, tmp_path)
    assert result["stop_reason"] == "converged" and result["summary"] == "three notes"
    assert result["resumed_from"] and result["cycles_used"] == 2
    # cycle 1's reply came from the journal: the resumed process asked the model once (cycle 2)
    assert result["model_calls"] == 1
    # no call ran twice: started without a recorded result and not idempotent -> outcome unknown
    assert sorted(notes.read_text().splitlines() if notes.exists() else []) == notes_before
    assert [(c["arguments"]["name"], c["outcome"]) for c in result["tool_calls"]] == [
        ("a", "unknown"),
        ("b", "unknown"),
        ("c", "unknown"),
    ]
