"""Run by tests/test_interrupts_agent.py in a subprocess: an agent stuck in a slow mock
provider, with file:// checkpoints, that the test stops with a real SIGINT or SIGTERM.

Usage: python interrupt_agent_script.py CHECKPOINT_DIR GRACE_SECONDS

Prints ``READY`` once the provider call is running (signal handlers installed), then on
interrupt one JSON line with the checkpoint id, and exits with exit_code_for(reason).
"""

from __future__ import annotations

import json
import sys

from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import BaseAgentConfig
from kaizen_core.errors import AgentInterrupted
from kaizen_core.interrupts import exit_code_for
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.types import Completion, CompletionRequest


class AnnouncingMock(MockProvider):
    """The mock provider, announcing on stdout when a call starts."""

    async def complete(self, request: CompletionRequest) -> Completion:
        print("READY", flush=True)
        return await super().complete(request)


def main() -> int:
    checkpoint_dir, grace = sys.argv[1], float(sys.argv[2])
    config = BaseAgentConfig(
        llm_provider="mock",
        checkpoint_storage=f"file://{checkpoint_dir}",
        graceful_shutdown_timeout=grace,
        timeout=300,
    )
    provider = AnnouncingMock(script=[{"delay": 60, "answer": "too late"}])
    agent = BaseAgent(config, "question -> answer", provider=provider, agent_id="signal-agent")
    try:
        result = agent.run(question="What takes a minute?")
    except AgentInterrupted as exc:
        print(
            json.dumps(
                {"checkpoint_id": exc.reason.metadata.get("checkpoint_id"), "signal": exc.reason.metadata.get("signal")}
            ),
            flush=True,
        )
        code = exit_code_for(exc.reason)
        return 1 if code is None else code
    print(json.dumps({"result": result["answer"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
