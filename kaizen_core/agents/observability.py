"""The implementation of ``agent.enable_observability(...)`` and its result types, loaded on the
first call (see :mod:`kaizen_core.agents.observability_methods`, which re-exports the names)."""

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
    from kaizen_core.agents.observability_methods import ObservabilityMethods

__all__ = ["PARTS", "ObservabilityStatus", "ObservabilityWarning", "enable_observability"]

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


def enable_observability(
    agent: ObservabilityMethods,
    service_name: str | None,
    enable_metrics: bool,
    enable_logging: bool,
    enable_tracing: bool,
    enable_audit: bool,
    *,
    metrics_options: dict[str, Any] | None,
    tracing_options: dict[str, Any] | None,
    logging_options: dict[str, Any] | None,
    audit_options: dict[str, Any] | None,
    log_stream: TextIO | None,
) -> ObservabilityStatus:
    """:meth:`ObservabilityMethods.enable_observability` (``agent`` is the agent)."""
    from kaizen_core.plugins import get_registry

    service = service_name or agent.agent_id
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
    manager = agent.hook_manager
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
            f"enable_observability: not installed, so not enabled: {parts}", ObservabilityWarning, stacklevel=3
        )
    logger.info(
        "observability for %s (service %s): enabled %s; missing %s",
        agent.agent_id,
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
