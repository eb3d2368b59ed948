"""Quickstart: a typed QA agent, end to end, offline.

Runs on the bundled local model (kaizen-llamacpp: SmolLM2-135M-Instruct, no key, no
network) when that plugin is installed -- `make demo` installs it. Without it, the
demo says so and falls back to the deterministic mock provider.
"""

from __future__ import annotations

import json
import sys

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.errors import KaizenError
from kaizen_core.plugins import get_registry


class QASignature(Signature):
    """Answer the question in a few words."""

    question: str = InputField(desc="The question to answer")
    answer: str = OutputField(desc="A short answer")
    confidence: float = OutputField(desc="How sure you are, from 0.0 to 1.0")


def main() -> int:
    provider = "llamacpp" if get_registry().find("provider", "llamacpp") else "mock"
    if provider == "mock":
        print("kaizen-llamacpp is not installed: running on the MOCK provider (pip install kaizen-llamacpp)")
    else:
        print("Running on the bundled local model (kaizen-llamacpp, SmolLM2-135M-Instruct), offline")
    agent = BaseAgent(
        BaseAgentConfig(llm_provider=provider, temperature=0.0, max_tokens=96, seed=1), QASignature()
    )
    try:
        result = agent.run(question="What is the capital of France?")
    except KaizenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    meta = result.pop("_meta")
    print(json.dumps(result, indent=2))
    print(f"types: answer={type(result['answer']).__name__}, confidence={type(result['confidence']).__name__}")
    print(
        f"model={meta['model']} tokens={meta['usage']['total_tokens']} "
        f"cost=${meta['cost']:.4f} latency={meta['latency_ms']:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
