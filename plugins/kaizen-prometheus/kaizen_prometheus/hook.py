"""PrometheusHook: the lifecycle hook ``"prometheus"``, enabled by name from agent config."""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from kaizen_core.errors import ConfigError
from kaizen_core.hooks.base import BaseHook
from kaizen_core.hooks.context import HookContext
from kaizen_core.hooks.events import HookEvent, HookPriority
from kaizen_prometheus import DEFAULT_HOST, DEFAULT_PORT
from kaizen_prometheus.exporter import PrometheusExporter
from kaizen_prometheus.metrics import EVENTS

if TYPE_CHECKING:  # pragma: no cover
    from kaizen_core.hooks.manager import HookManager

__all__ = ["PrometheusHook"]


def _kaizen_version() -> str:
    try:
        return version("kaizen-core")
    except PackageNotFoundError:  # pragma: no cover - a source checkout without metadata
        return "unknown"


class PrometheusHook(BaseHook):
    """Records runs, provider and tool calls, tokens, cost, permission decisions, hook and
    checkpoint latency into Prometheus metrics, served on ``http://host:port/metrics``.

    Enable by name: ``BaseAgentConfig(hooks=[{"name": "prometheus", "port": 9464}])`` or
    ``hooks = ["prometheus"]`` in TOML. Options:

    * ``port`` (9464): the ``/metrics`` port; ``0`` picks a free one (:attr:`port`); None
      serves nothing (mount :attr:`registry` in your own app instead).
    * ``host`` ("127.0.0.1"): a loopback address unless ``allow_remote=True``.
    * ``api_key`` / ``api_key_env``: the key (or the environment variable holding it) a
      scraper must send, as ``Authorization: Bearer <key>`` or as the Basic-auth password.
      The key is registered with :mod:`kaizen_core.redaction`, so it never reaches a log.
    * ``service_name`` ("kaizen"): reported in ``kaizen_service_info``.
    * ``max_label_values`` (100): distinct values kept per label; more become ``"other"``.
    * ``registry``: None (a dedicated registry), ``"default"`` (prometheus-client's global
      one) or a ``CollectorRegistry``.

    Every hook asking for the same host and port shares one exporter: one registry and one
    server per process, however many agents enable it.
    """

    events: list[HookEvent] = EVENTS
    priority = HookPriority.LOWEST  # observe what the other hooks decided
    name = "prometheus"

    def __init__(
        self,
        port: int | None = DEFAULT_PORT,
        host: str = DEFAULT_HOST,
        api_key: str | None = None,
        *,
        api_key_env: str | None = None,
        service_name: str = "kaizen",
        allow_remote: bool = False,
        max_label_values: int = 100,
        registry: CollectorRegistry | str | None = None,
    ) -> None:
        if api_key_env is not None:
            if api_key is not None:
                raise ConfigError("prometheus got both api_key and api_key_env", hint="pass one of them")
            api_key = os.environ.get(api_key_env)
            if not api_key:
                raise ConfigError(
                    f"prometheus api_key_env names {api_key_env!r}, which is not set",
                    hint=f"export {api_key_env}=<key>, or leave api_key_env out to serve without a key",
                )
        self.service_name = service_name
        self.exporter = PrometheusExporter.shared(
            port=port,
            host=host,
            api_key=api_key,
            allow_remote=allow_remote,
            registry=registry,
            max_label_values=max_label_values,
        )
        self.exporter.metrics.add_service(service_name, _kaizen_version())
        self._record = self.exporter.metrics.record

    @property
    def port(self) -> int | None:
        """The port ``/metrics`` is served on (None: not served)."""
        return self.exporter.port

    @property
    def url(self) -> str | None:
        """``http://host:port/metrics`` (None: not served)."""
        return self.exporter.url

    @property
    def registry(self) -> CollectorRegistry:
        """The registry holding the metrics (shared by every hook on this exporter)."""
        return self.exporter.registry

    def attached(self, manager: HookManager) -> None:
        """Time every handler of ``manager`` (``kaizen_hook_duration_seconds``)."""
        self.exporter.observe_manager(manager)

    async def handle(self, context: HookContext) -> None:
        self._record(context)

    def __repr__(self) -> str:  # the api key is never part of it
        return f"PrometheusHook(url={self.url!r}, service_name={self.service_name!r})"
