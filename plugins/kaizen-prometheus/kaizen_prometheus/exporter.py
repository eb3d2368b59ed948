"""One exporter per process and port: a registry with the Kaizen metrics, served on ``/metrics``.

Every :class:`~kaizen_prometheus.hook.PrometheusHook` asking for the same host and port
shares one :class:`PrometheusExporter` (one registry, one HTTP server thread), however many
agents enable the hook. The server is prometheus-client's WSGI app behind a small WSGI
wrapper that serves only ``/metrics`` and, with an API key, checks the ``Authorization``
header (``Bearer <key>``, or Basic auth with the key as password).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import socket
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    make_wsgi_app,
)
from prometheus_client.exposition import ThreadingWSGIServer

from kaizen_core.errors import ConfigError
from kaizen_core.redaction import register_secret
from kaizen_core.tools.netpolicy import is_loopback_host
from kaizen_prometheus import DEFAULT_HOST, DEFAULT_PORT
from kaizen_prometheus.metrics import KaizenMetrics

__all__ = ["PrometheusExporter", "authorized", "metrics_app"]

logger = logging.getLogger("kaizen.prometheus")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_lock = threading.RLock()  # shared() holds it while the constructor takes it again
_exporters: dict[tuple[str, int | None], PrometheusExporter] = {}
_metrics_by_registry: dict[int, KaizenMetrics] = {}  # a registry holds each family once


def authorized(header: str | None, api_key: str) -> bool:
    """Whether an ``Authorization`` header carries ``api_key``: ``Bearer <key>`` or Basic auth
    whose password is the key (any user name). Compared in constant time."""
    if not header:
        return False
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    expected = api_key.encode()
    if scheme.lower() == "bearer":
        return hmac.compare_digest(credentials.encode(), expected)
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):
            return False
        _, sep, password = decoded.partition(b":")
        return bool(sep) and hmac.compare_digest(password, expected)
    return False


def metrics_app(registry: CollectorRegistry, api_key: str | None = None) -> WSGIApp:
    """A WSGI app serving ``registry`` on ``/metrics`` (404 elsewhere), behind ``api_key`` if set."""
    inner = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") not in ("/metrics", "/metrics/"):
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found: metrics are on /metrics\n"]
        if api_key is not None and not authorized(environ.get("HTTP_AUTHORIZATION"), api_key):
            start_response(
                "401 Unauthorized",
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("WWW-Authenticate", 'Bearer realm="kaizen-metrics"'),
                    ("WWW-Authenticate", 'Basic realm="kaizen-metrics"'),
                ],
            )
            return [b"unauthorized: send the metrics API key (Authorization: Bearer <key>)\n"]
        result: Iterable[bytes] = inner(environ, start_response)
        return result

    return app


class _QuietHandler(WSGIRequestHandler):
    """No request log lines: a scrape every few seconds is noise."""

    def log_message(self, format: str, *args: Any) -> None:
        return None


def _server_class(host: str) -> type[WSGIServer]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Server(ThreadingWSGIServer):
        address_family = family
        daemon_threads = True

    return Server


def _key_digest(api_key: str | None) -> str | None:
    return None if api_key is None else hashlib.sha256(api_key.encode()).hexdigest()


class PrometheusExporter:
    """A registry with the Kaizen metrics and, unless ``port`` is None, its ``/metrics`` server.

    Get one with :meth:`shared`; construct directly only for a private, unshared exporter.
    ``port=0`` binds a free port (see :attr:`port`). :meth:`close` stops the server.
    """

    def __init__(
        self,
        *,
        port: int | None = DEFAULT_PORT,
        host: str = DEFAULT_HOST,
        api_key: str | None = None,
        allow_remote: bool = False,
        registry: CollectorRegistry | None = None,
        max_label_values: int = 100,
    ) -> None:
        if port is not None and not (isinstance(port, int) and 0 <= port <= 65535):
            raise ConfigError(f"prometheus port must be an integer from 0 to 65535, got {port!r}")
        if port is not None and not is_loopback_host(host) and not allow_remote:
            raise ConfigError(
                f"refusing to serve /metrics on {host!r}, which is not a loopback address",
                hint="keep host='127.0.0.1', or pass allow_remote=True (with an api_key) to expose it",
            )
        if api_key is not None:
            if not isinstance(api_key, str) or not api_key:
                raise ConfigError("prometheus api_key must be a non-empty string")
            register_secret(api_key)
        self.host = host
        self.api_key_digest = _key_digest(api_key)
        self._owns_registry = registry is None
        self.registry = registry if registry is not None else _dedicated_registry()
        self.metrics = _metrics_for(self.registry, max_label_values)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._observed: weakref.WeakSet[Any] = weakref.WeakSet()  # hook managers whose calls are timed
        self.port: int | None = port
        if port is not None:
            if not is_loopback_host(host) and api_key is None:
                logger.warning(
                    "/metrics is served on %s:%s without an api_key: anyone who can reach it may scrape", host, port
                )
            self._serve(port, api_key)

    def _serve(self, port: int, api_key: str | None) -> None:
        try:
            server = make_server(
                self.host,
                port,
                metrics_app(self.registry, api_key),
                server_class=_server_class(self.host),
                handler_class=_QuietHandler,
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot serve /metrics on {self.host}:{port}: {exc.strerror or exc}",
                hint="choose another port (hooks=[{'name': 'prometheus', 'port': ...}]) or stop what uses it",
            ) from exc
        self._server = server
        self.port = int(server.server_address[1])
        # poll_interval bounds how long close() waits for the serving thread (idle cost: 10 wakeups/s).
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"kaizen-prometheus-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("serving Prometheus metrics on http://%s:%d/metrics", self.host, self.port)

    @property
    def url(self) -> str | None:
        """``http://host:port/metrics``, or None when nothing is served."""
        if self._server is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    @property
    def serving(self) -> bool:
        """True while the HTTP server runs."""
        return self._server is not None

    def observe_manager(self, manager: Any) -> None:
        """Time every handler call of ``manager`` (a HookManager) into ``kaizen_hook_duration_seconds``, once."""
        with _lock:
            if manager in self._observed:
                return
            self._observed.add(manager)
        manager.observe_calls(self.metrics.hook_call)

    def close(self) -> None:
        """Stop the server (if any) and forget this exporter, so the port can be reused."""
        with _lock:
            for key, exporter in list(_exporters.items()):
                if exporter is self:
                    del _exporters[key]
            if self._owns_registry:
                _metrics_by_registry.pop(id(self.registry), None)
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    @classmethod
    def close_all(cls) -> None:
        """Stop every shared exporter of the process (tests; an orderly shutdown)."""
        with _lock:
            exporters = list({id(e): e for e in _exporters.values()}.values())
        for exporter in exporters:
            exporter.close()

    @classmethod
    def shared(
        cls,
        *,
        port: int | None = DEFAULT_PORT,
        host: str = DEFAULT_HOST,
        api_key: str | None = None,
        allow_remote: bool = False,
        registry: CollectorRegistry | str | None = None,
        max_label_values: int = 100,
    ) -> PrometheusExporter:
        """The process's exporter for ``host:port``, started on first use.

        ``registry``: None (a dedicated registry), ``"default"`` (prometheus-client's global
        ``REGISTRY``, next to whatever else the process exports) or a ``CollectorRegistry``.
        A second request for the same host and port must agree on ``api_key`` and
        ``registry`` (KAIZEN_002 otherwise); ``max_label_values`` is the first one's.
        """
        if registry == "default":
            registry = REGISTRY
        elif registry is not None and not isinstance(registry, CollectorRegistry):
            raise ConfigError(f"prometheus registry must be 'default' or a CollectorRegistry, got {registry!r}")
        key = ("" if port is None else host, port)
        with _lock:  # held while binding, so two threads asking for one port start one server
            existing = _exporters.get(key) if port != 0 else None
            if existing is not None:
                if existing.api_key_digest != _key_digest(api_key):
                    raise ConfigError(
                        f"/metrics on {host}:{port} is already served with a different api_key",
                        hint="every agent sharing a metrics port must use the same api_key",
                    )
                if registry is not None and registry is not existing.registry:
                    raise ConfigError(f"the exporter for {host}:{port} already uses another registry")
                return existing
            exporter = cls(
                port=port,
                host=host,
                api_key=api_key,
                allow_remote=allow_remote,
                registry=registry,
                max_label_values=max_label_values,
            )
            # port=0 bound a free port: later requests for that port share this exporter.
            _exporters[(host, exporter.port) if port == 0 else key] = exporter
            return exporter


def _dedicated_registry() -> CollectorRegistry:
    """A fresh registry with the process, platform and GC collectors the global one has."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def _metrics_for(registry: CollectorRegistry, max_label_values: int) -> KaizenMetrics:
    with _lock:
        metrics = _metrics_by_registry.get(id(registry))
        if metrics is None or metrics.registry is not registry:
            metrics = KaizenMetrics(registry, max_label_values=max_label_values)
            _metrics_by_registry[id(registry)] = metrics
        return metrics
