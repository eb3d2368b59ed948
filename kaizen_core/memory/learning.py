"""Simple, explainable learning from what a memory holds.

Every learner reads and writes the entries of one memory (``memory=long_term``; a store
URL or storage backend gives a ``LongTermMemory`` on it; nothing gives a private
in-process one), so what it learns persists exactly as that memory does and is shared
by everyone using it. They count and look up; they do not call a model and do not
generalise. Each class says what it infers and what it does not.

Like every memory object, each method is blocking under its documented name and has an
async twin ``a<name>`` (:mod:`kaizen_core.memory.sync`). Learners scan the memory's
entries on each query (fine for thousands of entries, not for millions).

Entries the learners write (content objects, so they stay readable and searchable):

==========================  ===================================================  ===================
learner call                content                                              tags
==========================  ===================================================  ===================
``record_question``         ``{"question": text}``                               ``question``
``record_workflow``         ``{"workflow": [tool, ...]}``                        ``workflow``
``observe``                 ``{"user_id": u, "preferences": {key: value}}``      ``preference``
``record_error``            ``{"error_type", "context", "correction"}``          ``error_correction``
``record_outcome``          ``{"strategy", "success", "task_type"}``             ``outcome``
==========================  ===================================================  ===================
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, Field

from kaizen_core.errors import ConfigError, MemoryValueError
from kaizen_core.memory.long_term import CONVERSATION_TAG, LongTermMemory, MemoryEntry, _EntryStore
from kaizen_core.memory.sync import sync_twin

__all__ = [
    "AdaptiveLearning",
    "Correction",
    "ErrorCorrection",
    "FrequentPattern",
    "FrequentWorkflow",
    "PatternRecognition",
    "Preference",
    "PreferenceLearning",
    "StrategyStats",
]

_WORD = re.compile(r"\w+", re.UNICODE)
_DAY = 86_400.0

def normalize_question(text: str) -> str:
    """Lower case, punctuation removed, whitespace collapsed."""
    return " ".join(_WORD.findall(text.lower()))


def as_memory(memory: Any, agent_id: str = "agent") -> _EntryStore:
    """The memory a learner works on: a memory as given, a store opened as a ``LongTermMemory``,
    or (``None``) a private in-process one."""
    if isinstance(memory, _EntryStore):
        return memory
    if memory is None:
        return LongTermMemory("memory://", agent_id)
    try:
        return LongTermMemory(memory, agent_id)
    except ConfigError as exc:
        raise ConfigError(
            f"a learner needs memory= (a ShortTermMemory/LongTermMemory) or a store, got {type(memory).__name__}",
            hint=exc.hint,
        ) from None


def _field(entry: MemoryEntry, name: str) -> Any:
    return entry.content.get(name) if isinstance(entry.content, dict) else None


# -- pattern recognition ----------------------------------------------------------------------
class FrequentPattern(BaseModel):
    """A question asked at least ``min_occurrences`` times in the window."""

    pattern: str = Field(description="the normalized question (case, punctuation and spacing ignored)")
    example: str = Field(description="the latest phrasing as asked")
    count: int
    first_seen: float
    last_seen: float
    entry_ids: list[str] = Field(default_factory=list)


class FrequentWorkflow(BaseModel):
    """A contiguous tool sequence recurring across recorded workflows (counted once per workflow)."""

    steps: tuple[str, ...]
    count: int


def _question_of(entry: MemoryEntry) -> str | None:
    question = _field(entry, "question")
    if isinstance(question, str):
        return question
    if CONVERSATION_TAG in entry.tags:
        user = _field(entry, "user")
        if isinstance(user, str):
            name, sep, value = user.partition(": ")
            single_field = sep and "\n" not in user and _WORD.fullmatch(name)
            return value if single_field else user
    if isinstance(entry.content, str) and "question" in entry.tags:
        return entry.content
    return None


class PatternRecognition:
    """Frequent questions (FAQs) and tool workflows in a memory, inside a time window.

    A question is an entry's ``question`` field, the user's side of a ``conversation``
    entry (what an agent remembers after each run; a single ``field: value`` input counts
    as its value), or a string entry tagged ``question``.

    Infers: which questions (after normalisation: case, punctuation and spacing ignored)
    were asked at least ``min_occurrences`` times in the last ``time_window_days``, and
    which contiguous tool sequences (length 2..``max_workflow_length``) recur across
    recorded workflows in that window.

    Does not infer: paraphrases (``"what's the weather"`` and ``"how is the weather"``
    are different questions), intent, causality between steps, or anything older than
    the window.
    """

    def __init__(
        self,
        memory: Any = None,
        *,
        window: float = 7 * _DAY,
        min_count: int = 2,
        max_workflow_length: int = 5,
        agent_id: str = "agent",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.memory = as_memory(memory, agent_id)
        self.window = window
        self.min_count = min_count
        self.max_workflow_length = max_workflow_length
        self._clock = clock

    async def arecord_question(self, text: str) -> MemoryEntry:
        """Store one question asked."""
        if not isinstance(text, str) or not normalize_question(text):
            raise MemoryValueError(f"a question must be a non-empty string, got {text!r}"[:200])
        return await self.memory.aadd({"question": text}, importance=0.3, tags=["question"])

    async def arecord_workflow(self, steps: Iterable[str]) -> MemoryEntry:
        """Store one run's ordered tool calls (names)."""
        seq = [s for s in steps if s]
        if not seq or not all(isinstance(s, str) for s in seq):
            raise MemoryValueError(f"a workflow is a non-empty list of tool names, got {seq!r}"[:200])
        return await self.memory.aadd({"workflow": seq}, importance=0.3, tags=["workflow"])

    async def _recent(self, window: float) -> list[MemoryEntry]:
        horizon = self._clock() - window
        return [e for e in await self.memory.aall() if e.created_at >= horizon]

    async def adetect_frequent_patterns(
        self, min_occurrences: int | None = None, time_window_days: float | None = None, *, limit: int = 10
    ) -> list[FrequentPattern]:
        """Questions asked at least ``min_occurrences`` times (default ``min_count``) in the
        last ``time_window_days`` (default ``window``), most frequent first."""
        least = self.min_count if min_occurrences is None else min_occurrences
        window = self.window if time_window_days is None else time_window_days * _DAY
        groups: dict[str, list[tuple[MemoryEntry, str]]] = {}
        for entry in await self._recent(window):
            question = _question_of(entry)
            if question is not None and (norm := normalize_question(question)):
                groups.setdefault(norm, []).append((entry, question))
        patterns = [
            FrequentPattern(
                pattern=norm,
                example=items[-1][1],
                count=len(items),
                first_seen=items[0][0].created_at,
                last_seen=items[-1][0].created_at,
                entry_ids=[e.id for e, _ in items],
            )
            for norm, items in groups.items()
            if len(items) >= least
        ]
        patterns.sort(key=lambda p: (-p.count, -p.last_seen))
        return patterns[:limit]

    async def afrequent_workflows(self, limit: int = 10, *, time_window_days: float | None = None) -> list[FrequentWorkflow]:
        """Recurring contiguous tool sequences (count >= ``min_count``); longest first on ties."""
        window = self.window if time_window_days is None else time_window_days * _DAY
        counts: Counter[tuple[str, ...]] = Counter()
        for entry in await self._recent(window):
            steps = _field(entry, "workflow")
            if not isinstance(steps, list):
                continue
            seen: set[tuple[str, ...]] = set()
            for size in range(2, min(self.max_workflow_length, len(steps)) + 1):
                for start in range(len(steps) - size + 1):
                    seen.add(tuple(str(s) for s in steps[start : start + size]))
            counts.update(seen)
        ranked = sorted(
            ((seq, n) for seq, n in counts.items() if n >= self.min_count), key=lambda x: (-x[1], -len(x[0]), x[0])
        )
        return [FrequentWorkflow(steps=seq, count=n) for seq, n in ranked[:limit]]

    record_question = sync_twin(arecord_question)
    record_workflow = sync_twin(arecord_workflow)
    detect_frequent_patterns = sync_twin(adetect_frequent_patterns)
    frequent_workflows = sync_twin(afrequent_workflows)


# -- preferences ------------------------------------------------------------------------------
class Preference(BaseModel):
    """The current belief about one preference of one user."""

    key: str
    value: Any
    confidence: float
    observations: int


_USER_FIELDS = ("user_id", "user", "user_name", "username")


def _is_about(entry: MemoryEntry, user_id: str) -> bool:
    wanted = user_id.casefold()
    candidates = [_field(entry, name) for name in _USER_FIELDS] + [entry.metadata.get("user_id")]
    return any(isinstance(c, str) and c.casefold() == wanted for c in candidates)


def _value_key(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise MemoryValueError(f"preference values must be JSON-serializable: {exc}") from exc


class PreferenceLearning:
    """User preferences, with a confidence, from the ``preferences`` objects in a memory.

    Evidence for user *u* is every entry whose ``user_id``/``user``/``user_name``/
    ``username`` field (or ``metadata["user_id"]``) is *u* (case-insensitive) and that has
    a ``preferences`` object, e.g. ``{"user_name": "Alice", "preferences": {"style":
    "formal"}}``. Each key/value is one observation. A preference written into memory
    directly (a profile) or recorded with ``observe(..., explicit=True)`` is an explicit
    statement and weighs ``explicit_weight`` (3); ``observe(...)`` records an inferred one
    (weight 1). The preference is the value with the most weight and
    ``confidence = weight(value) / (total weight + prior)``: it grows with consistent
    evidence and falls when the evidence varies. One explicit statement gives 0.75.

    Infers: the dominant value per key and how consistent the evidence is.
    Does not infer: preferences from free text (the caller extracts key and value),
    preferences for keys never observed, or changes over time (old and new observations
    weigh the same; forget old entries to reset).
    """

    def __init__(self, memory: Any = None, *, explicit_weight: float = 3.0, prior: float = 1.0, agent_id: str = "agent") -> None:
        self.memory = as_memory(memory, agent_id)
        self.explicit_weight = explicit_weight
        self.prior = prior

    async def aobserve(self, user_id: str, key: str, value: Any, *, explicit: bool = False) -> Preference:
        """Record one observation; returns the updated preference."""
        if not isinstance(user_id, str) or not user_id or not isinstance(key, str) or not key:
            raise MemoryValueError("user_id and key must be non-empty strings")
        _value_key(value)
        await self.memory.aadd(
            {"user_id": user_id, "preferences": {key: value}},
            importance=0.6 if explicit else 0.4,
            tags=["preference"],
            metadata={"explicit": explicit},
        )
        prefs = await self.alearn_preferences(user_id)
        return prefs[key]

    async def alearn_preferences(self, user_id: str, min_confidence: float = 0.0) -> dict[str, Preference]:
        """Every preference of ``user_id`` at or above ``min_confidence``, keyed by preference
        name, most confident first."""
        weights: dict[str, dict[str, float]] = {}
        values: dict[str, Any] = {}
        counts: Counter[str] = Counter()
        for entry in await self.memory.aall():
            prefs = _field(entry, "preferences")
            if not isinstance(prefs, dict) or not _is_about(entry, user_id):
                continue
            explicit = entry.metadata.get("explicit", "preference" not in entry.tags)
            weight = self.explicit_weight if explicit else 1.0
            for key, value in prefs.items():
                vk = _value_key(value)
                values[vk] = value
                per_key = weights.setdefault(key, {})
                per_key[vk] = per_key.get(vk, 0.0) + weight
                counts[key] += 1
        result = []
        for key, per_key in weights.items():
            vk, top = max(per_key.items(), key=lambda kv: kv[1])
            confidence = top / (sum(per_key.values()) + self.prior)
            if confidence >= min_confidence:
                result.append(Preference(key=key, value=values[vk], confidence=confidence, observations=counts[key]))
        result.sort(key=lambda p: -p.confidence)
        return {p.key: p for p in result}

    async def aget(self, user_id: str, key: str) -> Preference | None:
        """The current preference for ``key``, or None when never observed."""
        return (await self.alearn_preferences(user_id)).get(key)

    observe = sync_twin(aobserve)
    learn_preferences = sync_twin(alearn_preferences)
    get = sync_twin(aget)


# -- error correction -------------------------------------------------------------------------
class Correction(BaseModel):
    """An error seen and what fixed it. ``tool``, ``arguments`` and ``error`` come from ``context``."""

    id: str
    error_type: str
    context: dict[str, Any] = Field(default_factory=dict)
    correction: str
    created_at: float
    score: float | None = Field(default=None, exclude=True)

    @property
    def tool(self) -> str | None:
        tool = self.context.get("tool")
        return tool if isinstance(tool, str) else None

    @property
    def arguments(self) -> dict[str, Any]:
        args = self.context.get("arguments")
        return args if isinstance(args, dict) else {}

    @property
    def error(self) -> str:
        return str(self.context.get("error", ""))


class ErrorCorrection:
    """Remember errors and their corrections; retrieve relevant ones before acting again.

    ``record_error(error_type, context, correction)`` stores one (``context`` is a JSON
    object, e.g. ``{"tool": "read_file", "error": "FileNotFoundError"}``);
    ``record(tool, arguments, error, correction)`` is the same for a failed tool call.
    ``relevant(tool, arguments, error=None, error_type=None)`` returns corrections for the
    same tool (and error type, when given) ranked by the share of argument names (and
    equal values) they have in common with the planned call, plus shared words with
    ``error`` when given (``score`` in 0..2).

    Infers: "this failed before in a similar way, and this fixed it".
    Does not infer: corrections across different tools, whether a correction is still
    right, or any automatic fix: the caller decides what to do with the text (e.g. add
    it to the prompt before the call).
    """

    def __init__(self, memory: Any = None, *, agent_id: str = "agent") -> None:
        self.memory = as_memory(memory, agent_id)

    async def arecord_error(self, error_type: str, context: dict[str, Any], correction: str) -> Correction:
        """Store an error of kind ``error_type`` seen in ``context`` and its ``correction``."""
        if not isinstance(error_type, str) or not error_type:
            raise MemoryValueError(f"error_type must be a non-empty string, got {error_type!r}"[:200])
        if not isinstance(context, dict):
            raise MemoryValueError(f"context must be a JSON object (dict), got {type(context).__name__}")
        if not isinstance(correction, str) or not correction:
            raise MemoryValueError(f"correction must be a non-empty string, got {correction!r}"[:200])
        entry = await self.memory.aadd(
            {"error_type": error_type, "context": context, "correction": correction},
            importance=0.7,
            tags=["error_correction", error_type],
        )
        return self._correction(entry)

    async def arecord(self, tool: str, arguments: dict[str, Any], error: str, correction: str) -> Correction:
        """:meth:`arecord_error` for a failed tool call (``error_type="tool_error"``)."""
        return await self.arecord_error("tool_error", {"tool": tool, "arguments": arguments, "error": error}, correction)

    @staticmethod
    def _correction(entry: MemoryEntry) -> Correction:
        content = entry.content if isinstance(entry.content, dict) else {}
        context = content.get("context")
        return Correction(
            id=entry.id,
            error_type=str(content.get("error_type", "")),
            context=context if isinstance(context, dict) else {},
            correction=str(content.get("correction", "")),
            created_at=entry.created_at,
        )

    async def aall(self, tool: str | None = None, *, error_type: str | None = None) -> list[Correction]:
        """Recorded corrections (for ``tool`` / ``error_type`` when given), oldest first."""
        out = []
        for entry in await self.memory.aall():
            if "error_correction" not in entry.tags or not isinstance(entry.content, dict):
                continue
            item = self._correction(entry)
            if (tool is None or item.tool == tool) and (error_type is None or item.error_type == error_type):
                out.append(item)
        return out

    async def arelevant(
        self,
        tool: str | None = None,
        arguments: dict[str, Any] | None = None,
        *,
        error: str | None = None,
        error_type: str | None = None,
        limit: int = 3,
    ) -> list[Correction]:
        """Corrections for ``tool`` (and ``error_type``), most relevant first (``score`` in 0..2)."""
        args = arguments or {}
        error_words = set(_WORD.findall(error.lower())) if error else set()
        scored = []
        for item in await self.aall(tool, error_type=error_type):
            known = item.arguments
            names = set(args) | set(known)
            same = sum(1 for k in args if k in known) + sum(1 for k in args if k in known and known[k] == args[k])
            score = same / (2 * len(names)) if names else 0.5
            if error_words:
                words = set(_WORD.findall(item.error.lower()))
                score += len(words & error_words) / len(words | error_words) if words else 0.0
            scored.append(item.model_copy(update={"score": score}))
        scored.sort(key=lambda c: (c.score or 0.0, c.created_at), reverse=True)
        return scored[:limit]

    async def aclose(self) -> None:
        """Close the memory."""
        await self.memory.aclose()

    record_error = sync_twin(arecord_error)
    record = sync_twin(arecord)
    all = sync_twin(aall)
    relevant = sync_twin(arelevant)
    close = sync_twin(aclose)


# -- adaptive learning ------------------------------------------------------------------------
class StrategyStats(BaseModel):
    """Outcomes recorded for one strategy; ``success_rate`` is ``(successes + 1) / (trials + 2)``."""

    strategy: str
    trials: int
    successes: int
    success_rate: float


class AdaptiveLearning:
    """Pick the strategy that has worked best, from recorded outcomes.

    ``record_outcome(strategy, success, task_type=None)`` stores one result;
    ``best_strategy(candidates, task_type=None)`` returns the candidate with the highest
    smoothed success rate ``(successes + 1) / (trials + 2)`` (an untried one scores 0.5,
    so a failing strategy gives way to an untried one); ties go to the earlier candidate.

    Infers: which strategy succeeded most often for a task type.
    Does not infer: why a strategy works, strategies never recorded, or trends (old and
    new outcomes weigh the same). It is deterministic: no random exploration.
    """

    def __init__(self, memory: Any = None, *, agent_id: str = "agent") -> None:
        self.memory = as_memory(memory, agent_id)

    async def arecord_outcome(
        self, strategy: str, success: bool, *, task_type: str | None = None, metadata: dict[str, Any] | None = None
    ) -> MemoryEntry:
        """Store whether ``strategy`` succeeded (for ``task_type``)."""
        if not isinstance(strategy, str) or not strategy or not isinstance(success, bool):
            raise MemoryValueError("record_outcome needs a strategy name and success=True/False")
        return await self.memory.aadd(
            {"strategy": strategy, "success": success, "task_type": task_type},
            importance=0.4,
            tags=["outcome"],
            metadata=metadata,
        )

    async def astats(self, task_type: str | None = None) -> dict[str, StrategyStats]:
        """Per strategy (for ``task_type``, or all outcomes when None)."""
        trials: Counter[str] = Counter()
        wins: Counter[str] = Counter()
        for entry in await self.memory.aall():
            if "outcome" not in entry.tags:
                continue
            strategy, success = _field(entry, "strategy"), _field(entry, "success")
            if not isinstance(strategy, str) or not isinstance(success, bool):
                continue
            if task_type is not None and _field(entry, "task_type") != task_type:
                continue
            trials[strategy] += 1
            wins[strategy] += int(success)
        return {
            s: StrategyStats(strategy=s, trials=n, successes=wins[s], success_rate=(wins[s] + 1) / (n + 2))
            for s, n in trials.items()
        }

    async def abest_strategy(self, candidates: Iterable[str], *, task_type: str | None = None) -> str:
        """The candidate with the highest smoothed success rate (see the class docstring)."""
        options = list(candidates)
        if not options:
            raise MemoryValueError("best_strategy needs at least one candidate")
        stats = await self.astats(task_type)
        rates = [stats[c].success_rate if c in stats else 0.5 for c in options]
        return options[rates.index(max(rates))]

    record_outcome = sync_twin(arecord_outcome)
    stats = sync_twin(astats)
    best_strategy = sync_twin(abest_strategy)
