"""Where the otel hook's spans and metrics go: given providers, the application's, or OTLP over HTTP.

Resolution, in order:

1. ``tracer_provider=`` / ``meter_provider=`` given to the hook: used as they are (tests pass
   SDK providers with in-memory exporters).
2. ``OTEL_SDK_DISABLED=true``: no-op providers (nothing is recorded).
3. The application configured OpenTelemetry itself (the global provider is an SDK one) and
   the hook names no ``endpoint`` or ``headers``: the global providers, so Kaizen's spans join
   the application's pipeline instead of exporting twice.
4. Otherwise an SDK pipeline built here: resource ``service.name`` = ``service_name`` option,
   else ``OTEL_SERVICE_NAME``, else ``"kaizen"`` (plus ``OTEL_RESOURCE_ATTRIBUTES``); spans
   through a ``BatchSpanProcessor`` (``OTEL_BSP_*``) to an OTLP HTTP/protobuf exporter, metrics
   through a ``PeriodicExportingMetricReader`` (``OTEL_METRIC_EXPORT_INTERVAL``). ``endpoint``
   is the collector's base URL (``http://collector:4318``; ``/v1/traces`` and ``/v1/metrics``
   are appended); without it the exporters read ``OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]ENDPOINT``
   (default ``http://localhost:4318``). ``headers`` (a mapping or ``"k=v,k2=v2"``) default to
   ``OTEL_EXPORTER_OTLP_HEADERS``. ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` may be
   ``otlp`` (default), ``console`` or ``none``.

Pipelines built in step 4 are shared by every hook with the same settings (ten agents with
``enable_observability`` make one exporter, not ten), and flushed at interpreter exit by the SDK.
Header values are secrets: they are registered with :func:`kaizen_core.redaction.register_secret`
and never logged or kept on the hook.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kaizen_core.errors import ConfigError
from kaizen_core.redaction import register_secret

__all__ = ["Providers", "parse_headers", "resolve_providers", "shutdown"]

DEFAULT_SERVICE_NAME = "kaizen"
_EXPORTERS = ("otlp", "console", "none")


@dataclass(frozen=True)
class Providers:
    """The tracer and meter providers a hook records into (``meter`` None: metrics off)."""

    tracer: Any
    meter: Any | None
    #: The key of the pipeline built here (None: given or global providers, not ours to shut down).
    built_key: tuple[Any, ...] | None = field(default=None, repr=False)


def parse_headers(value: Mapping[str, str] | str | None) -> dict[str, str]:
    """Headers from a mapping or the ``OTEL_EXPORTER_OTLP_HEADERS`` form ``"k=v,k2=v2"`` (values URL-decoded)."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    headers: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            # The item may be a secret: the message names its position, never its text.
            raise ConfigError(
                "otel hook: invalid headers entry (expected name=value pairs separated by commas)",
                hint='headers = {"authorization": "Bearer ..."} or "authorization=Bearer%20...,x-team=a"',
            )
        headers[urllib.parse.unquote(name.strip()).lower()] = urllib.parse.unquote(raw.strip())
    return headers


def _exporter_kind(variable: str) -> str:
    kinds = [k.strip().lower() for k in os.environ.get(variable, "otlp").split(",") if k.strip()] or ["otlp"]
    for kind in kinds:
        if kind not in _EXPORTERS:
            raise ConfigError(
                f"{variable}={kind!r} is not supported by kaizen-otel",
                hint=f"use one of: {', '.join(_EXPORTERS)}",
            )
    return kinds[0]


def _check_protocol() -> None:
    for variable in ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        protocol = os.environ.get(variable)
        if protocol and protocol.strip().lower() != "http/protobuf":
            raise ConfigError(
                f"{variable}={protocol!r}: kaizen-otel exports OTLP over HTTP/protobuf only",
                hint="unset it or set http/protobuf, and point the endpoint at the collector's HTTP port (4318)",
            )


_BUILT: dict[tuple[Any, ...], Providers] = {}
_LOCK = threading.Lock()


def _disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def resolve_providers(
    *,
    service_name: str | None,
    endpoint: str | None,
    headers: Mapping[str, str] | str | None,
    metrics: bool,
    tracer_provider: Any = None,
    meter_provider: Any = None,
) -> Providers:
    """The providers a hook with these options records into (see the module docstring)."""
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace

    parsed = parse_headers(headers)
    register_secret(*parsed.values())
    register_secret(*parse_headers(os.environ.get("OTEL_EXPORTER_OTLP_HEADERS")).values())
    if tracer_provider is not None or meter_provider is not None:
        tracer = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        meter = (meter_provider if meter_provider is not None else otel_metrics.get_meter_provider()) if metrics else None
        return Providers(tracer, meter)
    if _disabled():
        return Providers(trace.NoOpTracerProvider(), otel_metrics.NoOpMeterProvider() if metrics else None)
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    if endpoint is None and not parsed:
        global_tracer = trace.get_tracer_provider()
        if isinstance(global_tracer, TracerProvider):
            global_meter = otel_metrics.get_meter_provider()
            meter = global_meter if isinstance(global_meter, MeterProvider) else None
            return Providers(global_tracer, meter if metrics else None)
    _check_protocol()
    name = service_name or os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    traces_kind = _exporter_kind("OTEL_TRACES_EXPORTER")
    metrics_kind = _exporter_kind("OTEL_METRICS_EXPORTER") if metrics else "off"
    base = endpoint.rstrip("/") if endpoint else None
    # Header values are secrets: the key (kept on every hook) holds only their digest.
    digest = hashlib.sha256(json.dumps(sorted(parsed.items())).encode()).hexdigest()
    key = (name, base, digest, traces_kind, metrics_kind)
    with _LOCK:
        built = _BUILT.get(key)
        if built is None:
            built = _BUILT[key] = _build(name, base, parsed, traces_kind, metrics_kind, key)
        return built


def shutdown(providers: Providers) -> None:
    """Flush and shut down a pipeline built here (no-op for given or global providers).

    Every hook sharing it stops exporting: call it when the process is done tracing (at
    interpreter exit the SDK does it anyway). A later hook with the same settings builds a new one.
    """
    if providers.built_key is None:
        return
    with _LOCK:
        if _BUILT.get(providers.built_key) is not providers:
            return
        del _BUILT[providers.built_key]
    providers.tracer.shutdown()
    if providers.meter is not None:
        providers.meter.shutdown()


def _build(
    name: str, base: str | None, headers: dict[str, str], traces_kind: str, metrics_kind: str, key: tuple[Any, ...]
) -> Providers:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    resource = Resource.create({SERVICE_NAME: name})
    tracer = TracerProvider(resource=resource)
    if traces_kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"{base}/v1/traces" if base else None, headers=headers or None)
        tracer.add_span_processor(BatchSpanProcessor(exporter))
    elif traces_kind == "console":
        tracer.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    meter: MeterProvider | None = None
    if metrics_kind != "off":
        readers = []
        if metrics_kind in ("otlp", "console"):
            from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

            if metrics_kind == "otlp":
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

                metric_exporter: Any = OTLPMetricExporter(
                    endpoint=f"{base}/v1/metrics" if base else None, headers=headers or None
                )
            else:
                metric_exporter = ConsoleMetricExporter()
            readers.append(PeriodicExportingMetricReader(metric_exporter))
        meter = MeterProvider(resource=resource, metric_readers=readers)
    return Providers(tracer, meter, key)
