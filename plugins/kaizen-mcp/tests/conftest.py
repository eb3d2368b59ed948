"""Fixtures of the kaizen-mcp tests.

Client side: ``notes_dir`` (a workspace with two notes), ``notes_server`` (the stdio entry of
tests/mcp_notes_server.py, a server written with the SDK) and ``notes_http`` (the same server
over streamable HTTP on a free loopback port, started as a subprocess and awaited until it
accepts connections).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kaizen_testing.servers._process import free_port, port_open, stop_process, wait_until

NOTES_SERVER = Path(__file__).with_name("mcp_notes_server.py")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def notes_dir(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    root.mkdir()
    (root / "todo.txt").write_text("buy milk", encoding="utf-8")
    (root / "old.txt").write_text("obsolete", encoding="utf-8")
    return root


@pytest.fixture
def notes_server(notes_dir: Path) -> dict[str, Any]:
    """The ``mcp_servers`` entry of the notes server over stdio."""
    return {
        "name": "notes",
        "command": sys.executable,
        "args": [str(NOTES_SERVER)],
        "transport": "stdio",
        "cwd": str(notes_dir),
    }


@pytest.fixture
def notes_http(notes_dir: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The notes server on http://127.0.0.1:PORT/mcp (a subprocess); yields its ``mcp_servers`` entry."""
    port = free_port()
    log = tmp_path / "notes-http.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(NOTES_SERVER), "streamable-http", str(port)],
            cwd=notes_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: port_open(port), what="the notes MCP server (HTTP)", timeout=60, process=process, log=log)
        yield {
            "name": "remote",
            "url": f"http://127.0.0.1:{port}/mcp",
            "transport": "streamable-http",
            "headers": {"X-Notes-Key": "notes-http-secret-token"},
        }
    finally:
        stop_process(process)
