"""kaizen-testing on its own: its pytest plugin loads from this distribution into a fresh
session, its fixtures clean up, and its suites pass a correct store and catch a broken one."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import kaizen_testing
from kaizen_testing import checkpoint_suite, memory_suite, provider_suite

# A plugin author's test module, run in a fresh pytest session outside this repository
# (no conftest, no ini file): everything it uses must come from the installed harness.
AUTHOR_TESTS = '''
import kaizen_core
from kaizen_core import plugins
from kaizen_core.state.filesystem import FilesystemStorage
import pytest

from kaizen_testing import CheckpointStoreSuite


class Hooks:
    @kaizen_core.hookimpl
    def register_providers(self, register):
        register("harness-probe", "kaizen_core.providers.mock:MockProvider")


def test_1_kaizen_plugin_registers(kaizen_plugin):
    kaizen_plugin(Hooks(), name="harness-probe", distribution="kaizen-probe")
    assert plugins.get_registry().get("provider", "harness-probe").distribution == "kaizen-probe"


def test_2_and_unregisters_after_the_test():
    assert "harness-probe" not in plugins.get_registry().names("provider")


def test_server_fixtures_come_from_the_harness(pytestconfig):
    plugin = pytestconfig.pluginmanager.get_plugin("kaizen")
    assert plugin.__name__ == "kaizen_testing.pytest_plugin"
    for name in ("kaizen_plugin", "redis_server", "postgres_server", "s3_server", "llama_server"):
        assert callable(getattr(plugin, name)), name


class TestCoreFilesystemStore(CheckpointStoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        return FilesystemStorage(tmp_path / "checkpoints")


class OldestFirst(FilesystemStorage):
    """Breaks one rule of the contract: list() must return newest first."""

    async def list(self, agent_id):
        return list(reversed(await super().list(agent_id)))


class TestBrokenStore(CheckpointStoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        return OldestFirst(tmp_path / "checkpoints")
'''


def _outcomes(report: Path) -> dict[str, str]:
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[name] = kinds[0] if kinds else "passed"
    return outcomes


def test_entry_point_is_declared_by_kaizen_testing() -> None:
    (kaizen,) = [ep for ep in entry_points(group="pytest11") if ep.name == "kaizen"]
    assert kaizen.dist is not None and kaizen.dist.name == "kaizen-testing"
    assert kaizen.value == "kaizen_testing.pytest_plugin"


def test_a_plugin_authors_session_gets_fixtures_and_working_suites(tmp_path: Path) -> None:
    (tmp_path / "test_author.py").write_text(AUTHOR_TESTS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # plugin autoload on
    report = tmp_path / "report.xml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", "test_author.py"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    outcomes = _outcomes(report)
    assert outcomes.pop("test_author::test_1_kaizen_plugin_registers") == "passed", run.stdout
    assert outcomes.pop("test_author::test_2_and_unregisters_after_the_test") == "passed", run.stdout
    assert outcomes.pop("test_author::test_server_fixtures_come_from_the_harness") == "passed", run.stdout
    core = {k: v for k, v in outcomes.items() if k.startswith("TestCoreFilesystemStore::")}
    broken = {k: v for k, v in outcomes.items() if k.startswith("TestBrokenStore::")}
    assert len(core) == len(broken) >= 10  # the whole suite ran against both stores
    assert set(core.values()) == {"passed"}, run.stdout
    assert broken["TestBrokenStore::test_list_newest_first"] == "failure"
    assert run.returncode == 1  # failures, not a usage or collection error


def test_suites_load_lazily() -> None:
    code = (
        "import sys, kaizen_testing, kaizen_testing.pytest_plugin;"
        "print(sorted(m for m in sys.modules if m.endswith('_suite')), 'httpx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[] False"
    assert kaizen_testing.ProviderSuite is provider_suite.ProviderSuite
    assert kaizen_testing.CheckpointStoreSuite is checkpoint_suite.CheckpointStoreSuite
    assert kaizen_testing.MemoryTierSuite is memory_suite.MemoryTierSuite
    with pytest.raises(AttributeError, match="NoSuchSuite"):
        kaizen_testing.NoSuchSuite  # noqa: B018
