"""Child process of tests/test_orchestration_crash.py: pipelines the test kills or interrupts.

usage: python orchestration_crash_child.py <mode> <workdir>
  run     a sequential pipeline of a0, a1, a2 (checkpointed); a2's model call prints
          "READY a2" and hangs: the test SIGKILLs the process then
  resume  resume that pipeline from its latest checkpoint; prints the result as JSON
  fanout  a parallel pipeline of three children whose model calls each print "READY <id>"
          and hang; the test sends SIGINT once all three are in flight; prints the
          interrupted children as JSON, then lets the AgentInterrupted end the process
Every model call appends the agent id to <workdir>/calls.log first.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from kaizen_core import BaseAgent
from kaizen_core.errors import AgentInterrupted
from kaizen_core.orchestration import Pipeline
from kaizen_core.providers.mock import MockProvider

mode, workdir = sys.argv[1], Path(sys.argv[2])
store = f"file://{workdir}/ckpt"


class LoggedProvider(MockProvider):
    def __init__(self, agent_id: str, hang: bool) -> None:
        super().__init__(script=[{"answer": f"answer of {agent_id}"}])
        self.agent_id, self.hang = agent_id, hang

    async def complete(self, request):  # type: ignore[no-untyped-def]
        with open(workdir / "calls.log", "a") as log:
            log.write(self.agent_id + "\n")
        if self.hang:
            print(f"READY {self.agent_id}", flush=True)
            await asyncio.Event().wait()
        return await super().complete(request)


def agent(agent_id: str, hang: bool = False) -> BaseAgent:
    provider = LoggedProvider(agent_id, hang)
    return BaseAgent({"llm_provider": "mock", "checkpoint_storage": store}, "task -> answer", provider=provider, agent_id=agent_id)


if mode in ("run", "resume"):
    pipeline = Pipeline.sequential([agent("a0"), agent("a1"), agent("a2", hang=mode == "run")], name="crashy", checkpoint_storage=store)
    if mode == "run":
        pipeline.run(task="three steps")
    else:
        print(json.dumps(pipeline.resume_from_latest_sync()), flush=True)
elif mode == "fanout":
    pipeline = Pipeline.parallel([agent(f"p{i}", hang=True) for i in range(3)], name="fanout", checkpoint_storage=store, timeout=None)
    try:
        pipeline.run(task="fan out")
    except AgentInterrupted as exc:
        children = exc.result["_meta"]["children"] if exc.result else []
        print(json.dumps({"reason": exc.reason.model_dump(mode="json") if exc.reason else None, "children": children}), flush=True)
        raise
