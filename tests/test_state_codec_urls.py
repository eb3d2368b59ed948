"""Payload codec and store URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kaizen_core import plugins
from kaizen_core.errors import CheckpointCorruptError, ConfigError, PluginNotInstalledError
from kaizen_core.hookspecs import hookimpl
from kaizen_core.state import StateManager, codec, open_store, safe_url
from kaizen_core.state.filesystem import FilesystemStorage
from kaizen_core.state.sqlite import SQLiteStorage, parse_sqlite_url


def test_delta_roundtrip_covers_append_truncate_dict_and_scalar_changes() -> None:
    base: dict[str, Any] = {"h": [1, 2, 3], "d": {"a": 1, "b": 2, "c": 3}, "s": "x", "gone": 1}
    cases = [
        {"h": [1, 2, 3, 4], "d": {"a": 1, "b": 2, "c": 3}, "s": "x", "gone": 1},
        {"h": [1, 9], "d": {"a": 1, "c": 4}, "s": "y"},
        {"h": [], "d": {}, "s": None, "new": [1]},
        {"h": [7, 8], "d": {"z": 1}, "s": "x", "gone": 1},
    ]
    for new in cases:
        body = codec.decode(codec.encode_delta("base-id", base, new), "test")
        assert body["base"] == "base-id"
        assert codec.apply_delta(base, body) == new
    appended = codec.decode(codec.encode_delta("b", base, cases[0]), "t")
    assert appended["lists"] == {"h": {"keep": 3, "append": [4]}} and appended["set"] == {}


def test_decode_rejects_damage_naming_location() -> None:
    payload = codec.encode_full({"checkpoint_id": "c", "x": "y" * 50})
    assert codec.decode(payload, "here")["state"]["x"] == "y" * 50
    damaged = [payload[:-3], payload[:5], b"", payload.replace(b"yyy", b"yyz", 1), b"XX" + payload[2:]]
    for bad in damaged:
        with pytest.raises(CheckpointCorruptError, match="somewhere/file") as info:
            codec.decode(bad, "somewhere/file")
        assert info.value.code == "CHECKPOINT_002"


def test_safe_url_strips_passwords() -> None:
    assert safe_url("redis://user:s3cret@host:6379/0") == "redis://user:***@host:6379/0"
    assert "hunter2" not in safe_url("postgresql://kz:hunter2@db/kaizen?sslmode=require")
    assert safe_url("file://./checkpoints") == "file://./checkpoints"


def test_sqlite_urls() -> None:
    assert parse_sqlite_url("sqlite:///rel.db") == "rel.db"
    assert parse_sqlite_url("sqlite:////abs/x.db") == "/abs/x.db"
    assert parse_sqlite_url("sqlite://:memory:") == ":memory:"
    with pytest.raises(ConfigError):
        parse_sqlite_url("sqlite://")


def test_open_store_by_scheme(tmp_path: Path) -> None:
    file_store = open_store(f"file://{tmp_path}/c")
    assert isinstance(file_store, FilesystemStorage) and file_store.root == tmp_path / "c"
    db = open_store(f"sqlite:///{tmp_path}/c.db")
    assert isinstance(db, SQLiteStorage) and db.path == f"{tmp_path}/c.db"
    assert open_store(db) is db
    assert isinstance(open_store(tmp_path / "p"), FilesystemStorage)
    with pytest.raises(ConfigError):
        open_store("just-a-name")


def test_unknown_scheme_lists_installed_without_password() -> None:
    with pytest.raises(PluginNotInstalledError) as info:
        open_store("nosuchdb://u:topsecret@localhost/0")
    assert info.value.code == "KAIZEN_003"
    assert "nosuchdb" in str(info.value) and "sqlite" in str(info.value)  # lists what is installed
    assert "topsecret" not in str(info.value)


class _MemStore(FilesystemStorage):
    scheme = "memtest"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> _MemStore:
        return cls(url.split("://", 1)[1], **options)


class _Plugin:
    @hookimpl
    def register_storage_backends(self, register: Any) -> None:
        register("memtest", _MemStore)


@pytest.mark.anyio
async def test_plugin_scheme_is_resolved_through_registry(tmp_path: Path) -> None:
    with plugins.plugin_registered(_Plugin(), name="memtest-plugin"):
        manager = StateManager(f"memtest://{tmp_path}/m")
        assert isinstance(manager.storage, _MemStore)
        from kaizen_core.state import AgentState

        state = AgentState(agent_id="a")
        cid = await manager.save_checkpoint(state)
        assert cid is not None and await manager.load_checkpoint(cid) == state
        await manager.close()
