"""HookManager.from_config: lifecycle hooks selected by name from the plugin registry."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

import kaizen_core
from kaizen_core import plugins
from kaizen_core.errors import ConfigError, PluginNotInstalledError
from kaizen_core.hooks import BaseHook, HookContext, HookEvent, HookManager, HookPriority, LoggingHook, MetricsHook

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def builtins_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")
    plugins.reset()
    yield
    plugins.reset()


class Greeter(BaseHook):
    events: ClassVar[list[HookEvent]] = [HookEvent.PRE_AGENT_LOOP]
    priority = HookPriority.HIGH

    def __init__(self, greeting: str = "hello") -> None:
        self.greeting = greeting

    async def handle(self, context: HookContext) -> dict[str, Any]:
        return {"said": f"{self.greeting} {context.agent_id}"}


@kaizen_core.hookimpl
def register_lifecycle_hooks(register: Any) -> None:
    register("greeter", Greeter, description="says hello")


async def test_from_config_with_a_plugin_hook_and_options() -> None:
    plugin = SimpleNamespace(register_lifecycle_hooks=register_lifecycle_hooks)
    with plugins.plugin_registered(plugin, name="greeter-plugin", distribution="kaizen-greeter"):
        hooks = HookManager.from_config(["metrics", {"name": "greeter", "greeting": "hi"}], default_timeout=2.0)
        results = await hooks.trigger(HookEvent.PRE_AGENT_LOOP, agent_id="bob")
    assert hooks.default_timeout == 2.0
    assert [r.hook_name for r in results] == ["greeter", "metrics"]  # HIGH before LOW
    assert results[0].data == {"said": "hi bob"}


def test_from_config_builtins_by_name() -> None:
    hooks = HookManager.from_config(["logging", "metrics", "cost", "profiler"])
    assert set(hooks.stats()) == {"logging", "metrics", "cost", "profiler"}
    assert hooks.has_handlers(HookEvent.ON_ERROR)
    assert isinstance(plugins.get_registry().load("lifecycle_hook", "logging")(), LoggingHook)
    assert plugins.get_registry().load("lifecycle_hook", "metrics") is MetricsHook


def test_unknown_hook_name_is_kaizen_003() -> None:
    with pytest.raises(PluginNotInstalledError) as err:
        HookManager.from_config(["logging", "no-such-hook"])
    assert err.value.code == "KAIZEN_003"
    assert "no-such-hook" in str(err.value) and "audit" in str(err.value)  # lists what is installed


def test_bad_entries_and_options_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        HookManager.from_config([{"path": "x.jsonl"}])  # no name
    with pytest.raises(ConfigError) as err:
        HookManager.from_config([{"name": "metrics", "bogus": 1}])
    assert err.value.code == "KAIZEN_002"
