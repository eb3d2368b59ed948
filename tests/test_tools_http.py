"""The HTTP tools' address policy: internal hosts refused, allowed_hosts, checked redirects, pinned connections.

Real loopback servers (stdlib http.server in a thread) record every request they see,
so "refused" is asserted as "the server saw nothing", not only as an error code.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kaizen_core.errors import PermissionDeniedError
from kaizen_core.tools import ToolContext, ToolRegistry
from kaizen_core.tools.netpolicy import check_url, host_allowed, is_loopback_host

pytestmark = pytest.mark.anyio

HTTP_TOOLS = ["http_get", "http_post", "http_put", "http_delete", "fetch_url", "extract_links"]


@dataclass
class Recorder:
    """A loopback HTTP server and the requests it received."""

    server: ThreadingHTTPServer
    seen: list[dict[str, Any]] = field(default_factory=list)
    redirect_to: str | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.hostport}"


def _serve() -> Iterator[Recorder]:
    recorder: Recorder

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _handle(self) -> None:
            recorder.seen.append({"method": self.command, "path": self.path, "host": self.headers.get("Host")})
            if self.path.startswith("/redirect") and recorder.redirect_to:
                status = int(self.path.rsplit("/", 1)[-1]) if self.path.count("/") > 1 else 302
                self.send_response(status)
                self.send_header("Location", recorder.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = f"hello from {self.server.server_address[1]} {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    recorder = Recorder(server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def _servers() -> Iterator[tuple[Recorder, Recorder]]:
    first, second = _serve(), _serve()
    yield next(first), next(second)
    for gen in (first, second):
        gen.close()


@pytest.fixture
def first(_servers: tuple[Recorder, Recorder]) -> Recorder:
    _servers[0].seen.clear()
    _servers[0].redirect_to = None
    return _servers[0]


@pytest.fixture
def second(_servers: tuple[Recorder, Recorder]) -> Recorder:
    _servers[1].seen.clear()
    _servers[1].redirect_to = None
    return _servers[1]


def tools(tmp_path: Path, **context: Any) -> ToolRegistry:
    return ToolRegistry.from_config(HTTP_TOOLS, context=ToolContext(workspace_root=tmp_path, **context))


# --- the acceptance checks of the issue ------------------------------------------------------
@pytest.mark.parametrize("name", ["http_get", "http_post", "http_put", "http_delete", "fetch_url", "extract_links"])
async def test_loopback_server_is_refused_by_default_and_sees_no_request(
    tmp_path: Path, first: Recorder, name: str
) -> None:
    result = await tools(tmp_path).execute(name, {"url": f"{first.url}/data"})
    assert result.success is False and result.error_code == "EXEC_005"
    assert "loopback" in (result.error or "") and "allowed_hosts" in (result.error or "")
    assert first.seen == []


async def test_allowed_hosts_naming_the_server_lets_the_fetch_through(tmp_path: Path, first: Recorder) -> None:
    result = await tools(tmp_path, allowed_hosts=[first.hostport]).execute("http_get", {"url": f"{first.url}/data"})
    assert result.success, result.error
    assert result.output["status"] == 200 and result.output["body"] == f"hello from {first.port} /data"
    assert first.seen == [{"method": "GET", "path": "/data", "host": first.hostport}]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_to_another_loopback_port_is_not_followed(
    tmp_path: Path, first: Recorder, second: Recorder, status: int
) -> None:
    first.redirect_to = f"{second.url}/stolen"
    result = await tools(tmp_path, allowed_hosts=[first.hostport]).execute(
        "http_get", {"url": f"{first.url}/redirect/{status}"}
    )
    assert result.success is False and result.error_code == "EXEC_005"
    assert "redirect" in (result.error or "") and "not followed" in (result.error or "")
    assert [r["path"] for r in first.seen] == [f"/redirect/{status}"]
    assert second.seen == []  # checked before following: the second server was never contacted


@pytest.mark.parametrize(
    "location",
    [
        "http://localhost:{port}/x",
        "http://[::ffff:127.0.0.1]:{port}/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "file:///etc/passwd",
    ],
)
async def test_redirect_to_internal_spellings_is_not_followed(
    tmp_path: Path, first: Recorder, second: Recorder, location: str
) -> None:
    first.redirect_to = location.format(port=second.port)
    result = await tools(tmp_path, allowed_hosts=[first.hostport]).execute("fetch_url", {"url": f"{first.url}/redirect"})
    assert result.error_code == "EXEC_005", result
    assert second.seen == []


async def test_redirect_between_allowed_hosts_is_followed(tmp_path: Path, first: Recorder, second: Recorder) -> None:
    first.redirect_to = f"{second.url}/landing"
    registry = tools(tmp_path, allowed_hosts=[first.hostport, second.hostport])
    result = await registry.execute("http_get", {"url": f"{first.url}/redirect/303"})
    assert result.success, result.error
    assert result.output["url"] == f"{second.url}/landing"
    assert result.output["body"] == f"hello from {second.port} /landing"
    assert second.seen == [{"method": "GET", "path": "/landing", "host": second.hostport}]


async def test_post_becomes_get_on_303_and_keeps_its_method_on_307(
    tmp_path: Path, first: Recorder, second: Recorder
) -> None:
    first.redirect_to = f"{second.url}/after"
    registry = tools(tmp_path, allowed_hosts=[first.hostport, second.hostport])
    assert (await registry.execute("http_post", {"url": f"{first.url}/redirect/303", "body": {"a": 1}})).success
    assert (await registry.execute("http_post", {"url": f"{first.url}/redirect/307", "body": {"a": 1}})).success
    assert [r["method"] for r in second.seen] == ["GET", "POST"]


async def test_redirect_hops_are_capped(tmp_path: Path, first: Recorder) -> None:
    first.redirect_to = f"{first.url}/redirect"  # a loop
    registry = tools(tmp_path, allowed_hosts=[first.hostport], max_redirects=3)
    result = await registry.execute("http_get", {"url": f"{first.url}/redirect"})
    assert result.error_code == "EXEC_004" and "more than 3 redirects" in (result.error or "")
    assert len(first.seen) == 4  # the first request and three followed hops


async def test_connection_goes_to_the_checked_address(
    tmp_path: Path, first: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name resolves to the allowed address once, then elsewhere. Only the first answer is used."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1"] + ["10.255.255.1"] * 10)
    asked: list[str] = []

    def fake_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("rebind.example", b"rebind.example"):
            asked.append(host.decode() if isinstance(host, bytes) else host)
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    registry = tools(tmp_path, allowed_hosts=[f"rebind.example:{first.port}"], http_timeout=5)
    result = await registry.execute("http_get", {"url": f"http://rebind.example:{first.port}/pinned"})
    assert result.success, result.error
    assert asked == ["rebind.example"]  # resolved once, by the check; the connection did not look it up again
    assert first.seen == [{"method": "GET", "path": "/pinned", "host": f"rebind.example:{first.port}"}]


# --- check_url, the one gate ---------------------------------------------------------------
@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.1/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://0x7f000001/", "loopback"),
        ("http://localhost:8080/", "loopback"),
        ("http://LOCALHOST./", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("http://[::127.0.0.1]/", "loopback"),
        ("http://[2002:7f00:1::]/", "loopback"),
        ("http://[64:ff9b::7f00:1]/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://10.1.2.3/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://[fc00::1]/", "private"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://100.64.0.1/", "non-public"),
        ("https://user:pw@127.0.0.1/", "loopback"),
    ],
)
async def test_internal_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        await check_url(url)
    assert info.value.code == "EXEC_005"
    assert reason in info.value.message
    assert "pw@" not in info.value.message


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://8.8.8.8/", "gopher://x", "127.0.0.1:80/x", "http:///x"])
async def test_other_schemes_and_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(PermissionDeniedError):
        await check_url(url)


async def test_public_addresses_pass_without_any_connection() -> None:
    checked = await check_url("https://8.8.8.8/dns-query?x=1")
    assert (checked.scheme, checked.host, checked.port, checked.address) == ("https", "8.8.8.8", 443, "8.8.8.8")
    assert checked.allowed_by is None and checked.host_header == "8.8.8.8"
    v6 = await check_url("http://[2606:4700:4700::1111]:8080/")
    assert v6.address == "2606:4700:4700::1111" and v6.host_header == "[2606:4700:4700::1111]:8080"


async def test_allowed_hosts_entries() -> None:
    assert (await check_url("http://127.0.0.1:8080/", ["127.0.0.1:8080"])).allowed_by == "127.0.0.1:8080"
    assert (await check_url("http://127.0.0.1:9999/", ["127.0.0.1"])).allowed_by == "127.0.0.1"
    assert (await check_url("http://[::1]:8080/", ["[::1]:8080"])).allowed_by == "[::1]:8080"
    assert (await check_url("http://[::1]/", ["::1"])).allowed_by == "::1"
    assert (await check_url("http://LocalHost/", ["localhost"])).allowed_by == "localhost"
    for url, entries in [
        ("http://127.0.0.1:8081/", ["127.0.0.1:8080"]),  # another port
        ("http://localhost:8080/", ["127.0.0.1:8080"]),  # matched as written, not by address
        ("http://127.0.0.1/", ["127.0.0.1:not-a-port"]),  # a malformed entry allows nothing
    ]:
        with pytest.raises(PermissionDeniedError):
            await check_url(url, entries)
    assert host_allowed("example.org", 443, ["example.org:443"]) == "example.org:443"
    assert host_allowed("example.org", 80, ["example.org:443"]) is None


def test_is_loopback_host_says_whether_a_listener_is_local_only() -> None:
    """The check servers (kaizen-prometheus, kaizen mcp serve) make before listening without a key."""
    assert all(is_loopback_host(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST."))
    assert not any(is_loopback_host(h) for h in ("0.0.0.0", "::", "192.168.1.10", "example.com", "localhost.evil", ""))
