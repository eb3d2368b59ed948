"""Kaizen plugin: OpenAI chat completions (and compatible servers), Azure OpenAI, Docker Model Runner.

Only hook implementations live here; the provider module (and httpx) is imported when
a provider is first selected.
"""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl

_CAPABILITIES = ["chat", "stream", "tools", "embed"]


@hookimpl
def register_providers(register: Register) -> None:
    register(
        "openai",
        "kaizen_openai.provider:OpenAIProvider",
        env=["OPENAI_API_KEY"],
        detect_priority=10,
        capabilities=_CAPABILITIES,
        default_model="gpt-4o-mini",
        description="OpenAI chat completions API and any OpenAI-compatible server (OPENAI_BASE_URL)",
    )
    register(
        "azure",
        "kaizen_openai.provider:AzureOpenAIProvider",
        env=["AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"],
        detect_priority=20,
        capabilities=_CAPABILITIES,
        description="Azure OpenAI / Azure AI Foundry (endpoint + key, api-version)",
    )
    register(
        "docker",
        "kaizen_openai.provider:DockerModelRunnerProvider",
        detect="kaizen_openai.detect:docker_model_runner_running",
        detect_priority=60,
        capabilities=_CAPABILITIES,
        default_model="ai/smollm2",
        description="Docker Model Runner (OpenAI-compatible, localhost:12434)",
    )
