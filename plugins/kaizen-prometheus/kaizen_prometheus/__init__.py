"""kaizen-prometheus: Kaizen's lifecycle events as Prometheus metrics, served on ``/metrics``.

Enable it on an agent with ``hooks=[{"name": "prometheus", "port": 9464}]`` (or
``hooks = ["prometheus"]`` in TOML). The names below load lazily: importing the package
does not import prometheus-client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "METRICS", "PrometheusExporter", "PrometheusHook"]

DEFAULT_PORT = 9464
DEFAULT_HOST = "127.0.0.1"

_LAZY = {
    "METRICS": "kaizen_prometheus.metrics",
    "PrometheusExporter": "kaizen_prometheus.exporter",
    "PrometheusHook": "kaizen_prometheus.hook",
}

if TYPE_CHECKING:  # pragma: no cover
    from kaizen_prometheus.exporter import PrometheusExporter
    from kaizen_prometheus.hook import PrometheusHook
    from kaizen_prometheus.metrics import METRICS


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kaizen_prometheus' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
