"""Framework overhead of kaizen-llamacpp over calling llama_cpp directly.

Same model instance, same messages, same GBNF grammar, same sampling (greedy, seed):
the only difference is the Kaizen provider path (request planning, worker thread,
model guard, parsing). The KV cache is reset before every call so neither side
benefits from the other's prompt prefix. Prints tokens/s, time to first token and
the ratios kaizen/direct. Run: python benchmarks/bench_llamacpp.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from kaizen_core.providers.types import CompletionRequest, GenerationParams, Message
from kaizen_llamacpp.models import load_model
from kaizen_llamacpp.provider import LlamaCppProvider

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "description": "A short answer"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "keywords": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["answer", "confidence", "keywords"],
}
QUESTIONS = [
    "What is the capital of France?",
    "Who wrote Hamlet?",
    "What is the largest planet?",
    "How many days are in a leap year?",
]
MAX_TOKENS = 96


def _request(question: str) -> CompletionRequest:
    return CompletionRequest(
        messages=[Message(role="user", content=question)],
        output_schema=SCHEMA,
        params=GenerationParams(max_tokens=MAX_TOKENS, temperature=0.0, seed=1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1, help="passes over the questions (more = less noise)")
    args = parser.parse_args()

    provider = LlamaCppProvider(temperature=0.0, seed=1, max_tokens=MAX_TOKENS)
    shared = load_model(provider.model_path, n_ctx=provider.n_ctx, embedding=False, n_threads=provider.n_threads)
    llama = shared.llama
    grammar = provider._plan(_request(QUESTIONS[0])).grammar  # the provider's own grammar object for SCHEMA

    def direct_kwargs(question: str) -> dict[str, Any]:
        plan = provider._plan(_request(question))  # identical messages (system instructions included)
        return {
            "messages": plan.messages,
            "grammar": grammar,
            "temperature": 0.0,
            "seed": 1,
            "max_tokens": MAX_TOKENS,
            "repeat_penalty": provider.repeat_penalty,
        }

    def run_direct(question: str) -> tuple[int, float]:
        llama.reset()
        start = time.perf_counter()
        response = llama.create_chat_completion(**direct_kwargs(question))
        return response["usage"]["completion_tokens"], time.perf_counter() - start

    async def run_kaizen(question: str) -> tuple[int, float]:
        llama.reset()
        start = time.perf_counter()
        completion = await provider.complete(_request(question))
        if completion.parsed is None:
            raise SystemExit(f"kaizen produced unparsable output: {completion.content!r}")
        return completion.usage.output_tokens, time.perf_counter() - start

    def ttft_direct(question: str) -> float:
        llama.reset()
        start = time.perf_counter()
        chunks = llama.create_chat_completion(stream=True, **direct_kwargs(question))
        elapsed = 0.0
        for chunk in chunks:
            if chunk["choices"][0]["delta"].get("content"):
                elapsed = time.perf_counter() - start
                break
        chunks.close()  # stop generating, as the provider does when its stream is closed
        return elapsed

    async def ttft_kaizen(question: str) -> float:
        llama.reset()
        start = time.perf_counter()
        elapsed = 0.0
        stream = provider.stream(_request(question))
        async for event in stream:
            if event.type == "text":
                elapsed = time.perf_counter() - start
                break
        await stream.aclose()  # type: ignore[attr-defined]
        return elapsed

    async def bench() -> None:
        await run_kaizen(QUESTIONS[0])  # warm-up: grammar cache, thread pool
        run_direct(QUESTIONS[0])
        tokens = {"direct": 0, "kaizen": 0}
        seconds = {"direct": 0.0, "kaizen": 0.0}
        ttft: dict[str, list[float]] = {"direct": [], "kaizen": []}
        for round_no in range(args.rounds):
            for i, question in enumerate(QUESTIONS):
                order = ["direct", "kaizen"] if (i + round_no) % 2 == 0 else ["kaizen", "direct"]
                for side in order:
                    n, s = run_direct(question) if side == "direct" else await run_kaizen(question)
                    tokens[side] += n
                    seconds[side] += s
                    ttft[side].append(ttft_direct(question) if side == "direct" else await ttft_kaizen(question))
        rate = {side: tokens[side] / seconds[side] for side in tokens}
        first = {side: statistics.median(values) * 1000 for side, values in ttft.items()}
        calls = args.rounds * len(QUESTIONS)
        print(f"model: {provider.model_path.name}  calls per side: {calls}  max_tokens: {MAX_TOKENS}  schema-constrained")
        print(f"{'':8}{'tokens':>8}{'seconds':>10}{'tokens/s':>10}{'TTFT ms (median)':>18}")
        for side in ("direct", "kaizen"):
            print(f"{side:8}{tokens[side]:>8}{seconds[side]:>10.2f}{rate[side]:>10.1f}{first[side]:>18.1f}")
        print(f"throughput ratio kaizen/direct: {rate['kaizen'] / rate['direct']:.3f}  (1.0 = no overhead)")
        print(f"TTFT ratio kaizen/direct:       {first['kaizen'] / first['direct']:.3f}")

    asyncio.run(bench())


if __name__ == "__main__":
    main()
