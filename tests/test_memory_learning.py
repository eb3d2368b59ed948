"""PatternRecognition, PreferenceLearning, ErrorCorrection."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaizen_core.errors import MemoryValueError
from kaizen_core.memory import ErrorCorrection, PatternRecognition, PreferenceLearning

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def test_frequent_questions_within_window() -> None:
    clock = Clock()
    patterns = PatternRecognition(window=100, min_count=2, clock=clock)
    patterns.record_question("What's the weather?")
    patterns.record_question("what's   the WEATHER")
    patterns.record_question("How is the weather")  # a paraphrase is a different question
    patterns.record_question("Reset my password")
    assert patterns.frequent_questions() == [("what s the weather", 2)]
    clock.now += 101
    patterns.record_question("Reset my password!")
    assert patterns.frequent_questions() == []  # the older questions left the window


def test_frequent_workflows() -> None:
    patterns = PatternRecognition(min_count=2, clock=Clock())
    patterns.record_workflow(["search", "read_file", "write_file"])
    patterns.record_workflow(["search", "read_file", "write_file", "bash_command"])
    patterns.record_workflow(["http_get", "search", "read_file"])
    top = patterns.frequent_workflows()
    assert top[0] == (("search", "read_file"), 3)
    assert (("search", "read_file", "write_file"), 2) in top
    assert all(count >= 2 for _, count in top)
    restored = PatternRecognition(min_count=2, clock=Clock())
    restored.restore(patterns.snapshot())
    assert restored.frequent_workflows() == top


def test_preference_confidence_grows_with_consistent_evidence() -> None:
    prefs = PreferenceLearning()
    assert prefs.get("u1", "language") is None
    first = prefs.observe("u1", "language", "python")
    for _ in range(4):
        latest = prefs.observe("u1", "language", "python")
    assert latest.value == "python" and latest.confidence > first.confidence
    mixed = prefs.observe("u1", "language", "rust")
    assert mixed.value == "python" and mixed.confidence < latest.confidence
    explicit = prefs.observe("u2", "tone", "formal", explicit=True)
    implicit = PreferenceLearning().observe("u2", "tone", "formal")
    assert explicit.confidence > implicit.confidence
    assert [p.key for p in prefs.preferences("u1")] == ["language"]
    assert prefs.preferences("u1", min_confidence=0.99) == []
    clone = PreferenceLearning()
    clone.restore(prefs.snapshot())
    assert clone.get("u1", "language") == prefs.get("u1", "language")
    prefs.forget("u1")
    assert prefs.get("u1", "language") is None
    with pytest.raises(MemoryValueError):
        prefs.observe("u1", "x", {1, 2})


async def test_error_corrections_are_retrieved_for_similar_calls(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/corr.db"
    corrections = ErrorCorrection(url, agent_id="bot")
    await corrections.record("read_file", {"path": "/etc/app.conf"}, "FileNotFoundError: no such file", "use /etc/app/app.conf")
    await corrections.record("read_file", {"encoding": "latin-1"}, "UnicodeDecodeError", "use encoding utf-8")
    await corrections.record("http_get", {"url": "http://x"}, "timeout", "retry with timeout=30")
    await corrections.close()
    reopened = ErrorCorrection(url, agent_id="bot")
    found = await reopened.relevant("read_file", {"path": "/etc/app.conf"})
    assert [c.correction for c in found] == ["use /etc/app/app.conf", "use encoding utf-8"]
    assert (found[0].score or 0) > (found[1].score or 0)
    by_error = await reopened.relevant("read_file", {}, error="UnicodeDecodeError in line 3")
    assert by_error[0].correction == "use encoding utf-8"
    assert await reopened.relevant("write_file", {"path": "/etc/app.conf"}) == []
    other = ErrorCorrection(url, agent_id="other-bot")
    assert await other.relevant("read_file", {"path": "/etc/app.conf"}) == []
    await reopened.close()
    await other.close()
