"""What installing kaizen-core gives a user: the runtime only, no test harness, no pytest plugin.

The harness is the separate distribution kaizen-testing (kaizen-testing/ in this repository).
"""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import kaizen_core

ROOT = Path(__file__).resolve().parents[1]
CORE = Path(kaizen_core.__file__).parent


def test_installed_kaizen_core_registers_no_pytest_plugin() -> None:
    from_core = [ep.name for ep in entry_points(group="pytest11") if ep.dist is not None and ep.dist.name == "kaizen-core"]
    assert from_core == []
    # the fixtures these tests use come from the harness's own distribution
    (kaizen,) = [ep for ep in entry_points(group="pytest11") if ep.name == "kaizen"]
    assert kaizen.dist is not None and kaizen.dist.name == "kaizen-testing"
    assert kaizen.value == "kaizen_testing.pytest_plugin"


def test_core_project_declares_no_pytest_plugin_and_no_harness_package() -> None:
    # the source of truth for the next install (the installed metadata above may be older)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "pytest11" not in project.get("entry-points", {})
    assert "pytest" not in " ".join(project["dependencies"])
    assert importlib.util.find_spec("kaizen_core.testing") is None  # no shim: one import path
    harness = tomllib.loads((ROOT / "kaizen-testing" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert harness["entry-points"]["pytest11"] == {"kaizen": "kaizen_testing.pytest_plugin"}


def test_core_code_never_imports_the_harness() -> None:
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            offenders += [f"{path.relative_to(CORE)}:{node.lineno}" for m in modules if m.split(".")[0] == "kaizen_testing"]
    assert offenders == []
