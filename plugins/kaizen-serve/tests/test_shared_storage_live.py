"""Two server processes on one PostgreSQL or Redis URL see each other's runs and answer each other's requests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import AGENTS, QUICKSTART, approving_stream, first_event_id, sse_events

WRITER = AGENTS / "writer.toml"


@pytest.fixture(params=["postgres", "redis"])
def shared_url(request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL database or Redis key prefix (real servers from kaizen-testing)."""
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_server")
        return str(server.create_database(f"kaizen_serve_{uuid.uuid4().hex[:8]}"))
    server = request.getfixturevalue("redis_server")
    return f"{server.url}?key_prefix=serve-{uuid.uuid4().hex[:8]}"


def test_two_servers_on_one_storage_url_share_runs_events_and_answers(
    serve: Any, shared_url: str, workdir: Path
) -> None:
    url = shared_url
    first = serve(QUICKSTART, WRITER, storage=url)
    second = serve(QUICKSTART, WRITER, storage=url)
    with first.client() as a, second.client() as b:
        done = a.post("/agents/quickstart-qa/runs?wait=true", json={"inputs": {"question": "q"}}).json()
        assert b.get(f"/runs/{done['run_id']}").json()["result"] == done["result"]
        run_id = a.post("/agents/writer/runs", json={"inputs": {"task": "write"}}).json()["run_id"]
        seen: list[dict[str, Any]] = []
        # The run executes in the first process; the second one streams it and answers its approval.
        with b.stream("GET", f"/runs/{run_id}/events") as response:
            for event in sse_events(response):
                seen.append(event)
                if event["event"] == "approval_request":
                    request_id = event["data"]["data"]["request_id"]
                    assert request_id in b.get(f"/runs/{run_id}").json()["pending"]
                    assert b.post(f"/runs/{run_id}/responses/{request_id}", json={"approved": True}).status_code == 202
        assert seen[-1]["event"] == "completed"
        run = a.get(f"/runs/{run_id}").json()
        assert run["status"] == "completed" and run["worker"] == a.get("/healthz").json()["worker"]
        assert run["worker"] != b.get("/healthz").json()["worker"]
        assert {r["run_id"] for r in b.get("/runs").json()["runs"]} == {done["run_id"], run_id}
        assert (workdir / "out.txt").read_text() == "hello"
        # An interrupt sent to the process that does not execute the run reaches it too.
        other = a.post("/agents/writer/runs", json={"inputs": {"task": "write again"}}).json()["run_id"]
        with b.stream("GET", f"/runs/{other}/events") as response:
            for event in sse_events(response):
                if event["event"] == "approval_request":
                    assert b.post(f"/runs/{other}/interrupt", json={}).status_code == 202
                last = event
        assert last["event"] == "interrupted" and a.get(f"/runs/{other}").json()["status"] == "interrupted"


def _worker_processes(parent: int) -> list[int]:
    """Children of ``parent`` that are multiprocessing workers (not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def test_workers_option_runs_several_processes_on_one_port_and_one_store(serve: Any) -> None:
    server = serve(QUICKSTART, args=["--workers", "2"])
    assert server.process is not None
    with server.client() as client:
        run_ids = []
        for _ in range(20):
            with server.client() as fresh:  # a new connection each time: any worker may take it
                response = fresh.post("/agents/quickstart-qa/runs?wait=true", json={"inputs": {"question": "q"}})
            assert response.status_code == 200, response.text
            run_ids.append(response.json()["run_id"])
        listed = client.get("/runs", params={"limit": "100"}).json()["runs"]
    assert len(_worker_processes(server.process.pid)) == 2
    assert {r["run_id"] for r in listed} == set(run_ids) and all(r["status"] == "completed" for r in listed)


def test_the_runs_of_a_killed_worker_are_resumed_by_another_when_its_lease_runs_out(serve: Any, workdir: Path) -> None:
    lease = ["--worker-lease", "5"]  # well above a stall of a loaded machine: only the killed one is taken over
    doomed = serve(WRITER, args=lease)
    survivor = serve(WRITER, storage=doomed.storage, args=lease)
    with doomed.client() as a:
        run_id = a.post("/agents/writer/runs", json={"inputs": {"task": "write"}}).json()["run_id"]
        last = first_event_id(a, run_id, "approval_request")
        doomed_worker = a.get("/healthz").json()["worker"]
    doomed.kill()  # SIGKILL, and no process with its id ever starts again
    with survivor.client() as b:
        assert b.get(f"/runs/{run_id}").json()["status"] == "running"  # as the dead worker left it
        after = approving_stream(b, run_id, after=last)  # ends once the survivor took the run over and finished it
        assert int(after[0]["id"]) == last + 1 and after[0]["data"]["data"]["status"] == "running"
        assert after[-1]["event"] == "completed", [e["event"] for e in after]
        run = b.get(f"/runs/{run_id}").json()
        assert run["worker"] == b.get("/healthz").json()["worker"] != doomed_worker
        assert run["result"]["summary"] == "wrote out.txt" and (workdir / "out.txt").read_text() == "hello"
