"""The metric families kaizen-prometheus exports, and how lifecycle events update them.

:data:`METRICS` is the one list of what is exported (name, type, labels, help): the README
table, the Grafana dashboard test and :class:`KaizenMetrics` all read it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from kaizen_core.hooks.context import HookContext
from kaizen_core.hooks.events import HookEvent
from kaizen_prometheus.labels import LabelCap

__all__ = ["METRICS", "KaizenMetrics", "MetricSpec", "exported_series"]

# Bucket bounds in seconds, per kind of work (Prometheus' defaults top out at 10 s).
_RUN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_MODEL_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160)
_TOOL_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_HOOK_BUCKETS = (0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5)
_CHECKPOINT_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

#: Token kinds of ``kaizen_tokens_total{type=...}``: the POST_MODEL_CALL ``usage`` field of each.
TOKEN_TYPES = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cached_input": "cached_input_tokens",
    "cache_write": "cache_write_tokens",
}


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric family."""

    name: str  # as exposed (counters end in _total)
    kind: str  # "counter", "histogram" or "gauge"
    labels: tuple[str, ...]
    help: str
    buckets: tuple[float, ...] = ()

    @property
    def series_names(self) -> tuple[str, ...]:
        """The sample names Prometheus stores for this family (what PromQL can select)."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("kaizen_agent_runs_total", "counter", ("agent", "status"), "Agent runs by how they ended"),
    MetricSpec(
        "kaizen_agent_run_duration_seconds", "histogram", ("agent", "status"), "Agent run duration", _RUN_BUCKETS
    ),
    MetricSpec("kaizen_provider_calls_total", "counter", ("provider", "model", "status"), "Model provider calls"),
    MetricSpec(
        "kaizen_provider_call_duration_seconds",
        "histogram",
        ("provider", "model"),
        "Model provider call latency",
        _MODEL_BUCKETS,
    ),
    MetricSpec("kaizen_tokens_total", "counter", ("provider", "model", "type"), "Tokens by kind (input, output, ...)"),
    MetricSpec("kaizen_cost_usd_total", "counter", ("agent", "provider", "model"), "Model cost in US dollars"),
    MetricSpec(
        "kaizen_unpriced_provider_calls_total",
        "counter",
        ("provider", "model"),
        "Provider calls whose model has no known price (their cost is not in kaizen_cost_usd_total)",
    ),
    MetricSpec(
        "kaizen_tool_calls_total", "counter", ("tool", "status"), "Tool calls (success, error, blocked, denied)"
    ),
    MetricSpec("kaizen_tool_call_duration_seconds", "histogram", ("tool",), "Tool call latency", _TOOL_BUCKETS),
    MetricSpec("kaizen_permission_decisions_total", "counter", ("tool", "decision"), "Permission gate decisions"),
    MetricSpec(
        "kaizen_hook_duration_seconds", "histogram", ("hook", "event"), "Lifecycle hook handler latency", _HOOK_BUCKETS
    ),
    MetricSpec("kaizen_hook_failures_total", "counter", ("hook", "event"), "Lifecycle hook handlers that failed"),
    MetricSpec(
        "kaizen_checkpoint_save_duration_seconds",
        "histogram",
        ("agent",),
        "Checkpoint save latency",
        _CHECKPOINT_BUCKETS,
    ),
    MetricSpec(
        "kaizen_metric_label_overflow_total",
        "counter",
        ("label",),
        "Label values reported as 'other' because the label reached max_label_values",
    ),
    MetricSpec(
        "kaizen_service_info", "gauge", ("service_name", "version"), "Always 1: the services this process reports"
    ),
)

_SPECS = {spec.name: spec for spec in METRICS}
_RECENT_RUNS = 4096  # run ids remembered to count a pipeline child once (never a label)


def exported_series() -> set[str]:
    """Every sample name a scrape of kaizen-prometheus can contain."""
    return {name for spec in METRICS for name in spec.series_names}


def _build(spec: MetricSpec, registry: CollectorRegistry) -> Any:
    if spec.kind == "counter":
        return Counter(spec.name, spec.help, spec.labels, registry=registry)
    if spec.kind == "histogram":
        return Histogram(spec.name, spec.help, spec.labels, registry=registry, buckets=spec.buckets)
    return Gauge(spec.name, spec.help, spec.labels, registry=registry)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class KaizenMetrics:
    """The :data:`METRICS` families on one registry, updated from hook contexts.

    ``max_label_values`` bounds each label separately (see :class:`LabelCap`). Safe to
    call from several threads and event loops at once (prometheus-client metrics are).
    """

    def __init__(self, registry: CollectorRegistry, *, max_label_values: int = 100) -> None:
        self.registry = registry
        self.max_label_values = max_label_values
        self._m = {spec.name: _build(spec, registry) for spec in METRICS}
        # (family, *label values) -> child: labels() costs ~2.5 us a call, a dict lookup 0.05 us.
        # Bounded like the series themselves (every label value is capped).
        self._children: dict[tuple[str, ...], Any] = {}
        self._caps: dict[str, LabelCap] = {}
        for spec in METRICS:
            for label in spec.labels:
                if label not in ("type", "label", "event") and label not in self._caps:
                    self._caps[label] = LabelCap(label, max_label_values)
        self._recent_runs: OrderedDict[str, None] = OrderedDict()
        self._runs_lock = threading.Lock()

    def label(self, name: str, value: object) -> str:
        """``value`` as a bounded value of label ``name`` (``"other"`` past the cap)."""
        cap = self._caps[name]
        before = cap.overflowed
        text = cap(value)
        if cap.overflowed != before:
            self._child("kaizen_metric_label_overflow_total", name).inc()
        return text

    def _child(self, name: str, *values: str) -> Any:
        key = (name, *values)
        child = self._children.get(key)
        if child is None:  # two threads may both create it: labels() returns the same child
            child = self._children[key] = self._m[name].labels(*values)
        return child

    def metric(self, name: str) -> Any:
        """The prometheus-client object of family ``name`` (as in :data:`METRICS`)."""
        return self._m[name]

    # -- events ------------------------------------------------------------------------------
    def record(self, context: HookContext) -> None:
        """Update the metrics an event concerns; other events are ignored."""
        handler = _DISPATCH.get(context.event)
        if handler is not None:
            handler(self, context, context.metadata)

    def _run(self, context: HookContext, md: Mapping[str, Any]) -> None:
        if context.run_id is None and "parent_run_id" in md:
            # A pipeline reporting its child: skip it when the child's own run already counted.
            child = md.get("child_run_id")
            if isinstance(child, str) and self._seen_run(child):
                return
        elif context.run_id is not None:
            self._remember_run(context.run_id)
        agent = self.label("agent", context.agent_id)
        status = self.label("status", md.get("status"))
        self._child("kaizen_agent_runs_total", agent, status).inc()
        if context.duration_ms is not None:
            self._child("kaizen_agent_run_duration_seconds", agent, status).observe(context.duration_ms / 1000.0)

    def _model_call(self, context: HookContext, md: Mapping[str, Any]) -> None:
        provider = self.label("provider", md.get("provider"))
        model = self.label("model", md.get("model") or md.get("response_model"))
        failed = md.get("error") is not None or md.get("error_type") is not None
        self._child("kaizen_provider_calls_total", provider, model, "error" if failed else "success").inc()
        if context.duration_ms is not None:
            self._child("kaizen_provider_call_duration_seconds", provider, model).observe(context.duration_ms / 1000.0)
        if failed:
            return
        usage = md.get("usage")
        if isinstance(usage, Mapping):
            for kind, field in TOKEN_TYPES.items():
                count = _number(usage.get(field))
                if count:
                    self._child("kaizen_tokens_total", provider, model, kind).inc(count)
        cost = _number(md.get("cost_usd_call"))
        if cost is None:
            self._child("kaizen_unpriced_provider_calls_total", provider, model).inc()
        else:
            agent = self.label("agent", context.agent_id)
            self._child("kaizen_cost_usd_total", agent, provider, model).inc(max(cost, 0.0))

    def _tool_call(self, context: HookContext, md: Mapping[str, Any]) -> None:
        tool = self.label("tool", md.get("tool"))
        self._child("kaizen_tool_calls_total", tool, self.label("status", md.get("status"))).inc()
        if context.duration_ms is not None:
            self._child("kaizen_tool_call_duration_seconds", tool).observe(context.duration_ms / 1000.0)

    def _permission(self, context: HookContext, md: Mapping[str, Any]) -> None:
        tool = self.label("tool", md.get("tool"))
        decision = self.label("decision", md.get("decision"))
        self._child("kaizen_permission_decisions_total", tool, decision).inc()
        if decision == "deny":  # a denied call never reaches PRE/POST_TOOL_CALL: count it here
            self._child("kaizen_tool_calls_total", tool, self.label("status", "denied")).inc()

    def _checkpoint(self, context: HookContext, md: Mapping[str, Any]) -> None:
        if context.duration_ms is not None:
            agent = self.label("agent", context.agent_id)
            self._child("kaizen_checkpoint_save_duration_seconds", agent).observe(context.duration_ms / 1000.0)

    def hook_call(self, hook: str, event: HookEvent, duration_ms: float, success: bool) -> None:
        """One lifecycle handler call (a :meth:`HookManager.observe_calls` observer)."""
        name = self.label("hook", hook)
        self._child("kaizen_hook_duration_seconds", name, event.value).observe(duration_ms / 1000.0)
        if not success:
            self._child("kaizen_hook_failures_total", name, event.value).inc()

    def add_service(self, service_name: str, version: str) -> None:
        """Report ``service_name`` in ``kaizen_service_info``."""
        self._child("kaizen_service_info", self.label("service_name", service_name), version).set(1)

    # -- pipeline de-duplication -----------------------------------------------------------
    def _remember_run(self, run_id: str) -> None:
        with self._runs_lock:
            self._recent_runs[run_id] = None
            if len(self._recent_runs) > _RECENT_RUNS:
                self._recent_runs.popitem(last=False)

    def _seen_run(self, run_id: str) -> bool:
        with self._runs_lock:
            return run_id in self._recent_runs


_DISPATCH = {
    HookEvent.POST_AGENT_LOOP: KaizenMetrics._run,
    HookEvent.POST_MODEL_CALL: KaizenMetrics._model_call,
    HookEvent.POST_TOOL_CALL: KaizenMetrics._tool_call,
    HookEvent.POST_PERMISSION_CHECK: KaizenMetrics._permission,
    HookEvent.POST_CHECKPOINT_SAVE: KaizenMetrics._checkpoint,
}

#: The events :class:`~kaizen_prometheus.hook.PrometheusHook` listens for.
EVENTS: list[HookEvent] = list(_DISPATCH)
