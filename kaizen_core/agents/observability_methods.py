"""``agent.enable_observability(...)``: metrics, tracing, structured logs and the audit trail in one call.

    status = agent.enable_observability("my-agent")
    status.enabled   # ["json_logs", "audit"] in a bare install
    status.missing   # {"metrics": "pip install kaizen-prometheus", "tracing": "pip install kaizen-otel"}

Each part is a lifecycle hook selected by name, the same hooks ``hooks = [...]`` in a config
or TOML file selects: metrics -> ``prometheus`` (kaizen-prometheus), tracing -> ``otel``
(kaizen-otel), logging -> ``json_logs`` (core), audit -> ``audit`` (core). A part whose
plugin is not installed is skipped with an :class:`ObservabilityWarning` and listed in
``missing`` with its install command: the call never fails for a missing optional plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from kaizen_core.lazy import lazy_exports

if TYPE_CHECKING:
    from kaizen_core.agents.observability import ObservabilityStatus, ObservabilityWarning
    from kaizen_core.hooks import HookManager

__all__ = ["ObservabilityMethods", "ObservabilityStatus", "ObservabilityWarning"]

# The implementation and its result model load on the first call: every agent class has this
# mixin, few agents call it (cold start).
__getattr__, __dir__ = lazy_exports(
    globals(),
    dict.fromkeys(("PARTS", "ObservabilityStatus", "ObservabilityWarning"), "kaizen_core.agents.observability"),
)


class ObservabilityMethods:
    """Mixin of :class:`~kaizen_core.agents.BaseAgent`: the documented observability one-liner."""

    agent_id: str
    hook_manager: HookManager  # BaseAgent's property

    def enable_observability(
        self,
        service_name: str | None = None,
        enable_metrics: bool = True,
        enable_logging: bool = True,
        enable_tracing: bool = True,
        enable_audit: bool = True,
        *,
        metrics_options: dict[str, Any] | None = None,
        tracing_options: dict[str, Any] | None = None,
        logging_options: dict[str, Any] | None = None,
        audit_options: dict[str, Any] | None = None,
        log_stream: TextIO | None = None,
    ) -> ObservabilityStatus:
        """Switch on whichever observability parts are installed; returns what was enabled.

        ``service_name`` (default: the agent id) names the service in metrics, spans, log
        lines and audit records (given to each hook that takes a ``service_name``).
        ``<part>_options`` are that hook's constructor options (``audit_options={"path":
        "audit.jsonl"}``, ``metrics_options={"port": 9464}``). A part already on the agent
        (``hooks = ["otel"]``) is kept as it is. When JSON logs are on and no logging
        handler is configured, one writing JSON lines to ``log_stream`` (default stderr)
        is added to the ``kaizen`` logger and ``kaizen.events`` is set to INFO.

        Never raises for a missing optional plugin: the part is skipped with an
        :class:`ObservabilityWarning` naming the ``pip install`` command, and listed in
        ``missing``. Bad options raise KAIZEN_002 as they would in a config.
        """
        from kaizen_core.agents.observability import enable_observability

        return enable_observability(
            self,
            service_name,
            enable_metrics,
            enable_logging,
            enable_tracing,
            enable_audit,
            metrics_options=metrics_options,
            tracing_options=tracing_options,
            logging_options=logging_options,
            audit_options=audit_options,
            log_stream=log_stream,
        )
