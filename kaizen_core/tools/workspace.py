"""Confinement of file paths to a workspace root.

Every file tool resolves its path argument through :func:`resolve_in_workspace`.
Relative paths are taken from the root; the resolved path (symlinks followed,
``..`` collapsed) must stay inside the root, otherwise the call is refused with a
:class:`~kaizen_core.errors.PermissionDeniedError` (EXEC_005).
"""

from __future__ import annotations

import os
from pathlib import Path

from kaizen_core.errors import PermissionDeniedError

__all__ = ["resolve_in_workspace"]


def resolve_in_workspace(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> Path:
    """Return the absolute, resolved ``path`` if it lies inside ``root``; refuse otherwise."""
    raw = os.fspath(path)
    if not raw or "\x00" in raw:
        raise PermissionDeniedError(f"invalid path {raw!r}", hint="give a path relative to the workspace root")
    root_path = Path(root).resolve()
    candidate = Path(raw).expanduser()
    if not candidate.is_absolute():
        candidate = root_path / candidate
    resolved = candidate.resolve()
    if resolved != root_path and not resolved.is_relative_to(root_path):
        raise PermissionDeniedError(
            f"path {raw!r} is outside the workspace root {str(root_path)!r}; access refused",
            hint="use a path inside the workspace (no '..', no symlinks leading out, no outside absolute paths)",
        )
    return resolved
