"""A parallel fan-out: six reviewers on one text, three at a time, one too slow.

    python examples/orchestration/parallel_fanout.py

Every reviewer gets the same inputs and nothing else (no reviewer sees another's output).
``max_workers=3`` caps how many run at once; ``timeout`` stops a reviewer that takes too
long (gracefully: it would leave its checkpoint) and reports it in ``timed_out`` while
the others' results are kept. The aggregator sees every successful output. The mock
provider's ``delay`` stands in for model latency: six 0.2 s reviews, three at a time,
take about 0.4 s instead of 1.2 s.
"""

from __future__ import annotations

import time

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.orchestration import Pipeline
from kaizen_core.providers.mock import MockProvider


class Review(Signature):
    """Review the text from your angle."""

    text: str = InputField(description="The text to review")
    verdict: str = OutputField(description="ok or needs work")
    note: str = OutputField(description="One remark")


ANGLES = ["grammar", "tone", "facts", "structure", "legal", "accessibility"]


def reviewer(angle: str, delay: float) -> BaseAgent:
    provider = MockProvider(script=[{"verdict": "ok", "note": f"{angle} looks fine"}], delay=delay)
    return BaseAgent(BaseAgentConfig(llm_provider="mock"), Review(), provider=provider, agent_id=f"{angle}_reviewer")


def count_ok(outputs: list[dict[str, str]]) -> str:
    return f"{sum(o['verdict'] == 'ok' for o in outputs)} of {len(outputs)} reviews ok"


def main() -> None:
    reviewers = [reviewer(angle, 0.2) for angle in ANGLES[:-1]] + [reviewer(ANGLES[-1], 30.0)]
    fanout = Pipeline.parallel(agents=reviewers, aggregator=count_ok, max_workers=3, timeout=1.0)
    started = time.perf_counter()
    result = fanout.run(text="Our new product launches on Monday.")
    elapsed = time.perf_counter() - started
    for entry in result["results"]:
        detail = entry["outputs"]["note"] if entry["status"] == "success" else entry["error"]["message"]
        print(f"    {entry['agent']:<24} {entry['status']:<8} {detail}")
    print(f"status: {result['status']}; timed out: {result['timed_out']}; {result['aggregated']}")
    print(f"wall time {elapsed:.2f} s for 5 reviews of 0.2 s, 3 at a time, plus one stopped at its 1 s timeout")


if __name__ == "__main__":
    main()
