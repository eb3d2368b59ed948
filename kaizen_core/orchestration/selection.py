"""Choosing agents for a task: the strategies router, MetaController, supervisor-worker,
ensemble and blackboard share, all scoring through one :class:`CapabilityScorer`.

Strategies (``round-robin`` and ``round_robin`` are the same):

* ``semantic``: the scorer in ``auto`` mode: embeddings when a provider is available,
  BM25 over the cards otherwise (the selection says which in ``scorer``);
* ``capability``: BM25 over the cards always (explicit words, reproducible, no model);
* ``round_robin``: the next agent in rotation (the rotation lives on the selector, so it
  continues across runs of one pipeline);
* ``random``: a random order from the selector's own ``random.Random(seed)``.

A selection is ``matched`` when its best score is above ``min_score`` (always for
round-robin and random). With ``enable_load_balancing``, agents with equal scores are
ordered by fewer runs in flight, then less cost spent through this selector, then their
given order; without it ties keep the given order. Either way the order is total, so a
selector never fails to pick.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from kaizen_core.agents.base import BaseAgent
from kaizen_core.errors import RuntimeExecutionError
from kaizen_core.orchestration.scoring import CapabilityScorer, ScorerMode, agent_name

__all__ = ["STRATEGIES", "NoAgentMatchedError", "Selector"]


class NoAgentMatchedError(RuntimeExecutionError):
    """No agent matched the task and the fallback strategy is ``"fail"`` (EXEC_003).

    ``ranking`` holds every agent's score.
    """

    def __init__(self, message: str, *, ranking: list[dict[str, Any]] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.ranking = ranking or []

STRATEGIES = ("semantic", "capability", "round_robin", "random")


class Selector:
    """Ranks a fixed list of agents for tasks with one strategy (see the module docstring)."""

    def __init__(
        self,
        agents: Sequence[BaseAgent],
        strategy: str,
        *,
        scorer: CapabilityScorer | None = None,
        embedding_provider: Any = None,
        min_score: float = 0.0,
        enable_load_balancing: bool = False,
        seed: int | None = None,
    ) -> None:
        self.agents = list(agents)
        self.strategy = strategy.replace("-", "_")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}")
        if scorer is None:
            mode: ScorerMode = "lexical" if self.strategy == "capability" else "auto"
            scorer = CapabilityScorer(mode=mode, embedding_provider=embedding_provider)
        self.scorer = scorer
        self.min_score = min_score
        self.enable_load_balancing = enable_load_balancing
        self._rotation = 0
        self._random = random.Random(seed)
        self.load = [0] * len(self.agents)
        self.spent = [0.0] * len(self.agents)

    async def select(self, task: str, candidates: Sequence[int] | None = None) -> dict[str, Any]:
        """Rank ``candidates`` (indices into the agents; default all) for ``task``.

        Returns a JSON-ready selection: ``strategy``, ``scorer`` (``semantic``/``lexical``,
        None for round-robin and random), ``order`` (indices, best first), ``ranking``
        (``[{"agent", "agent_id", "score"}]`` in that order) and ``matched``.
        """
        pool = list(range(len(self.agents))) if candidates is None else list(candidates)
        scores: dict[int, float | None]
        if self.strategy in ("semantic", "capability"):
            ranking = await self.scorer.rank(task, [self.agents[i] for i in pool])
            scorer: str | None = ranking.scorer
            scores = {pool[s.index]: s.score for s in ranking.scores}
            order = sorted(pool, key=lambda i: (-(scores[i] or 0.0), *self._tiebreak(i), pool.index(i)))
            best = scores[order[0]] if order else None
            matched = best is not None and best > self.min_score
        else:
            scorer, scores = None, dict.fromkeys(pool)
            if self.strategy == "round_robin":
                start = self._rotation % len(pool) if pool else 0
                self._rotation += 1
                order = pool[start:] + pool[:start]
            else:
                order = list(pool)
                self._random.shuffle(order)
            matched = bool(pool)
        return {
            "strategy": self.strategy,
            "scorer": scorer,
            "order": order,
            "ranking": [
                {"agent": agent_name(self.agents[i]), "agent_id": self.agents[i].agent_id, "score": scores[i]}
                for i in order
            ],
            "matched": matched,
        }

    def next_in_rotation(self, after: int, pool: Sequence[int] | None = None) -> list[int]:
        """The agents after index ``after`` in rotation order (for round-robin fallbacks)."""
        indices = list(range(len(self.agents))) if pool is None else list(pool)
        if after not in indices:
            return indices
        at = indices.index(after)
        return indices[at + 1 :] + indices[:at]

    def _tiebreak(self, index: int) -> tuple[float, ...]:
        if not self.enable_load_balancing:
            return ()
        return (float(self.load[index]), self.spent[index])

    def started(self, index: int) -> None:
        """Count a run of agent ``index`` in flight (load balancing)."""
        self.load[index] += 1

    def finished(self, index: int, cost: float) -> None:
        """The run of agent ``index`` ended having cost ``cost`` USD."""
        self.load[index] = max(0, self.load[index] - 1)
        self.spent[index] += cost
