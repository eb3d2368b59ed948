"""Kaizen plugin: Ollama native API. Only hook implementations live here."""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_providers(register: Register) -> None:
    register(
        "ollama",
        "kaizen_ollama.provider:OllamaProvider",
        detect="kaizen_ollama.detect:ollama_running",
        detect_priority=50,
        capabilities=["chat", "stream", "tools", "embed"],
        default_model="llama3.2",
        description="Ollama (OLLAMA_HOST, default localhost:11434)",
    )
