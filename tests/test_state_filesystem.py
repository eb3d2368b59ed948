"""FilesystemStorage specifics: corruption, crash safety, URLs, journal tails."""

from __future__ import annotations

import gc
import gzip
import os
from pathlib import Path

import pytest

from kaizen_core.errors import CheckpointCorruptError, ConfigError, StorageError
from kaizen_core.state import AgentState, StateManager
from kaizen_core.state.filesystem import JOURNAL_FDS, FilesystemStorage, parse_file_url


def ckpt_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and ".journal" not in p.parts)


async def two_checkpoints(root: Path, compress: bool = False) -> tuple[StateManager, list[str], AgentState]:
    manager = StateManager(FilesystemStorage(root, compress=compress))
    state = AgentState(agent_id="a", conversation_history=[{"role": "user", "content": "hello " * 100}])
    first = await manager.save_checkpoint(state)
    state.conversation_history.append({"role": "assistant", "content": "hi " * 100})
    second = await manager.save_checkpoint(state)
    assert first and second
    return manager, [first, second], state


@pytest.mark.anyio
@pytest.mark.parametrize("compress", [False, True])
async def test_truncated_file_is_checkpoint_002_naming_the_file(tmp_path: Path, compress: bool) -> None:
    _, (first, second), _ = await two_checkpoints(tmp_path, compress)
    path = next(p for p in ckpt_files(tmp_path) if p.name.startswith(second))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 10])
    fresh = StateManager(FilesystemStorage(tmp_path))
    with pytest.raises(CheckpointCorruptError) as info:
        await fresh.load_checkpoint(second)
    assert info.value.code == "CHECKPOINT_002"
    assert str(path) in str(info.value)
    assert (await fresh.load_checkpoint(first)).checkpoint_id == first


@pytest.mark.anyio
async def test_truncated_header_and_flipped_byte_are_corrupt(tmp_path: Path) -> None:
    _, (first, second), _ = await two_checkpoints(tmp_path)
    paths = {p.name.split(".")[0]: p for p in ckpt_files(tmp_path)}
    paths[first].write_bytes(paths[first].read_bytes()[:20])
    data = bytearray(paths[second].read_bytes())
    data[-5] ^= 0x01
    paths[second].write_bytes(bytes(data))
    store = FilesystemStorage(tmp_path)
    for cid in (first, second):
        with pytest.raises(CheckpointCorruptError, match=str(paths[cid])):
            await store.read(cid)


@pytest.mark.anyio
async def test_delta_whose_base_is_corrupt_never_loads_a_wrong_state(tmp_path: Path) -> None:
    _, (first, second), _ = await two_checkpoints(tmp_path)
    base = next(p for p in ckpt_files(tmp_path) if p.name.startswith(first))
    base.write_bytes(base.read_bytes()[:-1])
    with pytest.raises(CheckpointCorruptError) as info:
        await StateManager(FilesystemStorage(tmp_path)).load_checkpoint(second)
    assert str(base) in str(info.value)


@pytest.mark.anyio
async def test_crash_during_save_keeps_previous_checkpoint_and_leaks_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager, (_, second), state = await two_checkpoints(tmp_path)
    before = ckpt_files(tmp_path)
    saved_id = state.checkpoint_id

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("simulated crash in rename")

    monkeypatch.setattr(os, "replace", crash)
    state.conversation_history.append({"role": "user", "content": "lost"})
    with pytest.raises(StorageError) as info:
        await manager.save_checkpoint(state)
    assert info.value.code == "CHECKPOINT_003"
    monkeypatch.undo()
    assert state.checkpoint_id == saved_id  # the failed save left the state's ids alone
    assert ckpt_files(tmp_path) == before
    assert not list(tmp_path.rglob("*.tmp"))
    fresh = StateManager(FilesystemStorage(tmp_path))
    latest = await fresh.resume_from_latest("a")
    assert latest is not None and latest.checkpoint_id == second
    assert len(latest.conversation_history) == 2
    # and the manager keeps working after the failure
    new_id = await manager.save_checkpoint(state)
    assert new_id is not None and await fresh.load_checkpoint(new_id) == state


@pytest.mark.anyio
async def test_gzip_files_are_gzip(tmp_path: Path) -> None:
    await two_checkpoints(tmp_path, compress=True)
    for path in ckpt_files(tmp_path):
        _, _, body = path.read_bytes().partition(b"\n")
        assert gzip.decompress(body).startswith(b"KZ1")


@pytest.mark.anyio
async def test_odd_agent_and_checkpoint_names_stay_inside_root(tmp_path: Path) -> None:
    store = FilesystemStorage(tmp_path / "root")
    manager = StateManager(store)
    for agent in ("../escape", ".hidden", "a/b", "ünïcode agent"):
        state = AgentState(agent_id=agent)
        cid = await manager.save_checkpoint(state)
        assert cid is not None and await manager.load_checkpoint(cid) == state
    assert sorted(await store.list_agents()) == sorted(["../escape", ".hidden", "a/b", "ünïcode agent"])
    assert not (tmp_path / "escape").exists()
    assert all(p.is_relative_to(tmp_path / "root") for p in tmp_path.rglob("*.ckpt"))


@pytest.mark.anyio
async def test_journal_ignores_torn_tail_and_repairs_it(tmp_path: Path) -> None:
    store = FilesystemStorage(tmp_path)
    await store.journal_append("s", b'{"n": 1}')
    path = next((tmp_path / ".journal").iterdir())
    with open(path, "ab") as fh:
        fh.write(b'{"n": 2, "tor')  # a crash mid-append
    assert await store.journal_read("s") == [b'{"n": 1}']
    await store.journal_append("s", b'{"n": 3}')
    assert await store.journal_read("s") == [b'{"n": 1}', b'{"n": 3}']
    assert path.read_bytes() == b'{"n": 1}\n{"n": 3}\n'


@pytest.mark.anyio
async def test_reopened_store_continues_a_journal_with_a_torn_tail(tmp_path: Path) -> None:
    first = FilesystemStorage(tmp_path)
    await first.journal_append_many("s", [b'{"n": 1}', b'{"n": 2}'])
    await first.close()
    path = next((tmp_path / ".journal").iterdir())
    with open(path, "ab") as fh:
        fh.write(b'{"n": 3, "to')  # the process died mid-append
    reopened = FilesystemStorage(tmp_path)
    assert await reopened.journal_read("s") == [b'{"n": 1}', b'{"n": 2}']
    await reopened.journal_append_many("s", [b'{"n": 4}', b'{"n": 5}'])
    await reopened.journal_append("s", b'{"n": 6}')
    assert await reopened.journal_read("s") == [b'{"n": 1}', b'{"n": 2}', b'{"n": 4}', b'{"n": 5}', b'{"n": 6}']
    assert path.read_bytes() == b'{"n": 1}\n{"n": 2}\n{"n": 4}\n{"n": 5}\n{"n": 6}\n'
    await reopened.close()


@pytest.mark.anyio
async def test_journal_deleted_then_appended_starts_a_new_stream(tmp_path: Path) -> None:
    store = FilesystemStorage(tmp_path)
    await store.journal_append("s", b'{"old": 1}')
    await store.journal_append("other", b'{"keep": 1}')
    await store.journal_delete("s")
    assert await store.journal_read("s") == []
    await store.journal_append("s", b'{"new": 1}')
    await store.journal_append("s", b'{"new": 2}')
    assert await store.journal_read("s") == [b'{"new": 1}', b'{"new": 2}']
    assert await FilesystemStorage(tmp_path).journal_read("s") == [b'{"new": 1}', b'{"new": 2}']
    assert await store.journal_read("other") == [b'{"keep": 1}']
    await store.close()
    await store.close()  # twice is fine
    await store.journal_append("s", b'{"new": 3}')  # and the store stays usable
    assert len(await store.journal_read("s")) == 3


@pytest.mark.anyio
async def test_two_stores_on_one_directory_share_a_journal(tmp_path: Path) -> None:
    a, b = FilesystemStorage(tmp_path), FilesystemStorage(tmp_path)
    await a.journal_append("s", b'{"by": "a", "n": 1}')
    await b.journal_append("s", b'{"by": "b", "n": 2}')
    await a.journal_append("s", b'{"by": "a", "n": 3}')
    expected = [b'{"by": "a", "n": 1}', b'{"by": "b", "n": 2}', b'{"by": "a", "n": 3}']
    assert await a.journal_read("s") == expected and await b.journal_read("s") == expected
    await a.journal_delete("s")  # b's next append must not go to the deleted file
    await b.journal_append("s", b'{"by": "b", "n": 4}')
    assert await a.journal_read("s") == [b'{"by": "b", "n": 4}']
    await a.close()
    await b.close()


@pytest.mark.anyio
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts this process's descriptors in /proc")
async def test_journal_files_are_closed_with_the_store_or_when_it_is_dropped(tmp_path: Path) -> None:
    def open_fds() -> int:
        """Descriptors of this process open on files under tmp_path (other tests' come and go)."""
        count = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:  # closed meanwhile
                continue
            count += target.startswith(str(tmp_path))
        return count

    before = open_fds()
    for i in range(50):
        store = FilesystemStorage(tmp_path)
        await store.journal_append(f"dropped-{i}", b'{"n": 1}')
        del store  # never closed
    gc.collect()
    closed = FilesystemStorage(tmp_path)
    for i in range(50):
        await closed.journal_append(f"closed-{i}", b'{"n": 1}')
    assert open_fds() >= before + 50  # kept open between appends
    await closed.close()
    assert open_fds() <= before + 2


@pytest.mark.anyio
async def test_more_streams_than_open_journal_files_all_append_in_order(tmp_path: Path) -> None:
    store = FilesystemStorage(tmp_path)
    streams = [f"s{i}" for i in range(JOURNAL_FDS + 10)]
    for round_ in range(3):
        for stream in streams:  # every stream reopened after the least recently used were closed
            await store.journal_append(stream, b'{"round": %d}' % round_)
    for stream in streams:
        assert await store.journal_read(stream) == [b'{"round": 0}', b'{"round": 1}', b'{"round": 2}']
    await store.close()


@pytest.mark.anyio
async def test_journal_records_that_look_like_the_escape_round_trip(tmp_path: Path) -> None:
    store = FilesystemStorage(tmp_path)
    records = [
        b'{"$bytes": "aGk="}',  # a real record shaped like the escape
        b'{"$bytes',  # not JSON, starts like the escape
        b'{"$bytesX": 1}',
        b"not json at all",
        b"two\nlines",
        b"cr\rhere",
        b"",
        bytes(range(256)),
        b'{"plain": "json"}',
    ]
    await store.journal_append_many("s", records)
    assert await store.journal_read("s") == records
    assert await FilesystemStorage(tmp_path).journal_read("s") == records
    await store.close()


def test_file_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_file_url("file://./rel/dir") == (Path("./rel/dir"), {})
    assert parse_file_url("file:///abs/dir") == (Path("/abs/dir"), {})
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_file_url("file://~/x")[0] == tmp_path / "x"
    store = FilesystemStorage.from_url("file:///abs/dir?compress=1")
    assert store.compress is True and store.root == Path("/abs/dir")
    with pytest.raises(ConfigError):
        parse_file_url("file://")
    with pytest.raises(ConfigError):
        parse_file_url("s3://bucket")
