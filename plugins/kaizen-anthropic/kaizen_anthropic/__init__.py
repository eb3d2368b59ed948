"""Kaizen plugin: Anthropic Messages API. Only hook implementations live here."""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_providers(register: Register) -> None:
    register(
        "anthropic",
        "kaizen_anthropic.provider:AnthropicProvider",
        env=["ANTHROPIC_API_KEY"],
        detect_priority=30,
        capabilities=["chat", "stream", "tools"],
        default_model="claude-haiku-4-5",
        description="Anthropic Messages API (Claude)",
    )
