"""SemanticRouter: embedding similarity routing, default provider, clear errors."""

from __future__ import annotations

import pytest

import kaizen_core
from kaizen_core import plugins
from kaizen_core.errors import ConfigError, NoProviderError
from kaizen_core.orchestration import SemanticRouter
from kaizen_core.providers.mock import MockProvider

ROUTES = {
    "billing": ["I was charged twice on my card", "refund my payment please"],
    "tech": ["the app crashes when I start it", "server error when I log in"],
}


@pytest.mark.anyio
async def test_routes_to_the_most_similar_examples() -> None:
    router = SemanticRouter(ROUTES, embedding_provider=MockProvider())
    match = await router.route("my card was charged twice, refund please")
    assert match.name == "billing"
    assert match.scores["billing"] > match.scores["tech"]
    assert (await router.route("it crashes when I log in")).name == "tech"


@pytest.mark.anyio
async def test_min_similarity_returns_no_route() -> None:
    router = SemanticRouter(ROUTES, embedding_provider=MockProvider(), min_similarity=0.9)
    match = await router.route("completely unrelated words here")
    assert match.name is None and match.score < 0.9


def test_no_embedding_provider_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")
    plugins.reset()
    try:
        with pytest.raises(NoProviderError) as info:
            SemanticRouter(ROUTES).route_sync("anything")
        assert "kaizen-sentence-transformers" in (info.value.hint or "")
    finally:
        monkeypatch.undo()
        plugins.reset()


def test_installed_default_embedding_provider_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    class EmbedPlugin:
        @kaizen_core.hookimpl
        def register_providers(self, register):  # type: ignore[no-untyped-def]
            register("local-embedder", MockProvider, embedding_priority=10)

    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")
    plugins.reset()
    with plugins.plugin_registered(EmbedPlugin(), name="embedder"):
        router = SemanticRouter(ROUTES)
        assert router.route_sync("refund my card payment").name == "billing"
        assert isinstance(router.provider, MockProvider)
    plugins.reset()


def test_routes_need_examples() -> None:
    with pytest.raises(ConfigError):
        SemanticRouter({"empty": []})
