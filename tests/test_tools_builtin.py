"""The 12 built-in tools: levels, workspace confinement, shell and HTTP safety (real local server)."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kaizen_core.tools import DangerLevel, ToolContext, ToolRegistry

pytestmark = pytest.mark.anyio


BUILTINS = [
    "read_file",
    "file_exists",
    "list_directory",
    "write_file",
    "delete_file",
    "http_get",
    "http_post",
    "http_put",
    "http_delete",
    "bash_command",
    "fetch_url",
    "extract_links",
]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "hello.txt").write_text("hello world")
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_text("inner")
    (tmp_path / "secret.txt").write_text("top secret")
    return root


def local_context(workspace: Path, server: str, **limits: object) -> ToolContext:
    """A context whose HTTP tools may reach the test's loopback server (internal hosts are refused by default)."""
    return ToolContext(workspace_root=workspace, allowed_hosts=[server.removeprefix("http://")], **limits)


@pytest.fixture
def registry(workspace: Path, http_server: str) -> ToolRegistry:
    return ToolRegistry.from_config(BUILTINS, context=local_context(workspace, http_server, command_timeout=5))


def test_levels_match_the_issue(registry: ToolRegistry) -> None:
    expected = {
        "read_file": DangerLevel.SAFE,
        "file_exists": DangerLevel.SAFE,
        "list_directory": DangerLevel.SAFE,
        "write_file": DangerLevel.MEDIUM,
        "delete_file": DangerLevel.HIGH,
        "http_get": DangerLevel.SAFE,
        "http_post": DangerLevel.MEDIUM,
        "http_put": DangerLevel.MEDIUM,
        "http_delete": DangerLevel.HIGH,
        "bash_command": DangerLevel.HIGH,
        "fetch_url": DangerLevel.SAFE,
        "extract_links": DangerLevel.SAFE,
    }
    assert {t.name: t.danger_level for t in registry} == expected
    # PLAN mode ("look, don't touch") runs only these: they change nothing locally or remotely
    read_only = {"read_file", "file_exists", "list_directory", "http_get", "fetch_url", "extract_links"}
    assert {t.name for t in registry if t.read_only} == read_only


# --- files ---------------------------------------------------------------------------------
async def test_file_round_trip(registry: ToolRegistry, workspace: Path) -> None:
    assert (await registry.execute("read_file", {"path": "hello.txt"})).output == "hello world"
    assert (await registry.execute("file_exists", {"path": "sub/inner.txt"})).output is True
    assert (await registry.execute("file_exists", {"path": "missing.txt"})).output is False
    listing = (await registry.execute("list_directory", {})).output
    assert [(e["name"], e["type"]) for e in listing] == [("hello.txt", "file"), ("sub", "dir")]
    written = await registry.execute("write_file", {"path": "new/deep/out.txt", "content": "data"})
    assert written.success and written.output == {"path": "new/deep/out.txt", "bytes_written": 4}
    assert (workspace / "new/deep/out.txt").read_text() == "data"
    deleted = await registry.execute("delete_file", {"path": "new/deep/out.txt"})
    assert deleted.success and not (workspace / "new/deep/out.txt").exists()
    missing = await registry.execute("read_file", {"path": "nope.txt"})
    assert missing.error_code == "EXEC_004" and "does not exist" in (missing.error or "")


@pytest.mark.parametrize("tool_name", ["read_file", "file_exists", "delete_file"])
@pytest.mark.parametrize("path", ["../secret.txt", "../../etc/passwd", "sub/../../secret.txt", "/etc/passwd"])
async def test_paths_outside_workspace_refused(registry: ToolRegistry, tool_name: str, path: str) -> None:
    result = await registry.execute(tool_name, {"path": path})
    assert result.success is False
    assert result.error_code == "EXEC_005"
    assert "outside the workspace" in (result.error or "")


async def test_write_outside_refused(registry: ToolRegistry, workspace: Path) -> None:
    result = await registry.execute("write_file", {"path": "../escaped.txt", "content": "x"})
    assert result.error_code == "EXEC_005"
    assert not (workspace.parent / "escaped.txt").exists()


async def test_symlink_out_of_workspace_refused(registry: ToolRegistry, workspace: Path) -> None:
    (workspace / "link.txt").symlink_to(workspace.parent / "secret.txt")
    (workspace / "linkdir").symlink_to(workspace.parent)
    for args in ({"path": "link.txt"}, {"path": "linkdir/secret.txt"}):
        result = await registry.execute("read_file", args)
        assert result.error_code == "EXEC_005", args
    result = await registry.execute("write_file", {"path": "linkdir/evil.txt", "content": "x"})
    assert result.error_code == "EXEC_005"
    assert not (workspace.parent / "evil.txt").exists()


async def test_absolute_path_inside_workspace_allowed(registry: ToolRegistry, workspace: Path) -> None:
    result = await registry.execute("read_file", {"path": str(workspace / "hello.txt")})
    assert result.output == "hello world"


async def test_read_file_size_cap(workspace: Path) -> None:
    registry = ToolRegistry.from_config(["read_file"], context=ToolContext(workspace_root=workspace, max_file_bytes=4))
    result = await registry.execute("read_file", {"path": "hello.txt"})
    assert result.error_code == "EXEC_004" and "limit" in (result.error or "")


# --- shell ---------------------------------------------------------------------------------
async def test_bash_command_runs_in_workspace(registry: ToolRegistry, workspace: Path) -> None:
    result = await registry.execute("bash_command", {"command": "ls"})
    assert result.success and result.output["exit_code"] == 0
    assert result.output["stdout"].split() == ["hello.txt", "sub"]
    failing = await registry.execute("bash_command", {"command": "ls does-not-exist"})
    assert failing.success and failing.output["exit_code"] != 0 and failing.output["stderr"]


async def test_bash_command_no_shell_injection(registry: ToolRegistry, workspace: Path) -> None:
    marker = workspace / "pwned"
    result = await registry.execute("bash_command", {"command": f"echo hi; touch {marker} && echo $(id) | cat"})
    assert result.success
    assert result.output["stdout"].strip() == f"hi; touch {marker} && echo $(id) | cat"
    assert not marker.exists()


async def test_bash_command_timeout_kills(workspace: Path) -> None:
    registry = ToolRegistry.from_config(["bash_command"], context=ToolContext(workspace_root=workspace, command_timeout=0.3))
    result = await registry.execute("bash_command", {"command": "tail -f hello.txt"})  # never ends by itself
    assert result.error_code == "EXEC_004" and "timed out" in (result.error or "")


async def test_bash_command_output_capped(workspace: Path) -> None:
    registry = ToolRegistry.from_config(["bash_command"], context=ToolContext(workspace_root=workspace, max_output_chars=100))
    result = await registry.execute("bash_command", {"command": "seq 1 100000"})
    assert result.success and result.output["truncated"] is True
    assert len(result.output["stdout"]) == 100


async def test_bash_command_errors(registry: ToolRegistry, workspace: Path) -> None:
    assert (await registry.execute("bash_command", {"command": "definitely-not-a-program-xyz"})).error_code == "EXEC_005"
    allowed = ToolContext(workspace_root=workspace, allowed_commands=["definitely-not-a-program-xyz"])
    missing = await ToolRegistry.from_config(["bash_command"], context=allowed).execute(
        "bash_command", {"command": "definitely-not-a-program-xyz"}
    )
    assert missing.error_code == "EXEC_004" and "not on PATH" in (missing.error or "")
    assert (await registry.execute("bash_command", {"command": "   "})).error_code == "EXEC_001"
    assert (await registry.execute("bash_command", {"command": "ls", "cwd": ".."})).error_code == "EXEC_005"


# --- HTTP against a real local server --------------------------------------------------------
#: the ``/slow`` endpoint holds its reply until this is set (30 s at most, against a hang)
SLOW_REPLY = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/big"):
            self._reply(200, b"a" * 50_000, "text/plain")
        elif self.path.startswith("/page"):
            html = (
                b"<html><head><title>Test Page</title><script>var x = '<a href=/no>';</script></head>"
                b"<body><h1>Header</h1><p>Hello <b>there</b></p>"
                b"<a href='/one'>One</a> <a href=\"https://example.org/two?x=1&amp;y=2\">Two <i>it</i></a>"
                b"<a href='mailto:a@b.c'>mail</a></body></html>"
            )
            self._reply(200, html, "text/html; charset=utf-8")
        elif self.path.startswith("/slow"):
            SLOW_REPLY.wait(timeout=30)  # answers only once the test has seen its timeout
            try:
                self._reply(200, b"late", "text/plain")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as the test expects
        elif self.path.startswith("/redirect-file"):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            body = json.dumps({"method": "GET", "path": self.path, "auth": self.headers.get("X-Token")}).encode()
            self._reply(200, body)

    def _echo(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length).decode() if length else ""
        self._reply(201 if method == "POST" else 200, json.dumps({"method": method, "body": data}).encode())

    def do_POST(self) -> None:
        self._echo("POST")

    def do_PUT(self) -> None:
        self._echo("PUT")

    def do_DELETE(self) -> None:
        self._reply(204, b"")


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_http_methods(registry: ToolRegistry, http_server: str) -> None:
    got = await registry.execute("http_get", {"url": f"{http_server}/items", "headers": {"X-Token": "t1"}, "params": {"q": "a"}})
    assert got.success and got.output["status"] == 200
    assert json.loads(got.output["body"]) == {"method": "GET", "path": "/items?q=a", "auth": "t1"}
    posted = await registry.execute("http_post", {"url": f"{http_server}/items", "body": {"k": 1}})
    assert posted.output["status"] == 201 and json.loads(json.loads(posted.output["body"])["body"]) == {"k": 1}
    put = await registry.execute("http_put", {"url": f"{http_server}/items/1", "body": "raw text"})
    assert json.loads(put.output["body"]) == {"method": "PUT", "body": "raw text"}
    deleted = await registry.execute("http_delete", {"url": f"{http_server}/items/1"})
    assert deleted.output["status"] == 204


async def test_http_size_cap(workspace: Path, http_server: str) -> None:
    registry = ToolRegistry.from_config(["http_get"], context=local_context(workspace, http_server, max_response_bytes=1000))
    result = await registry.execute("http_get", {"url": f"{http_server}/big"})
    assert result.success and result.output["truncated"] is True and len(result.output["body"]) == 1000


async def test_http_timeout(workspace: Path, http_server: str) -> None:
    registry = ToolRegistry.from_config(["http_get"], context=local_context(workspace, http_server, http_timeout=0.2))
    SLOW_REPLY.clear()
    try:
        result = await registry.execute("http_get", {"url": f"{http_server}/slow"})
    finally:
        SLOW_REPLY.set()
    assert result.error_code == "EXEC_004" and "timed out" in (result.error or "")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://x", "127.0.0.1:80/x", "javascript:alert(1)"])
async def test_http_refuses_other_schemes(registry: ToolRegistry, url: str) -> None:
    for name in ("http_get", "fetch_url"):
        result = await registry.execute(name, {"url": url})
        assert result.error_code == "EXEC_005", (name, url)


async def test_http_redirect_to_file_scheme_fails(registry: ToolRegistry, http_server: str) -> None:
    result = await registry.execute("http_get", {"url": f"{http_server}/redirect-file"})
    assert result.success is False


async def test_http_error_hides_url_password(registry: ToolRegistry, workspace: Path) -> None:
    refused = await registry.execute("http_get", {"url": "http://user:s3cr3tpass@127.0.0.1:9/x"})
    assert refused.error_code == "EXEC_005" and "s3cr3tpass" not in (refused.error or "")
    # allowed, but nothing listens on port 9 of loopback: connection refused
    allowed = ToolRegistry.from_config(["http_get"], context=local_context(workspace, "127.0.0.1:9"))
    failed = await allowed.execute("http_get", {"url": "http://user:s3cr3tpass@127.0.0.1:9/x"})
    assert failed.error_code == "EXEC_004" and "s3cr3tpass" not in (failed.error or "")


async def test_fetch_url_and_extract_links(registry: ToolRegistry, http_server: str) -> None:
    page = await registry.execute("fetch_url", {"url": f"{http_server}/page"})
    assert page.success
    assert page.output["title"] == "Test Page"
    assert "Hello there" in page.output["text"] and "Header" in page.output["text"]
    assert "var x" not in page.output["text"]
    links = await registry.execute("extract_links", {"url": f"{http_server}/page"})
    assert links.output == [
        {"url": f"{http_server}/one", "text": "One"},
        {"url": "https://example.org/two?x=1&y=2", "text": "Two it"},
    ]
    inline = await registry.execute("extract_links", {"html": "<a href='b.html'>B</a>", "base_url": "https://x.org/a/"})
    assert inline.output == [{"url": "https://x.org/a/b.html", "text": "B"}]
    neither = await registry.execute("extract_links", {})
    assert neither.error_code == "EXEC_001"


def test_importing_builtins_does_not_import_httpx() -> None:
    import subprocess

    code = "import sys, kaizen_core.tools.builtin.http, kaizen_core.tools.builtin.web; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=dict(os.environ))
    assert out.stdout.strip() == "False"
