"""kaizen-otel: OpenTelemetry spans and metrics for Kaizen runs (GenAI semantic conventions).

Enable it by name (``hooks = ["otel"]``, ``enable_tracing=True``,
``agent.enable_observability(service_name=...)``) or register :class:`OTelHook` yourself.
For logs: :func:`current_ids` and :class:`TraceContextFilter` (trace/span ids on records).

Importing this package imports no OpenTelemetry module: the names below load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaizen_core.lazy import lazy_exports

__all__ = ["OTelHook", "TraceContextFilter", "current_ids"]

_LAZY = {
    "OTelHook": "kaizen_otel.hook",
    "TraceContextFilter": "kaizen_otel.logs",
    "current_ids": "kaizen_otel.logs",
}

if TYPE_CHECKING:  # pragma: no cover
    from kaizen_otel.hook import OTelHook
    from kaizen_otel.logs import TraceContextFilter, current_ids

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
