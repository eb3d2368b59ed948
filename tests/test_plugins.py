"""Plugin contract: discovery, lazy targets, duplicates, allowlist, unknown names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import kaizen_core
from kaizen_core import plugins
from kaizen_core.errors import PluginError, PluginNotInstalledError
from kaizen_core.hookspecs import all_specs

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "contrib" / "plugin-template"


def test_every_hookspec_is_documented() -> None:
    specs = all_specs()
    assert {"register_providers", "register_storage_backends", "register_memory_tiers", "register_tools",
            "register_interrupt_handlers", "register_transports", "register_patterns",
            "register_lifecycle_hooks", "register_hookspecs"} <= set(specs)
    for name, fn in specs.items():
        assert fn.__doc__ and len(fn.__doc__.strip()) > 40, name


def test_builtins_are_registered_through_the_hooks() -> None:
    registry = plugins.get_registry()
    mock = registry.get("provider", "mock")
    assert mock.distribution == "kaizen-core"
    assert {"file", "sqlite"} <= set(registry.names("storage"))
    assert {"memory", "sqlite"} <= set(registry.names("memory_tier"))
    assert len([n for n in registry.names("tool")]) >= 12


def test_targets_are_resolved_lazily() -> None:
    code = (
        "import sys; from kaizen_core.plugins import get_registry; r = get_registry(); "
        "assert 'kaizen_core.state.sqlite' not in sys.modules; "
        "r.load('storage', 'sqlite'); assert 'kaizen_core.state.sqlite' in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_import_kaizen_core_is_light() -> None:
    code = "import sys, kaizen_core; print(','.join(m for m in ('httpx', 'kaizen_core.agents.base', 'pydantic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.fixture
def core_only(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Only kaizen-core's built-ins, whatever else is installed here."""
    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")
    plugins.reset()
    yield
    monkeypatch.undo()
    plugins.reset()


def test_unknown_name_lists_installed_and_package_hint(core_only: None) -> None:
    with pytest.raises(PluginNotInstalledError) as info:
        plugins.get_registry().get("storage", "redis")
    err = info.value
    assert err.code == "KAIZEN_003"
    assert "file" in err.message and "sqlite" in err.message
    assert err.hint == "pip install kaizen-redis"


def test_duplicate_name_names_both_distributions() -> None:
    class Dup:
        @kaizen_core.hookimpl
        def register_providers(self, register):  # type: ignore[no-untyped-def]
            register("mock", "x.y:Z")

    with plugins.plugin_registered(Dup(), name="dup", distribution="kaizen-dup"):
        with pytest.raises(PluginError) as info:
            plugins.get_registry()
    assert info.value.code == "KAIZEN_001"
    assert "kaizen-core" in info.value.message and "kaizen-dup" in info.value.message
    plugins.get_registry()  # registry rebuilds cleanly afterwards


def test_plugin_may_add_its_own_hookspecs() -> None:
    class Specs:
        @kaizen_core.hookspec
        def register_widgets(self, register):  # type: ignore[no-untyped-def]
            """Widgets."""

    class Provider:
        @kaizen_core.hookimpl
        def register_hookspecs(self, register):  # type: ignore[no-untyped-def]
            register("widgets", Specs)

    class Implementer:
        @kaizen_core.hookimpl
        def register_widgets(self, register):  # type: ignore[no-untyped-def]
            register("w1", object())

    with plugins.plugin_registered(Provider(), name="spec-provider"), plugins.plugin_registered(
        Implementer(), name="widget-impl"
    ):
        manager = plugins.get_plugin_manager()
        plugins.get_registry()
        seen: list[str] = []
        manager.pm.hook.register_widgets(register=lambda name, target: seen.append(name))
    assert seen == ["w1"]


def test_invalid_target_string_is_a_plugin_error() -> None:
    with pytest.raises(PluginError):
        plugins.resolve_target("no_colon_here")
    with pytest.raises(PluginNotInstalledError):
        plugins.resolve_target("kaizen_no_such_module:thing")


def _kaizen(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "kaizen_core.cli", *args], capture_output=True, text=True, env=full_env, timeout=120
    )


@pytest.fixture(scope="module")
def example_plugin_installed() -> None:
    """pip-install contrib/plugin-template into this environment (as a user would)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", str(TEMPLATE)],
        check=True,
        capture_output=True,
        timeout=300,
    )


def test_installed_plugin_is_discovered_selected_and_hidden(example_plugin_installed: None, tmp_path: Path) -> None:
    listing = _kaizen("plugins", "--json", env={"KAIZEN_LOAD_PLUGINS": "kaizen-example"})
    assert listing.returncode == 0, listing.stderr
    data = json.loads(listing.stdout)
    example = next(p for p in data["plugins"] if p["distribution"] == "kaizen-example")
    assert example["version"] == "0.1.0"
    assert example["registered"]["provider"] == ["example-echo"]
    assert "register_providers" in example["hooks"]

    agent_file = tmp_path / "agent.toml"
    agent_file.write_text(
        '[agent]\nsignature = "question: str -> answer: str"\nllm_provider = "example-echo"\n', encoding="utf-8"
    )
    run = _kaizen("run", str(agent_file), "--input", "question=hello there", env={"KAIZEN_LOAD_PLUGINS": "kaizen-example"})
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["answer"] == "question: hello there"
    assert result["_meta"]["provider"] == "example-echo"

    hidden = _kaizen("plugins", "--json", env={"KAIZEN_LOAD_PLUGINS": ""})
    names = [p["distribution"] for p in json.loads(hidden.stdout)["plugins"]]
    assert names == ["kaizen-core"]
    refused = _kaizen("run", str(agent_file), "--input", "question=x", env={"KAIZEN_LOAD_PLUGINS": ""})
    assert refused.returncode == 1
    assert json.loads(refused.stderr)["error"]["code"] == "KAIZEN_002"


def test_describe_lists_registered_names_per_plugin() -> None:
    data = plugins.get_registry().describe()
    core = data["plugins"][0]
    assert core["distribution"] == "kaizen-core"
    assert "mock" in core["registered"]["provider"]
    assert SimpleNamespace(**core).hooks
