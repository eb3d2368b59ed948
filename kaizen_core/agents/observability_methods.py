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

import inspect
import logging
import sys
import warnings
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import BaseModel, ConfigDict, Field

from kaizen_core._factories import new_dict, new_list
from kaizen_core.errors import PluginNotInstalledError

if TYPE_CHECKING:
    from kaizen_core.hooks import HookManager

__all__ = ["ObservabilityMethods", "ObservabilityStatus", "ObservabilityWarning"]

logger = logging.getLogger("kaizen.observability")

#: part -> (lifecycle hook name, distribution providing it; None: kaizen-core)
PARTS: dict[str, tuple[str, str | None]] = {
    "metrics": ("prometheus", "kaizen-prometheus"),
    "tracing": ("otel", "kaizen-otel"),
    "logging": ("json_logs", None),
    "audit": ("audit", None),
}


class ObservabilityWarning(UserWarning):
    """A part of ``enable_observability`` could not be switched on (its plugin is not installed)."""


class ObservabilityStatus(BaseModel):
    """What :meth:`ObservabilityMethods.enable_observability` switched on.

    ``enabled``: the hook names now on the agent (including ones it had already);
    ``missing``: part -> the command installing its plugin; ``log_handler``: True when a
    JSON stderr handler was added because no logging handler was configured.
    """

    model_config = ConfigDict(defer_build=True)  # built on first use: not on the import path

    service_name: str
    enabled: list[str] = Field(default_factory=new_list)
    missing: dict[str, str] = Field(default_factory=new_dict)
    log_handler: bool = False


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
        from kaizen_core.plugins import get_registry

        service = service_name or self.agent_id
        wanted = {
            "metrics": enable_metrics,
            "tracing": enable_tracing,
            "logging": enable_logging,
            "audit": enable_audit,
        }
        options = {
            "metrics": metrics_options,
            "tracing": tracing_options,
            "logging": logging_options,
            "audit": audit_options,
        }
        manager = self.hook_manager
        present = {name for event in _all_events() for name in manager.handler_names(event)}
        registry = get_registry()
        status = ObservabilityStatus(service_name=service)
        for part, (hook_name, distribution) in PARTS.items():
            if not wanted[part]:
                continue
            if hook_name in present:
                status.enabled.append(hook_name)
                continue
            try:
                target = registry.load("lifecycle_hook", hook_name)
            except PluginNotInstalledError:
                status.missing[part] = f"pip install {distribution or 'kaizen-core'}"
                continue
            manager.register_hook(_build(hook_name, target, dict(options[part] or {}), service))
            status.enabled.append(hook_name)
        if "json_logs" in status.enabled:
            status.log_handler = _ensure_log_handler(log_stream)
        if status.missing:
            parts = ", ".join(f"{part} ({hint})" for part, hint in status.missing.items())
            warnings.warn(
                f"enable_observability: not installed, so not enabled: {parts}", ObservabilityWarning, stacklevel=2
            )
        logger.info(
            "observability for %s (service %s): enabled %s; missing %s",
            self.agent_id,
            service,
            ", ".join(status.enabled) or "nothing",
            ", ".join(status.missing) or "nothing",
        )
        return status


def _all_events() -> list[Any]:
    from kaizen_core.hooks import HookEvent

    return list(HookEvent)


def _build(name: str, target: Any, options: dict[str, Any], service: str) -> Any:
    """The hook ``name`` built as ``HookManager.from_config`` builds it, given ``service_name`` when it takes one."""
    from kaizen_core.hooks.manager import instantiate_hook

    if isinstance(target, type):
        try:
            parameters = inspect.signature(target).parameters
        except (TypeError, ValueError):
            parameters = {}  # type: ignore[assignment]
        if "service_name" in parameters:
            options.setdefault("service_name", service)
    return instantiate_hook(name, target, options)


def _ensure_log_handler(stream: TextIO | None) -> bool:
    """Add a JSON stderr handler to ``kaizen`` when nothing would show the INFO lines."""
    from kaizen_core.hooks.builtin import JsonFormatter

    events = logging.getLogger("kaizen.events")
    if events.getEffectiveLevel() > logging.INFO and events.level == logging.NOTSET:
        events.setLevel(logging.INFO)
    target = stream or sys.stderr
    root = logging.getLogger("kaizen")
    if any(isinstance(h.formatter, JsonFormatter) and getattr(h, "stream", None) is target for h in root.handlers):
        return False  # added by an earlier call
    if events.hasHandlers() and stream is None:
        return False  # the application configured logging: its handlers get the lines
    handler = logging.StreamHandler(target)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    return True
