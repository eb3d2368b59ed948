"""File tools, confined to ``ToolContext.workspace_root``."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from kaizen_core.errors import ToolExecutionError
from kaizen_core.tools.tool import DangerLevel, ToolContext, tool
from kaizen_core.tools.workspace import resolve_in_workspace

__all__ = ["delete_file", "file_exists", "list_directory", "read_file", "write_file"]


def _rel(path: Any, context: ToolContext) -> str:
    return os.path.relpath(path, context.workspace_root.resolve())


@tool(danger_level=DangerLevel.SAFE, category="file", idempotent=True, read_only=True)
def read_file(path: str, context: ToolContext, encoding: str = "utf-8") -> str:
    """Read a text file inside the workspace and return its content."""
    target = resolve_in_workspace(path, context.workspace_root)
    if not target.is_file():
        raise ToolExecutionError(f"file {path!r} does not exist or is not a regular file")
    size = target.stat().st_size
    if size > context.max_file_bytes:
        raise ToolExecutionError(
            f"file {path!r} is {size} bytes, larger than the {context.max_file_bytes}-byte limit",
            hint="raise ToolContext.max_file_bytes or read a smaller file",
        )
    return target.read_text(encoding=encoding)


@tool(danger_level=DangerLevel.SAFE, category="file", idempotent=True, read_only=True)
def file_exists(path: str, context: ToolContext) -> bool:
    """Tell whether a path exists inside the workspace."""
    return resolve_in_workspace(path, context.workspace_root).exists()


@tool(danger_level=DangerLevel.SAFE, category="file", idempotent=True, read_only=True)
def list_directory(context: ToolContext, path: str = ".") -> list[dict[str, Any]]:
    """List a directory inside the workspace: name, type (file/dir/other) and size of each entry."""
    target = resolve_in_workspace(path, context.workspace_root)
    if not target.is_dir():
        raise ToolExecutionError(f"{path!r} is not a directory")
    entries = []
    for entry in sorted(os.scandir(target), key=lambda e: e.name):
        kind = "dir" if entry.is_dir(follow_symlinks=False) else "file" if entry.is_file(follow_symlinks=False) else "other"
        size = entry.stat(follow_symlinks=False).st_size if kind == "file" else None
        entries.append({"name": entry.name, "type": kind, "size": size})
    return entries


@tool(danger_level=DangerLevel.MEDIUM, category="file", idempotent=True)
def write_file(path: str, content: str, context: ToolContext, create_dirs: bool = True) -> dict[str, Any]:
    """Write text to a file inside the workspace (replacing it atomically); creates parent directories."""
    target = resolve_in_workspace(path, context.workspace_root)
    if target.is_dir():
        raise ToolExecutionError(f"{path!r} is a directory")
    if create_dirs:
        target.parent.mkdir(parents=True, exist_ok=True)
        # re-check after creating directories: a parent may be a symlink created meanwhile
        resolve_in_workspace(target, context.workspace_root)
    data = content.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return {"path": _rel(target, context), "bytes_written": len(data)}


@tool(danger_level=DangerLevel.HIGH, category="file")
def delete_file(path: str, context: ToolContext) -> dict[str, Any]:
    """Delete one file inside the workspace (directories are refused)."""
    target = resolve_in_workspace(path, context.workspace_root)
    if target.is_dir():
        raise ToolExecutionError(f"{path!r} is a directory; delete_file removes files only")
    if not target.exists():
        raise ToolExecutionError(f"file {path!r} does not exist")
    target.unlink()
    return {"path": _rel(target, context), "deleted": True}
