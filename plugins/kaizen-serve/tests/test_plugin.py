"""In-process checks: what the plugin registers, the HTTP transport outside a run, resume claims."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from kaizen_core.control import ControlProtocol
from kaizen_core.plugins import get_registry
from kaizen_serve.runs import RunManager
from kaizen_serve.served import ServedAgent
from kaizen_serve.store import RunRecord, RunStore
from kaizen_serve.transport import HTTPTransport

QUICKSTART = Path(__file__).parents[3] / "examples" / "quickstart" / "agent.toml"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_the_plugin_registers_the_serve_command_and_the_http_transport() -> None:
    registry = get_registry()
    assert registry.get("cli_command", "serve").distribution == "kaizen-serve"
    assert registry.load("transport", "http") is HTTPTransport


async def test_outside_a_served_run_the_http_transport_denies_at_once() -> None:
    async with ControlProtocol(HTTPTransport(), default_timeout=3600) as control:
        with anyio.fail_after(10):  # an unanswerable request is refused, not left to time out
            assert await control.request_approval("delete_file", {"path": "x"}) is False
            assert await control.ask_user_question("which?", ["a", "b"]) is None


async def test_only_one_process_claims_a_resumable_run(tmp_path: Path) -> None:
    store = RunStore.from_url(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        record = RunRecord(run_id="r1", agent="writer", status="interrupted", resume_on_start=True)
        await store.create(record)
        await store.mark_resumable("r1")
        assert await store.resumable() == ["r1"]
        first = await store.claim("r1", "worker-a")
        second = await store.claim("r1", "worker-b")
        assert first is not None and first.run_id == "r1" and second is None
        record.status = "running"
        record.resume_on_start = False
        await store.save(record)
        assert await store.claim("r1", "worker-c") is None  # no longer resumable
        assert (await store.get("r1")).status == "running"  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_only_one_worker_takes_over_a_run_of_a_dead_worker(tmp_path: Path) -> None:
    store = RunStore.from_url(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        await store.register_worker("dead")
        await store.register_worker("alive")
        await store.register_worker("dead")
        assert await store.workers() == ["dead", "alive"]
        assert await store.last_heartbeat("dead") is None
        await store.heartbeat("dead", 10.0)
        await store.heartbeat("dead", 20.0)
        assert await store.last_heartbeat("dead") == 20.0
        await store.heartbeat("dead", 30.0, reset=True)
        assert len(await store.store.journal_read("kaizen-serve/lease/dead")) == 1
        record = RunRecord(run_id="r1", agent="writer", status="running", worker="dead")
        await store.create(record)
        assert await store.claim("r1", "alive", orphaned_by="someone-else") is None  # not that worker's run
        first = await store.claim("r1", "alive", orphaned_by="dead")
        second = await store.claim("r1", "third", orphaned_by="dead")
        assert first is not None and first.status == "running" and second is None
        assert await store.claim("r1", "third") is None  # not an interrupted, resumable run either
        record.status = "completed"
        await store.save(record)
        assert await store.claim("r1", "fourth", orphaned_by="dead") is None  # ended runs are never taken
    finally:
        await store.close()


async def test_a_worker_takes_over_runs_only_of_workers_whose_lease_ran_out(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = RunStore.from_url(url)
    now = [1000.0]
    served = {"quickstart-qa": ServedAgent.from_toml(QUICKSTART, url)}
    # The lease is long in real time (a beat every 1000 s never comes during the test): the test
    # drives take_over_dead_workers itself, on the injected clock.
    manager = RunManager(served, RunStore.from_url(url), worker_id="me", lease=3000.0, clock=lambda: now[0])
    try:
        for worker, beat in (("alive", 990.0), ("dead", -2500.0)):
            await store.register_worker(worker)
            await store.heartbeat(worker, beat)
            record = RunRecord(run_id=f"run-of-{worker}", agent="quickstart-qa", status="running", worker=worker)
            record.inputs = {"question": "q"}
            await store.create(record)
            await store.track(worker, record.run_id, started=True)
        async with anyio.create_task_group() as tg:
            await manager.start(tg)
            assert await manager.take_over_dead_workers() == ["run-of-dead"]
            assert await manager.take_over_dead_workers() == []  # once
            run = manager.local.get("run-of-dead")
            if run is not None:
                with anyio.fail_after(30):
                    await run.done.wait()
            now[0] = 4000.0  # "alive" beat last 3010 s ago: its lease ran out too
            assert await manager.take_over_dead_workers() == ["run-of-alive"]
            for local in list(manager.local.values()):
                with anyio.fail_after(30):
                    await local.done.wait()
            await manager.shutdown()
            tg.cancel_scope.cancel()
        for worker in ("dead", "alive"):
            finished = await store.get(f"run-of-{worker}")
            assert finished is not None and finished.status == "completed" and finished.worker == "me"
            assert await store.unfinished(worker) == []
    finally:
        await store.close()
        await manager.store.close()


def test_a_bad_agent_file_stops_kaizen_serve_with_a_coded_error(tmp_path: Path) -> None:
    import json
    import subprocess

    from conftest import kaizen_program

    bad = tmp_path / "bad.toml"
    bad.write_text('[agent]\nid = "x"\nsignature = "a -> b"\nllm_provider = "mock"\nbogus = 1\n')
    done = subprocess.run([kaizen_program(), "serve", str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    error = json.loads(done.stderr.strip().splitlines()[-1])["error"]
    assert error["code"] == "KAIZEN_002" and "bogus" in error["message"]
