"""The file:// memory tier (append-only JSONL): conformance, audit trail, processes, torn lines, compaction."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kaizen_core.errors import MemoryBackendError
from kaizen_core.memory import open_tier
from kaizen_core.memory.file import FileMemoryTier
from kaizen_core.memory.storage import FileStorage
from kaizen_testing.memory_suite import MemoryTierSuite, TierFactory

pytestmark = pytest.mark.anyio


class TestFileTierSuite(MemoryTierSuite):
    @pytest.fixture
    def tier_factory(self, tmp_path: Path) -> TierFactory:
        url = f"file://{tmp_path}/memory.jsonl"

        async def make(namespace: str) -> FileMemoryTier:
            tier = open_tier(url, namespace=namespace)
            assert isinstance(tier, FileMemoryTier)
            return tier

        return make


async def test_every_operation_is_one_appended_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    tier = open_tier(FileStorage(path), namespace="bot")
    await tier.put("a", {"n": 1})
    await tier.put("a", {"n": 2})
    await tier.delete("a")
    await tier.put("b", "kept")
    await tier.clear()
    ops = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["op"], r.get("key"), r.get("value")) for r in ops] == [
        ("put", "a", {"n": 1}),
        ("put", "a", {"n": 2}),
        ("del", "a", None),
        ("put", "b", "kept"),
        ("clear", None, None),
    ]
    assert all(r["ns"] == "bot" for r in ops)


async def test_another_process_sees_writes_and_we_see_its(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    tier = FileMemoryTier(path, "ns")
    await tier.put("mine", 1)
    script = textwrap.dedent(
        f"""
        import anyio
        from kaizen_core.memory.file import FileMemoryTier
        async def main():
            tier = FileMemoryTier({str(path)!r}, "ns")
            assert await tier.get("mine") == 1
            await tier.put("theirs", [1, 2])
            await tier.delete("mine")
        anyio.run(main)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert await tier.get("theirs") == [1, 2]
    assert await tier.get("mine") is None
    assert await tier.keys() == ["theirs"]


async def test_a_torn_last_line_is_skipped_and_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "torn.jsonl"
    first = FileMemoryTier(path, "ns")
    await first.put("ok", "yes")
    with open(path, "ab") as fh:  # a crash in the middle of an append
        fh.write(b'{"op":"put","ns":"ns","key":"half"')
    reader = FileMemoryTier(tmp_path / "." / "torn.jsonl", "ns")
    assert await reader.keys() == ["ok"]
    await reader.put("next", 2)
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)
    assert await FileMemoryTier(path, "ns").keys() == ["next", "ok"]


async def test_compact_keeps_live_entries_only(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    tier = FileMemoryTier(path, "a")
    other = FileMemoryTier(path, "b")
    for i in range(5):
        await tier.put("k", i)
    await tier.put("gone", 1)
    await tier.delete("gone")
    await other.put("x", "y")
    assert len(path.read_text().splitlines()) == 8
    assert await tier.compact() == 2
    assert len(path.read_text().splitlines()) == 2
    assert await tier.get("k") == 4 and await other.get("x") == "y"


async def test_corrupt_line_is_a_backend_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("not json\n")
    with pytest.raises(MemoryBackendError):
        await FileMemoryTier(path, "ns").keys()
