"""The boto3 side: URL parsing, one thread-safe client per store, calls in worker threads.

``boto3`` is imported here, i.e. only when a store or tier is created. Every blocking
call runs through :func:`anyio.to_thread.run_sync` (bounded by a per-store limiter), so
the event loop never blocks. Credentials come from the usual AWS chain (environment,
config files, instance roles) unless given as options; they never appear in messages.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import anyio
import anyio.to_thread
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from kaizen_core.errors import ConfigError, KaizenError, redact
from kaizen_core.urls import parse_url as parse_store_url

T = TypeVar("T")
log = logging.getLogger("kaizen.s3")

_QUERY_OPTIONS = {"endpoint_url", "region", "region_name", "profile", "profile_name"}
_MISSING = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or "a/b" (no leading/trailing slash)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)


def parse_url(url: str) -> tuple[S3Location, dict[str, str]]:
    """``s3://bucket/prefix?endpoint_url=...&region=...`` -> location and query options."""
    parts = parse_store_url(url)
    if parts.scheme != "s3" or not parts.host:
        raise ConfigError(f"not an S3 URL: {parts.display}", hint="use s3://bucket/optional/prefix")
    if parts.username or parts.password is not None:
        raise ConfigError(
            "do not put credentials in the s3:// URL",
            hint="use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, an AWS profile or an instance role",
        )
    query = dict(parts.query)
    unknown = set(query) - _QUERY_OPTIONS
    if unknown:
        raise ConfigError(f"unknown s3 URL option(s): {', '.join(sorted(unknown))}", hint=f"known: {sorted(_QUERY_OPTIONS)}")
    return S3Location(parts.host, parts.path.strip("/")), query


def enc(text: str) -> str:
    """Percent-encode one key segment (no '/' left, prefix-preserving, sortable)."""
    return quote(text, safe="")


def dec(text: str) -> str:
    return unquote(text)


def pack(data: bytes) -> tuple[bytes, str]:
    """gzip ``data``; returns the object body and the sha256 of ``data`` (stored as metadata)."""
    return gzip.compress(data, compresslevel=6, mtime=0), hashlib.sha256(data).hexdigest()


def unpack(body: bytes, digest: str | None) -> bytes:
    """Inverse of :func:`pack`; ValueError when the body is damaged or the hash differs."""
    try:
        data = gzip.decompress(body)
    except (OSError, EOFError) as exc:
        raise ValueError(f"not a gzip object: {exc}") from exc
    if digest is None or hashlib.sha256(data).hexdigest() != digest:
        raise ValueError("content hash mismatch")
    return data


class _RedactSecrets(logging.Filter):
    """Removes known credentials from botocore's DEBUG records (it logs signed headers,
    including the session token). Attached to the botocore loggers that do so."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            clean = message
            for secret in self.secrets:
                clean = clean.replace(secret, "***")
            if clean != message:
                record.msg, record.args = clean, ()
        return True


_FILTER = _RedactSecrets()
_NOISY_LOGGERS = ("botocore.auth", "botocore.endpoint", "botocore.hooks", "botocore.credentials", "botocore.parsers")


def protect_secrets(secrets: list[str | None]) -> None:
    """Make sure ``secrets`` never reach a log handler through botocore's loggers."""
    _FILTER.secrets.update(s for s in secrets if s and len(s) >= 4)
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def is_missing(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and str(exc.response.get("Error", {}).get("Code")) in _MISSING


def unless_missing(method: Callable[..., T], **kwargs: Any) -> T | None:
    """``method(**kwargs)`` (a boto3 call), or None when S3 answers that the object is missing."""
    try:
        return method(**kwargs)
    except Exception as exc:
        if is_missing(exc):
            return None
        raise


class S3Client:
    """A boto3 S3 client created on first use (in a worker thread) and shared by threads."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        profile_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        retries: int = 3,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_concurrency: int = 16,
    ) -> None:
        self.location, query = parse_url(url)
        self.url = self.location.url
        self.endpoint_url = endpoint_url or query.get("endpoint_url") or None
        self.region_name = region_name or query.get("region_name") or query.get("region") or None
        self.profile_name = profile_name or query.get("profile_name") or query.get("profile") or None
        self._credentials = {
            "aws_access_key_id": aws_access_key_id,
            "aws_secret_access_key": aws_secret_access_key,
            "aws_session_token": aws_session_token,
        }
        self._config = Config(
            retries={"max_attempts": max(1, retries), "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max(10, max_concurrency * 2),
        )
        self._client: Any = None
        self._lock = threading.Lock()
        self._limiter = anyio.CapacityLimiter(max_concurrency)

    def describe(self) -> str:
        where = f" (endpoint {redact(self.endpoint_url)})" if self.endpoint_url else ""
        return f"{self.url}{where}"

    def _secrets(self) -> list[str | None]:
        return [
            self._credentials["aws_secret_access_key"],
            self._credentials["aws_session_token"],
            os.environ.get("AWS_SECRET_ACCESS_KEY"),
            os.environ.get("AWS_SESSION_TOKEN"),
        ]

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                session = boto3.session.Session(profile_name=self.profile_name)
                creds = {k: v for k, v in self._credentials.items() if v}
                resolved = session.get_credentials()
                protect_secrets(
                    [*self._secrets(), getattr(resolved, "secret_key", None), getattr(resolved, "token", None)]
                )
                self._client = session.client(
                    "s3", endpoint_url=self.endpoint_url, region_name=self.region_name, config=self._config, **creds
                )
            return self._client

    async def call(self, what: str, fn: Callable[[Any], T], error: type[KaizenError]) -> T:
        """Run ``fn(client)`` in a worker thread; boto3 failures become ``error``."""

        def run() -> T:
            return fn(self.client())

        try:
            return await anyio.to_thread.run_sync(run, limiter=self._limiter)
        except (BotoCoreError, ClientError) as exc:
            if is_missing(exc):
                raise
            detail = redact(f"{type(exc).__name__}: {exc}", self._secrets())
            log.warning("s3 %s failed at %s: %s", what, self.describe(), detail)
            raise error(
                f"s3 {what} failed at {self.describe()}: {detail}",
                hint="check the endpoint is reachable, the bucket exists and the credentials allow access",
                details={"url": self.url},
            ) from exc

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- helpers used by the store and the tier (run inside worker threads) --------------
    def list_keys(self, client: Any, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.location.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    def list_prefixes(self, client: Any, prefix: str) -> list[str]:
        found: list[str] = []
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.location.bucket, Prefix=prefix, Delimiter="/"):
            found.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
        return found

    def delete_keys(self, client: Any, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            client.delete_objects(Bucket=self.location.bucket, Delete={"Objects": batch, "Quiet": True})

    async def gather(self, what: str, fns: list[Callable[[Any], T]], error: type[KaizenError]) -> list[T | None]:
        """Run several calls concurrently (bounded); a missing object gives None."""
        results: list[T | None] = [None] * len(fns)
        errors: list[BaseException] = []

        async def one(i: int, fn: Callable[[Any], T]) -> None:
            try:
                results[i] = await self.call(what, fn, error)
            except ClientError as exc:
                if not is_missing(exc):
                    errors.append(exc)
            except Exception as exc:  # re-raised below as itself, not as an ExceptionGroup
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            for i, fn in enumerate(fns):
                tg.start_soon(one, i, fn)
        if errors:
            raise errors[0]
        return results
