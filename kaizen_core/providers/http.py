"""The one HTTP path every HTTP provider uses: :class:`HTTPProvider` and :class:`HTTPClient`.

:class:`HTTPProvider` is the base class of the HTTP providers (openai, azure, docker,
anthropic, google, ollama). It owns the constructor keywords they share (``api_key``,
``base_url``, ``timeout``, ``max_retries``, ``max_retry_after``, ``headers``,
``transport``, and ``embedding_model`` for providers with embeddings), resolves the key
and the URL from the environment, checks them, and wires one :class:`HTTPClient`. A
provider declares only what differs: its default URL, the environment variables, its
auth and fixed headers, and the request/response translation.

:class:`HTTPClient` wraps a lazily created ``httpx.AsyncClient`` (httpx is imported on
first use, never at module import) and adds what every provider needs:

* timeouts (per client, overridable per call);
* retries with exponential backoff and full jitter on 429, 5xx and connection
  errors, honouring ``Retry-After`` / ``retry-after-ms`` (or the delay a provider reads
  from the error body, e.g. Gemini's ``RetryInfo``, through ``retry_after``);
* error mapping to :class:`kaizen_core.errors.ProviderError` (``AGENT_004``) carrying
  the provider's own error message and never an API key; a request past its timeout is
  :class:`kaizen_core.errors.ExecutionTimeoutError` (``AGENT_003``, a ProviderError);
* streaming helpers: Server-Sent Events (:meth:`HTTPClient.stream_sse`) and
  newline-delimited JSON (:meth:`HTTPClient.stream_ndjson`).

The underlying ``httpx.AsyncClient`` is bound to the event loop that created it, so an
:class:`HTTPClient` keeps one per live loop (:class:`kaizen_core._sync.PerLoop`): the
sync API's two persistent loops (the main thread's and the background one, see
:mod:`kaizen_core._sync`) and an application's own each reuse their connection pool
instead of rebuilding it whenever calls alternate between them. ``aclose()`` closes them.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from kaizen_core._sync import PerLoop, close_per_loop
from kaizen_core.errors import ConfigError, ExecutionTimeoutError, ProviderError, redact
from kaizen_core.providers.base import BaseProvider
from kaizen_core.providers.types import SAMPLING_PARAMS
from kaizen_core.tracecontext import with_trace_headers

if TYPE_CHECKING:  # pragma: no cover - typing only
    import httpx

__all__ = [
    "RETRYABLE_STATUS",
    "HTTPClient",
    "HTTPProvider",
    "SSEEvent",
    "error_message_from_body",
    "iter_ndjson",
    "iter_sse",
    "parse_retry_after",
]

#: Statuses retried with backoff (besides connection errors).
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})

_MAX_BODY_IN_MESSAGE = 500


@dataclass(frozen=True)
class SSEEvent:
    """One Server-Sent Event: ``event`` name (``"message"`` by default) and its ``data``."""

    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        """The data parsed as JSON."""
        return json.loads(self.data)


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[SSEEvent]:
    """Parse Server-Sent Events from an async iterator of text lines (WHATWG rules).

    ``data:`` lines accumulate until a blank line dispatches the event; comments
    (``:``) are ignored; an event with no data is not dispatched.
    """
    event = ""
    data: list[str] = []
    last_id: str | None = None
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield SSEEvent(event or "message", "\n".join(data), last_id)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        field_name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field_name == "data":
            data.append(value)
        elif field_name == "event":
            event = value
        elif field_name == "id":
            last_id = value
    if data:
        yield SSEEvent(event or "message", "\n".join(data), last_id)


async def iter_ndjson(lines: AsyncIterator[str]) -> AsyncIterator[Any]:
    """Parse newline-delimited JSON (one JSON value per non-blank line)."""
    async for raw in lines:
        line = raw.strip()
        if line:
            yield json.loads(line)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``Retry-After`` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_message_from_body(text: str) -> str:
    """The provider's own error message from an error body (OpenAI, Anthropic, Gemini, Ollama shapes)."""
    try:
        body = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return text.strip()[:_MAX_BODY_IN_MESSAGE]
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]  # Gemini sometimes wraps the error in a list
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, str):
            return err[:_MAX_BODY_IN_MESSAGE]
        if isinstance(err, dict):
            message = err.get("message") or err.get("msg") or err.get("detail")
            if isinstance(message, str):
                kind = err.get("type") or err.get("status") or err.get("code")
                return f"{kind}: {message}"[:_MAX_BODY_IN_MESSAGE] if isinstance(kind, str) and kind else message
        detail = body.get("detail")
        if detail is not None:
            return (detail if isinstance(detail, str) else json.dumps(detail))[:_MAX_BODY_IN_MESSAGE]
    return text.strip()[:_MAX_BODY_IN_MESSAGE]


def _current_loop() -> object:
    """Identity of the running event loop (asyncio or trio), None outside one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    try:
        import trio

        return trio.lowlevel.current_trio_token()
    except (ImportError, RuntimeError):
        return None


async def _close_client(client: httpx.AsyncClient) -> None:
    if not client.is_closed:
        await client.aclose()


class HTTPClient:
    """Shared async HTTP client for providers: retries, timeouts, error mapping, streaming.

    ``provider`` names the backend in messages; ``secrets`` (API keys) are redacted
    from every message. ``sleep`` is injectable for tests. ``transport`` is passed to
    ``httpx.AsyncClient`` (e.g. a mock transport). ``should_retry`` may veto the retry
    of a retryable error; ``retry_after(headers, body)`` gives the delay the server asked
    for (default: :func:`parse_retry_after` of the headers). Either way a delay above
    ``max_retry_after`` is not waited for: the error is raised.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_retries: int = 2,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        max_retry_after: float = 60.0,
        secrets: tuple[str | None, ...] = (),
        transport: Any = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        should_retry: Callable[[ProviderError], bool] | None = None,
        retry_after: Callable[[Mapping[str, str], str], float | None] | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.params = dict(params or {})
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.secrets = tuple(s for s in secrets if s)
        self.transport = transport
        self.sleep: Callable[[float], Awaitable[Any]] | None = sleep
        self.should_retry = should_retry
        self.retry_after = retry_after
        self._clients: PerLoop[httpx.AsyncClient] = PerLoop()

    # -- client lifecycle ------------------------------------------------------------------
    def _get_client(self) -> httpx.AsyncClient:
        """The running loop's ``httpx.AsyncClient`` (made on its first request)."""
        loop = _current_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            import httpx

            client = httpx.AsyncClient(
                headers=self.headers,
                timeout=httpx.Timeout(self.timeout, connect=min(self.connect_timeout, self.timeout)),
                transport=self.transport,
                follow_redirects=True,
            )
            self._clients.set(loop, client)
        return client

    @property
    def clients(self) -> list[httpx.AsyncClient]:
        """The open connection pools, one per event loop that sent a request (until :meth:`aclose`)."""
        return [client for client in self._clients.values() if not client.is_closed]

    async def aclose(self) -> None:
        """Close the connection pools: the running loop's here, the sync API's background
        loop's on that loop (:func:`kaizen_core._sync.close_per_loop`). Safe to call twice."""
        await close_per_loop(self._clients, _close_client)

    def url(self, path: str) -> str:
        """Absolute URL for ``path`` (absolute URLs pass through)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    # -- errors ----------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def _status_error(self, status: int, body: str, url: str) -> ProviderError:
        detail = error_message_from_body(body) if body else ""
        msg = f"{self.provider} API error {status}"
        if detail:
            msg += f": {detail}"
        hint = {
            401: "check the API key",
            403: "check the API key's permissions",
            404: "check the model name and the base URL",
            429: "rate limited: slow down or raise the quota",
        }.get(status)
        return ProviderError(
            self._redact(msg),
            status=status,
            retryable=status in RETRYABLE_STATUS,
            hint=hint,
            details={"url": self._redact(url), "provider": self.provider},
        )

    def _transport_error(self, exc: Exception, url: str, timeout: float | None) -> ProviderError:
        import httpx

        safe_url = self._redact(url.split("?", 1)[0])
        if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
            return ProviderError(
                self._redact(f"{self.provider} endpoint unreachable: {safe_url} ({type(exc).__name__}: {exc})"),
                retryable=True,
                hint="check that the server is running and the base URL is right",
                details={"url": safe_url, "provider": self.provider},
            )
        if isinstance(exc, httpx.TimeoutException):
            return ExecutionTimeoutError(
                self._redact(f"{self.provider} request timed out after {timeout}s: {safe_url}"),
                retryable=True,
                hint="raise the timeout option or shorten the request",
                details={"url": safe_url, "provider": self.provider},
            )
        return ProviderError(
            self._redact(f"{self.provider} connection failed: {safe_url} ({type(exc).__name__}: {exc})"),
            retryable=True,
            details={"url": safe_url, "provider": self.provider},
        )

    async def _sleep(self, delay: float) -> None:
        if self.sleep is not None:
            await self.sleep(delay)
        else:
            import anyio

            await anyio.sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return random.uniform(0, min(self.backoff_max, self.backoff_base * (2**attempt)))

    # -- requests --------------------------------------------------------------------------
    async def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; returns a 2xx response (streamed responses still open)."""
        import httpx

        url = self.url(path)
        merged = {**self.params, **(params or {})} or None
        headers = with_trace_headers(headers)  # W3C traceparent of the current span, when a tracer is active
        effective_timeout = timeout if timeout is not None else self.timeout
        attempt = 0
        while True:
            client = self._get_client()
            request = client.build_request(
                method,
                url,
                json=json_body,
                params=merged,
                headers=headers,
                timeout=httpx.Timeout(effective_timeout, connect=min(self.connect_timeout, effective_timeout)),
            )
            retry_after: float | None = None
            try:
                response = await client.send(request, stream=stream)
            except httpx.TransportError as exc:
                error = self._transport_error(exc, url, effective_timeout)
                if attempt >= self.max_retries:
                    raise error from None
            else:
                if response.status_code < 400:
                    return response
                body = (await response.aread()).decode("utf-8", "replace")
                await response.aclose()
                error = self._status_error(response.status_code, body, url)
                if not error.retryable or attempt >= self.max_retries:
                    raise error
                if self.should_retry is not None and not self.should_retry(error):
                    raise error
                if self.retry_after is not None:
                    retry_after = self.retry_after(response.headers, body)
                else:
                    retry_after = parse_retry_after(response.headers)
                if retry_after is not None and retry_after > self.max_retry_after:
                    raise ProviderError(
                        f"{error.message} (server asked to retry after {retry_after:.0f}s, "
                        f"more than max_retry_after={self.max_retry_after:.0f}s)",
                        status=error.status,
                        retryable=True,
                        hint=error.hint,
                        details=error.details,
                    )
            await self._sleep(self._backoff(attempt, retry_after))
            attempt += 1

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send a request (with retries) and return the decoded JSON body."""
        response = await self._send(method, path, json_body=json_body, params=params, timeout=timeout, headers=headers)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError(
                self._redact(
                    f"{self.provider} returned a non-JSON body (status {response.status_code}): {response.text[:200]!r}"
                ),
                status=response.status_code,
            ) from exc

    async def post_json(self, path: str, body: Any, *, timeout: float | None = None, **kw: Any) -> Any:
        """``POST`` ``body`` as JSON and return the JSON reply."""
        return await self.request_json("POST", path, json_body=body, timeout=timeout, **kw)

    async def _lines(
        self, path: str, body: Any, *, timeout: float | None, params: Mapping[str, str] | None
    ) -> AsyncIterator[str]:
        import httpx

        response = await self._send("POST", path, json_body=body, params=params, timeout=timeout, stream=True)
        try:
            async for line in response.aiter_lines():
                yield line
        except httpx.TransportError as exc:
            raise self._transport_error(exc, self.url(path), timeout or self.timeout) from None
        finally:
            await response.aclose()

    async def stream_sse(
        self, path: str, body: Any, *, timeout: float | None = None, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[SSEEvent]:
        """``POST`` and yield Server-Sent Events. Retries apply until the stream has started."""
        async for event in iter_sse(self._lines(path, body, timeout=timeout, params=params)):
            yield event

    async def stream_ndjson(
        self, path: str, body: Any, *, timeout: float | None = None, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[Any]:
        """``POST`` and yield each JSON line of a newline-delimited JSON stream."""
        async for item in iter_ndjson(self._lines(path, body, timeout=timeout, params=params)):
            yield item


class HTTPProvider(BaseProvider):
    """Base of the providers that talk to an HTTP API.

    Keywords every HTTP provider accepts (``provider_config`` in agent config):

    * ``api_key``: else the first set variable of :attr:`api_key_env`;
    * ``base_url``: else the first set variable of :attr:`base_url_env`, else
      :attr:`default_base_url`;
    * ``timeout`` (seconds; default :attr:`default_timeout`), ``max_retries`` (2),
      ``max_retry_after`` (60 s): see :class:`HTTPClient`;
    * ``headers``: extra headers, sent after (and over) the provider's own;
    * ``transport``: an httpx transport (e.g. ``httpx.MockTransport`` in tests);
    * ``embedding_model``: only for providers with ``supports_embeddings``;
    * ``top_p``, ``top_k``, ``frequency_penalty``, ``presence_penalty``: request
      defaults (:meth:`BaseProvider.take_sampling_options`).

    Anything else is KAIZEN_002, unless the subclass takes it as its own keyword (and
    lists it in :attr:`extra_options` for the error's hint). Subclasses set the class
    attributes below and override the ``_``-hooks where the default does not fit;
    attributes a hook needs (Azure's endpoint) are set before calling ``super().__init__``.
    """

    #: URL used when neither ``base_url`` nor an environment variable gives one.
    default_base_url: ClassVar[str] = ""
    #: Environment variables for ``base_url``, first set wins.
    base_url_env: ClassVar[tuple[str, ...]] = ()
    #: Environment variables for ``api_key``, first set wins.
    api_key_env: ClassVar[tuple[str, ...]] = ()
    #: Whether construction fails without an API key (see :meth:`_check_api_key`).
    requires_api_key: ClassVar[bool] = True
    default_timeout: ClassVar[float] = 60.0
    default_embedding_model: ClassVar[str] = ""
    #: The subclass's own keywords, listed (after the shared ones) in the unknown-option hint.
    extra_options: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        model: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int = 2,
        max_retry_after: float = 60.0,
        headers: Mapping[str, str] | None = None,
        transport: Any = None,
        **options: Any,
    ) -> None:
        embedding_model = options.pop("embedding_model", None) if self.supports_embeddings else None
        self.reject_unknown_options(self.take_sampling_options(options), self.known_options())
        super().__init__(model)
        self.api_key: str | None = api_key if api_key is not None else _first_env(self.api_key_env)
        self.base_url: str = self._resolve_base_url(base_url).rstrip("/")
        self._check_api_key()
        # A key passed in code (not from a *_API_KEY variable) is known to redaction from now on:
        # it never reaches a model, a log, an error, a checkpoint or a journal.
        from kaizen_core.redaction import register_secret

        register_secret(self.api_key)
        if self.supports_embeddings:
            self.embedding_model: str = embedding_model or self.default_embedding_model
        self.http = HTTPClient(
            provider=self.name,
            base_url=self.base_url,
            headers={**self._auth_headers(), **self._default_headers(), **(headers or {})},
            params=self._query_params(),
            timeout=self.default_timeout if timeout is None else timeout,
            max_retries=max_retries,
            max_retry_after=max_retry_after,
            secrets=(self.api_key,),
            transport=transport,
            should_retry=self._should_retry,
            retry_after=self._retry_after,
        )

    @classmethod
    def known_options(cls) -> tuple[str, ...]:
        """Every keyword the constructor accepts besides ``model``, in hint order."""
        shared = ("api_key", "base_url", "timeout", "max_retries", "max_retry_after", "headers", "transport")
        embedding = ("embedding_model",) if cls.supports_embeddings else ()
        return (*shared, *SAMPLING_PARAMS, *embedding, *cls.extra_options)

    # -- hooks a provider overrides where it differs --------------------------------------
    def _resolve_base_url(self, base_url: str | None) -> str:
        return base_url or _first_env(self.base_url_env) or self.default_base_url

    def _check_api_key(self) -> None:
        """Refuse to build without a key when :attr:`requires_api_key` (naming the variable)."""
        if self.requires_api_key and not self.api_key:
            where = f"set {' or '.join(self.api_key_env)} or pass api_key" if self.api_key_env else "pass api_key"
            raise ConfigError(f"the {self.name} provider needs an API key", hint=where)

    def _auth_headers(self) -> dict[str, str]:
        """Headers carrying the key (``Authorization: Bearer`` by default, none without a key)."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _default_headers(self) -> dict[str, str]:
        """Fixed headers of the API (versions, betas)."""
        return {}

    def _query_params(self) -> dict[str, str]:
        """Query parameters sent with every request (Azure's ``api-version``)."""
        return {}

    def _should_retry(self, error: ProviderError) -> bool:
        """Veto a retry of a retryable error (e.g. a server rejecting a request format)."""
        return True

    def _retry_after(self, headers: Mapping[str, str], body: str) -> float | None:
        """Seconds the server asked to wait before a retry (``Retry-After`` headers by default)."""
        return parse_retry_after(headers)

    # -- lifecycle ----------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP connection pool. Safe to call twice."""
        await self.http.aclose()


def _first_env(names: tuple[str, ...]) -> str | None:
    """The value of the first variable in ``names`` that is set and not empty."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
