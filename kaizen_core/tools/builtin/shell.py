"""bash_command: run one program with arguments, no shell, with timeout and output cap.

Despite the name (kept for familiarity) no shell is involved: the command string is
split with :func:`shlex.split` and executed directly, so ``;``, ``|``, ``$(...)`` and
redirections are plain arguments, never interpreted. The working directory is
confined to the workspace root.
"""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

import anyio
from anyio.abc import ByteReceiveStream

from kaizen_core.errors import InputValidationError, ToolExecutionError
from kaizen_core.tools.tool import DangerLevel, ToolContext, tool
from kaizen_core.tools.workspace import resolve_in_workspace

__all__ = ["bash_command"]


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


@tool(danger_level=DangerLevel.HIGH, category="shell")
async def bash_command(command: str, context: ToolContext, cwd: str = ".", timeout: float | None = None) -> dict[str, Any]:
    """Run a command (program and arguments, no shell features) in the workspace; returns exit code, stdout, stderr."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise InputValidationError(f"cannot parse command: {exc}") from exc
    if not argv:
        raise InputValidationError("empty command")
    workdir = resolve_in_workspace(cwd, context.workspace_root)
    limit = min(timeout, context.command_timeout) if timeout else context.command_timeout
    cap = context.max_output_chars
    out: list[bytes] = []
    err: list[bytes] = []
    truncated: list[bool] = []
    try:
        process = await anyio.open_process(argv, cwd=workdir, env=context.env, stdin=subprocess.DEVNULL)
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
