"""PatternRecognition, PreferenceLearning, ErrorCorrection, AdaptiveLearning over a memory's entries."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kaizen_core.errors import ConfigError, MemoryValueError
from kaizen_core.memory import (
    AdaptiveLearning,
    ErrorCorrection,
    LongTermMemory,
    PatternRecognition,
    PreferenceLearning,
    ShortTermMemory,
)
from kaizen_core.memory.storage import SQLiteStorage

pytestmark = pytest.mark.anyio

DAY = 86_400.0


class Clock:
    """Wall time shifted by ``offset`` seconds (entries are stamped with wall time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def test_frequent_questions_within_the_window() -> None:
    clock = Clock()
    patterns = PatternRecognition(LongTermMemory("memory://", "bot"), min_count=2, clock=clock)
    await patterns.arecord_question("What's the weather?")
    await patterns.arecord_question("what's   the WEATHER")
    await patterns.arecord_question("How is the weather")  # a paraphrase is a different question
    await patterns.arecord_question("Reset my password")
    (weather,) = await patterns.adetect_frequent_patterns()
    assert (weather.pattern, weather.count, weather.example) == ("what s the weather", 2, "what's   the WEATHER")
    assert len(weather.entry_ids) == 2 and weather.first_seen <= weather.last_seen
    everything = await patterns.adetect_frequent_patterns(min_occurrences=1)
    assert [p.pattern for p in everything] == ["what s the weather", "reset my password", "how is the weather"]
    assert await patterns.adetect_frequent_patterns(min_occurrences=3) == []
    clock.offset = 8 * DAY
    assert await patterns.adetect_frequent_patterns(time_window_days=7) == []  # they left the window
    assert len(await patterns.adetect_frequent_patterns(time_window_days=9)) == 1


async def test_questions_come_from_entries_and_remembered_conversations() -> None:
    memory = LongTermMemory("memory://", "bot")
    await memory.aadd({"question": "What is AI?", "answer": "..."}, tags=["qa"])
    await memory.aadd({"question": "what is ai"}, tags=["qa"])
    await memory.aremember("s1", "question: What is AI?", '{"answer": "x"}')  # what an agent stores per run
    await memory.aadd("What is AI?")  # a plain fact, not tagged as a question: not counted
    (faq,) = await PatternRecognition(memory=memory).adetect_frequent_patterns(min_occurrences=3, time_window_days=7)
    assert faq.pattern == "what is ai" and faq.count == 3


async def test_frequent_workflows() -> None:
    patterns = PatternRecognition(min_count=2)  # a private in-process memory
    await patterns.arecord_workflow(["search", "read_file", "write_file"])
    await patterns.arecord_workflow(["search", "read_file", "write_file", "bash_command"])
    await patterns.arecord_workflow(["http_get", "search", "read_file"])
    top = await patterns.afrequent_workflows()
    assert (top[0].steps, top[0].count) == (("search", "read_file"), 3)
    assert any(w.steps == ("search", "read_file", "write_file") and w.count == 2 for w in top)
    assert all(w.count >= 2 for w in top)
    with pytest.raises(MemoryValueError):
        await patterns.arecord_workflow([])


async def test_learning_persists_through_the_memory_store(tmp_path: Path) -> None:
    storage = SQLiteStorage(db_path=tmp_path / "learn.db")
    first = PatternRecognition(memory=LongTermMemory(storage_backend=storage, agent_id="bot"))
    for _ in range(3):
        await first.arecord_question("How do I reset my password?")
    await first.memory.aclose()
    again = PatternRecognition(memory=LongTermMemory(storage_backend=storage, agent_id="bot"))
    assert [p.count for p in await again.adetect_frequent_patterns(min_occurrences=3)] == [3]
    other_agent = PatternRecognition(memory=LongTermMemory(storage_backend=storage, agent_id="other"))
    assert await other_agent.adetect_frequent_patterns(min_occurrences=1) == []


async def test_preference_confidence_grows_with_consistent_evidence() -> None:
    prefs = PreferenceLearning()
    assert await prefs.aget("u1", "language") is None
    first = await prefs.aobserve("u1", "language", "python")
    for _ in range(4):
        latest = await prefs.aobserve("u1", "language", "python")
    assert latest.value == "python" and latest.confidence > first.confidence and latest.observations == 5
    mixed = await prefs.aobserve("u1", "language", "rust")
    assert mixed.value == "python" and mixed.confidence < latest.confidence
    explicit = await prefs.aobserve("u2", "tone", "formal", explicit=True)
    implicit = await PreferenceLearning().aobserve("u2", "tone", "formal")
    assert explicit.confidence == pytest.approx(0.75) and implicit.confidence == pytest.approx(0.5)
    assert list(await prefs.alearn_preferences("u1")) == ["language"]
    assert await prefs.alearn_preferences("u1", min_confidence=0.99) == {}
    with pytest.raises(MemoryValueError):
        await prefs.aobserve("u1", "x", {1, 2})


async def test_preferences_from_a_profile_entry() -> None:
    memory = LongTermMemory("memory://", "bot")
    await memory.aadd({"user_name": "Alice", "preferences": {"style": "formal", "length": "short"}}, 0.9, ["user_profile"])
    await memory.aadd({"user_name": "Bob", "preferences": {"style": "casual"}}, 0.9, ["user_profile"])
    learner = PreferenceLearning(memory=memory)
    await learner.aobserve("alice", "length", "long")  # one inferred observation against the stated one
    prefs = await learner.alearn_preferences(user_id="alice", min_confidence=0.7)
    assert list(prefs) == ["style"]  # user ids match case-insensitively
    assert prefs["style"].value == "formal" and prefs["style"].confidence == pytest.approx(0.75)
    length = (await learner.alearn_preferences("ALICE"))["length"]
    assert length.value == "short" and length.confidence == pytest.approx(3 / 5)


async def test_error_corrections_are_retrieved_for_similar_calls(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/corr.db"
    corrections = ErrorCorrection(url, agent_id="bot")
    await corrections.arecord("read_file", {"path": "/etc/app.conf"}, "FileNotFoundError: no such file", "use /etc/app/app.conf")
    await corrections.arecord("read_file", {"encoding": "latin-1"}, "UnicodeDecodeError", "use encoding utf-8")
    await corrections.arecord("http_get", {"url": "http://x"}, "timeout", "retry with timeout=30")
    await corrections.aclose()
    reopened = ErrorCorrection(url, agent_id="bot")
    found = await reopened.arelevant("read_file", {"path": "/etc/app.conf"})
    assert [c.correction for c in found] == ["use /etc/app/app.conf", "use encoding utf-8"]
    assert (found[0].score or 0) > (found[1].score or 0)
    by_error = await reopened.arelevant("read_file", {}, error="UnicodeDecodeError in line 3")
    assert by_error[0].correction == "use encoding utf-8"
    assert await reopened.arelevant("write_file", {"path": "/etc/app.conf"}) == []
    other = ErrorCorrection(url, agent_id="other-bot")
    assert await other.arelevant("read_file", {"path": "/etc/app.conf"}) == []
    await reopened.aclose()
    await other.aclose()


async def test_record_error_with_error_type_and_context() -> None:
    memory = LongTermMemory("memory://", "bot")
    learner = ErrorCorrection(memory=memory)
    item = await learner.arecord_error(
        error_type="invalid_tool_call",
        context={"tool": "read_file", "error": "FileNotFoundError"},
        correction="Check file existence before reading",
    )
    assert (item.error_type, item.tool, item.error) == ("invalid_tool_call", "read_file", "FileNotFoundError")
    (hit,) = await learner.arelevant("read_file", error="FileNotFoundError: x.txt")
    assert hit.correction == "Check file existence before reading"
    assert await learner.arelevant("read_file", error_type="timeout") == []
    # the correction is an ordinary, searchable entry of the memory
    (entry,) = await memory.asearch("existence")
    assert "error_correction" in entry.tags and entry.content["correction"] == item.correction  # type: ignore[index]
    for bad in ({"error_type": "", "context": {}, "correction": "x"}, {"error_type": "t", "context": "nope", "correction": "x"}):
        with pytest.raises(MemoryValueError):
            await learner.arecord_error(**bad)  # type: ignore[arg-type]


async def test_adaptive_learning_prefers_what_worked() -> None:
    adaptive = AdaptiveLearning(ShortTermMemory(ttl_seconds=600))
    for ok in (True, True, False):
        await adaptive.arecord_outcome("plan_first", ok, task_type="research")
    for ok in (False, False):
        await adaptive.arecord_outcome("direct", ok, task_type="research")
    await adaptive.arecord_outcome("direct", True, task_type="chat")
    stats = await adaptive.astats("research")
    assert (stats["plan_first"].trials, stats["plan_first"].successes) == (3, 2)
    assert stats["plan_first"].success_rate == pytest.approx(3 / 5)
    assert await adaptive.abest_strategy(["direct", "plan_first"], task_type="research") == "plan_first"
    # a strategy that keeps failing gives way to an untried one (0.25 < 0.5)
    assert await adaptive.abest_strategy(["direct", "tree_of_thoughts"], task_type="research") == "tree_of_thoughts"
    assert await adaptive.abest_strategy(["plan_first", "direct"], task_type="chat") == "direct"
    with pytest.raises(MemoryValueError):
        await adaptive.abest_strategy([])


def test_learners_work_synchronously_too() -> None:
    patterns = PatternRecognition()
    for _ in range(3):
        patterns.record_question("What is AI?")
    assert [p.count for p in patterns.detect_frequent_patterns(min_occurrences=3, time_window_days=7)] == [3]
    prefs = PreferenceLearning()
    assert prefs.observe("u", "tone", "formal", explicit=True).confidence == pytest.approx(0.75)
    assert list(prefs.learn_preferences(user_id="u", min_confidence=0.7)) == ["tone"]


def test_a_learner_rejects_what_is_not_a_memory() -> None:
    with pytest.raises(ConfigError):
        PatternRecognition(memory=42)
