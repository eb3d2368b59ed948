"""The original docs' BaseAgent, Signature and agent-pattern examples, run as written.

Imports translated: ``kaizen.core.base_agent`` -> ``kaizen_core.agents.base``, ``kaizen.signatures`` ->
``kaizen_core.signatures``, ``kaizen.orchestration.pipeline`` -> ``kaizen_core.orchestration.pipeline``;
``llm_provider="mock"`` where a provider is configured.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from kaizen_core import BaseAgentConfig
from kaizen_core.agents.results import AwaitedSyncResultError
from kaizen_core.errors import InputValidationError

config = BaseAgentConfig(llm_provider="mock", model="gpt-4")  # the `config` the examples refer to


def test_api_reference_base_agent_example(capsys: pytest.CaptureFixture[str]) -> None:
    """api-reference.md, "Core Classes", "BaseAgent"."""
    from kaizen_core.agents.base import BaseAgent, BaseAgentConfig
    from kaizen_core.signatures import InputField, OutputField, Signature

    class QASignature(Signature):
        """Type-safe input/output definition."""

        question: str = InputField(desc="User question")
        answer: str = OutputField(desc="Generated answer")
        confidence: float = OutputField(desc="Confidence score 0-1")

    # Create agent with configuration
    config = BaseAgentConfig(llm_provider="mock", model="gpt-4", temperature=0.7, max_tokens=1000)

    agent = BaseAgent(config=config, signature=QASignature())

    # Execute with type-safe inputs
    result = agent.run(question="What is AI?")
    print(result["answer"])  # Direct field access
    print(result["confidence"])  # 0.0-1.0 score

    assert isinstance(result["answer"], str) and isinstance(result["confidence"], float)
    assert capsys.readouterr().out.count("\n") == 2
    # Key Methods: to_a2a_card() -> dict
    card = agent.to_a2a_card()
    assert card["description"] == "Type-safe input/output definition."
    assert card["skills"][0]["name"] == "QASignature"


def test_api_reference_signature_example() -> None:
    """api-reference.md, "Core Classes", "Signature"."""
    from typing import List, Optional  # noqa: UP035 - as written

    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.signatures import InputField, OutputField, Signature

    class AdvancedSignature(Signature):
        """Multi-field signature with validation."""

        # Input fields
        query: str = InputField(desc="User query", required=True)
        context: Optional[str] = InputField(desc="Additional context")  # noqa: UP045 - as written
        complexity: int = InputField(desc="Complexity level 1-5")

        # Output fields
        response: str = OutputField(desc="Generated response")
        confidence: float = OutputField(desc="Confidence 0.0-1.0")
        citations: List[str] = OutputField(desc="Source citations")  # noqa: UP006 - as written
        follow_ups: List[str] = OutputField(desc="Suggested follow-ups")  # noqa: UP006 - as written

    # Use with agent
    agent = BaseAgent(config=config, signature=AdvancedSignature())
    result = agent.run(query="Explain quantum computing", context="For high school students", complexity=3)

    assert isinstance(result["response"], str) and isinstance(result["confidence"], float)
    assert all(isinstance(c, str) for c in result["citations"] + result["follow_ups"])
    # not in the example: the Optional input may be left out, the plain ones may not
    assert isinstance(agent.run(query="Explain quantum computing", complexity=3)["response"], str)
    with pytest.raises(InputValidationError, match="complexity"):
        agent.run(query="Explain quantum computing")


def _agent_architecture_pattern() -> Any:
    from dataclasses import dataclass

    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.signatures import InputField, OutputField, Signature

    # 1. Define configuration
    @dataclass
    class MyConfig:
        llm_provider: str = "mock"
        model: str = "gpt-4"
        temperature: float = 0.7
        # BaseAgent auto-extracts: llm_provider, model, temperature, max_tokens, provider_config

    # 2. Define signature (inputs/outputs)
    class MySignature(Signature):
        question: str = InputField(desc="User input")  # 'description=' also works
        answer: str = OutputField(desc="Agent output")

    # 3. Extend BaseAgent
    class MyAgent(BaseAgent):
        def __init__(self, config: MyConfig):
            super().__init__(config=config, signature=MySignature())

        def ask(self, question: str):
            return self.run(question=question)

    return MyAgent, MyConfig


def test_quick_reference_agent_architecture_pattern() -> None:
    """quick-reference.md, "Agent Architecture Pattern" (quick-reference-v0.5.md has the same one)."""
    MyAgent, MyConfig = _agent_architecture_pattern()
    agent = MyAgent(MyConfig())
    result = agent.ask("What is AI?")
    assert isinstance(result["answer"], str)
    assert (agent.config.llm_provider, agent.config.model, agent.config.temperature) == ("mock", "gpt-4", 0.7)


def test_domain_config_auto_extraction_leaves_domain_fields_alone() -> None:
    """quick-reference.md, "Agent Architecture Pattern" and "Common Mistakes to Avoid" 3: a domain
    config dataclass may carry fields of its own; BaseAgent takes the ones it knows."""
    MyAgent, MyConfig = _agent_architecture_pattern()
    DomainConfig = dataclasses.make_dataclass("DomainConfig", [("answer_style", str, "short")], bases=(MyConfig,))
    agent = MyAgent(DomainConfig())
    assert agent.config.model == "gpt-4" and not hasattr(agent.config, "answer_style")


def test_quick_reference_llm_provider_configuration_dataclasses() -> None:
    """quick-reference.md, "LLM Provider Configuration (v0.8.2)": the provider dataclasses are
    domain configs; converted, they select the provider and model (building the agent needs
    the provider's plugin and credentials, so the conversion is what is checked here)."""
    from dataclasses import dataclass

    # Azure AI Foundry (v0.7.1)
    @dataclass
    class AzureConfig:
        llm_provider: str = "azure"
        model: str = "gpt-4o"
        # Set: AZURE_AI_INFERENCE_ENDPOINT, AZURE_AI_INFERENCE_API_KEY

    # Docker Model Runner (FREE local, v0.7.1)
    @dataclass
    class DockerConfig:
        llm_provider: str = "docker"
        model: str = "ai/llama3.2"  # Or ai/qwen3, ai/gemma3
        # Prerequisites: docker desktop enable model-runner --tcp 12434

    # Google Gemini (Cloud, multimodal, v0.8.2)
    @dataclass
    class GoogleConfig:
        llm_provider: str = "google"  # Or "gemini" (alias)
        model: str = "gemini-2.0-flash"  # Or gemini-1.5-pro
        # Set: GOOGLE_API_KEY or GEMINI_API_KEY
        # Install: pip install kailash-kaizen[google]

    converted = [BaseAgentConfig.from_any(c()) for c in (AzureConfig, DockerConfig, GoogleConfig)]
    assert [(c.llm_provider, c.model) for c in converted] == [
        ("azure", "gpt-4o"),
        ("docker", "ai/llama3.2"),
        ("google", "gemini-2.0-flash"),
    ]


def test_api_reference_router_capability_lines_describe_the_a2a_card() -> None:
    """api-reference.md, "Meta-Controller Routing API", "Router Pipeline": ``agent.capability = "..."``
    is what the agent's A2A card says it does (the router itself is issue 12's)."""
    from kaizen_core.agents.base import BaseAgent

    qa_agent = BaseAgent(config, "question -> answer")
    data_agent = BaseAgent(config, "data -> analysis")

    # Each agent has A2A capability card
    qa_agent.capability = "Question answering and general knowledge"  # type: ignore[attr-defined]
    data_agent.capability = "Data analysis and visualization"  # type: ignore[attr-defined]

    assert qa_agent.to_a2a_card()["description"] == "Question answering and general knowledge"
    assert data_agent.to_a2a_card()["description"] == "Data analysis and visualization"
    # without a capability or a docstring, the card says what the agent is, not Python's object docstring
    assert BaseAgent(config, "x -> y").to_a2a_card()["description"] == "Kaizen agent for ParsedSignature"


def _parallel_agents() -> dict[str, Any]:
    from kaizen_core.agents.base import BaseAgent

    return {
        "data_fetcher": BaseAgent(config=config, signature="source -> data"),
        "data_transformer": BaseAgent(config=config, signature="data -> transformed"),
        "data_validator": BaseAgent(config=config, signature="datasets: list -> status, data"),
        "report_generator": BaseAgent(config=config, signature="validated_data -> summary"),
    }


def test_advanced_patterns_parallel_execution_as_written_is_a_clear_error() -> None:
    """advanced-patterns.md, "Pattern 7: Parallel Execution with Dependency Management", as written:
    it awaits ``agent.run(...)``, which is the blocking call. The mistake is a clear error naming
    ``run_async`` (EXEC_003, also a TypeError as awaiting a dict is), not Python's bare TypeError."""
    from kaizen_core.orchestration.pipeline import Pipeline  # noqa: F401 - as written

    agents = _parallel_agents()
    data_fetcher, data_transformer = agents["data_fetcher"], agents["data_transformer"]

    # Define parallel execution groups
    async def parallel_data_pipeline(sources: list):
        """
        Execute data pipeline with parallel fetching, sequential transformation.
        """

        # Step 1: Fetch from all sources in parallel (independent)
        fetch_tasks = [data_fetcher.run(source=source) for source in sources]
        fetched_data = await asyncio.gather(*fetch_tasks)
        print(f"✓ Fetched from {len(sources)} sources in parallel")

        # Step 2: Transform each dataset in parallel (independent)
        transform_tasks = [data_transformer.run(data=dataset) for dataset in fetched_data]
        return await asyncio.gather(*transform_tasks)

    # Execute pipeline
    sources = ["api1", "api2", "api3", "database", "s3_bucket"]
    with pytest.raises(AwaitedSyncResultError) as info:
        asyncio.run(parallel_data_pipeline(sources))
    assert isinstance(info.value, TypeError) and info.value.code == "EXEC_003"
    assert "run_async" in str(info.value)


def test_advanced_patterns_parallel_execution_with_run_async(capsys: pytest.CaptureFixture[str]) -> None:
    """advanced-patterns.md, "Pattern 7", with ``run`` spelled ``run_async`` (the coroutine), as
    docs/agents.md says: the documented result shape."""
    agents = _parallel_agents()
    data_fetcher, data_transformer = agents["data_fetcher"], agents["data_transformer"]
    data_validator, report_generator = agents["data_validator"], agents["report_generator"]

    async def parallel_data_pipeline(sources: list) -> dict[str, Any]:
        fetch_tasks = [data_fetcher.run_async(source=source) for source in sources]
        fetched_data = await asyncio.gather(*fetch_tasks)
        print(f"✓ Fetched from {len(sources)} sources in parallel")

        transform_tasks = [data_transformer.run_async(data=dataset["data"]) for dataset in fetched_data]
        transformed_data = await asyncio.gather(*transform_tasks)
        print(f"✓ Transformed {len(transformed_data)} datasets in parallel")

        validation_result = await data_validator.run_async(datasets=[t["transformed"] for t in transformed_data])
        print(f"✓ Validated all datasets: {validation_result['status']}")

        report = await report_generator.run_async(validated_data=validation_result["data"])
        print(f"✓ Generated report: {report['summary']}")
        return report

    sources = ["api1", "api2", "api3", "database", "s3_bucket"]
    result = asyncio.run(parallel_data_pipeline(sources))
    assert isinstance(result["summary"], str)
    assert capsys.readouterr().out.count("✓") == 4
