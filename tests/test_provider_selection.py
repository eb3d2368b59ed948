"""Provider auto-detection order and errors."""

from __future__ import annotations

import pytest

import kaizen_core
from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.errors import NoProviderError
from kaizen_core.plugins import plugin_registered, reset
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.selection import detect_provider


class FirstProvider(MockProvider):
    name = "first-cloud"


class LocalProvider(MockProvider):
    name = "local-model"


class Plugin:
    @kaizen_core.hookimpl
    def register_providers(self, register):  # type: ignore[no-untyped-def]
        register("first-cloud", FirstProvider, env=["KAIZEN_TEST_FIRST_KEY"], detect_priority=10)
        register("local-model", LocalProvider, detect_priority=90)
        register("never-detected", MockProvider)


@pytest.fixture
def core_only(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")
    monkeypatch.delenv("KAIZEN_TEST_FIRST_KEY", raising=False)
    reset()
    yield
    reset()


def test_nothing_usable_is_agent_003_saying_what_to_do(core_only: None) -> None:
    with pytest.raises(NoProviderError) as info:
        detect_provider()
    assert info.value.code == "AGENT_007"
    assert "kaizen-llamacpp" in (info.value.hint or "")
    with pytest.raises(NoProviderError):
        BaseAgent(BaseAgentConfig(), "q -> a")


def test_detection_follows_priority_and_env(core_only: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with plugin_registered(Plugin(), name="test-providers"):
        assert detect_provider() == "local-model"
        monkeypatch.setenv("KAIZEN_TEST_FIRST_KEY", "sk-test")
        assert detect_provider() == "first-cloud"
        agent = BaseAgent(BaseAgentConfig(), "q -> a")
        assert agent.provider.name == "first-cloud"
