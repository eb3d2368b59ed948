"""Real inference with the bundled SmolLM2-135M-Instruct (greedy, seeded, small budgets)."""

from __future__ import annotations

import math
from typing import Literal

import anyio
import jsonschema
import pytest

from kaizen_core.providers.types import CompletionRequest, GenerationParams, Message, ToolDefinition
from kaizen_core.signatures import InputField, OutputField, Signature
from kaizen_llamacpp.provider import LlamaCppProvider

pytestmark = pytest.mark.anyio


class FactSignature(Signature):
    """Answer the question and classify it."""

    question: str = InputField(desc="The question")
    answer: str = OutputField(desc="A short answer")
    confidence: float = OutputField(desc="How sure you are, 0.0 to 1.0")
    kind: Literal["fact", "opinion", "math"] = OutputField(desc="What kind of question it is")
    tags: list[str] = OutputField(desc="Keywords")


PROMPTS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "Who wrote Romeo and Juliet?",
    "What is 12 times 12?",
    "Is chocolate better than vanilla?",
    "What gas do plants absorb?",
    "When did the Berlin wall fall?",
    "What is the largest ocean?",
    "What is the square root of 81?",
    "Which planet is called the red planet?",
    "What language is spoken in Brazil?",
    "Who painted the Mona Lisa?",
    "What is the boiling point of water in Celsius?",
    "Is summer the best season?",
    "How many continents are there?",
    "What is the chemical symbol for gold?",
    "What is 7 plus 15?",
    "Which animal is known as the king of the jungle?",
    "What is the tallest mountain on Earth?",
    "What currency is used in Japan?",
]


def _request(question: str, schema: dict, max_tokens: int = 120) -> CompletionRequest:
    return CompletionRequest(
        messages=[Message(role="user", content=question)],
        output_schema=schema,
        params=GenerationParams(max_tokens=max_tokens, seed=1, temperature=0.0),
    )


async def test_typed_signature_is_schema_valid_for_20_of_20_prompts(provider: LlamaCppProvider) -> None:
    schema = FactSignature.output_schema()
    assert len(set(PROMPTS)) == 20
    valid = 0
    failures: list[str] = []
    for question in PROMPTS:
        # the budget covers the longest reply the grammar allows (strings <= 80 chars)
        completion = await provider.complete(_request(question, schema, max_tokens=400))
        try:
            assert completion.parsed is not None, completion.content
            jsonschema.validate(completion.parsed, schema)
            outputs = FactSignature.validate_outputs(completion.parsed)
        except (AssertionError, jsonschema.ValidationError, ValueError) as exc:
            failures.append(f"{question!r}: {exc}")
            continue
        assert isinstance(outputs["answer"], str)
        assert isinstance(outputs["confidence"], float) and math.isfinite(outputs["confidence"])
        assert outputs["kind"] in ("fact", "opinion", "math")
        assert all(isinstance(k, str) for k in outputs["tags"])
        assert completion.usage.input_tokens > 0 and completion.usage.output_tokens > 0
        assert completion.usage.cost_usd == 0.0
        valid += 1
    assert valid == 20, failures


async def test_bounded_confidence_stays_in_range(provider: LlamaCppProvider) -> None:
    schema = {
        "type": "object",
        "properties": {
            "answer": {"type": "string", "maxLength": 60},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "stars": {"type": "integer", "minimum": 1, "maximum": 5},
        },
        "required": ["answer", "confidence", "stars"],
    }
    for question in PROMPTS[:3]:
        completion = await provider.complete(_request(question, schema))
        assert completion.parsed is not None, completion.content
        jsonschema.validate(completion.parsed, schema)


async def test_free_text_answer(provider: LlamaCppProvider) -> None:
    completion = await provider.complete(
        CompletionRequest(
            messages=[Message(role="user", content="What is the capital of France? Answer in one word.")],
            params=GenerationParams(max_tokens=16),
        )
    )
    assert completion.content
    assert completion.parsed is None
    assert completion.finish_reason in ("stop", "length")
    assert completion.model == "SmolLM2-135M-Instruct"
    assert completion.usage.output_tokens <= 16


WEATHER = ToolDefinition(
    name="get_weather",
    description="Current weather for a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"],
    },
)
ADD = ToolDefinition(
    name="add",
    description="Add two integers",
    parameters={"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]},
)


async def test_forced_tool_call_parses_with_valid_arguments(provider: LlamaCppProvider) -> None:
    completion = await provider.complete(
        CompletionRequest(
            messages=[Message(role="user", content="What is the weather in Paris?")],
            tools=[ADD, WEATHER],
            tool_choice="get_weather",
            params=GenerationParams(max_tokens=120),
        )
    )
    assert completion.finish_reason == "tool_calls"
    assert len(completion.tool_calls) == 1
    call = completion.tool_calls[0]
    assert call.name == "get_weather"
    jsonschema.validate(call.arguments, WEATHER.parameters)
    assert call.id.startswith("call_")


async def test_required_tool_choice_calls_one_of_the_offered_tools(provider: LlamaCppProvider) -> None:
    completion = await provider.complete(
        CompletionRequest(
            messages=[Message(role="user", content="Add 2 and 3.")],
            tools=[ADD, WEATHER],
            tool_choice="required",
            params=GenerationParams(max_tokens=120),
        )
    )
    assert completion.tool_calls
    for call in completion.tool_calls:
        tool = {"add": ADD, "get_weather": WEATHER}[call.name]
        jsonschema.validate(call.arguments, tool.parameters)


async def test_tool_result_then_final_answer_round_trip(provider: LlamaCppProvider) -> None:
    """After a tool result the reply is either more calls or a final answer: never invalid."""
    from kaizen_core.providers.types import ToolCall

    completion = await provider.complete(
        CompletionRequest(
            messages=[
                Message(role="user", content="Add 2 and 3."),
                Message(role="assistant", tool_calls=[ToolCall(id="c1", name="add", arguments={"a": 2, "b": 3})]),
                Message(role="tool", tool_call_id="c1", name="add", content="5"),
            ],
            tools=[ADD],
            params=GenerationParams(max_tokens=120),
        )
    )
    assert completion.tool_calls or completion.content
    if not completion.tool_calls:
        assert completion.finish_reason in ("stop", "length")


async def test_streaming_yields_tokens_then_done_with_usage(provider: LlamaCppProvider) -> None:
    request = CompletionRequest(
        messages=[Message(role="user", content="Name three colors.")],
        params=GenerationParams(max_tokens=24),
    )
    texts: list[str] = []
    done = None
    async for event in provider.stream(request):
        assert done is None, "nothing may follow the done event"
        if event.type == "text":
            texts.append(event.text)
        elif event.type == "done":
            done = event.completion
    assert len(texts) >= 2
    assert done is not None
    assert done.content == "".join(texts)
    assert 0 < done.usage.output_tokens <= 24
    assert done.usage.input_tokens > 0
    assert done.usage.cost_usd == 0.0


async def test_streaming_structured_output_ends_parsed(provider: LlamaCppProvider) -> None:
    schema = FactSignature.output_schema()
    events = [event async for event in provider.stream(_request(PROMPTS[0], schema, max_tokens=400))]
    text = "".join(e.text for e in events if e.type == "text")
    done = events[-1].completion
    assert events[-1].type == "done" and done is not None
    assert done.content == text
    assert done.parsed is not None
    jsonschema.validate(done.parsed, schema)


async def test_streamed_forced_tool_call_is_a_tool_call_event(provider: LlamaCppProvider) -> None:
    request = CompletionRequest(
        messages=[Message(role="user", content="Weather in Oslo?")],
        tools=[WEATHER],
        tool_choice="get_weather",
        params=GenerationParams(max_tokens=120),
    )
    events = [event async for event in provider.stream(request)]
    calls = [e.tool_call for e in events if e.type == "tool_call"]
    assert len(calls) == 1 and calls[0] is not None and calls[0].name == "get_weather"
    assert events[-1].completion is not None and events[-1].completion.tool_calls[0].name == "get_weather"


async def test_abandoned_stream_releases_the_model(provider: LlamaCppProvider) -> None:
    request = CompletionRequest(messages=[Message(role="user", content="Count to fifty.")], params=GenerationParams(max_tokens=64))
    stream = provider.stream(request)
    first = await stream.__anext__()
    assert first.type == "text"
    await stream.aclose()
    with anyio.fail_after(120):  # a leaked guard would hang here
        completion = await provider.complete(
            CompletionRequest(messages=[Message(role="user", content="Hi")], params=GenerationParams(max_tokens=4))
        )
    assert completion.usage.output_tokens > 0


async def test_concurrent_calls_share_one_model_and_all_succeed(provider: LlamaCppProvider) -> None:
    other = LlamaCppProvider(n_ctx=2048, temperature=0.0, seed=7)
    schema = {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 40}}, "required": ["answer"]}
    results: list[dict | None] = []

    async def one(p: LlamaCppProvider, question: str) -> None:
        completion = await p.complete(_request(question, schema, max_tokens=40))
        results.append(completion.parsed)

    async with anyio.create_task_group() as tg:
        for i, question in enumerate(PROMPTS[:4]):
            tg.start_soon(one, provider if i % 2 else other, question)
    assert len(results) == 4
    for parsed in results:
        assert parsed is not None
        jsonschema.validate(parsed, schema)
    from kaizen_llamacpp.models import cached_model

    key = (str(provider.model_path), 2048, False)
    assert cached_model(key) is not None


async def test_event_loop_keeps_running_during_inference(
    provider: LlamaCppProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from kaizen_llamacpp.models import cached_model

    await provider.complete(CompletionRequest(messages=[Message(role="user", content="Hi")], params=GenerationParams(max_tokens=1)))
    shared = cached_model((str(provider.model_path), provider.n_ctx, False))
    assert shared is not None
    real_inference = shared.llama.create_chat_completion
    ticked = threading.Event()
    loop_ran_during_inference: list[bool] = []

    def inference(**kwargs: object) -> object:
        ticked.clear()
        result = real_inference(**kwargs)
        # Still inside the model call: the event loop must tick meanwhile. Waiting for a tick
        # (not counting ticks over the inference's duration) makes this hold at any speed;
        # 30 s only bounds the wait when the loop is blocked.
        loop_ran_during_inference.append(ticked.wait(timeout=30))
        return result

    monkeypatch.setattr(shared.llama, "create_chat_completion", inference)
    finished = anyio.Event()

    async def ticker() -> None:
        while not finished.is_set():
            ticked.set()
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        completion = await provider.complete(
            CompletionRequest(messages=[Message(role="user", content="Tell me a story.")], params=GenerationParams(max_tokens=48))
        )
        finished.set()
    assert loop_ran_during_inference == [True]
    assert completion.usage.output_tokens > 0


async def test_embeddings_have_fixed_dimension_and_are_normalised(provider: LlamaCppProvider) -> None:
    result = await provider.embed(["a cat sat on the mat", "quantum chromodynamics", "a dog sat on the rug"])
    assert len(result.vectors) == 3
    dims = {len(v) for v in result.vectors}
    assert dims == {result.dimensions} and result.dimensions > 100
    for vector in result.vectors:
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-3)
    again = await provider.embed(["quantum chromodynamics"])
    assert again.dimensions == result.dimensions
    assert again.vectors[0] == pytest.approx(result.vectors[1], abs=1e-4)
    assert result.usage.input_tokens > 0 and result.usage.cost_usd == 0.0


def test_sync_wrappers(provider: LlamaCppProvider) -> None:
    completion = provider.complete_sync(
        CompletionRequest(messages=[Message(role="user", content="Say hi")], params=GenerationParams(max_tokens=8))
    )
    assert completion.content
    assert provider.embed_sync(["hello"]).dimensions > 0


async def test_sampling_options_reach_llama_cpp(provider: LlamaCppProvider) -> None:
    """provider_config's top_k=1 keeps only the likeliest token: sampling at temperature 1.0 gives the greedy reply."""
    question = [Message(role="user", content="Write a short poem about the sea.")]
    greedy = await provider.complete(CompletionRequest(messages=question, params=GenerationParams(max_tokens=24)))
    sampled = CompletionRequest(messages=question, params=GenerationParams(max_tokens=24, temperature=1.0, seed=7))
    top1 = LlamaCppProvider(top_k=1, top_p=0.9, frequency_penalty=0.0, presence_penalty=0.0)
    assert (await top1.complete(sampled)).content == greedy.content
    assert (await provider.complete(sampled)).content != greedy.content  # without top_k the sampling differs
