"""A real OTLP/HTTP receiver on loopback that decodes what arrives (traces and metrics).

It accepts ``POST /v1/traces`` and ``POST /v1/metrics`` with ``application/x-protobuf``
bodies (gzip or not), decodes them with opentelemetry-proto's classes
(``ExportTraceServiceRequest``, ``ExportMetricsServiceRequest``) and answers like a collector.
Tests then read plain dicts::

    with OTLPReceiver() as receiver:
        hook = OTelHook(endpoint=receiver.url, service_name="shop")
        ...; hook.force_flush()
        spans = receiver.wait_for_spans(3)
        spans[0]["name"], spans[0]["attributes"]["gen_ai.operation.name"], spans[0]["resource"]["service.name"]

Waiting is on a condition variable notified by each request, never a sleep. Without
opentelemetry-proto installed, starting fails with :class:`ServerUnavailable` and the install hint.
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from kaizen_testing.servers._process import ServerUnavailable
from kaizen_testing.stub_http import LoopbackHTTPServer

__all__ = ["OTLPReceiver", "ReceivedRequest"]

_HINT = "pip install 'opentelemetry-proto>=1.40,<2' (the [test] extra of kaizen-otel)"


@dataclass
class ReceivedRequest:
    """One export request: its path, headers (lower-case names) and decoded protobuf message."""

    path: str
    headers: dict[str, str]
    message: Any = field(repr=False)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    value = getattr(any_value, kind)
    if kind == "array_value":
        return [_value(v) for v in value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.values}
    return value


def _attributes(key_values: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in key_values}


class OTLPReceiver(LoopbackHTTPServer):
    """Threaded OTLP/HTTP receiver on ``127.0.0.1`` (a free port); a context manager."""

    def __init__(self) -> None:
        try:
            from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
            from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
        except ImportError as exc:
            raise ServerUnavailable(f"the OTLP receiver needs opentelemetry-proto: {_HINT}") from exc
        self.requests: list[ReceivedRequest] = []
        self._changed = threading.Condition()
        kinds: dict[str, tuple[Any, Any]] = {
            "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse),
            "/v1/metrics": (
                metrics_service_pb2.ExportMetricsServiceRequest,
                metrics_service_pb2.ExportMetricsServiceResponse,
            ),
        }
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                kind = kinds.get(self.path)
                if kind is None:
                    self._reply(404, b"")
                    return
                if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                    body = gzip.decompress(body)
                request_type, response_type = kind
                message = request_type()
                try:
                    message.ParseFromString(body)
                except Exception:  # a body that is not the message: a collector answers 400
                    self._reply(400, b"")
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._changed:
                    receiver.requests.append(ReceivedRequest(self.path, headers, message))
                    receiver._changed.notify_all()
                self._reply(200, response_type().SerializeToString())

            def _reply(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        super().__init__(Handler, "kaizen-otlp")  # url: what an OTLP/HTTP exporter is pointed at

    # -- decoded views ---------------------------------------------------------------------
    def spans(self) -> list[dict[str, Any]]:
        """Every span received so far: name, kind, ids (hex), parent id, attributes, status, events, resource."""
        out: list[dict[str, Any]] = []
        with self._changed:
            requests = [r for r in self.requests if r.path == "/v1/traces"]
        for request in requests:
            for resource_spans in request.message.resource_spans:
                resource = _attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        out.append(
                            {
                                "name": span.name,
                                "kind": span.kind,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_span_id": span.parent_span_id.hex() or None,
                                "attributes": _attributes(span.attributes),
                                "status_code": span.status.code,
                                "status_message": span.status.message,
                                "events": [{"name": e.name, "attributes": _attributes(e.attributes)} for e in span.events],
                                "scope": scope_spans.scope.name,
                                "resource": resource,
                            }
                        )
        return out

    def metrics(self) -> dict[str, list[dict[str, Any]]]:
        """Metric name -> its data points (attributes plus ``sum``/``count`` or ``value``), over every request."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self._changed:
            requests = [r for r in self.requests if r.path == "/v1/metrics"]
        for request in requests:
            for resource_metrics in request.message.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        kind = metric.WhichOneof("data")
                        points = out.setdefault(metric.name, [])
                        for point in getattr(metric, kind).data_points:
                            row: dict[str, Any] = {"attributes": _attributes(point.attributes), "unit": metric.unit}
                            if kind in ("histogram", "exponential_histogram"):
                                row.update(sum=point.sum, count=point.count)
                            else:
                                row["value"] = point.as_double if point.HasField("as_double") else point.as_int
                            points.append(row)
        return out

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The spans once at least ``count`` have arrived; AssertionError after ``timeout`` seconds."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: self._span_count() >= count, timeout)
        spans = self.spans()
        if not arrived:
            raise AssertionError(f"expected {count} spans at the OTLP receiver, got {len(spans)}: {[s['name'] for s in spans]}")
        return spans

    def wait_for_metric(self, name: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The data points of metric ``name`` once one has arrived; AssertionError after ``timeout``."""
        with self._changed:
            self._changed.wait_for(lambda: any(r.path == "/v1/metrics" for r in self.requests) and name in self.metrics(), timeout)
        points = self.metrics().get(name)
        if not points:
            raise AssertionError(f"metric {name!r} never arrived at the OTLP receiver (got {sorted(self.metrics())})")
        return points

    def _span_count(self) -> int:
        return sum(
            len(ss.spans)
            for r in self.requests
            if r.path == "/v1/traces"
            for rs in r.message.resource_spans
            for ss in rs.scope_spans
        )
