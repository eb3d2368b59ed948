"""API keys: ``Authorization: Bearer <key>``; keys are kept only as SHA-256 hashes.

A key file (``--api-key-file keys.toml``) lists the keys a server accepts::

    [[keys]]
    name = "ci"                         # shown in run records and logs, never the key
    sha256 = "9f86d08..."               # hash_key(key); the key itself is not in the file
    agents = ["quickstart-qa"]          # agents this key may run; ["*"]: all (the default)

``kaizen serve --add-key ci --api-key-file keys.toml`` makes a random key, appends
its hash to the file and prints the key once. Keys are random 256-bit tokens, so one
SHA-256 is enough (no slow hash needed for a high-entropy secret); comparison is
constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import tomllib
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from kaizen_core.errors import ConfigError
from kaizen_core.redaction import register_secret

__all__ = ["APIKey", "KeyRing", "append_key", "hash_key", "new_key"]

KEY_PREFIX = "ksk_"


def new_key() -> str:
    """A fresh random API key (registered as a secret: redaction hides it everywhere)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    register_secret(key)
    return key


def hash_key(key: str) -> str:
    """The hex SHA-256 of ``key``: what a key file stores."""
    return hashlib.sha256(key.encode()).hexdigest()


class APIKey(BaseModel):
    """One accepted key, by hash."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    agents: list[str] = Field(default_factory=lambda: ["*"])

    def allows(self, agent: str) -> bool:
        return "*" in self.agents or agent in self.agents


class KeyRing:
    """The keys a server accepts; ``insecure`` (``--insecure-no-auth``) accepts every request."""

    def __init__(self, keys: Iterable[APIKey] = (), *, insecure: bool = False) -> None:
        self.keys = list(keys)
        self.insecure = insecure

    @classmethod
    def from_file(cls, path: str | Path) -> KeyRing:
        """The keys of a TOML key file (see the module docstring)."""
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
            return cls(APIKey.model_validate(k) for k in data.get("keys", []))
        except FileNotFoundError as exc:
            raise ConfigError(
                f"API key file {str(file)!r} does not exist", hint="create one with --add-key NAME"
            ) from exc
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise ConfigError(f"API key file {str(file)!r} is invalid: {type(exc).__name__}") from exc

    @classmethod
    def from_keys(cls, keys: dict[str, str] | Iterable[str]) -> KeyRing:
        """Keys given in the clear (embedding, tests): ``{"name": key}`` or a list of keys."""
        items = keys.items() if isinstance(keys, dict) else ((f"key{i}", k) for i, k in enumerate(keys, 1))
        ring = []
        for name, key in items:
            register_secret(key)
            ring.append(APIKey(name=name, sha256=hash_key(key)))
        return cls(ring)

    def authenticate(self, authorization: str | None) -> APIKey | None:
        """The key named by an ``Authorization`` header value, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = hash_key(token.strip())
        found = None
        for key in self.keys:  # no early exit: the time does not tell which key matched
            if hmac.compare_digest(key.sha256, digest):
                found = key
        return found


def append_key(path: str | Path, name: str, agents: list[str] | None = None) -> str:
    """Make a key, append its hash to the key file ``path`` (created if missing); returns the key."""
    file = Path(path)
    key = new_key()
    existing = KeyRing.from_file(file).keys if file.exists() else []
    if any(k.name == name for k in existing):
        raise ConfigError(f"API key file {str(file)!r} already has a key named {name!r}")
    try:
        APIKey(name=name, sha256=hash_key(key), agents=agents or ["*"])
    except ValidationError as exc:
        raise ConfigError(f"invalid key name {name!r}", hint="letters, digits and _ . @ - only") from exc
    entry = (
        f"\n[[keys]]\nname = {json.dumps(name)}\nsha256 = {json.dumps(hash_key(key))}\n"
        f"agents = {json.dumps(agents or ['*'])}\n"
    )
    with file.open("a", encoding="utf-8") as out:
        out.write(entry)
    file.chmod(0o600)
    return key
