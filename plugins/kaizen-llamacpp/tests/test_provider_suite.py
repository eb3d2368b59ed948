"""kaizen-llamacpp passes the core ProviderSuite with real inference on the bundled model."""

from __future__ import annotations

import pytest

from kaizen_llamacpp.provider import LlamaCppProvider
from kaizen_testing.provider_suite import ProviderSuite


class TestLlamaCppProvider(ProviderSuite):
    supports_tools = True
    supports_streaming = True
    supports_embeddings = True
    supports_structured_output = True

    @pytest.fixture
    def provider(self) -> LlamaCppProvider:
        # strings bounded so a constrained reply always fits the suite's 64-token budget
        return LlamaCppProvider(temperature=0.0, seed=7, max_string_chars=40)
