"""A small MCP server written with the SDK itself (mcp 2.x ``MCPServer``): the client tests' peer.

Notes are files ``<name>.txt`` in the working directory. Tools:

* ``read_note`` (readOnlyHint): a note's text;
* ``delete_note`` (destructiveHint): deletes a note;
* ``note_stats`` (readOnlyHint, structured output): ``{"count": n, "names": [...], "pid": ...}``;
* ``crash`` (no hints): the process exits at once, as a crashing server would;
* ``fail``: a tool error (``isError``).

    python mcp_notes_server.py                                  # stdio
    python mcp_notes_server.py streamable-http PORT             # http://127.0.0.1:PORT/mcp
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel

server = MCPServer("notes")


class Stats(BaseModel):
    count: int
    names: list[str]
    pid: int


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def read_note(name: str) -> str:
    """Read the note called ``name``."""
    return (Path.cwd() / f"{name}.txt").read_text(encoding="utf-8")


@server.tool(annotations=ToolAnnotations(destructive_hint=True))
def delete_note(name: str) -> str:
    """Delete the note called ``name`` for good."""
    (Path.cwd() / f"{name}.txt").unlink()
    return f"deleted {name}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def note_stats() -> Stats:
    """How many notes there are, their names, and this server's process id."""
    names = sorted(p.stem for p in Path.cwd().glob("*.txt"))
    return Stats(count=len(names), names=names, pid=os.getpid())


@server.tool()
def crash() -> str:
    """Exit the server process immediately."""
    sys.stderr.write("notes server: crashing on request\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool()
def fail(reason: str) -> str:
    """Always fails, with ``reason``."""
    raise ToolError(f"refused: {reason}")  # the SDK sends a ToolError's text; other exceptions it hides


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "streamable-http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
