"""The template plugin passes the ProviderSuite and is discovered by name."""

import pytest

from kaizen_core.plugins import get_registry, reset
from kaizen_example.provider import EchoProvider
from kaizen_testing import ProviderSuite


class TestEchoProvider(ProviderSuite):
    @pytest.fixture
    def provider(self) -> EchoProvider:
        return EchoProvider()


def test_registered_names() -> None:
    reset()
    registry = get_registry()
    assert registry.get("provider", "example-echo").distribution == "kaizen-example"
    assert registry.get("tool", "word_count").distribution == "kaizen-example"
