"""kaizen-openai against a REAL OpenAI-compatible server: llama-cpp-python serving the bundled SmolLM2.

Every exchange passes openai_sdk.OpenAIWire: what the plugin sends a compatible server and what
llama-cpp-python answers are both checked against the openai SDK's types.
"""

from __future__ import annotations

from typing import Any

import pytest
from openai_sdk import OpenAIWire

from kaizen_core.errors import ProviderError
from kaizen_core.providers import CompletionRequest, GenerationParams, Message
from kaizen_openai.provider import OpenAIProvider
from kaizen_testing.provider_suite import ProviderSuite

KEY = "sk-local-NOTREALBUTSECRET123"
PARAMS = GenerationParams(temperature=0.0, max_tokens=48, seed=1)
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


@pytest.fixture
def local(llama_server: Any, wire: OpenAIWire) -> OpenAIProvider:
    return OpenAIProvider(
        llama_server.model, api_key=KEY, base_url=llama_server.base_url, embedding_model=llama_server.embedding_model,
        transport=wire,
    )


@pytest.mark.anyio
async def test_json_schema_rejected_then_json_object_with_schema(local: OpenAIProvider) -> None:
    request = CompletionRequest(messages=[Message(role="user", content="Capital of France?")], output_schema=SCHEMA, params=PARAMS)
    completion = await local.complete(request)
    assert isinstance(completion.parsed, dict) and isinstance(completion.parsed.get("answer"), str)
    # llama-cpp-python refuses json_schema with a 500: no capability answer, so nothing is remembered
    assert local.structured_mode_for() == "json_schema"


@pytest.mark.anyio
async def test_stream_tokens_and_usage(local: OpenAIProvider) -> None:
    events = [e async for e in local.stream(CompletionRequest(messages=[Message(role="user", content="Say hi")], params=PARAMS))]
    texts = [e.text for e in events if e.type == "text"]
    assert len(texts) > 1 and events[-1].completion is not None
    assert events[-1].completion.content == "".join(texts) and events[-1].completion.usage.output_tokens > 0


@pytest.mark.anyio
async def test_stopped_server_is_unreachable_agent_004(llama_server: Any) -> None:
    provider = OpenAIProvider("m", api_key=KEY, base_url="http://127.0.0.1:1/v1", max_retries=0)
    with pytest.raises(ProviderError) as info:
        await provider.complete(CompletionRequest(messages=[Message(role="user", content="x")]))
    assert "unreachable" in str(info.value) and KEY not in str(info.value)


class TestOpenAIProviderOnLlamaServer(ProviderSuite):
    """The conformance suite against the real llama.cpp OpenAI-compatible server."""

    supports_embeddings = True

    @pytest.fixture
    def provider(self, llama_server: Any, wire: OpenAIWire) -> OpenAIProvider:
        return OpenAIProvider(
            llama_server.model, api_key=KEY, base_url=llama_server.base_url, embedding_model=llama_server.embedding_model,
            transport=wire,
        )

