"""The kaizen-prometheus hookimpls (entry point ``prometheus``). Cheap to import: the target
is a string, so prometheus-client loads only when an agent enables the hook."""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_lifecycle_hooks(register: Register) -> None:
    register(
        "prometheus",
        "kaizen_prometheus.hook:PrometheusHook",
        description="Prometheus metrics on /metrics (runs, provider/tool calls, tokens, cost, hook/checkpoint latency)",
    )
