"""Run by tests in a subprocess: a script that just runs an agent, the way a user writes
one, and is stopped by a real SIGINT or SIGTERM from the test.

Usage: python interrupt_agent_script.py MODE CHECKPOINT_DIR GRACE_SECONDS

MODE is ``async`` (``asyncio.run(agent.run_autonomous(...))``), ``sync``
(``agent.run_autonomous_sync(...)``, on the background loop) or ``base``
(``BaseAgent.run(...)`` stuck in the provider). The agent waits in its tool (or
provider) after printing ``READY`` on stdout; the script catches nothing, so its exit
code is whatever an uncaught interrupt gives (130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import asyncio
import sys

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import AutonomousConfig, BaseAgentConfig
from kaizen_core.providers.mock import MockProvider, tool_calls_reply
from kaizen_core.providers.types import Completion, CompletionRequest
from kaizen_core.tools import tool

AGENT_ID = "signal-agent"
TASK = "Wait for the signal"


def ready() -> None:
    print("READY", flush=True)


@tool
async def wait_for_signal() -> str:
    """Wait until the run is interrupted."""
    ready()
    await asyncio.Event().wait()  # never set: only an interrupt ends this
    return "unreachable"


class WaitingMock(MockProvider):
    """The mock provider, stuck in its call after announcing it."""

    async def complete(self, request: CompletionRequest) -> Completion:
        ready()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def main() -> None:
    mode, checkpoint_dir, grace = sys.argv[1], sys.argv[2], float(sys.argv[3])
    storage = f"file://{checkpoint_dir}"
    if mode == "base":
        config = BaseAgentConfig(
            llm_provider="mock", checkpoint_storage=storage, graceful_shutdown_timeout=grace, timeout=300
        )
        agent = BaseAgent(config, "question -> answer", provider=WaitingMock(), agent_id=AGENT_ID)
        print(agent.run(question=TASK))
        return
    autonomous = AutonomousConfig(llm_provider="mock", checkpoint_storage=storage, graceful_shutdown_timeout=grace)
    provider = MockProvider(script=[tool_calls_reply(("wait_for_signal", {}))])
    agent = BaseAutonomousAgent(
        autonomous, "task -> summary", provider=provider, tools=[wait_for_signal], agent_id=AGENT_ID
    )
    if mode == "async":
        print(asyncio.run(agent.run_autonomous(TASK)))
    else:
        print(agent.run_autonomous_sync(TASK))


if __name__ == "__main__":
    main()
