"""Payload codec and the store URL grammar shared by checkpoint stores and memory tiers."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import plugins
from kaizen_core.errors import CheckpointCorruptError, ConfigError, PluginNotInstalledError
from kaizen_core.hookspecs import hookimpl
from kaizen_core.memory import open_tier
from kaizen_core.memory.warm import WarmMemoryTier
from kaizen_core.state import AgentState, StateManager, codec, open_store, safe_url
from kaizen_core.state.filesystem import FilesystemStorage
from kaizen_core.state.sqlite import SQLiteStorage
from kaizen_core.urls import file_url, parse_file_url, parse_sqlite_url, parse_url, sqlite_url


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


@pytest.mark.parametrize(
    ("url", "shown", "password"),
    [
        ("redis://:p@ss@host:6379/0", "redis://:***@host:6379/0", "p@ss"),
        ("postgresql://kz:a:b@c@db:5432/kaizen", "postgresql://kz:***@db:5432/kaizen", "a:b@c"),
        ("postgresql://kz:p%2Fw%3Fx@db/kaizen", "postgresql://kz:***@db/kaizen", "p/w?x"),
        (
            "postgresql://db/kaizen?sslmode=require&password=q1",
            "postgresql://db/kaizen?sslmode=require&password=***",
            None,
        ),
        ("rediss://[::1]:6380/2", "rediss://[::1]:6380/2", None),
    ],
)
def test_network_urls_parse_passwords_and_show_them_redacted(url: str, shown: str, password: str | None) -> None:
    parsed = parse_url(url)
    assert parsed.display == shown == safe_url(url)
    assert parsed.password_value == password
    if password:
        assert password not in repr(parsed) and password not in str(parsed.model_dump())


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///rel.db", "rel.db"),
        ("sqlite:///dir/rel.db", "dir/rel.db"),
        ("sqlite:////abs/x.db", "/abs/x.db"),
        ("sqlite:///a%20b.db", "a b.db"),
        ("sqlite://", ":memory:"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite://:memory:", ":memory:"),
    ],
)
def test_sqlite_urls_follow_sqlalchemy(url: str, path: str) -> None:
    assert parse_sqlite_url(url) == (path, {})
    assert parse_sqlite_url(sqlite_url(path))[0] == path


def test_sqlite_url_home_and_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_sqlite_url("sqlite:///~/k.db?synchronous=NORMAL") == (
        str(tmp_path / "k.db"),
        {"synchronous": "NORMAL"},
    )


@pytest.mark.parametrize("url", ["sqlite://host/x.db", "sqlite:///", "sqlite:///dir/", "file:///x.db"])
def test_bad_sqlite_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_sqlite_url(url)
    assert info.value.code == "KAIZEN_002"


def test_sqlite_host_error_says_what_to_write() -> None:
    with pytest.raises(ConfigError) as info:
        parse_sqlite_url("sqlite://data/x.db")
    assert "sqlite:///data/x.db" in str(info.value) and "sqlite:////data/x.db" in str(info.value)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file:///abs/dir", "/abs/dir"),
        ("file://localhost/abs/dir", "/abs/dir"),
        ("file://./rel/dir", "rel/dir"),
        ("file://../up", "../up"),
        ("file://.", "."),
        ("file:///with%20space", "/with space"),
    ],
)
def test_file_urls_follow_rfc_8089_plus_dot_relative(url: str, path: str) -> None:
    assert parse_file_url(url) == (Path(path), {})
    assert parse_file_url(file_url(path))[0] == Path(path)


@pytest.mark.parametrize("url", ["file://", "file://server/share", "file://checkpoints"])
def test_bad_file_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_file_url(url)


@pytest.mark.anyio
@pytest.mark.parametrize("form", ["relative", "absolute"])
async def test_checkpoint_store_and_memory_tier_open_the_same_file_for_one_url(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = "sqlite:///shared/kaizen.db" if form == "relative" else f"sqlite:///{tmp_path}/abs/kaizen.db"
    expected = tmp_path / ("shared" if form == "relative" else "abs") / "kaizen.db"
    assert url.startswith("sqlite:////") == (form == "absolute")

    manager = StateManager(url)
    checkpoint_id = await manager.save_checkpoint(AgentState(agent_id="a"))
    await manager.close()
    tier = open_tier(url, namespace="a")
    await tier.put("k", "v")
    await tier.close()

    assert isinstance(manager.storage, SQLiteStorage) and isinstance(tier, WarmMemoryTier)
    assert Path(manager.storage.path).resolve() == Path(tier.path).resolve() == expected
    assert parse_sqlite_url(tier.url)[0] == parse_sqlite_url(url)[0]
    with sqlite3.connect(expected) as conn:  # one file holds both
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"checkpoints", "journal"} <= tables and len(tables) > 2
    reopened = StateManager(url)
    assert (await reopened.load_checkpoint(checkpoint_id or "")).agent_id == "a"
    assert await open_tier(url, namespace="a").get("k") == "v"
    await reopened.close()
    assert not (Path("/") / "shared" / "kaizen.db").exists()


def test_three_slashes_naming_a_missing_relative_file_warns_when_the_absolute_one_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    absolute = tmp_path / "old.db"
    absolute.touch()
    relative_form = "sqlite:///" + str(absolute).lstrip("/")  # what "sqlite:///abs/old.db" meant before
    with caplog.at_level(logging.WARNING, logger="kaizen.urls"):
        path, _ = parse_sqlite_url(relative_form)
    assert path == str(absolute).lstrip("/")
    assert any("sqlite:////" in record.getMessage() for record in caplog.records)


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
        state = AgentState(agent_id="a")
        cid = await manager.save_checkpoint(state)
        assert cid is not None and await manager.load_checkpoint(cid) == state
        await manager.close()
