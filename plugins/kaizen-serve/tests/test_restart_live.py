"""A stopped server's runs survive it: finished runs are still answered, interrupted ones resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import AGENTS, QUICKSTART, ServeProcess, approving_stream, first_event_id, sse_events

WRITER = AGENTS / "writer.toml"


def test_a_restarted_server_answers_finished_runs_and_resumes_interrupted_ones(serve: Any, workdir: Path) -> None:
    first: ServeProcess = serve(QUICKSTART, WRITER)
    with first.client() as client:
        done = client.post("/agents/quickstart-qa/runs?wait=true", json={"inputs": {"question": "q"}}).json()
        run_id = client.post("/agents/writer/runs", json={"inputs": {"task": "write"}}).json()["run_id"]
        before: list[dict[str, Any]] = []
        with client.stream("GET", f"/runs/{run_id}/events") as response:
            for event in sse_events(response):
                before.append(event)
                if event["event"] == "approval_request":
                    first.stop()  # SIGTERM mid-run, while the run waits for an approval
        assert before[-1]["event"] == "interrupted" and before[-1]["data"]["data"]["resumable"] is True
    assert first.process is not None and first.process.returncode is not None
    assert not (workdir / "out.txt").exists()

    second = ServeProcess(workdir, [QUICKSTART, WRITER], storage=first.storage)
    second.start()
    try:
        with second.client() as client:
            assert client.get(f"/runs/{done['run_id']}").json()["result"] == done["result"]
            after = approving_stream(client, run_id, after=before[-1]["id"])
            assert int(after[0]["id"]) == int(before[-1]["id"]) + 1  # one stream, continued
            resumed = next(e for e in after if e["event"] == "status" and e["data"]["data"]["status"] == "running")
            assert resumed["data"]["data"]["resumed_from"] == before[-1]["data"]["data"]["checkpoint_id"]
            assert after[-1]["event"] == "completed"
            run = client.get(f"/runs/{run_id}").json()
            assert run["status"] == "completed" and run["worker"] != before[0]["data"]["data"].get("worker")
            assert run["result"]["summary"] == "wrote out.txt"
            assert (workdir / "out.txt").exists(), [(e["event"], e["data"]["data"]) for e in after]
            assert (workdir / "out.txt").read_text() == "hello"
    finally:
        second.stop()


def test_a_killed_server_started_again_resumes_what_it_was_running(serve: Any, workdir: Path) -> None:
    server: ServeProcess = serve(WRITER)
    with server.client() as client:
        run_id = client.post("/agents/writer/runs", json={"inputs": {"task": "write"}}).json()["run_id"]
        last = first_event_id(client, run_id, "approval_request")
    server.kill()  # SIGKILL: no shutdown at all
    server.start()  # the same host and port: the same worker id, which finds the run it never finished
    with server.client() as client:
        after = approving_stream(client, run_id, after=last)
        types = [e["event"] for e in after]
        assert "status" in types and types[-1] == "completed", types
        assert client.get(f"/runs/{run_id}").json()["result"]["summary"] == "wrote out.txt"
        assert (workdir / "out.txt").read_text() == "hello"
