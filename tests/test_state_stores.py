"""Both built-in checkpoint stores pass the CheckpointStoreSuite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kaizen_core.state.filesystem import FilesystemStorage
from kaizen_core.state.sqlite import SQLiteStorage
from kaizen_testing.checkpoint_suite import CheckpointStoreSuite


class TestFilesystemStorage(CheckpointStoreSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> FilesystemStorage:
        return FilesystemStorage(tmp_path / "checkpoints")


class TestFilesystemStorageGzip(CheckpointStoreSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> FilesystemStorage:
        return FilesystemStorage.from_url(f"file://{tmp_path}/gz?compress=true")


class TestSQLiteStorage(CheckpointStoreSuite):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
        store = SQLiteStorage(tmp_path / "checkpoints.db")
        yield store
        await store.close()


class TestSQLiteMemoryStorage(CheckpointStoreSuite):
    @pytest.fixture
    async def store(self) -> AsyncIterator[SQLiteStorage]:
        store = SQLiteStorage.from_url("sqlite://:memory:")
        yield store
        await store.close()
