"""Kaizen plugin: Google Gemini API. Only hook implementations live here."""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_providers(register: Register) -> None:
    register(
        "google",
        "kaizen_google.provider:GoogleProvider",
        aliases=["gemini"],
        detect="kaizen_google.detect:api_key_set",
        detect_priority=40,
        capabilities=["chat", "stream", "tools", "embed"],
        default_model="gemini-3.8-flash",
        description="Google Gemini API (GOOGLE_API_KEY or GEMINI_API_KEY)",
    )
