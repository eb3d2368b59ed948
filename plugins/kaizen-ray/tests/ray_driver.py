"""Driver process for the Ctrl+C test: a parallel pipeline whose children wait on the cluster.

usage: python ray_driver.py <ray address> <workdir> <children>
Prints one JSON line (the interrupted children and their checkpoints' statuses) and lets
the AgentInterrupted escape, so the process exits the way an interrupted program does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ray_support import slow_agent

from kaizen_core._sync import run_sync
from kaizen_core.errors import AgentInterrupted
from kaizen_core.orchestration import Pipeline
from kaizen_core.state import StateManager
from kaizen_ray.executor import RayExecutor

address, workdir, children = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
here = str(Path(__file__).resolve().parent)
pool = RayExecutor(address, actors=2, runtime_env={"env_vars": {"PYTHONPATH": here}})
agents = [slow_agent(workdir, f"slow-{i}") for i in range(children)]
pipeline = Pipeline.parallel(agents, max_workers=children, timeout=None, executor=pool)


async def statuses(ids: list[str]) -> dict[str, str]:
    manager = StateManager(f"file://{workdir / 'ckpt'}")
    return {i: (await manager.load_checkpoint(i)).status for i in ids}


try:
    pipeline.run(task="wait")
except AgentInterrupted as exc:
    entries = (exc.result or {}).get("_meta", {}).get("children", [])
    ids = [c.get("checkpoint_id") for c in entries if c.get("checkpoint_id")]
    print(json.dumps({"error": exc.code, "children": entries, "checkpoints": run_sync(statuses, ids)}), flush=True)
    raise
