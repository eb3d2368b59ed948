"""The ``kaizen`` command as a user runs it: real subprocesses, a pseudo-terminal for approvals."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
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


# --- Ctrl+C / SIGTERM and resume ---------------------------------------------------------------

APPENDER_PLUGIN = '''
"""A test plugin: the tool append_line appends a line to lines.txt; the first time it is
called with "b" it prints TOOL-READY on stderr and waits until the run is interrupted."""
import sys
from pathlib import Path

from kaizen_core.hookspecs import hookimpl
from kaizen_core.interrupts import current_scope
from kaizen_core.tools import tool


@tool
async def append_line(line: str) -> str:
    """Append a line to lines.txt."""
    with open("lines.txt", "a", encoding="utf-8") as fh:
        fh.write(line + "\\n")
    marker = Path("ready.marker")
    if line == "b" and not marker.exists():
        marker.write_text("ready", encoding="utf-8")
        print("TOOL-READY", file=sys.stderr, flush=True)
        scope = current_scope()
        assert scope is not None
        await scope.wait(timeout=60)  # returns as soon as the signal has been seen
    return "appended " + line


@hookimpl
def register_tools(register):
    register("append_line", "kaizen_test_appender:append_line")
'''

APPENDER_TOML = """
[agent]
id = "appender"
type = "autonomous"
signature = "task: str -> summary: str"
llm_provider = "mock"
tools = ["append_line"]
checkpoint_storage = "file://./ckpt"
checkpoint_frequency = 1
max_cycles = 6

[agent.provider_config]
script = [
  {tool_calls = [{name = "append_line", arguments = {line = "a"}}]},
  {tool_calls = [{name = "append_line", arguments = {line = "b"}}]},
  {tool_calls = [{name = "append_line", arguments = {line = "c"}}]},
  {summary = "three lines"},
]
"""


@pytest.fixture
def appender(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project dir with the TOML agent, and an environment where the test plugin is installed."""
    site = tmp_path / "site"
    dist = site / "kaizen_test_appender-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kaizen-test-appender\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[kaizen]\nappender = kaizen_test_appender\n", encoding="utf-8")
    (site / "kaizen_test_appender.py").write_text(APPENDER_PLUGIN, encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "agent.toml").write_text(APPENDER_TOML, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    env.pop("KAIZEN_LOAD_PLUGINS", None)
    return project, env


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_prints_the_resume_command_and_resuming_repeats_no_tool_call(
    appender: tuple[Path, dict[str, str]], signum: int, code: int
) -> None:
    project, env = appender
    proc = subprocess.Popen(
        [*KAIZEN, "run", "agent.toml", "-i", "task=three lines", "--json"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )
    # wait for the tool's readiness marker (an event, not a sleep): the tool is then running
    assert proc.stderr is not None
    lines: list[str] = []
    for line in proc.stderr:
        lines.append(line)
        if line.strip() == "TOOL-READY":
            break
    assert lines and lines[-1].strip() == "TOOL-READY", "".join(lines)
    proc.send_signal(signum)
    stdout, rest = proc.communicate(timeout=60)
    stderr = "".join(lines) + rest
    assert proc.returncode == code, stderr
    assert json.loads(stdout)["stop_reason"] == "interrupted"  # the partial result
    match = re.search(r"resume with: (kaizen run .*)$", stderr, re.MULTILINE)
    assert match, stderr
    assert "checkpoint" in stderr and "ckpt" in stderr  # where the checkpoint is
    argv = shlex.split(match.group(1))
    assert argv[:3] == ["kaizen", "run", "agent.toml"] and argv[3] in ("--resume", "--resume-latest")

    resumed = subprocess.run(
        [*KAIZEN, *argv[1:], "--json"], cwd=project, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["summary"] == "three lines"
    assert (project / "lines.txt").read_text(encoding="utf-8").splitlines() == ["a", "b", "c"]


def test_resume_latest_continues_the_agents_newest_checkpoint(appender: tuple[Path, dict[str, str]]) -> None:
    project, env = appender
    proc = subprocess.Popen(
        [*KAIZEN, "run", "agent.toml", "-i", "task=three lines", "--quiet", "--json"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # the tool's readiness marker
        if line.strip() == "TOOL-READY":
            break
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    resumed = subprocess.run(
        [*KAIZEN, "run", "agent.toml", "--resume-latest", "--json", "--quiet"],
        cwd=project, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert (project / "lines.txt").read_text(encoding="utf-8").splitlines() == ["a", "b", "c"]


def test_resume_and_resume_latest_exclude_each_other(writer: Path) -> None:
    proc = subprocess.run(
        [*KAIZEN, "run", "agent.toml", "--resume", "x", "--resume-latest"], cwd=writer, capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "--resume" in proc.stderr


# --- kaizen checkpoints -----------------------------------------------------------------------


def _checkpoints(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KAIZEN, "checkpoints", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "240"},
    )


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, list[str]]:
    """A file store holding agent "a"'s chain of three checkpoints (oldest first)."""
    from kaizen_core.state import AgentState, StateManager

    async def save() -> list[str]:
        async with StateManager(f"file://{tmp_path / 'ckpt'}", retention_count=None) as manager:
            ids = []
            for step in (1, 2, 3):
                state = AgentState(
                    agent_id="a", step_number=step, conversation_history=[{"role": "user", "content": f"hello {step}"}]
                )
                ids.append(await manager.save_checkpoint(state))
            return [i for i in ids if i]

    import anyio

    return tmp_path, anyio.run(save)


def test_checkpoints_tree_after_a_fork_shows_both_branches(store: tuple[Path, list[str]]) -> None:
    cwd, (first, second, third) = store
    fork = _checkpoints(cwd, "--storage", "file://./ckpt", "fork", first)
    assert fork.returncode == 0, fork.stderr
    forked = re.search(r"as (\S+) \(agent a\)", fork.stdout)
    assert forked, fork.stdout
    tree = _checkpoints(cwd, "tree", "a", "--storage", "file://./ckpt")
    assert tree.returncode == 0, tree.stderr
    lines = tree.stdout.splitlines()

    def line_of(cid: str) -> tuple[int, str]:
        (index,) = [i for i, line in enumerate(lines) if cid in line]
        return index, lines[index]

    def indent(line: str) -> int:
        return len(line) - len(line.lstrip(" │├└─"))

    i_first, l_first = line_of(first)
    i_second, l_second = line_of(second)
    i_third, l_third = line_of(third)
    i_fork, l_fork = line_of(forked.group(1))
    # first has two children: the original branch (second -> third) and the fork
    assert indent(l_second) == indent(l_fork) > indent(l_first)
    assert indent(l_third) > indent(l_second)
    assert i_first < i_second < i_third < i_fork, tree.stdout
    assert "4 checkpoints" in tree.stdout


def test_checkpoints_list_show_delete_prune(store: tuple[Path, list[str]]) -> None:
    cwd, (first, second, third) = store
    listed = _checkpoints(cwd, "list", "a", "--storage", "file://./ckpt", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [m["checkpoint_id"] for m in json.loads(listed.stdout)] == [third, second, first]
    table = _checkpoints(cwd, "--storage", "file://./ckpt", "list", "a")
    assert all(cid in table.stdout for cid in (first, second, third))

    show = _checkpoints(cwd, "show", second, "--storage", "file://./ckpt")
    assert show.returncode == 0, show.stderr
    assert re.search(r"step: 2$", show.stdout, re.MULTILINE)
    assert re.search(rf"parent: {first}$", show.stdout, re.MULTILINE)
    assert "hello 2" in show.stdout and "bytes" in show.stdout

    deleted = _checkpoints(cwd, "delete", second, "--storage", "file://./ckpt")
    assert deleted.returncode == 0, deleted.stderr
    again = _checkpoints(cwd, "delete", second, "--storage", "file://./ckpt")
    assert again.returncode == 1 and json.loads(again.stderr)["error"]["code"] == "CHECKPOINT_002"
    # the third was saved as a delta of the second: it still loads
    assert _checkpoints(cwd, "show", third, "--storage", "file://./ckpt").returncode == 0

    pruned = _checkpoints(cwd, "prune", "a", "--keep", "1", "--storage", "file://./ckpt")
    assert pruned.returncode == 0, pruned.stderr
    after = json.loads(_checkpoints(cwd, "list", "a", "--storage", "file://./ckpt", "--json").stdout)
    assert [m["checkpoint_id"] for m in after] == [third]
    assert _checkpoints(cwd, "show", third, "--storage", "file://./ckpt").returncode == 0


def test_checkpoints_default_storage_is_the_autonomous_default(tmp_path: Path) -> None:
    proc = _checkpoints(tmp_path, "list", "nobody")
    assert proc.returncode == 0, proc.stderr
    assert "file://./.kaizen/checkpoints" in proc.stdout


# --- kaizen doctor ------------------------------------------------------------------------------


KEYED_PLUGIN = '''
from kaizen_core import hookimpl


@hookimpl
def register_providers(register):
    register("keyed", "kaizen_core.providers.mock:MockProvider", env=["KEYED_API_KEY"], description="needs a key")
'''


def _scrubbed_env(home: Path, **extra: str) -> dict[str, str]:
    """No API keys, no provider hosts: a machine where nothing is configured, plus one test plugin
    whose provider needs ``KEYED_API_KEY`` (so the test does not depend on which plugins are installed)."""
    site = home / "site"
    dist = site / "kaizen_test_keyed-0.1.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kaizen-test-keyed\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[kaizen]\nkeyed = kaizen_test_keyed\n", encoding="utf-8")
    (site / "kaizen_test_keyed.py").write_text(KEYED_PLUGIN, encoding="utf-8")
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")}
    return {**keep, "HOME": str(home), "COLUMNS": "240", "PYTHONPATH": str(site), **extra}


def test_doctor_without_keys_says_what_is_usable_and_how_to_enable_the_rest(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*KAIZEN, "doctor", "--storage", "file://./ckpt", "--storage", "nosuch://x"],
        cwd=tmp_path, capture_output=True, text=True, env=_scrubbed_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"ok\s+kaizen-core: \S+", out)  # installed plugins with versions
    assert re.search(r"ok\s+kaizen-test-keyed: 0\.1", out)
    assert re.search(r"ok\s+mock: always available", out)
    assert re.search(r"usable providers now: .*mock", out)
    # a provider that needs a key names the variable and how to set it
    assert re.search(r"no\s+keyed: KEYED_API_KEY not set\n\s+fix: export KEYED_API_KEY=\.\.\.", out)
    # a well-known provider: installed (needs its key) or not (says what to install)
    assert re.search(r"no\s+openai: (OPENAI_API_KEY not set|kaizen-openai is not installed)\n\s+fix: ", out)
    assert re.search(r"ok\s+file://\./ckpt: reachable", out)
    assert re.search(r"no\s+nosuch://x: .*\n\s+fix: ", out)


def test_doctor_reports_a_key_as_present_without_printing_it(tmp_path: Path) -> None:
    secret = "sk-doctor-test-0123456789abcdef"
    proc = subprocess.run(
        [*KAIZEN, "doctor", "--json"], cwd=tmp_path, capture_output=True, text=True,
        env=_scrubbed_env(tmp_path, KEYED_API_KEY=secret),
    )
    assert proc.returncode == 0, proc.stderr
    assert secret not in proc.stdout + proc.stderr
    checks = {(c["section"], c["name"]): c for c in json.loads(proc.stdout)}
    assert checks[("provider", "keyed")]["ok"] is True
    assert checks[("provider", "keyed")]["detail"] == "KEYED_API_KEY set"



def test_doctor_never_prints_the_password_of_a_storage_url(tmp_path: Path) -> None:
    password = "s3cr3t-doctor-pw"
    url = f"nosuch://bob:{password}@localhost/x"
    for extra in ([], ["--json"]):
        proc = subprocess.run(
            [*KAIZEN, "doctor", "--storage", url, *extra], cwd=tmp_path, capture_output=True, text=True,
            env=_scrubbed_env(tmp_path),
        )
        assert proc.returncode == 0, proc.stderr
        assert password not in proc.stdout + proc.stderr
        assert "nosuch://bob:***@localhost/x" in proc.stdout  # the store is still named


# --- kaizen chat --------------------------------------------------------------------------------

# The mock picks its reply by the number of assistant turns in the request: "I remember" is
# only answered when the request carries the earlier turn, i.e. when memory was recalled.
CHAT_TOML = """
[agent]
id = "assistant"
signature = "message: str -> reply: str"
llm_provider = "mock"
max_turns = 10
memory_storage = "sqlite:///./memory.db"

[agent.provider_config]
script = [{reply = "nice to meet you"}, {reply = "I remember"}]
"""


def _chat(cwd: Path, session: str) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable, ["-m", "kaizen_core.cli", "chat", "agent.toml", "--session", session], cwd=str(cwd),
        encoding="utf-8", timeout=60, dimensions=(50, 200),
    )
    child.expect(f"session {session}")
    child.expect("you> ")
    return child


def test_chat_remembers_the_session_across_invocations(tmp_path: Path) -> None:
    (tmp_path / "agent.toml").write_text(CHAT_TOML, encoding="utf-8")
    first = _chat(tmp_path, "alice")
    first.sendline("my name is Ada")
    first.expect("agent> nice to meet you")
    first.expect("you> ")
    first.sendline("/exit")
    first.expect(pexpect.EOF)
    first.close()
    assert first.exitstatus == 0

    second = _chat(tmp_path, "alice")
    second.sendline("/history")
    second.expect("user: .*my name is Ada")  # the first invocation's message, from the store
    second.expect("assistant: .*nice to meet you")
    second.expect("2 messages")
    second.expect("you> ")
    second.sendline("what is my name?")
    second.expect("agent> I remember")  # the request carried the earlier turn
    second.expect("you> ")
    second.sendline("/reset")
    second.expect("session forgotten")
    second.expect("you> ")
    second.sendline("/history")
    second.expect("0 messages")
    second.expect("you> ")
    second.sendline("hello again")
    second.expect("agent> nice to meet you")  # nothing recalled after /reset
    second.expect("you> ")
    second.sendeof()
    second.expect(pexpect.EOF)
    second.close()
    assert second.exitstatus == 0

    other = _chat(tmp_path, "bob")  # another session shares nothing
    other.sendline("/history")
    other.expect("0 messages")
    other.sendline("/exit")
    other.expect(pexpect.EOF)
    other.close()


def test_chat_without_memory_says_how_to_enable_it(tmp_path: Path) -> None:
    (tmp_path / "agent.toml").write_text(
        CHAT_TOML.replace("max_turns = 10\n", "").replace('memory_storage = "sqlite:///./memory.db"\n', ""),
        encoding="utf-8",
    )
    proc = subprocess.run([*KAIZEN, "chat", "agent.toml"], cwd=tmp_path, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    error = json.loads(proc.stderr)["error"]
    assert error["code"] == "KAIZEN_002" and "memory_storage" in error["hint"]


EXAMPLE_TOML = Path(__file__).parent.parent / "examples" / "autonomous" / "agent.toml"


def test_example_agent_toml_shows_each_tool_call_and_asks_before_the_write(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("buy milk\n", encoding="utf-8")
    child = pexpect.spawn(
        sys.executable, ["-m", "kaizen_core.cli", "run", str(EXAMPLE_TOML), "--input", "task=index this folder"],
        cwd=str(tmp_path), encoding="utf-8", timeout=60, dimensions=(50, 200),
    )
    child.expect(r"→ list_directory\(\{\"path\": \".\"\}\)")
    child.expect("← list_directory .*success")
    child.expect(r"→ read_file\(\{\"path\": \"notes.txt\"\}\)")
    child.expect("← read_file .*success.*buy milk")
    child.expect(r"Approve write_file\?")
    child.expect("arguments: .*INDEX.md")
    child.expect(r"\[y/N\] ")
    child.sendline("n")
    child.expect("write_file .*denied")
    child.expect("stop_reason converged")
    child.expect("proposed INDEX.md")  # the model's answer, in the result table
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not (tmp_path / "INDEX.md").exists()
    # the denial reached the model: the conversation saved in the final checkpoint has the tool result saying so
    import asyncio

    from kaizen_core.state import StateManager

    async def history() -> list[dict[str, object]]:
        async with StateManager(f"file://{tmp_path / '.kaizen' / 'checkpoints'}", retention_count=None) as manager:
            latest = (await manager.list_checkpoints("file-organizer"))[0]
            return (await manager.load_checkpoint(latest.checkpoint_id)).conversation_history

    tool_results = [str(m.get("content")) for m in asyncio.run(history()) if m.get("role") == "tool"]
    assert len(tool_results) == 3 and "not approved" in tool_results[-1]


def test_stream_prints_the_tokens_on_stderr_and_json_stdout_still_parses(tmp_path: Path) -> None:
    (tmp_path / "agent.toml").write_text(
        '[agent]\nid = "s"\nsignature = "question: str -> answer: str"\nllm_provider = "mock"\n'
        '[agent.provider_config]\nscript = [{content = \'{"answer": "streamed words here"}\'}]\n',
        encoding="utf-8",
    )
    proc = subprocess.run(
        [*KAIZEN, "run", "agent.toml", "-i", "question=hi", "--stream", "--json"],
        cwd=tmp_path, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["answer"] == "streamed words here"
    assert '{"answer": "streamed words here"}' in proc.stderr
    quiet = subprocess.run(
        [*KAIZEN, "run", "agent.toml", "-i", "question=hi", "--json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert "streamed words" not in quiet.stderr  # without --stream nothing is streamed


def test_shell_completion_script_is_clicks_own() -> None:
    kaizen = Path(sys.executable).parent / "kaizen"  # the installed console script, as a shell calls it
    proc = subprocess.run([str(kaizen)], env={**os.environ, "_KAIZEN_COMPLETE": "bash_source"}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "_kaizen_completion()" in proc.stdout and "complete -o nosort -F _kaizen_completion kaizen" in proc.stdout
