"""The one URL grammar of every checkpoint store and memory tier.

Checkpoint stores (:func:`kaizen_core.state.open_store`), memory tiers
(:func:`kaizen_core.memory.open_tier`) and the storage plugins parse their URLs here, so
one URL names one place whichever component opens it.

``sqlite://`` follows SQLAlchemy: the database path is what follows the third slash.

* ``sqlite:///rel/x.db`` is ``./rel/x.db`` (relative to the working directory);
* ``sqlite:////abs/x.db`` is ``/abs/x.db`` (four slashes: absolute);
* ``sqlite:///~/x.db`` is ``$HOME/x.db``;
* ``sqlite://``, ``sqlite:///:memory:`` (and ``sqlite://:memory:``) are an in-memory database;
* a host (``sqlite://name/x.db``) is an error: SQLite has none.

``file://`` follows RFC 8089, plus the two relative forms Kaizen has always accepted:

* ``file:///abs/dir`` and ``file://localhost/abs/dir`` are ``/abs/dir``;
* ``file://./rel/dir`` and ``file://../rel`` are relative to the working directory;
* ``file://~/dir`` is ``$HOME/dir``;
* any other host (``file://server/share``) is an error: remote files are not supported.

Paths are percent-decoded (``%20`` is a space). Query parameters (``?compress=true``) are
returned as a dict for the store to interpret.

Network URLs (``redis://``, ``postgresql://``, ``s3://`` ...) are parsed by
:func:`parse_url` with the rules of :func:`urllib.parse.urlsplit` (which is what redis-py
and asyncpg use, so Kaizen shows the host the driver connects to). A password may
contain ``@`` and ``:``; ``/``, ``?`` and ``#`` in a password must be percent-encoded.
:attr:`StoreURL.display` is the URL with the password (and key-like query values)
replaced by ``***``: use it, or :func:`safe_url`, in every message and log line.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr

from kaizen_core.errors import ConfigError, redact

__all__ = [
    "MEMORY_DATABASE",
    "StoreURL",
    "file_url",
    "parse_file_url",
    "parse_sqlite_url",
    "parse_url",
    "safe_url",
    "split_url",
    "sqlite_url",
    "url_scheme",
]

logger = logging.getLogger("kaizen.urls")

#: The path :func:`parse_sqlite_url` returns for an in-memory database.
MEMORY_DATABASE = ":memory:"

#: Query parameters whose values are secrets (shown as ``***``).
_SECRET_QUERY_KEYS = frozenset(
    {"password", "passwd", "pass", "secret", "token", "api_key", "apikey", "access_key", "secret_key", "sslpassword"}
)


class StoreURL(BaseModel):
    """A parsed network store URL. ``password`` is a SecretStr: it never shows in a repr or dump."""

    model_config = ConfigDict(frozen=True)

    scheme: str
    username: str | None = None
    password: SecretStr | None = None
    host: str | None = None
    port: int | None = None
    #: percent-decoded path after the authority, with its leading slash ("/0", "/kaizen", "")
    path: str = ""
    query: dict[str, str] = {}

    @property
    def password_value(self) -> str | None:
        """The password in clear (to hand to a driver or to a redaction list), or None."""
        return self.password.get_secret_value() if self.password is not None else None

    @property
    def display(self) -> str:
        """The URL without its password or secret query values, for messages and logs."""
        auth = ""
        if self.username or self.password is not None:
            auth = quote(self.username or "", safe="")
            if self.password is not None:
                auth += ":***"
            auth += "@"
        host = self.host or ""
        if ":" in host:
            host = f"[{host}]"  # IPv6 literal
        port = f":{self.port}" if self.port is not None else ""
        query = "&".join(
            f"{key}={'***' if key.lower() in _SECRET_QUERY_KEYS else value}" for key, value in self.query.items()
        )
        return f"{self.scheme}://{auth}{host}{port}{quote(self.path, safe='/')}" + (f"?{query}" if query else "")

    def __str__(self) -> str:
        return self.display


def url_scheme(url: str) -> str:
    """The lower-cased scheme of ``url``; KAIZEN_002 when ``url`` is not ``scheme://...``."""
    if not isinstance(url, str):
        raise ConfigError(f"a store URL must be a string, not {type(url).__name__}")
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme or not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        raise ConfigError(
            f"{redact(url)!r} is not a store URL",
            hint="e.g. file://./checkpoints, sqlite:///kaizen.db, memory://, redis://localhost:6379/0",
        )
    return scheme.lower()


def parse_url(url: str) -> StoreURL:
    """Parse a network store URL (``redis://user:pw@host:6379/0?x=y``); KAIZEN_002 when malformed."""
    scheme = url_scheme(url)
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"invalid port in {safe_url(url)!r}: {exc}") from None
    return StoreURL(
        scheme=scheme,
        username=unquote(parts.username) if parts.username else None,
        password=SecretStr(unquote(parts.password)) if parts.password is not None else None,
        host=parts.hostname,
        port=port,
        path=unquote(parts.path),
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
    )


def safe_url(url: str) -> str:
    """``url`` without its password (and without key-like query values), for messages and logs."""
    try:
        return parse_url(url).display
    except (ConfigError, ValueError):
        return redact(url)


def split_url(url: str, scheme: str) -> tuple[str, dict[str, str]]:
    """What follows ``scheme://`` (before ``?``) and the query; KAIZEN_002 for another scheme."""
    prefix = f"{scheme}://"
    if url[: len(prefix)].lower() != prefix:
        raise ConfigError(f"not a {scheme}:// URL: {safe_url(url)!r}")
    rest, _, query = url[len(prefix) :].partition("?")
    return rest, dict(parse_qsl(query, keep_blank_values=True))


def _warn_if_meant_absolute(url: str, path: str) -> None:
    """Migration aid: ``sqlite:///data/x.db`` used to mean /data/x.db for memory tiers."""
    if not os.path.isabs(path) and not os.path.exists(path) and os.path.exists(os.sep + path):
        logger.warning(
            "%s names ./%s (three slashes: relative), which does not exist, while /%s does; "
            "write sqlite:////%s for the absolute path",
            safe_url(url),
            path,
            path,
            path,
        )


def parse_sqlite_url(url: str) -> tuple[str, dict[str, str]]:
    """``sqlite:///rel.db`` -> ``("rel.db", query)``; ``sqlite:////abs.db`` -> ``("/abs.db", query)``.

    ``sqlite://`` and ``sqlite:///:memory:`` give :data:`MEMORY_DATABASE`. A host is an error.
    """
    rest, query = split_url(url, "sqlite")
    if rest in ("", MEMORY_DATABASE, "/" + MEMORY_DATABASE):
        return MEMORY_DATABASE, query
    if not rest.startswith("/"):
        raise ConfigError(
            f"sqlite URL {safe_url(url)!r} names a host ({rest.split('/', 1)[0]!r}); SQLite has none",
            hint=f"use sqlite:///{rest} for ./{rest}, or sqlite:////{rest} for /{rest}",
        )
    path = unquote(rest[1:])
    if not path or path.endswith("/"):
        raise ConfigError(f"sqlite URL {safe_url(url)!r} names no database file", hint="e.g. sqlite:///kaizen.db")
    path = os.path.expanduser(path)
    _warn_if_meant_absolute(url, path)
    return path, query


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The ``sqlite://`` URL of ``path`` (inverse of :func:`parse_sqlite_url`)."""
    text = os.fspath(path)
    if text == MEMORY_DATABASE:
        return "sqlite://"
    return "sqlite:///" + quote(text, safe="/~")


def parse_file_url(url: str) -> tuple[Path, dict[str, str]]:
    """``file:///abs``, ``file://localhost/abs``, ``file://./rel``, ``file://~/dir`` -> (path, query)."""
    rest, query = split_url(url, "file")
    host, slash, tail = rest.partition("/")
    if host in ("", "localhost"):
        if not tail:
            raise ConfigError(f"file URL {safe_url(url)!r} has no path", hint="e.g. file://./checkpoints or file:///var/kaizen")
        return Path("/" + unquote(tail)), query
    if host in (".", "..") or host.startswith("~"):
        return Path(os.path.expanduser(unquote(host + slash + tail))), query
    raise ConfigError(
        f"file URL {safe_url(url)!r} names a host ({host!r}); only local paths are supported",
        hint=f"use file://./{rest} for ./{rest}, or file:///{rest} for /{rest}",
    )


def file_url(path: str | os.PathLike[str]) -> str:
    """The ``file://`` URL of ``path`` (inverse of :func:`parse_file_url`)."""
    text = os.fspath(path)
    if os.path.isabs(text):
        return "file://" + quote(text, safe="/")
    if text.startswith(("./", "../", "~")) or text in (".", ".."):
        return "file://" + quote(text, safe="/~")
    return "file://./" + quote(text, safe="/~")
