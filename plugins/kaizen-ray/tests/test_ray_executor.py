"""The ray executor on a real two-node cluster, the way a user runs it.

No assertion depends on machine speed: runs coordinate through files and events
(``ray_support.gate``), never through sleeps or measured times.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ray_support import gated_agent, qa_agent

from kaizen_core.errors import BudgetExceededError
from kaizen_core.hooks import HookEvent
from kaizen_core.hooks.context import hook_metadata
from kaizen_core.orchestration import Pipeline, load_pipeline
from kaizen_core.permissions import ExecutionContext
from kaizen_core.providers.types import Completion
from kaizen_testing.servers._process import wait_until

HERE = Path(__file__).resolve().parent
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def outputs(result: dict[str, Any]) -> dict[str, Any]:
    """A pipeline result without what differs between any two runs (run ids, latencies)."""
    return {k: v for k, v in result.items() if k != "_meta"}


def test_same_pipelines_give_the_same_results_on_local_and_ray(executor: Any) -> None:
    agents = [qa_agent(f"qa-{i}", answer=f"answer {i % 3}") for i in range(6)]
    seen: list[Any] = []

    async def remember(context: Any) -> None:
        seen.append(context)

    watched = agents[0]
    watched.hook_manager.register(HookEvent.POST_MODEL_CALL, remember)
    watched.hook_manager.register(HookEvent.POST_AGENT_LOOP, remember)

    local = Pipeline.parallel(agents, max_workers=6).run(task="Which answer?")
    local_votes = Pipeline.consensus(agents, threshold=0.3).run(task="Which answer?")
    seen.clear()
    calls_before = len(watched.provider.requests)
    with hook_metadata(traceparent=TRACEPARENT):
        remote = Pipeline.parallel(agents, max_workers=6, executor=executor).run(task="Which answer?")
    remote_votes = Pipeline.consensus(agents, threshold=0.3, executor=executor).run(task="Which answer?")

    assert outputs(remote) == outputs(local)
    assert remote["status"] == "success" and remote["succeeded"] == 6
    assert outputs(remote_votes) == outputs(local_votes)
    assert remote_votes["final_decision"] == local_votes["final_decision"]
    # the children ran on the workers: the driver's providers were never called
    assert len(watched.provider.requests) == calls_before
    # ...and their events reached the agent's hooks here, with the parent run and the trace context
    parallel_events = [c for c in seen if c.metadata.get("pipeline") == remote["_meta"]["agent_id"]]
    assert [c.event for c in parallel_events] == [HookEvent.POST_MODEL_CALL, HookEvent.POST_AGENT_LOOP]
    for context in parallel_events:
        assert context.metadata["parent_run_id"] == remote["_meta"]["run_id"]
        assert context.metadata["pipeline_step"] == "agent-0"
        assert context.metadata["traceparent"] == TRACEPARENT
        assert context.metadata["worker_pid"] != os.getpid()
        assert context.metadata["remote_timestamp"] <= context.timestamp
    assert parallel_events[1].metadata["status"] == "success"
    # the private objects a tracer reads are the ones a local run gives it (the Completion, not its JSON)
    completion = parallel_events[0].metadata["_completion"]
    assert isinstance(completion, Completion) and completion.parsed == {"answer": "answer 0", "confidence": 0.9}


def test_ensemble_and_supervisor_worker_give_the_same_results_on_local_and_ray(executor: Any) -> None:
    workers = [qa_agent(f"fan-{i}", answer=f"part {i}") for i in range(3)]
    synthesizer = qa_agent("fan-synth", answer="all parts")
    built = {
        "ensemble": lambda **ex: Pipeline.ensemble(workers, synthesizer, discovery_mode="all", **ex),
        "supervisor_worker": lambda **ex: Pipeline.supervisor_worker(None, workers, selection_mode="round_robin", **ex),
    }
    for pattern, make in built.items():
        local = make().run(task="Split and answer")
        calls = [len(a.provider.requests) for a in (*workers, synthesizer)]
        remote = make(executor=executor).run(task="Split and answer")
        assert outputs(remote) == outputs(local), pattern
        # every child ran on a worker: no provider here was called again
        assert [len(a.provider.requests) for a in (*workers, synthesizer)] == calls, pattern


def test_the_trace_context_of_the_caller_reaches_a_remote_childs_events(executor: Any) -> None:
    # A tracing plugin (kaizen-otel) registers a propagator; each child carries what it writes.
    from kaizen_core.tracecontext import register_propagator, unregister_propagator

    def propagate(carrier: Any) -> None:
        carrier["traceparent"] = TRACEPARENT

    agent = qa_agent("traced", answer="t")
    seen: list[Any] = []

    async def remember(context: Any) -> None:
        seen.append(context)

    agent.hook_manager.register(HookEvent.PRE_AGENT_LOOP, remember)
    register_propagator(propagate)
    try:
        Pipeline.parallel([agent], executor=executor).run(task="Traced?")
    finally:
        unregister_propagator(propagate)
    [context] = seen
    assert context.metadata["traceparent"] == TRACEPARENT
    assert context.metadata["worker_pid"] != os.getpid()  # the event happened on a worker


def test_backpressure_sends_no_more_children_than_the_pool_runs(tmp_path: Path, ray_address: str) -> None:
    import threading

    from kaizen_core._sync import run_sync
    from kaizen_ray.executor import RayExecutor

    (tmp_path / "markers").mkdir()
    agent = gated_agent(tmp_path, "pressed")
    pool = RayExecutor(ray_address, actors=1, max_concurrency=2)
    count = 5
    box: dict[str, Any] = {}
    batch = threading.Thread(
        target=lambda: box.setdefault("results", agent.run_many([{"task": f"t{i}"} for i in range(count)], executor=pool))
    )
    batch.start()
    try:
        # two runs hold the pool's two slots at the gate: no third can have been sent before one ends
        wait_until(lambda: len(list((tmp_path / "markers").iterdir())) == 2, what="two runs at the gate", timeout=300)
        [stats] = run_sync(pool.stats)
        assert (stats["started"], stats["in_flight"]) == (2, 2)
    finally:
        (tmp_path / "release").write_text("go")
        batch.join()
        run_sync(pool.aclose)
    assert [r["summary"] for r in box["results"]] == ["done"] * count
    assert sorted((tmp_path / "effects.txt").read_text().split(), key=int) == [str(i) for i in range(count)]


def test_a_toml_pipeline_moves_to_ray_by_one_line(tmp_path: Path, ray_address: str) -> None:
    text = """
[pipeline]
pattern = "parallel"
name = "fanout"
executor = "local"
max_workers = 4

[[pipeline.agents]]
id = "first"
signature = "question: str -> answer: str"
llm_provider = "mock"
provider_config = { script = [{ answer = "one" }] }

[[pipeline.agents]]
id = "second"
signature = "question: str -> answer: str"
llm_provider = "mock"
provider_config = { script = [{ answer = "two" }] }
"""
    path = tmp_path / "pipeline.toml"
    path.write_text(text, encoding="utf-8")
    local = load_pipeline(path)
    path.write_text(text.replace('executor = "local"', f'executor = "ray://{ray_address}?actors=1"'), encoding="utf-8")
    remote = load_pipeline(path)

    assert local.executor.name == "local" and remote.executor.name == "ray"
    local_result, remote_result = local.run(question="Count?"), remote.run(question="Count?")
    assert outputs(remote_result) == outputs(local_result)
    assert [r["outputs"]["answer"] for r in remote_result["results"]] == ["one", "two"]
    remote.close()


def test_a_shared_budget_holds_across_20_remote_children(executor: Any) -> None:
    budget = ExecutionContext(call_limit=5)
    agent = qa_agent("budgeted", execution_context=budget)
    results = agent.run_many([{"question": f"q{i}"} for i in range(20)], executor=executor, return_exceptions=True)

    succeeded = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    assert len(results) == 20
    assert len(succeeded) == 5 and len(refused) == 15
    assert all(e.code == "EXEC_006" for e in refused)
    # the caller's context knows what the remote children spent
    assert budget.calls_made == 5


def test_a_killed_worker_loses_no_input_and_repeats_no_side_effect(tmp_path: Path, ray_address: str) -> None:
    from kaizen_core._sync import run_sync
    from kaizen_ray.executor import RayExecutor

    (tmp_path / "markers").mkdir()
    agent = gated_agent(tmp_path)
    pool = RayExecutor(ray_address, actors=2, max_concurrency=10)
    count = 8
    try:
        import threading

        box: dict[str, Any] = {}
        batch = threading.Thread(
            target=lambda: box.setdefault(
                "results", agent.run_many([{"task": f"item {i}"} for i in range(count)], executor=pool)
            )
        )
        batch.start()
        markers = tmp_path / "markers"
        # every run has made its side effect and waits at the gate (its marker names its worker)
        wait_until(lambda: len(list(markers.iterdir())) == count, what="every run at the gate", timeout=300)
        hosts = {path.name: int(path.read_text()) for path in markers.iterdir()}
        victim = Counter(hosts.values()).most_common(1)[0][0]
        killed = sorted(name for name, pid in hosts.items() if pid == victim)
        os.kill(victim, signal.SIGKILL)
        (tmp_path / "release").write_text("go")
        batch.join()
        results = box["results"]
    finally:
        run_sync(pool.aclose)

    assert len(results) == count
    assert all(r["summary"] == "done" for r in results)
    effects = (tmp_path / "effects.txt").read_text().split()
    assert sorted(effects, key=int) == [str(i) for i in range(count)]  # exactly once each
    resumed = sorted(str(i) for i, r in enumerate(results) if r["_meta"].get("resumed_from"))
    assert resumed == killed  # the killed worker's runs resumed from their checkpoints elsewhere


def test_a_long_childs_events_reach_the_driver_while_it_runs(tmp_path: Path, ray_address: str) -> None:
    import threading

    from kaizen_core._sync import run_sync
    from kaizen_ray.executor import RayExecutor

    (tmp_path / "markers").mkdir()
    agent = gated_agent(tmp_path, "streamed")
    seen: list[str] = []

    async def remember(context: Any) -> None:
        seen.append(context.metadata["tool"])

    agent.hook_manager.register(HookEvent.POST_TOOL_CALL, remember)
    pool = RayExecutor(ray_address, actors=1, event_flush_seconds=0.05)
    box: dict[str, Any] = {}
    run = threading.Thread(target=lambda: box.setdefault("results", agent.run_many([{"task": "t"}], executor=pool)))
    run.start()
    try:
        # the child waits at the gate (it cannot finish): its first tool call's event is already here
        wait_until(lambda: len(seen) >= 1, what="the record tool's event on the driver", timeout=300)
        assert seen == ["record"] and run.is_alive()
    finally:
        (tmp_path / "release").write_text("go")
        run.join()
        run_sync(pool.aclose)
    assert box["results"][0]["summary"] == "done"
    assert seen == ["record", "gate"]  # each triggered once, in order


def test_ctrl_c_on_the_driver_stops_every_remote_child_with_a_checkpoint(tmp_path: Path, ray_address: str) -> None:
    (tmp_path / "markers").mkdir()
    (tmp_path / "released").write_text("go")
    children = 4
    driver = subprocess.Popen(
        [sys.executable, str(HERE / "ray_driver.py"), ray_address, str(tmp_path), str(children)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(HERE)},
    )
    try:
        # every child has started on a worker and now waits in a model call only an interrupt ends
        wait_until(
            lambda: len(list((tmp_path / "markers").iterdir())) == children,
            what="every remote child running",
            timeout=300,
            process=driver,
        )
        driver.send_signal(signal.SIGINT)
        out, err = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 130, err.decode()[-3000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert report["error"] == "INTERRUPT_003"
    assert sorted(c["step"] for c in report["children"]) == [f"agent-{i}" for i in range(children)]
    assert all(c["status"] == "interrupted" and c["checkpoint_id"] for c in report["children"])
    assert report["checkpoints"] == {c["checkpoint_id"]: "interrupted" for c in report["children"]}


def test_executor_ray_by_name_joins_the_connected_cluster(ray_address: str) -> None:
    # "ray" means a local ray.init(); a process already connected (here, to the test cluster) keeps its connection
    agents = [qa_agent(f"named-{i}", answer=str(i)) for i in range(3)]
    pipeline = Pipeline.parallel(agents, executor="ray")
    assert outputs(pipeline.run(task="n?")) == outputs(Pipeline.parallel(agents).run(task="n?"))
    assert pipeline.executor is Pipeline.parallel(agents, executor="ray").executor  # one pool per URL


_LOCAL_INIT = """
import json, os, ray
from ray_support import qa_agent
from kaizen_core.orchestration import Pipeline

agents = [qa_agent(f"solo-{i}", answer=str(i)) for i in range(3)]
local = Pipeline.parallel(agents).run(task="n?")
calls = len(agents[0].provider.requests)
remote = Pipeline.parallel(agents, executor="ray").run(task="n?")
same = {k: v for k, v in remote.items() if k != "_meta"} == {k: v for k, v in local.items() if k != "_meta"}
print(json.dumps({"same": same, "ran_here": len(agents[0].provider.requests) - calls, "gcs": ray.get_runtime_context().gcs_address}))
"""


def test_executor_ray_by_name_starts_a_local_ray_in_a_fresh_process(ray_address: str) -> None:
    import shutil
    import tempfile

    # its own Ray temp dir (short: unix socket paths), so it finds no cluster to join and leaves nothing behind
    temp = tempfile.mkdtemp(prefix="kzr-", dir="/tmp")
    # the harness unset RAY_ADDRESS; RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 keeps a local Ray on 127.0.0.1
    # (otherwise Ray uses the machine's interface address: the test's traffic stays on loopback)
    env = {**os.environ, "PYTHONPATH": str(HERE), "RAY_TMPDIR": temp, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    try:
        done = subprocess.run([sys.executable, "-c", _LOCAL_INIT], env=env, capture_output=True, timeout=600, check=False)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert report["same"] and report["ran_here"] == 0  # equal results, computed on the local Ray's workers
    assert report["gcs"].rsplit(":", 1)[1] != ray_address.rsplit(":", 1)[1]  # a Ray of its own, not the test cluster


@pytest.mark.parametrize("spec", ["ray", "ray://127.0.0.1:6379?actors=3&max_concurrency=7"])
def test_executor_urls(spec: str) -> None:
    from kaizen_ray.executor import RayExecutor

    built = RayExecutor.from_url(spec)
    assert built.name == "ray"
    if spec == "ray":
        assert built.address is None
    else:
        assert (built.address, built.actors, built.max_concurrency) == ("127.0.0.1:6379", 3, 7)
