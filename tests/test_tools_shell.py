"""bash_command confinement: program allowlist, scrubbed environment, paths confined to the workspace."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from kaizen_core.tools import DEFAULT_ALLOWED_COMMANDS, ToolContext, ToolRegistry

pytestmark = pytest.mark.anyio

PARENT_SECRET = "parent-only-value-7f3a9c"
SCRUBBED = {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ"}
# what a shell adds to its own environment by itself
SHELL_OWN = {"PWD", "OLDPWD", "SHLVL", "_"}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "notes.txt").write_text("alpha\nbeta\n")
    (root / "sub").mkdir()
    (tmp_path / "outside.txt").write_text("outside the workspace")
    return root


@pytest.fixture(autouse=True)
def parent_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PARENT_SECRET)
    monkeypatch.setenv("KAIZEN_TEST_PLAIN_VAR", PARENT_SECRET)


async def run(workspace: Path, command: str, **context: object) -> object:
    registry = ToolRegistry.from_config(["bash_command"], context=ToolContext(workspace_root=workspace, **context))
    return await registry.execute("bash_command", {"command": command})


def env_names(stdout: str) -> set[str]:
    return {line.split("=", 1)[0] for line in stdout.splitlines() if "=" in line}


# --- the acceptance checks of the issue ------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        "sh -c 'echo $OPENAI_API_KEY'",
        "bash -c 'echo $OPENAI_API_KEY'",
        "python3 -c 'import os; print(os.environ)'",
        "env",
        "xargs echo",
        "find . -exec cat {} ;",
        "perl -e 'print %ENV'",
        "sudo cat notes.txt",
    ],
)
async def test_shells_interpreters_and_launchers_are_refused_by_default(workspace: Path, command: str) -> None:
    result = await run(workspace, command)
    assert result.success is False and result.error_code == "EXEC_005"
    assert "not allowed" in (result.error or "") and "allowlist" in (result.error or "")
    assert PARENT_SECRET not in result.to_content()


async def test_allowlisted_shell_still_sees_only_the_scrubbed_environment(workspace: Path) -> None:
    shell = shutil.which("sh")
    assert shell, "the test needs /bin/sh"
    result = await run(workspace, "sh -c 'echo [$OPENAI_API_KEY][$KAIZEN_TEST_PLAIN_VAR]; env'", allowed_commands=["sh"])
    assert result.success, result.error
    assert result.output["stdout"].splitlines()[0] == "[][]"
    assert PARENT_SECRET not in result.output["stdout"]
    assert env_names(result.output["stdout"]) <= SCRUBBED | SHELL_OWN


async def test_allowlisted_python_still_sees_only_the_scrubbed_environment(workspace: Path) -> None:
    result = await run(
        workspace,
        f"{sys.executable} -c 'import os; print(chr(10).join(k + chr(61) + v for k, v in os.environ.items()))'",
        allowed_commands=[sys.executable],
    )
    assert result.success, result.error
    assert PARENT_SECRET not in result.output["stdout"]
    assert env_names(result.output["stdout"]) <= SCRUBBED | {"LC_CTYPE"}


async def test_allowlisted_env_prints_only_the_scrubbed_environment(workspace: Path) -> None:
    result = await run(workspace, "env", allowed_commands=["env"])
    assert result.success, result.error
    assert PARENT_SECRET not in result.output["stdout"]
    names = env_names(result.output["stdout"])
    assert "PATH" in names and names <= SCRUBBED


async def test_cat_etc_passwd_is_refused(workspace: Path) -> None:
    result = await run(workspace, "cat /etc/passwd")
    assert result.success is False and result.error_code == "EXEC_005"
    assert "outside the workspace" in (result.error or "")
    assert "root:" not in result.to_content()


# --- environment opt-in ----------------------------------------------------------------------
async def test_env_passthrough_and_explicit_env(workspace: Path) -> None:
    result = await run(
        workspace,
        "env",
        allowed_commands=["env"],
        env_passthrough=["KAIZEN_TEST_PLAIN_VAR"],
        env={"MY_SETTING": "on"},
    )
    lines = set(result.output["stdout"].splitlines())
    assert f"KAIZEN_TEST_PLAIN_VAR={PARENT_SECRET}" in lines and "MY_SETTING=on" in lines
    assert not any(line.startswith("OPENAI_API_KEY=") for line in lines)


async def test_opted_in_secret_is_still_redacted_for_the_model(workspace: Path) -> None:
    result = await run(workspace, "env", allowed_commands=["env"], env_passthrough=["OPENAI_API_KEY"])
    assert f"OPENAI_API_KEY={PARENT_SECRET}" in result.output["stdout"]  # the caller asked for it
    assert PARENT_SECRET not in result.to_content()  # the model never sees it


# --- paths -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        "cat ../outside.txt",
        "cat sub/../../outside.txt",
        "head -n 1 /etc/hostname",
        "grep -r root /etc",
        "grep -r x ..",
        "grep --file=../outside.txt notes.txt",
        "grep -f../outside.txt notes.txt",
        "ls -la /",
        "wc /proc/self/environ",
        "diff notes.txt /etc/passwd",
    ],
)
async def test_arguments_naming_paths_outside_the_workspace_are_refused(workspace: Path, command: str) -> None:
    result = await run(workspace, command)
    assert result.error_code == "EXEC_005", (command, result)
    assert "outside the workspace" in (result.error or "")


async def test_symlink_pointing_out_is_refused(workspace: Path) -> None:
    (workspace / "link.txt").symlink_to(workspace.parent / "outside.txt")
    (workspace / "up").symlink_to(workspace.parent)
    for command in ("cat link.txt", "cat up/outside.txt", "ls up"):
        result = await run(workspace, command)
        assert result.error_code == "EXEC_005", command


async def test_paths_inside_the_workspace_work(workspace: Path) -> None:
    result = await run(workspace, f"grep -n beta notes.txt {workspace / 'notes.txt'} sub/../notes.txt")
    assert result.success and result.output["exit_code"] == 0
    assert result.output["stdout"].count("beta") == 3
    in_sub = ToolRegistry.from_config(["bash_command"], context=ToolContext(workspace_root=workspace))
    up_one = await in_sub.execute("bash_command", {"command": "cat ../notes.txt", "cwd": "sub"})
    assert up_one.success and up_one.output["stdout"] == "alpha\nbeta\n"


# --- which program runs ----------------------------------------------------------------------
async def test_program_inside_the_workspace_is_not_picked_up_from_path(workspace: Path) -> None:
    fake = workspace / "bin" / "ls"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho fake\n")
    fake.chmod(0o755)
    result = await run(workspace, "ls", env={"PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"})
    assert result.error_code == "EXEC_005" and "inside the workspace" in (result.error or "")
    relative = await run(workspace, "ls", env={"PATH": f"bin{os.pathsep}{os.environ['PATH']}"})
    assert relative.success and "fake" not in relative.output["stdout"]  # relative PATH entries are ignored


async def test_program_given_by_path_must_be_listed_by_path(workspace: Path) -> None:
    ls = shutil.which("ls")
    assert ls
    refused = await run(workspace, f"{ls} .")
    assert refused.error_code == "EXEC_005"
    allowed = await run(workspace, f"{ls} .", allowed_commands=[ls])
    assert allowed.success and "notes.txt" in allowed.output["stdout"]
    assert (await run(workspace, "./bin/tool", allowed_commands=["./bin/tool"])).error_code == "EXEC_005"


def test_default_allowlist_has_no_shell_interpreter_or_launcher() -> None:
    launchers = {"sh", "bash", "zsh", "dash", "fish", "ksh", "csh", "python", "python3", "perl", "ruby", "node", "env"}
    launchers |= {"xargs", "find", "sudo", "su", "nice", "nohup", "timeout", "git", "make", "awk", "sed", "sort", "ln"}
    assert not launchers & set(DEFAULT_ALLOWED_COMMANDS)
    assert ToolContext().allowed_commands == list(DEFAULT_ALLOWED_COMMANDS)
