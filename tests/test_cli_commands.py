"""The ``kaizen`` command as a user runs it: real subprocesses, a pseudo-terminal for approvals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

KAIZEN = [sys.executable, "-m", "kaizen_core.cli"]

WRITER_TOML = """
[agent]
id = "writer"
type = "autonomous"
signature = "task: str -> summary: str"
llm_provider = "mock"
tools = ["write_file"]
workspace_root = "."
checkpoint_storage = "file://./ckpt"
max_cycles = 5

[agent.provider_config]
script = [
  {tool_calls = [{name = "write_file", arguments = {path = "out.txt", content = "hello"}}]},
  {summary = "finished"},
]
"""


@pytest.fixture
def writer(tmp_path: Path) -> Path:
    (tmp_path / "agent.toml").write_text(WRITER_TOML, encoding="utf-8")
    return tmp_path


def test_import_kaizen_core_does_not_import_the_cli_stack() -> None:
    code = "import sys, kaizen_core; print(sorted(m for m in ('click', 'rich', 'typer') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_run_json_parses_and_the_live_view_is_on_stderr(writer: Path) -> None:
    proc = subprocess.run(
        [*KAIZEN, "run", "agent.toml", "-i", "task=write it", "--json"],
        cwd=writer,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # nothing but the result on stdout
    assert result["summary"] == "finished"
    assert [c["outcome"] for c in result["tool_calls"]] == ["denied"]
    # no terminal: the approval is denied, and the user is told why
    assert "stdin is not a terminal" in proc.stderr
    assert "cycle 1" in proc.stderr and "write_file denied" in proc.stderr
    assert not (writer / "out.txt").exists()


def test_run_inputs_json_from_stdin(writer: Path) -> None:
    proc = subprocess.run(
        [*KAIZEN, "run", "agent.toml", "--inputs-json", "-", "--json", "--quiet"],
        cwd=writer,
        input=json.dumps({"task": "write it"}),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"] == "finished"
    assert "cycle 1" not in proc.stderr  # --quiet: no live view


def test_usage_error_exits_2(writer: Path) -> None:
    proc = subprocess.run([*KAIZEN, "run", "agent.toml", "--no-such-flag"], cwd=writer, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "no-such-flag" in proc.stderr


def test_help_shows_an_example() -> None:
    proc = subprocess.run([*KAIZEN, "run", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "Example:" in proc.stdout and "kaizen run agent.toml" in proc.stdout


def _run_in_terminal(cwd: Path) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable, ["-m", "kaizen_core.cli", "run", "agent.toml", "-i", "task=write it"], cwd=str(cwd),
        encoding="utf-8", timeout=60, dimensions=(50, 200),
    )
    child.expect(r"Approve write_file\?")
    child.expect("arguments: .*out.txt")  # the tool's arguments
    child.expect("reason: (.*)MEDIUM(.*)approval required")  # the rule that asked
    child.expect(r"\[y/N\] ")
    return child


def test_approval_yes_runs_the_tool(writer: Path) -> None:
    child = _run_in_terminal(writer)
    child.sendline("y")
    child.expect("write_file .*success")
    child.expect("finished")  # the result table on the terminal
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (writer / "out.txt").read_text() == "hello"


def test_approval_no_is_reported_to_the_model_and_the_run_finishes(writer: Path) -> None:
    child = _run_in_terminal(writer)
    child.sendline("n")
    child.expect("write_file .*denied")
    child.expect("finished")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not (writer / "out.txt").exists()


def test_convergence_failure_has_its_own_exit_code(tmp_path: Path) -> None:
    (tmp_path / "agent.toml").write_text(
        WRITER_TOML.replace("summary: str", "count: int")
        .replace("max_cycles = 5", "max_cycles = 1")
        .replace('{summary = "finished"}', '{content = "no idea"}'),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [*KAIZEN, "run", "agent.toml", "-i", "task=count", "--json", "--quiet"],
        cwd=tmp_path, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["stop_reason"] == "max_cycles"  # the partial result
    assert json.loads(proc.stderr.splitlines()[-1])["error"]["code"] == "AGENT_005"
