"""The kaizen-otel hookimpls (entry point ``otel``). Cheap to import: targets are strings."""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_lifecycle_hooks(register: Register) -> None:
    register(
        "otel",
        "kaizen_otel.hook:OTelHook",
        description="OpenTelemetry spans and metrics (GenAI conventions) exported over OTLP HTTP",
    )
