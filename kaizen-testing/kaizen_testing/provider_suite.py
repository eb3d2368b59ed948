"""ProviderSuite: the conformance tests every LLM provider plugin passes.

Subclass it in your plugin's tests and override the ``provider`` fixture::

    from kaizen_testing import ProviderSuite

    class TestMyProvider(ProviderSuite):
        supports_embeddings = True

        @pytest.fixture
        def provider(self):
            return MyProvider(model="small", base_url=...)

Class flags switch off what a backend cannot do; a switched-off capability is then
checked to fail *cleanly* (AGENT_004) rather than skipped, where that applies.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from kaizen_core.errors import ProviderError
from kaizen_core.providers import (
    BaseProvider,
    Completion,
    CompletionRequest,
    GenerationParams,
    Message,
    ToolDefinition,
)
from kaizen_core.signatures import InputField, OutputField, Signature


class SuiteQA(Signature):
    """Answer the question."""

    question: str = InputField(desc="A question")
    answer: str = OutputField(desc="The answer")
    confidence: float = OutputField(desc="Confidence between 0 and 1")


WEATHER_TOOL = ToolDefinition(
    name="get_weather",
    description="Get the current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
)


class ProviderSuite:
    """Conformance tests for :class:`kaizen_core.providers.BaseProvider` implementations."""

    supports_tools: ClassVar[bool] = True
    supports_streaming: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = False
    supports_structured_output: ClassVar[bool] = True
    #: generation params used by every request (keep outputs short and deterministic)
    params: ClassVar[GenerationParams] = GenerationParams(temperature=0.0, max_tokens=64, seed=7)

    @pytest.fixture
    def anyio_backend(self) -> str:
        """Kaizen runs on asyncio."""
        return "asyncio"

    @pytest.fixture
    def provider(self) -> BaseProvider:
        raise NotImplementedError("override the `provider` fixture in your ProviderSuite subclass")

    # --- helpers ---------------------------------------------------------------------------
    def chat_request(self, text: str = "Say hello in one word.", **kw: Any) -> CompletionRequest:
        return CompletionRequest(messages=[Message(role="user", content=text)], params=self.params, **kw)

    def qa_request(self) -> CompletionRequest:
        schema = SuiteQA.output_schema()
        return CompletionRequest(
            messages=[
                Message(role="system", content="Reply with a JSON object with fields answer and confidence."),
                Message(role="user", content="What is the capital of France?"),
            ],
            output_schema=schema,
            schema_name="SuiteQA",
            params=self.params,
        )

    # --- tests ------------------------------------------------------------------------------
    @pytest.mark.anyio
    async def test_complete_returns_a_completion(self, provider: BaseProvider) -> None:
        completion = await provider.complete(self.chat_request())
        assert isinstance(completion, Completion)
        assert completion.content, "a chat completion without tools must carry text"
        assert completion.finish_reason in {"stop", "length"}
        assert completion.usage.input_tokens > 0
        assert completion.usage.output_tokens > 0
        assert completion.usage.cost_usd is None or completion.usage.cost_usd >= 0
        assert completion.latency_ms >= 0

    @pytest.mark.anyio
    async def test_structured_output_validates(self, provider: BaseProvider) -> None:
        if not self.supports_structured_output:
            pytest.fail("every provider must honour output_schema (natively or by prompt); set up the fixture")
        completion = await provider.complete(self.qa_request())
        data = completion.parsed
        if data is None:
            data = json.loads(completion.content or "")
        outputs = SuiteQA.validate_outputs(data)
        assert isinstance(outputs["answer"], str)
        assert isinstance(outputs["confidence"], float)

    @pytest.mark.anyio
    async def test_stream_ends_with_the_full_completion(self, provider: BaseProvider) -> None:
        events = [event async for event in provider.stream(self.chat_request())]
        assert events, "stream yielded nothing"
        assert events[-1].type == "done" and events[-1].completion is not None
        assert all(e.type != "done" for e in events[:-1]), "only the last event may be 'done'"
        text = "".join(e.text for e in events if e.type == "text")
        final = events[-1].completion
        if self.supports_streaming:
            assert sum(1 for e in events if e.type == "text") >= 1
        assert text == (final.content or "")
        assert final.usage.output_tokens > 0

    @pytest.mark.anyio
    async def test_forced_tool_call_parses(self, provider: BaseProvider) -> None:
        request = self.chat_request(
            "What's the weather in Paris?", tools=[WEATHER_TOOL], tool_choice=WEATHER_TOOL.name
        )
        if not self.supports_tools:
            with pytest.raises(ProviderError):
                await provider.complete(request)
            return
        completion = await provider.complete(request)
        assert completion.tool_calls, "a forced tool call must be returned"
        call = completion.tool_calls[0]
        assert call.name == "get_weather"
        assert isinstance(call.arguments, dict)
        assert isinstance(call.arguments.get("city"), str)
        assert call.id

    @pytest.mark.anyio
    async def test_embeddings(self, provider: BaseProvider) -> None:
        texts = ["the cat sat on the mat", "stock markets fell today"]
        if not self.supports_embeddings:
            with pytest.raises(ProviderError):
                await provider.embed(texts)
            return
        result = await provider.embed(texts)
        assert len(result.vectors) == 2
        assert result.dimensions > 0
        assert all(len(v) == result.dimensions for v in result.vectors)
        assert all(isinstance(x, float) for x in result.vectors[0])

    def test_sync_complete(self, provider: BaseProvider) -> None:
        completion = provider.complete_sync(self.chat_request())
        assert completion.content

    @pytest.mark.anyio
    async def test_agent_end_to_end(self, provider: BaseProvider) -> None:
        from kaizen_core.agents.base import BaseAgent
        from kaizen_core.config import BaseAgentConfig

        agent = BaseAgent(
            BaseAgentConfig(llm_provider=provider.name, temperature=0.0, max_tokens=96, retry_attempts=2),
            SuiteQA(),
            provider=provider,
        )
        result = await agent.run_async(question="What is the capital of France?")
        assert isinstance(result["answer"], str)
        assert isinstance(result["confidence"], float)
        assert result["_meta"]["usage"]["total_tokens"] > 0
