"""bash_command: run one allowed program with arguments, no shell, scrubbed environment.

Despite the name (kept for familiarity) no shell is involved. What a call goes through,
in order (each refusal is a :class:`~kaizen_core.errors.PermissionDeniedError` the model
sees as a tool error):

1. the command string is split with :func:`shlex.split`: ``;``, ``|``, ``&&``, ``$(...)``,
   globs and redirections are plain arguments, never interpreted;
2. the program must be on ``ToolContext.allowed_commands`` (by default
   :data:`~kaizen_core.tools.tool.DEFAULT_ALLOWED_COMMANDS`: file utilities that start
   no other program). A name is looked up on the child's ``PATH`` (absolute entries
   only) and must not resolve to a file inside the workspace, which the model can
   write; an absolute path must be listed as that path;
3. every argument that can name a path (the argument itself, the value after ``=``,
   and any part of an option starting with ``/`` or ``..``) is resolved against the
   working directory, symlinks followed, and must stay inside the workspace:
   ``cat /etc/passwd``, ``grep -r x ..``, ``--file=../../x`` and a symlink pointing out
   are refused;
4. the child gets a scrubbed environment: only ``PATH``, ``HOME``, ``LANG``,
   ``LC_ALL``, ``LC_CTYPE``, ``TZ`` (:data:`~kaizen_core.tools.tool.DEFAULT_ENV_PASSTHROUGH`),
   the names in ``ToolContext.env_passthrough``, and ``ToolContext.env``;
5. it runs in ``cwd`` (inside the workspace) with stdin closed, is killed at the
   timeout, and its output is capped per stream.

This is a policy on the command line, not an operating-system sandbox: see
docs/tools.md, "What bash_command does not protect against".
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import ByteReceiveStream

from kaizen_core.errors import InputValidationError, PermissionDeniedError, ToolExecutionError
from kaizen_core.tools.tool import DEFAULT_ENV_PASSTHROUGH, DangerLevel, ToolContext, tool
from kaizen_core.tools.workspace import resolve_in_workspace

__all__ = ["bash_command", "build_environment", "check_arguments", "resolve_program"]

_ALLOW_HINT = (
    "add it to ToolContext.allowed_commands only if you trust it: a shell or an interpreter there "
    "can run anything and makes the other restrictions moot"
)


def build_environment(context: ToolContext) -> dict[str, str]:
    """The child's environment: the default and opted-in parent variables, then ``context.env``."""
    names = (*DEFAULT_ENV_PASSTHROUGH, *context.env_passthrough)
    env = {name: os.environ[name] for name in names if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(context.env or {})
    return env


def resolve_program(program: str, context: ToolContext, env: dict[str, str]) -> str:
    """The absolute path to execute for ``program``, or refuse it (see the module docstring, step 2)."""
    allowed = context.allowed_commands
    root = context.workspace_root.resolve()
    if os.sep in program:
        if not os.path.isabs(program) or program not in allowed:
            raise PermissionDeniedError(
                f"program {program!r} is not allowed: bash_command runs only programs on its allowlist",
                hint="give an allowed program by name, or list its absolute path in ToolContext.allowed_commands",
            )
        return program
    if program not in allowed:
        shown = ", ".join(sorted(n for n in allowed if os.sep not in n)) or "none"
        raise PermissionDeniedError(
            f"program {program!r} is not allowed: bash_command runs only programs on its allowlist ({shown})",
            hint=_ALLOW_HINT,
        )
    # absolute PATH entries only: "." or a relative entry would pick up files the model wrote
    search = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if os.path.isabs(p))
    found = shutil.which(program, path=search)
    if found is None:
        raise ToolExecutionError(f"command not found: {program!r} is allowed but not on PATH")
    real = Path(found).resolve()
    if real == root or real.is_relative_to(root):
        raise PermissionDeniedError(
            f"program {program!r} resolves to {found!r}, inside the workspace, where the model can write files",
            hint="list the program by its absolute path in ToolContext.allowed_commands if that is intended",
        )
    return found


def _path_candidates(arg: str) -> Iterator[str]:
    """The parts of ``arg`` a program may treat as a path."""
    yield arg
    if "=" in arg:  # --file=x, if=x, KEY=x
        yield arg.split("=", 1)[1]
    if arg.startswith("-"):  # -I../x, -t/tmp, -xf../a.tar: any tail that starts like a path
        for i in range(1, len(arg)):
            if arg[i] == "/" or arg.startswith("..", i):
                yield arg[i:]


def check_arguments(args: list[str], workdir: Path, context: ToolContext) -> None:
    """Refuse any argument that names a path outside the workspace (see the module docstring, step 3)."""
    root = context.workspace_root.resolve()
    for arg in args:
        for candidate in _path_candidates(arg):
            if not candidate:
                continue
            path = Path(candidate)
            resolved = (path if path.is_absolute() else workdir / path).resolve()
            if resolved != root and not resolved.is_relative_to(root):
                raise PermissionDeniedError(
                    f"argument {arg!r} names a path outside the workspace root {str(root)!r}; command refused",
                    hint="bash_command works on files inside the workspace only (no absolute paths outside it, "
                    "no '..' leading out, no symlinks pointing out)",
                )


async def _drain(stream: ByteReceiveStream | None, cap: int, sink: list[bytes], flags: list[bool]) -> None:
    if stream is None:
        return
    size = 0
    async for chunk in stream:
        if size < cap:
            sink.append(chunk[: cap - size])
            if len(chunk) > cap - size:
                flags.append(True)
        else:
            flags.append(True)
        size += len(chunk)


@tool(danger_level=DangerLevel.HIGH, category="bash")
async def bash_command(command: str, context: ToolContext, cwd: str = ".", timeout: float | None = None) -> dict[str, Any]:
    """Run one allowed program with arguments in the workspace (no shell: no pipes, redirections or variables).

    Only programs on the configured allowlist run (by default file utilities such as ls, cat,
    grep, head, tail, wc, diff); paths must stay inside the workspace. Returns exit code,
    stdout and stderr.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise InputValidationError(f"cannot parse command: {exc}") from exc
    if not argv:
        raise InputValidationError("empty command")
    workdir = resolve_in_workspace(cwd, context.workspace_root)
    env = build_environment(context)
    executable = resolve_program(argv[0], context, env)
    check_arguments(argv[1:], workdir, context)
    limit = min(timeout, context.command_timeout) if timeout else context.command_timeout
    cap = context.max_output_chars
    out: list[bytes] = []
    err: list[bytes] = []
    truncated: list[bool] = []
    try:
        process = await anyio.open_process([executable, *argv[1:]], cwd=workdir, env=env, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise ToolExecutionError(f"command not found: {argv[0]!r}") from exc
    except PermissionError as exc:
        raise ToolExecutionError(f"command not executable: {argv[0]!r}") from exc
    async with process:
        with anyio.move_on_after(limit) as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_drain, process.stdout, cap, out, truncated)
                tg.start_soon(_drain, process.stderr, cap, err, truncated)
            await process.wait()
        if scope.cancelled_caught:
            process.kill()
            with anyio.CancelScope(shield=True):
                await process.wait()
            raise ToolExecutionError(f"command {argv[0]!r} timed out after {limit}s and was killed")
    return {
        "exit_code": process.returncode,
        "stdout": b"".join(out).decode("utf-8", errors="replace"),
        "stderr": b"".join(err).decode("utf-8", errors="replace"),
        "truncated": bool(truncated),
    }
