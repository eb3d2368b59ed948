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
matching dressed up as semantics. Example vectors are computed once, on first use.
"""

from __future__ import annotations

import anyio
from pydantic import BaseModel

from kaizen_core.errors import ConfigError, NoProviderError
from kaizen_core.providers.base import BaseProvider
from kaizen_core.providers.similarity import cosine_similarity


class RouteMatch(BaseModel):
    """The chosen route (None below ``min_similarity``), its score and every route's score."""

    name: str | None
    score: float
    scores: dict[str, float]


class SemanticRouter:
    """Route texts by embedding similarity to per-route examples."""

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
        self._spec = embedding_provider
        self._model = embedding_model
        self._provider: BaseProvider | None = None
        self._vectors: dict[str, list[list[float]]] | None = None
        self._lock = anyio.Lock()

    @property
    def provider(self) -> BaseProvider:
        """The embedding provider (resolved on first use)."""
        if self._provider is None:
            from kaizen_core.providers.selection import resolve_embedding_provider

            self._provider = resolve_embedding_provider(self._spec, self._model)
            if self._provider is None:
                raise NoProviderError(
                    "semantic routing needs an embedding provider and none is installed or configured",
                    hint="pip install kaizen-sentence-transformers, or pass embedding_provider=",
                )
        return self._provider

    async def _example_vectors(self) -> dict[str, list[list[float]]]:
        async with self._lock:
            if self._vectors is None:
                names = list(self.routes)
                texts = [t for n in names for t in self.routes[n]]
                vectors = (await self.provider.embed(texts, model=self._model)).vectors
                out: dict[str, list[list[float]]] = {}
                i = 0
                for n in names:
                    out[n] = vectors[i : i + len(self.routes[n])]
                    i += len(self.routes[n])
                self._vectors = out
            return self._vectors

    async def route(self, text: str) -> RouteMatch:
        """The route whose closest example is most similar to ``text``."""
        examples = await self._example_vectors()
        (query,) = (await self.provider.embed([text], model=self._model)).vectors
        scores = {name: max(cosine_similarity(query, v) for v in vecs) for name, vecs in examples.items()}
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
