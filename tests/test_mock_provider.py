"""The built-in mock provider passes the ProviderSuite and replays scripts by turn."""

from __future__ import annotations

import json

import pytest

from kaizen_core.errors import ConfigError, ProviderError
from kaizen_core.providers import CompletionRequest, Message
from kaizen_core.providers.mock import MockProvider, example_from_schema
from kaizen_testing import ProviderSuite


class TestMockProviderSuite(ProviderSuite):
    supports_embeddings = True

    @pytest.fixture
    def provider(self) -> MockProvider:
        return MockProvider()


def _request(*roles: str) -> CompletionRequest:
    return CompletionRequest(messages=[Message(role=r, content="x") for r in roles])  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_script_reply_chosen_by_assistant_turns_not_by_call_count() -> None:
    provider = MockProvider(script=["first", "second", "third"])
    assert (await provider.complete(_request("user"))).content == "first"
    # The same conversation asked again gets the same reply: no hidden counter.
    assert (await provider.complete(_request("user"))).content == "first"
    # A conversation resumed with two assistant turns continues at the third reply.
    resumed = MockProvider(script=["first", "second", "third"])
    assert (await resumed.complete(_request("user", "assistant", "user", "assistant", "user"))).content == "third"


@pytest.mark.anyio
async def test_script_tool_calls_and_output_dicts() -> None:
    provider = MockProvider(
        script=[{"tool_calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}]}, {"answer": "ok"}]
    )
    first = await provider.complete(_request("user"))
    assert first.finish_reason == "tool_calls"
    assert first.tool_calls[0].name == "read_file"
    assert first.tool_calls[0].arguments == {"path": "a.txt"}
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    second = await provider.complete(
        CompletionRequest(
            messages=[Message(role="user", content="q"), Message(role="assistant", content="t")], output_schema=schema
        )
    )
    assert second.parsed == {"answer": "ok"}


@pytest.mark.anyio
async def test_cost_per_token_and_usage() -> None:
    provider = MockProvider(script=["abcdefgh"], cost_per_input_token=0.001, cost_per_output_token=0.002)
    completion = await provider.complete(CompletionRequest(messages=[Message(role="user", content="abcd" * 10)]))
    assert completion.usage.input_tokens == 10
    assert completion.usage.output_tokens == 2
    assert completion.usage.cost_usd == pytest.approx(10 * 0.001 + 2 * 0.002)


@pytest.mark.anyio
async def test_scripted_error_raises_provider_error() -> None:
    provider = MockProvider(script=[{"error": {"status": 503, "message": "overloaded"}}])
    with pytest.raises(ProviderError) as info:
        await provider.complete(_request("user"))
    assert info.value.code == "AGENT_004"
    assert info.value.status == 503


def test_unknown_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        MockProvider(scriptt=[])
    assert "scriptt" in str(info.value)


def test_example_from_schema_covers_refs_enums_and_bounds() -> None:
    schema = {
        "$defs": {"Color": {"enum": ["red", "blue"], "type": "string"}},
        "type": "object",
        "properties": {
            "color": {"$ref": "#/$defs/Color"},
            "n": {"type": "integer", "minimum": 3},
            "x": {"type": "number", "minimum": 2, "maximum": 4},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
        },
    }
    value = example_from_schema(schema)
    assert value["color"] == "red"
    assert value["n"] == 3
    assert 2 <= value["x"] <= 4
    assert len(value["tags"]) == 2
    assert value["maybe"] is True


@pytest.mark.anyio
async def test_embeddings_are_similar_for_shared_words() -> None:
    provider = MockProvider()
    result = await provider.embed(["red apple pie", "red apple tart", "quantum physics"])
    a, b, c = result.vectors

    def dot(u: list[float], v: list[float]) -> float:
        return sum(x * y for x, y in zip(u, v, strict=True))

    assert dot(a, b) > dot(a, c)


def test_sampling_options_are_request_defaults_a_request_overrides() -> None:
    """top_p & co. in provider_config fill the request params the request leaves unset; bad values are KAIZEN_002."""
    from kaizen_core.errors import ConfigError
    from kaizen_core.providers import CompletionRequest, GenerationParams, Message
    from kaizen_core.providers.mock import MockProvider

    provider = MockProvider(top_p=0.9, top_k=5, frequency_penalty=0.5)
    ask = [Message(role="user", content="hi")]
    provider.complete_sync(CompletionRequest(messages=ask))
    provider.complete_sync(CompletionRequest(messages=ask, params=GenerationParams(top_p=0.2, presence_penalty=-1)))
    first, second = (r.params for r in provider.requests)
    assert (first.top_p, first.top_k, first.frequency_penalty, first.presence_penalty) == (0.9, 5, 0.5, None)
    assert (second.top_p, second.top_k, second.frequency_penalty, second.presence_penalty) == (0.2, 5, 0.5, -1)
    for bad in ({"top_p": -0.1}, {"top_k": 0}, {"frequency_penalty": 2.5}, {"presence_penalty": "high"}):
        with pytest.raises(ConfigError, match=next(iter(bad))) as info:
            MockProvider(**bad)
        assert info.value.code == "KAIZEN_002"


@pytest.mark.anyio
async def test_the_schema_answer_is_built_per_schema_and_no_two_replies_share_objects() -> None:
    provider = MockProvider()
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"type": "string"}}, "n": {"type": "integer"}},
    }
    request = CompletionRequest(messages=[Message(role="user", content="hi")], output_schema=schema)
    first, second = await provider.complete(request), await provider.complete(request)
    assert first.parsed == second.parsed == {"tags": ["mock tags"], "n": 0}
    assert first.content == second.content == json.dumps(first.parsed)
    assert first.parsed is not None and second.parsed is not None
    first.parsed["tags"].append("changed by the caller")
    assert second.parsed["tags"] == ["mock tags"]
    assert (await provider.complete(request)).parsed == {"tags": ["mock tags"], "n": 0}
    schema["properties"]["n"] = {"type": "integer", "minimum": 3}  # the same dict, changed in place
    changed = CompletionRequest(messages=[Message(role="user", content="hi")], output_schema=schema)
    assert (await provider.complete(changed)).parsed == {"tags": ["mock tags"], "n": 3}
