"""Simple, explainable learning from interactions.

These classes count and look up; they do not call a model and do not generalise.
Each docstring says what it infers and what it does not. ``PatternRecognition`` and
``PreferenceLearning`` keep their state in memory; ``snapshot()`` returns it as JSON
(store it in any tier) and ``restore()`` loads it back. ``ErrorCorrection`` stores its
records in a memory tier so corrections survive restarts.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, Field

from kaizen_core.errors import MemoryValueError
from kaizen_core.memory.tier import MemoryTier

__all__ = ["Correction", "ErrorCorrection", "PatternRecognition", "Preference", "PreferenceLearning"]

_WORD = re.compile(r"\w+", re.UNICODE)


def normalize_question(text: str) -> str:
    """Lower case, punctuation removed, whitespace collapsed."""
    return " ".join(_WORD.findall(text.lower()))


class PatternRecognition:
    """Frequent questions and tool workflows inside a sliding time window.

    Infers: which questions (after normalisation: case, punctuation and spacing
    ignored) were asked at least ``min_count`` times in the last ``window`` seconds, and
    which contiguous tool sequences (length 2..``max_workflow_length``) recur across
    recorded workflows in that window.

    Does not infer: paraphrases (``"what's the weather"`` and ``"how is the weather"``
    are different questions), intent, causality between steps, or anything about
    questions older than the window (they are dropped).
    """

    def __init__(
        self,
        window: float = 7 * 86_400.0,
        min_count: int = 2,
        max_workflow_length: int = 5,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.window = window
        self.min_count = min_count
        self.max_workflow_length = max_workflow_length
        self._clock = clock
        self._questions: list[tuple[float, str]] = []
        self._workflows: list[tuple[float, list[str]]] = []

    def _prune(self) -> None:
        horizon = self._clock() - self.window
        self._questions = [q for q in self._questions if q[0] >= horizon]
        self._workflows = [w for w in self._workflows if w[0] >= horizon]

    def record_question(self, text: str) -> None:
        normalized = normalize_question(text)
        if normalized:
            self._questions.append((self._clock(), normalized))

    def record_workflow(self, steps: Iterable[str]) -> None:
        """Record one run's ordered tool calls (names)."""
        seq = [s for s in steps if s]
        if seq:
            self._workflows.append((self._clock(), seq))

    def frequent_questions(self, limit: int = 10) -> list[tuple[str, int]]:
        """``(normalized question, count)`` with count >= ``min_count``, most frequent first."""
        self._prune()
        counts = Counter(q for _, q in self._questions)
        return [(q, n) for q, n in counts.most_common() if n >= self.min_count][:limit]

    def frequent_workflows(self, limit: int = 10) -> list[tuple[tuple[str, ...], int]]:
        """Recurring contiguous tool sequences, counted once per workflow; longest first on ties."""
        self._prune()
        counts: Counter[tuple[str, ...]] = Counter()
        for _, steps in self._workflows:
            seen: set[tuple[str, ...]] = set()
            for size in range(2, min(self.max_workflow_length, len(steps)) + 1):
                for start in range(len(steps) - size + 1):
                    seen.add(tuple(steps[start : start + size]))
            counts.update(seen)
        ranked = sorted(
            ((seq, n) for seq, n in counts.items() if n >= self.min_count), key=lambda x: (-x[1], -len(x[0]), x[0])
        )
        return ranked[:limit]

    def snapshot(self) -> dict[str, Any]:
        self._prune()
        return {"questions": self._questions, "workflows": self._workflows}

    def restore(self, data: dict[str, Any]) -> None:
        self._questions = [(float(t), str(q)) for t, q in data.get("questions", [])]
        self._workflows = [(float(t), [str(s) for s in steps]) for t, steps in data.get("workflows", [])]


class Preference(BaseModel):
    """The current belief about one preference of one user."""

    key: str
    value: Any
    confidence: float
    observations: int


class PreferenceLearning:
    """User preferences with a confidence from observed interactions.

    Each observation is ``(user, key, value)``, e.g. ``("u1", "language", "python")``;
    an explicit statement by the user counts ``explicit_weight`` times. The preference
    is the value with the most weight; ``confidence = weight(value) / (total + prior)``,
    so it grows with consistent evidence and falls when the user's choices vary.

    Infers: the dominant value per key and how consistent the evidence is.
    Does not infer: preferences from free text (the caller extracts key and value),
    preferences for keys never observed, or changes over time (old and new observations
    weigh the same; call :meth:`forget` to reset a key).
    """

    def __init__(self, *, explicit_weight: float = 3.0, prior: float = 1.0) -> None:
        self.explicit_weight = explicit_weight
        self.prior = prior
        self._weights: dict[tuple[str, str], dict[str, float]] = {}
        self._values: dict[str, Any] = {}
        self._counts: Counter[tuple[str, str]] = Counter()

    @staticmethod
    def _value_key(value: Any) -> str:
        import json

        try:
            return json.dumps(value, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise MemoryValueError(f"preference values must be JSON-serializable: {exc}") from exc

    def observe(self, user_id: str, key: str, value: Any, *, explicit: bool = False) -> Preference:
        """Record one observation; returns the updated preference."""
        vk = self._value_key(value)
        self._values[vk] = value
        weights = self._weights.setdefault((user_id, key), {})
        weights[vk] = weights.get(vk, 0.0) + (self.explicit_weight if explicit else 1.0)
        self._counts[(user_id, key)] += 1
        pref = self.get(user_id, key)
        assert pref is not None
        return pref

    def get(self, user_id: str, key: str) -> Preference | None:
        """The current preference for ``key``, or None when never observed."""
        weights = self._weights.get((user_id, key))
        if not weights:
            return None
        vk, top = max(weights.items(), key=lambda kv: kv[1])
        total = sum(weights.values())
        return Preference(
            key=key, value=self._values[vk], confidence=top / (total + self.prior), observations=self._counts[(user_id, key)]
        )

    def preferences(self, user_id: str, min_confidence: float = 0.0) -> list[Preference]:
        """Every preference of ``user_id`` at or above ``min_confidence``, most confident first."""
        prefs = [p for (u, k) in self._weights if u == user_id if (p := self.get(u, k)) is not None]
        return sorted((p for p in prefs if p.confidence >= min_confidence), key=lambda p: -p.confidence)

    def forget(self, user_id: str, key: str | None = None) -> None:
        for uk in [uk for uk in self._weights if uk[0] == user_id and (key is None or uk[1] == key)]:
            del self._weights[uk]
            self._counts.pop(uk, None)

    def snapshot(self) -> dict[str, Any]:
        return {
            "observations": [
                {"user": u, "key": k, "weights": dict(w), "count": self._counts[(u, k)]} for (u, k), w in self._weights.items()
            ],
            "values": self._values,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self._values = dict(data.get("values", {}))
        self._weights = {}
        self._counts = Counter()
        for item in data.get("observations", []):
            self._weights[(item["user"], item["key"])] = {str(k): float(v) for k, v in item["weights"].items()}
            self._counts[(item["user"], item["key"])] = int(item["count"])


class Correction(BaseModel):
    """An error seen on a tool call and what fixed it."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    error: str
    correction: str
    created_at: float = Field(default_factory=time.time)
    score: float | None = Field(default=None, exclude=True)


class ErrorCorrection:
    """Remember errors and their corrections; retrieve relevant ones before a tool call.

    ``record(tool, arguments, error, correction)`` stores a correction in a memory tier
    (namespace ``agent_id``, keys ``correction/<tool>/<id>``). ``relevant(tool,
    arguments, error=None)`` returns corrections for the same tool ranked by the share of
    argument names (and equal values) they have in common with the planned call, plus
    shared words with ``error`` when given.

    Infers: "this tool failed before with similar arguments, and this fixed it".
    Does not infer: corrections across different tools, whether a correction is still
    right, or any automatic fix: the caller decides what to do with the text (e.g. add
    it to the prompt before the call).
    """

    def __init__(self, store: str | MemoryTier = "memory://", *, agent_id: str = "agent") -> None:
        from kaizen_core.memory.urls import open_tier

        self.tier = open_tier(store, namespace=agent_id)

    async def record(self, tool: str, arguments: dict[str, Any], error: str, correction: str) -> Correction:
        item = Correction(tool=tool, arguments=arguments, error=error, correction=correction)
        await self.tier.put(f"correction/{tool}/{item.id}", item.model_dump(mode="json"))
        return item

    async def all(self, tool: str | None = None) -> list[Correction]:
        prefix = f"correction/{tool}/" if tool else "correction/"
        out = []
        for key in await self.tier.keys(prefix):
            raw = await self.tier.get(key)
            if raw is not None:
                out.append(Correction.model_validate(raw))
        return out

    async def relevant(
        self, tool: str, arguments: dict[str, Any] | None = None, *, error: str | None = None, limit: int = 3
    ) -> list[Correction]:
        """Corrections for ``tool``, most relevant first (``score`` in 0..2)."""
        args = arguments or {}
        error_words = set(_WORD.findall(error.lower())) if error else set()
        scored = []
        for item in await self.all(tool):
            names = set(args) | set(item.arguments)
            same = sum(1 for k in args if k in item.arguments) + sum(
                1 for k in args if k in item.arguments and item.arguments[k] == args[k]
            )
            score = same / (2 * len(names)) if names else 0.5
            if error_words:
                words = set(_WORD.findall(item.error.lower()))
                score += len(words & error_words) / len(words | error_words) if words else 0.0
            scored.append(item.model_copy(update={"score": score}))
        scored.sort(key=lambda c: (c.score or 0.0, c.created_at), reverse=True)
        return scored[:limit]

    async def close(self) -> None:
        await self.tier.close()
