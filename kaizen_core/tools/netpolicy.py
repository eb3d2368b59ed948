"""Where the HTTP and web tools may connect: one check for every URL and every redirect hop.

:func:`check_url` is the only gate. It accepts absolute ``http``/``https`` URLs, resolves
the host, and refuses it when any address it resolves to is not a public one: loopback,
private (RFC 1918, unique-local ``fc00::/7``), link-local (``169.254.0.0/16`` - the
cloud metadata service at 169.254.169.254 - and ``fe80::/10``), multicast, reserved,
unspecified (``0.0.0.0``, ``::``), shared/benchmark/documentation ranges, and IPv6 forms
that carry such an IPv4 address (IPv4-mapped ``::ffff:127.0.0.1``, IPv4-compatible,
6to4, Teredo, NAT64 ``64:ff9b::/96``). Every spelling of an address (``127.1``,
``2130706433``, ``0x7f.0.0.1``, a name in /etc/hosts, a DNS record) is caught because
the *resolved* addresses are checked, not the text.

``ToolContext.allowed_hosts`` opts hosts in: ``"host"`` (any port) or ``"host:port"``,
matched against the URL's host as written (``"127.0.0.1:8080"`` does not allow
``localhost:8080``). IPv6 entries are written ``"[::1]:8080"`` or ``"::1"``.

The returned :class:`CheckedURL` carries the checked address; the HTTP tools connect to
that address (not to a fresh lookup of the name), so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot redirect the request.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from kaizen_core.errors import PermissionDeniedError, ToolExecutionError
from kaizen_core.redaction import redact

__all__ = ["CheckedURL", "address_refusal", "check_url", "host_allowed", "is_loopback_host"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ALLOW_HINT = (
    "the HTTP tools reach only public addresses by default; to reach this host on purpose, "
    'list it in ToolContext(allowed_hosts=["host", "host:port"])'
)


@dataclass(frozen=True)
class CheckedURL:
    """A URL that passed :func:`check_url`, with the address to connect to."""

    url: str
    scheme: str
    #: lower-case host as written in the URL, without brackets or a trailing dot
    host: str
    port: int
    #: every address the host resolved to (all were checked)
    addresses: tuple[str, ...]
    #: the ``allowed_hosts`` entry that let an internal host through, if any
    allowed_by: str | None = None

    @property
    def address(self) -> str:
        """The checked address the request must be sent to."""
        return self.addresses[0]

    @property
    def host_is_ip(self) -> bool:
        return _parse_ip(self.host) is not None

    @property
    def host_header(self) -> str:
        """``Host`` header value: the host as written (bracketed if IPv6), port if not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    """Whether a server listening on ``host`` is reachable from this machine only.

    True for ``localhost`` and loopback addresses (127.0.0.0/8, ``::1``); False for every
    other name or address (``0.0.0.0`` and ``::`` listen on every interface). Servers that
    require opting in (or a key) before listening elsewhere ask this.
    """
    if host.strip().lower().rstrip(".") == "localhost":
        return True
    ip = _parse_ip(host.strip().strip("[]"))
    return ip is not None and ip.is_loopback


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (int(ip) >> 32 == 0 and int(ip) > 1):  # NAT64, IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (``"loopback"``, ``"private"``...), or None if it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = address_refusal(embedded)
            if reason is not None:
                return f"{reason} ({embedded} embedded in an IPv6 address)"
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "non-public"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    ip = _parse_ip(host)
    return ip.compressed if ip is not None else host


def _parse_entry(entry: str) -> tuple[str, int | None]:
    entry = entry.strip()
    if entry.startswith("["):  # [v6] or [v6]:port
        host, _, rest = entry[1:].partition("]")
        return _normalise_host(host), int(rest[1:]) if rest.startswith(":") else None
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return _normalise_host(host), int(port)
    return _normalise_host(entry), None  # a name, an IPv4 address, or a bare IPv6 address


def host_allowed(host: str, port: int, allowed_hosts: list[str]) -> str | None:
    """The ``allowed_hosts`` entry matching ``host`` and ``port``, or None."""
    wanted = _normalise_host(host)
    for entry in allowed_hosts:
        try:
            entry_host, entry_port = _parse_entry(entry)
        except ValueError:
            continue  # a malformed entry allows nothing
        if entry_host == wanted and entry_port in (None, port):
            return entry
    return None


async def _resolve(host: str, port: int) -> list[IPAddress]:
    import anyio

    literal = _parse_ip(host)
    if literal is not None:
        return [literal]
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ToolExecutionError(f"cannot resolve host {host!r}: {exc}") from exc
    found: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise ToolExecutionError(f"cannot resolve host {host!r}: no address")
    return found


async def check_url(url: str, allowed_hosts: list[str] | None = None) -> CheckedURL:
    """Check ``url`` for the HTTP tools: scheme, host, resolved addresses. Refusals raise EXEC_005.

    Raises :class:`~kaizen_core.errors.PermissionDeniedError` for a refused URL and
    :class:`~kaizen_core.errors.ToolExecutionError` when the host cannot be resolved.
    Nothing is sent to the host.
    """
    shown = redact(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise PermissionDeniedError(
            f"URL {shown!r} refused: only absolute http:// and https:// URLs are allowed "
            f"(scheme {parts.scheme or '(none)'!r})"
        )
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise PermissionDeniedError(f"URL {shown!r} refused: invalid port") from exc
    if not parts.hostname:
        raise PermissionDeniedError(f"URL {shown!r} refused: no host")
    host = _normalise_host(parts.hostname)
    allowed_by = host_allowed(host, port, allowed_hosts or [])
    addresses = await _resolve(host, port)
    if allowed_by is None:
        for ip in addresses:
            reason = address_refusal(ip)
            if reason is not None:
                where = f"is a {reason} address" if str(ip) == host else f"resolves to {ip}, a {reason} address"
                raise PermissionDeniedError(f"URL {shown!r} refused: host {host!r} {where}", hint=_ALLOW_HINT)
    return CheckedURL(
        url=url, scheme=scheme, host=host, port=port, addresses=tuple(str(a) for a in addresses), allowed_by=allowed_by
    )
