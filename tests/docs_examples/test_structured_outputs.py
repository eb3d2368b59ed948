"""The original docs' Structured Outputs examples, run as written.

Imports translated: ``kaizen.core.base_agent`` -> ``kaizen_core.agents.base``, ``kaizen.signatures``
-> ``kaizen_core.signatures``, ``kaizen.core.config`` -> ``kaizen_core.config``,
``kaizen.core.structured_output`` -> ``kaizen_core.structured_output``; ``llm_provider="mock"``
(the mock provider honours the output schema as the structured-output providers do).
"""

from __future__ import annotations

from typing import Any

from kaizen_core.providers.mock import MockProvider


def _automatic_configuration() -> dict[str, Any]:
    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.config import BaseAgentConfig
    from kaizen_core.signatures import InputField, OutputField, Signature

    class AnalysisSignature(Signature):
        input_text: str = InputField(desc="Text to analyze")
        category: str = OutputField(desc="Classification category")
        confidence: float = OutputField(desc="Confidence 0-1")

    # Structured outputs auto-configured - NO provider_config needed!
    config = BaseAgentConfig(
        llm_provider="mock",  # or "google", "gemini", "azure"
        model="gpt-4o-2024-08-06",
    )

    agent = BaseAgent(config=config, signature=AnalysisSignature())
    result = agent.run(input_text="Sample text")

    # Response guaranteed to have all fields with correct types
    print(result["category"])  # Always present, always string
    print(result["confidence"])  # Always present, always float
    return {
        "AnalysisSignature": AnalysisSignature,
        "agent": agent,
        "result": result,
        "BaseAgentConfig": BaseAgentConfig,
    }


def test_quick_reference_structured_outputs_automatic_configuration() -> None:
    """quick-reference.md, "Multi-Provider Structured Outputs (v0.8.2)", "Automatic Configuration"."""
    seen = _automatic_configuration()
    result, agent = seen["result"], seen["agent"]
    assert isinstance(result["category"], str) and isinstance(result["confidence"], float)
    provider = agent.provider
    assert isinstance(provider, MockProvider)
    request = provider.requests[0]
    # the signature's schema went to the provider: no provider_config needed
    assert request.output_schema == seen["AnalysisSignature"].output_schema()
    assert set(request.output_schema["required"]) == {"category", "confidence"}
    # no docstring: the model is not given Python's object docstring as instructions
    assert "base class of the class hierarchy" not in (request.messages[0].content or "")


def test_quick_reference_structured_outputs_manual_configuration() -> None:
    """quick-reference.md, "Multi-Provider Structured Outputs (v0.8.2)", "Manual Configuration (Advanced)"."""
    seen = _automatic_configuration()  # the example continues the automatic one (AnalysisSignature)
    AnalysisSignature, BaseAgentConfig = seen["AnalysisSignature"], seen["BaseAgentConfig"]

    from kaizen_core.structured_output import create_structured_output_config

    # Only needed when you want to override defaults
    config = BaseAgentConfig(
        llm_provider="mock",
        model="gpt-4o-2024-08-06",
        provider_config=create_structured_output_config(
            signature=AnalysisSignature(),
            strict=True,  # 100% schema compliance (default)
            name="analysis",  # Custom schema name
        ),
    )

    fmt = config.provider_config["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "analysis" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == AnalysisSignature.output_schema()
    # not in the example: an agent built with it sends the custom schema name
    from kaizen_core.agents.base import BaseAgent

    agent = BaseAgent(config=config, signature=AnalysisSignature())
    result = agent.run(input_text="Sample text")
    assert isinstance(result["confidence"], float)
    provider = agent.provider
    assert isinstance(provider, MockProvider)
    assert provider.requests[0].schema_name == "analysis"
    legacy = create_structured_output_config(signature=AnalysisSignature(), strict=False)
    assert legacy == {"response_format": {"type": "json_object"}}
