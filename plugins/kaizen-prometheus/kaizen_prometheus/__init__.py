"""kaizen-prometheus: Kaizen's lifecycle events as Prometheus metrics, served on ``/metrics``.

Enable it on an agent with ``hooks=[{"name": "prometheus", "port": 9464}]`` (or
``hooks = ["prometheus"]`` in TOML). The names below load lazily: importing the package
does not import prometheus-client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaizen_core.lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
