"""kaizen-prometheus as a lifecycle-hook plugin: found by name, enabled from config, cheap to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, plugins
from kaizen_core.errors import ConfigError
from kaizen_core.hooks import BaseHook, HookEvent, HookManager
from kaizen_prometheus import PrometheusHook
from kaizen_prometheus.metrics import EVENTS


def test_the_entry_point_registers_the_prometheus_lifecycle_hook() -> None:
    plugins.reset()
    registry = plugins.get_registry()
    assert registry.load("lifecycle_hook", "prometheus") is PrometheusHook
    assert registry.get("lifecycle_hook", "prometheus").distribution == "kaizen-prometheus"
    assert issubclass(PrometheusHook, BaseHook)


def test_importing_the_plugin_does_not_import_prometheus_client() -> None:
    code = (
        "import sys, kaizen_core, kaizen_prometheus, kaizen_prometheus.plugin; from kaizen_core import plugins; "
        "plugins.get_registry(); print('prometheus_client' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_enabled_by_name_with_options_from_config() -> None:
    manager = HookManager.from_config([{"name": "prometheus", "port": None, "service_name": "svc"}])
    assert manager.handler_names(HookEvent.POST_AGENT_LOOP) == ["prometheus"]
    for event in EVENTS:
        assert manager.handler_names(event) == ["prometheus"]
    config = BaseAgentConfig(llm_provider="mock", hooks=[{"name": "prometheus", "port": None}])
    agent = BaseAgent(config, "question -> answer")
    assert agent.hook_manager.handler_names(HookEvent.POST_MODEL_CALL) == ["prometheus"]


def test_unknown_options_are_config_errors() -> None:
    with pytest.raises(ConfigError) as info:
        HookManager.from_config([{"name": "prometheus", "port": None, "colour": "blue"}])
    assert info.value.code == "KAIZEN_002" and "colour" in str(info.value)
    with pytest.raises(ConfigError, match="port"):
        PrometheusHook(port=70000)
    with pytest.raises(ConfigError, match="max_label_values"):
        PrometheusHook(port=None, max_label_values=0)
    with pytest.raises(ConfigError, match="registry"):
        PrometheusHook(port=None, registry="mine")
