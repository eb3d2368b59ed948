"""SemanticRouter: send a text to the route whose examples it is most similar to.

    router = SemanticRouter({
        "billing": ["I was charged twice", "refund my payment"],
        "tech": ["the app crashes on start", "error 500 when I log in"],
    })
    match = await router.route("why did you bill me two times?")
    match.name, match.score         # "billing", 0.71

Similarity is the cosine of embeddings from any provider that implements ``embed()``;
with none given, the installed default embedding provider is used
(kaizen-sentence-transformers). No provider means a clear error, never keyword
matching dressed up as semantics (agent routing, which may fall back to words, says so
in its results). Example vectors are computed once, on first use, by the shared
:class:`~kaizen_core.orchestration.scoring.CapabilityScorer`.
"""

from __future__ import annotations

from pydantic import BaseModel

from kaizen_core.errors import ConfigError
from kaizen_core.orchestration.scoring import CapabilityScorer
from kaizen_core.providers.base import BaseProvider


class RouteMatch(BaseModel):
    """The chosen route (None below ``min_similarity``), its score and every route's score."""

    name: str | None
    score: float
    scores: dict[str, float]


class SemanticRouter:
    """Route texts by embedding similarity to per-route examples (the semantic half of
    :class:`~kaizen_core.orchestration.scoring.CapabilityScorer`; negative cosines count as 0)."""

    def __init__(
        self,
        routes: dict[str, list[str]],
        *,
        embedding_provider: BaseProvider | str | None = None,
        embedding_model: str | None = None,
        min_similarity: float = 0.0,
    ) -> None:
        if not routes or any(not examples for examples in routes.values()):
            raise ConfigError("SemanticRouter needs at least one route, each with at least one example")
        self.routes = {name: list(examples) for name, examples in routes.items()}
        self.min_similarity = min_similarity
        self._scorer = CapabilityScorer(mode="semantic", embedding_provider=embedding_provider, embedding_model=embedding_model)

    @property
    def provider(self) -> BaseProvider:
        """The embedding provider (resolved on first use; NoProviderError, AGENT_007, when there is none)."""
        provider = self._scorer.provider
        assert provider is not None  # mode="semantic" raises instead
        return provider

    async def route(self, text: str) -> RouteMatch:
        """The route whose closest example is most similar to ``text``."""
        _, scores = await self._scorer.score_texts(text, self.routes)
        best = max(scores, key=lambda n: scores[n])
        chosen = best if scores[best] >= self.min_similarity else None
        return RouteMatch(name=chosen, score=scores[best], scores=scores)

    def route_sync(self, text: str) -> RouteMatch:
        """Blocking :meth:`route`."""
        from kaizen_core._sync import run_sync

        return run_sync(self.route, text)

    def __repr__(self) -> str:
        return f"SemanticRouter(routes={list(self.routes)!r})"


__all__ = ["RouteMatch", "SemanticRouter"]
