"""The one scorer behind every agent selection: task text against A2A capability cards.

Router, MetaController, supervisor-worker (worker selection), ensemble (top-k discovery)
and blackboard (specialist selection) all rank agents with :class:`CapabilityScorer`;
:class:`~kaizen_core.orchestration.router.SemanticRouter` uses its semantic half.

An agent's card text (:func:`card_text`) is what its A2A AgentCard says about it: the
declared ``agent.capability`` and ``agent.skills`` (when set), the signature's
instructions, its input and output field names, and its tools' names and descriptions.

Two ways to score, and every :class:`Ranking` says which one ran (``ranking.scorer``):

* ``"semantic"``: cosine similarity of embeddings, from the embedding provider given, else
  the installed default (a provider registered with ``embedding_priority``, e.g.
  kaizen-sentence-transformers). Negative cosines count as 0.
* ``"lexical"``: Okapi BM25 of the task's words against each card
  (:func:`~kaizen_core.providers.similarity.bm25_scores`, normalized to [0, 1) by the
  query's maximum), used when no embedding provider is available (``mode="auto"``) or
  asked for (``mode="lexical"``). It matches words, not meaning: no stemming, no
  synonyms; camelCase and snake_case names are split into words and common English
  stop words (:data:`STOP_WORDS`) are skipped.

Ties keep the agents' given order, so a ranking is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict

from kaizen_core.errors import ConfigError, NoProviderError
from kaizen_core.providers.similarity import bm25_scores, cosine_similarity

if TYPE_CHECKING:
    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.providers.base import BaseProvider

__all__ = [
    "STOP_WORDS",
    "AgentScore",
    "CapabilityScorer",
    "Ranking",
    "ScorerKind",
    "ScorerMode",
    "agent_name",
    "card_text",
    "words",
]

ScorerKind = Literal["semantic", "lexical"]
ScorerMode = Literal["auto", "semantic", "lexical"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


#: English function words: they say nothing about what an agent can do, so BM25 skips them
#: (otherwise "What is the capital of France?" goes to whichever card says "the").
STOP_WORDS = frozenset(
    "a about an and are as at be by can do does for from how i in into is it its me my not of on or our "
    "please so than that the their them then there these this those to us was we what when where which "
    "who why will with you your".split()
)


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` without stop words; ``DataAnalyst`` and ``data_analyst``
    give ``data``, ``analyst``."""
    return [w for w in _WORD.findall(_CAMEL.sub(" ", text).lower()) if w not in STOP_WORDS]


def agent_name(agent: Any) -> str:
    """How results name an agent: its ``name`` attribute, else its class name when that is more
    than ``BaseAgent`` (``"DataAnalystAgent"``), else its ``agent_id``."""
    name = getattr(agent, "name", None)
    if isinstance(name, str) and name:
        return name
    from kaizen_core.agents.base import BaseAgent

    cls = type(agent)
    if cls is not BaseAgent and cls.__name__ not in ("BaseAutonomousAgent", "PipelineAgent"):
        return cls.__name__
    return str(getattr(agent, "agent_id", cls.__name__))


def card_text(agent: BaseAgent) -> str:
    """The text an agent is scored on: declared capability and skills plus its A2A card."""
    parts: list[str] = []
    capability = getattr(agent, "capability", None)
    if capability:
        parts.append(str(capability))
    for skill in getattr(agent, "skills", None) or ():
        if isinstance(skill, Mapping):
            parts.extend(str(skill[k]) for k in ("name", "description") if skill.get(k))
            parts.extend(str(t) for t in skill.get("tags", ()) or ())
        else:
            parts.append(str(skill))
    card = agent.to_a2a_card()
    parts.append(str(card.get("description") or ""))
    for skill in card.get("skills", ()):
        parts.append(str(skill.get("name", "")))
        parts.append(str(skill.get("description", "")))
        parts.extend(str(t) for t in skill.get("tags", ()) if t not in ("signature", "tool"))
    return " ".join(p for p in parts if p)


class AgentScore(BaseModel):
    """One agent's place in a ranking: its name, id, position in the given list and score."""

    model_config = ConfigDict(frozen=True)

    agent: str
    agent_id: str
    index: int
    score: float


class Ranking(BaseModel):
    """Agents best first (ties in the given order), and which scorer produced the scores."""

    scorer: ScorerKind
    scores: list[AgentScore]

    @property
    def best(self) -> AgentScore | None:
        return self.scores[0] if self.scores else None

    def top(self, k: int) -> list[AgentScore]:
        return self.scores[: max(0, k)]

    def as_list(self) -> list[dict[str, Any]]:
        """JSON-ready ``[{"agent", "agent_id", "score"}]`` (what results carry as ``ranking``)."""
        return [{"agent": s.agent, "agent_id": s.agent_id, "score": s.score} for s in self.scores]


class CapabilityScorer:
    """Score texts (a task) against candidates (agents, or named example texts).

    ``mode``: ``"auto"`` (semantic when an embedding provider is available, else lexical),
    ``"semantic"`` (NoProviderError, AGENT_007, without one) or ``"lexical"``.
    ``embedding_provider``: a provider instance, a registered provider name, or None for the
    installed default. Candidate embeddings are computed once per text and cached.
    """

    def __init__(
        self,
        *,
        mode: ScorerMode = "auto",
        embedding_provider: BaseProvider | str | None = None,
        embedding_model: str | None = None,
    ) -> None:
        if mode not in ("auto", "semantic", "lexical"):
            raise ConfigError(f"unknown scorer mode {mode!r}", hint="use 'auto', 'semantic' or 'lexical'")
        self.mode: ScorerMode = mode
        self._spec = embedding_provider
        self._model = embedding_model
        self._provider: BaseProvider | None = None
        self._resolved = False
        self._vectors: dict[str, list[float]] = {}
        self._lock = anyio.Lock()

    # --- provider -----------------------------------------------------------------------
    @property
    def provider(self) -> BaseProvider | None:
        """The embedding provider, resolved on first use (None: lexical scoring)."""
        if self.mode == "lexical":
            return None
        if not self._resolved:
            from kaizen_core.providers.selection import resolve_embedding_provider

            self._provider = resolve_embedding_provider(self._spec, self._model)
            self._resolved = True
        if self._provider is None and self.mode == "semantic":
            raise NoProviderError(
                "semantic scoring needs an embedding provider and none is installed or configured",
                hint="pip install kaizen-sentence-transformers, or pass embedding_provider=",
            )
        return self._provider

    @property
    def kind(self) -> ScorerKind:
        """The scorer that runs: ``"semantic"`` or ``"lexical"``."""
        return "semantic" if self.provider is not None else "lexical"

    # --- scoring ------------------------------------------------------------------------
    async def score_texts(self, query: str, candidates: Mapping[str, Sequence[str]]) -> tuple[ScorerKind, dict[str, float]]:
        """Score ``query`` against each candidate's texts: semantic = the best cosine over its
        texts, lexical = BM25 against all its texts as one document."""
        names = list(candidates)
        provider = self.provider
        if provider is None:
            docs = [words(" ".join(candidates[n])) for n in names]
            values = bm25_scores(words(query), docs, normalize=True)
            return "lexical", dict(zip(names, values, strict=True))
        vectors = await self._candidate_vectors([t for n in names for t in candidates[n]])
        (query_vector,) = (await provider.embed([query], model=self._model)).vectors
        scores = {
            n: max((max(0.0, cosine_similarity(query_vector, vectors[t])) for t in candidates[n]), default=0.0)
            for n in names
        }
        return "semantic", scores

    async def _candidate_vectors(self, texts: list[str]) -> dict[str, list[float]]:
        provider = self.provider
        assert provider is not None
        async with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
            if missing:
                result = await provider.embed(missing, model=self._model)
                self._vectors.update(zip(missing, (list(map(float, v)) for v in result.vectors), strict=True))
            return self._vectors

    async def rank(self, task: str, agents: Sequence[BaseAgent]) -> Ranking:
        """Rank ``agents`` for ``task`` by their :func:`card_text`, best first."""
        keys = [str(i) for i in range(len(agents))]
        kind, scores = await self.score_texts(task, {k: [card_text(a)] for k, a in zip(keys, agents, strict=True)})
        entries = [
            AgentScore(agent=agent_name(a), agent_id=a.agent_id, index=i, score=round(scores[k], 6))
            for i, (k, a) in enumerate(zip(keys, agents, strict=True))
        ]
        entries.sort(key=lambda s: (-s.score, s.index))
        return Ranking(scorer=kind, scores=entries)

    def rank_sync(self, task: str, agents: Sequence[BaseAgent]) -> Ranking:
        """Blocking :meth:`rank`."""
        from kaizen_core._sync import run_sync

        return run_sync(self.rank, task, agents)

    def __repr__(self) -> str:
        return f"CapabilityScorer(mode={self.mode!r})"
