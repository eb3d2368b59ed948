"""examples/orchestration/*.py run as a user runs them (``python examples/orchestration/<x>.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "orchestration"


def run(name: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=120, cwd=EXAMPLES.parents[1]
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("name", ["router_agents.py", "consensus_decision.py", "parallel_fanout.py"])
def test_every_example_is_tested(name: str) -> None:
    assert (EXAMPLES / name).is_file()
    assert {p.name for p in EXAMPLES.glob("*.py")} == {"router_agents.py", "consensus_decision.py", "parallel_fanout.py"}


def test_router_example_routes_each_task_to_its_agent() -> None:
    out = run("router_agents.py")
    routes = [line for line in out if " -> " in line]
    assert [line.split(" -> ")[1].split()[0] for line in routes] == ["data_agent", "code_agent", "qa_agent"]
    assert "no card matched: the fallback agent" in routes[2]
    assert all("scorer: " in line for line in routes)


def test_consensus_example_reaches_two_of_three() -> None:
    out = run("consensus_decision.py")
    assert out[0] == "consensus reached: True after 1 round(s)"
    assert out[1] == "final decision: approve (share 67%)"


def test_parallel_example_keeps_results_past_a_timeout() -> None:
    out = run("parallel_fanout.py")
    assert sum(" success " in line for line in out) == 5
    assert any("accessibility_reviewer" in line and " timeout " in line for line in out)
    assert any(line.startswith("status: partial; timed out: ['accessibility_reviewer']; 5 of 5 reviews ok") for line in out)
