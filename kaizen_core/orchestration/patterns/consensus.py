"""Consensus: every agent votes; rounds repeat, showing the votes, until enough agree.

A round runs every agent concurrently on the pipeline's inputs. From round 2 on, an
agent whose signature has a ``context`` input gets the pipeline's context plus the
previous round's votes (``{"context": ..., "previous_votes": [...]}``); agents without one
get the same inputs again.

An agent's vote is its output among ``vote``, ``decision``, ``answer``, ``recommendation``,
``choice``, ``verdict``, ``result`` (else its first text output), compared case- and
whitespace-insensitively without trailing punctuation; its weight is its ``confidence``
output for ``voting_strategy="weighted"`` and 1 otherwise. An agent that fails abstains
with weight 1 (it counts against every option). The winning share is the top option's
weight over all weights:

* ``majority`` / ``weighted``: consensus when the share, rounded to two decimals, reaches
  ``threshold`` (two of three agents, 0.67, meet the default 0.67);
* ``unanimous``: consensus when every agent voted the same.

Rounds stop at consensus or after ``max_rounds``.

Result: ``consensus_achieved``, ``final_decision`` (the leading vote as first written),
``confidence_score`` (its share), ``votes`` (last round: ``[{"agent", "vote",
"confidence", "status"}]``), ``rounds`` (rounds run), ``round_history`` (per round: votes,
``leading``, ``share``), ``voting_strategy``, ``threshold``, ``status``.

:class:`ConsensusPattern` is the documented class form:
``ConsensusPattern(agents, consensus_threshold=0.66, max_rounds=3).run(task=..., context=...)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from kaizen_core.agents.base import BaseAgent
from kaizen_core.errors import WorkflowBuildError
from kaizen_core.orchestration.pipeline import (
    Pipeline,
    PipelineRun,
    StepOutcome,
    check_agents,
    check_choice,
    primary_text,
)

__all__ = ["ConsensusPattern", "ConsensusPipeline", "tally"]

_VOTE_FIELDS = ("vote", "decision", "answer", "recommendation", "choice", "verdict", "result")


def _vote_of(outputs: Mapping[str, Any]) -> str | None:
    value = next((outputs[k] for k in _VOTE_FIELDS if outputs.get(k) is not None), None)
    if value is None:
        value = next((v for v in outputs.values() if isinstance(v, str) and v), None)
    return None if value is None else str(value)


def _normalize(vote: str) -> str:
    return re.sub(r"\s+", " ", vote).strip().rstrip(".!?;:,").strip().lower()


def tally(votes: Sequence[dict[str, Any]], strategy: str) -> tuple[str | None, float]:
    """The leading vote (as first written) and its share of the weight (abstentions count against)."""
    weights: dict[str, float] = {}
    first: dict[str, str] = {}
    total = 0.0
    for vote in votes:
        weight = float(vote["confidence"]) if strategy == "weighted" and vote.get("confidence") is not None else 1.0
        weight = max(weight, 0.0)
        total += weight
        if vote.get("vote") is None:
            continue
        key = _normalize(str(vote["vote"]))
        weights[key] = weights.get(key, 0.0) + weight
        first.setdefault(key, str(vote["vote"]))
    if not weights or total <= 0:
        return None, 0.0
    best = max(weights, key=lambda k: weights[k])  # first of the equals: dicts keep insertion order
    return first[best], weights[best] / total


class ConsensusPipeline(Pipeline):
    """``Pipeline.consensus(agents, threshold=0.67, voting_strategy="majority", max_rounds=3)``."""

    pattern: ClassVar[str] = "consensus"
    description: ClassVar[str] = "Consensus: agents vote in rounds until enough of them agree."
    result_fields: ClassVar[dict[str, Any]] = {
        "consensus_achieved": bool,
        "final_decision": str,
        "confidence_score": float,
        "votes": list,
        "rounds": int,
        "round_history": list,
        "voting_strategy": str,
        "threshold": float,
    }

    def __init__(
        self,
        agents: Sequence[BaseAgent],
        threshold: float = 0.67,
        voting_strategy: str = "majority",
        max_rounds: int = 3,
        *,
        consensus_threshold: float | None = None,
        max_workers: int | None = None,
        **options: Any,
    ) -> None:
        self.agents = check_agents(self.pattern, agents, minimum=2)
        self.threshold = float(consensus_threshold if consensus_threshold is not None else threshold)
        if not 0.0 < self.threshold <= 1.0:
            raise WorkflowBuildError("consensus: threshold must be in (0, 1]")
        self.voting_strategy = check_choice(self.pattern, "voting_strategy", voting_strategy, ("majority", "weighted", "unanimous"))
        if max_rounds < 1:
            raise WorkflowBuildError("consensus: max_rounds must be at least 1")
        self.max_rounds = max_rounds
        self.max_workers = max_workers
        super().__init__(**options)

    @property
    def consensus_threshold(self) -> float:
        return self.threshold

    def agents_in_order(self) -> list[BaseAgent]:
        return list(self.agents)

    def answer_agents(self) -> list[BaseAgent]:
        return []

    def _achieved(self, share: float, votes: Sequence[dict[str, Any]]) -> bool:
        if self.voting_strategy == "unanimous":
            return share >= 1.0 and all(v.get("vote") is not None for v in votes)
        return round(share, 2) >= self.threshold

    async def execute(self, run: PipelineRun, inputs: dict[str, Any]) -> dict[str, Any]:
        text = primary_text(inputs)
        history: list[dict[str, Any]] = []
        votes: list[dict[str, Any]] = []
        leading, share, achieved = None, 0.0, False
        for number in range(1, self.max_rounds + 1):
            offered = dict(inputs)
            if history:
                offered["context"] = {"context": inputs.get("context"), "previous_votes": history[-1]["votes"]}
            outcomes = await run.call_many(
                [(f"round-{number}/agent-{i}", agent, offered, text) for i, agent in enumerate(self.agents)],
                max_workers=self.max_workers,
            )
            votes = [self._vote(o) for o in outcomes]
            leading, share = tally(votes, self.voting_strategy)
            achieved = self._achieved(share, votes)
            history.append({"round": number, "votes": votes, "leading": leading, "share": share})
            if achieved:
                break
        return {
            "consensus_achieved": achieved,
            "final_decision": leading,
            "confidence_score": share,
            "votes": votes,
            "rounds": len(history),
            "round_history": history,
            "voting_strategy": self.voting_strategy,
            "threshold": self.threshold,
            "status": "success",
        }

    @staticmethod
    def _vote(outcome: StepOutcome) -> dict[str, Any]:
        confidence = outcome.outputs.get("confidence") if outcome.ok else None
        return {
            "agent": outcome.agent,
            "vote": _vote_of(outcome.outputs) if outcome.ok else None,
            "confidence": float(confidence) if isinstance(confidence, int | float) and not isinstance(confidence, bool) else None,
            "status": outcome.status,
        }


class ConsensusPattern(ConsensusPipeline):
    """``ConsensusPattern(agents, consensus_threshold=0.67, max_rounds=3)`` (the documented class)."""

    def __init__(
        self,
        agents: Sequence[BaseAgent],
        consensus_threshold: float = 0.67,
        max_rounds: int = 3,
        voting_strategy: str = "majority",
        **options: Any,
    ) -> None:
        super().__init__(agents, voting_strategy=voting_strategy, max_rounds=max_rounds, consensus_threshold=consensus_threshold, **options)
