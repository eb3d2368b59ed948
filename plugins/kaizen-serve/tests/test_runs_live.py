"""The run API against a live ``kaizen serve`` process: runs, SSE events, approvals, interrupts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from conftest import AGENTS, QUICKSTART, sse_events

WRITER = AGENTS / "writer.toml"
IMPATIENT = AGENTS / "impatient.toml"


def start(client: httpx.Client, agent: str, inputs: dict[str, Any]) -> str:
    response = client.post(f"/agents/{agent}/runs", json={"inputs": inputs})
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/runs/{response.json()['run_id']}"
    return str(response.json()["run_id"])


def test_acceptance_wait_returns_the_typed_result_and_no_key_is_401(serve: Any) -> None:
    server = serve(QUICKSTART)
    with server.client() as client:
        response = client.post(
            "/agents/quickstart-qa/runs?wait=true", json={"inputs": {"question": "Capital of France?"}}
        )
        assert response.status_code == 200, response.text
        run = response.json()
        assert run["status"] == "completed" and run["agent"] == "quickstart-qa"
        assert isinstance(run["result"]["answer"], str) and isinstance(run["result"]["confidence"], float)
        assert run["result"]["_meta"]["provider"] == "mock" and run["key_name"] == "env"
        assert client.get(f"/runs/{run['run_id']}").json()["result"] == run["result"]
        # What `curl -d '{"inputs": ...}'` sends: the JSON body with curl's default form content type.
        curl = client.post(
            "/agents/quickstart-qa/runs?wait=true",
            content=b'{"inputs": {"question": "Capital of Italy?"}}',
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert curl.status_code == 200 and curl.json()["status"] == "completed", curl.text
    with server.client(key=None) as anonymous:
        refused = anonymous.post("/agents/quickstart-qa/runs?wait=true", json={"inputs": {"question": "q"}})
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json()["error"]["code"] == "EXEC_005"
        for path in ("/runs", "/agents", "/openapi.json", f"/runs/{run['run_id']}", f"/runs/{run['run_id']}/events"):
            assert anonymous.get(path).status_code == 401, path
        assert anonymous.get("/healthz").json()["status"] == "ok"
    with server.client(key="ksk_wrong") as wrong:
        assert wrong.get("/runs").status_code == 401


def test_inputs_are_validated_against_the_signature(serve: Any) -> None:
    server = serve(QUICKSTART)
    with server.client() as client:
        missing = client.post("/agents/quickstart-qa/runs", json={"inputs": {"q": "x"}})
        assert missing.status_code == 422
        error = missing.json()["error"]
        assert error["code"] == "EXEC_001"
        assert {tuple(e["loc"]) for e in error["errors"]} == {("question",), ("q",)}
        wrong_type = client.post("/agents/quickstart-qa/runs", json={"inputs": {"question": ["not", "a", "str"]}})
        assert wrong_type.status_code == 422 and wrong_type.json()["error"]["errors"][0]["loc"] == ["question"]
        assert client.post("/agents/quickstart-qa/runs", json={"question": "x"}).status_code == 422
        assert client.post("/agents/quickstart-qa/runs", json=["x"]).status_code == 422
        bad_json = client.post(
            "/agents/quickstart-qa/runs", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "EXEC_001"
        assert client.post("/agents/nobody/runs", json={"inputs": {}}).status_code == 404
        assert client.get("/runs/nope").status_code == 404
        assert (
            client.post("/agents/quickstart-qa/runs?wait=maybe", json={"inputs": {"question": "x"}}).status_code == 400
        )
        assert client.get("/runs").json()["runs"] == []  # nothing invalid was started


def test_read_endpoints_and_the_workflows_alias(serve: Any) -> None:
    server = serve(QUICKSTART, WRITER)
    with server.client() as client:
        agents = {a["name"]: a for a in client.get("/agents").json()["agents"]}
        assert set(agents) == {"quickstart-qa", "writer"}
        assert agents["writer"]["autonomous"] is True and agents["quickstart-qa"]["autonomous"] is False
        assert agents["quickstart-qa"]["input_schema"]["required"] == ["question"]
        assert client.get("/agents/writer").json()["output_schema"]["properties"]["summary"]["type"] == "string"
        spec = client.get("/openapi.json").json()
        assert spec["openapi"].startswith("3.1")
        body = spec["paths"]["/agents/quickstart-qa/runs"]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ]
        assert body["properties"]["inputs"]["required"] == ["question"]
        assert "/workflows/writer" in spec["paths"] and "/runs/{run_id}/responses/{request_id}" in spec["paths"]
        alias = client.post("/workflows/quickstart-qa?wait=true", json={"inputs": {"question": "2+2?"}})
        assert alias.status_code == 200 and alias.json()["status"] == "completed"
        second = start(client, "quickstart-qa", {"question": "again"})
        listed = client.get("/runs").json()["runs"]
        assert [r["run_id"] for r in listed][-1] == alias.json()["run_id"]  # newest first
        assert second in {r["run_id"] for r in listed}
        assert client.get("/runs", params={"agent": "writer"}).json()["runs"] == []
        assert client.get("/runs", params={"status": "bogus"}).status_code == 400
        assert client.get("/runs", params={"limit": "1"}).json()["runs"][0]["run_id"] == second
        assert client.get("/nowhere").json()["error"]["code"] == "EXEC_001"


def test_a_failed_run_keeps_its_code_and_status(serve: Any) -> None:
    server = serve(AGENTS / "broken.toml")
    with server.client() as client:
        response = client.post("/agents/broken/runs?wait=true", json={"inputs": {"question": "q"}})
        assert response.status_code == 502
        error = response.json()["error"]
        assert error["code"] == "AGENT_004" and "overloaded" in error["message"]
        run = client.get(f"/runs/{error['run_id']}").json()
        assert run["status"] == "failed" and run["error"]["code"] == "AGENT_004" and run["result"] is None
        with client.stream("GET", f"/runs/{error['run_id']}/events") as stream:
            assert [e["event"] for e in sse_events(stream)][-1] == "failed"


def test_a_pipeline_file_is_served_like_an_agent(serve: Any) -> None:
    server = serve(QUICKSTART, AGENTS / "fanout.toml")
    with server.client() as client:
        agents = {a["name"]: a for a in client.get("/agents").json()["agents"]}
        assert agents["fanout"]["kind"] == "pipeline"
        response = client.post("/workflows/fanout?wait=true", json={"inputs": {"question": "2+2?"}})
        assert response.status_code == 200, response.text
        result = response.json()["result"]
        assert result["succeeded"] == 2 and [r["agent"] for r in result["results"]] == ["qa1", "qa2"]


def test_sse_stream_of_an_autonomous_run_with_an_approval_from_a_second_client(serve: Any, workdir: Path) -> None:
    server = serve(WRITER)
    with server.client() as watcher, server.client() as approver:
        run_id = start(watcher, "writer", {"task": "write out.txt"})
        seen: list[dict[str, Any]] = []
        with watcher.stream("GET", f"/runs/{run_id}/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for event in sse_events(response):
                seen.append(event)
                if event["event"] == "approval_request":
                    request_id = event["data"]["data"]["request_id"]
                    pending = approver.get(f"/runs/{run_id}").json()["pending"]
                    assert list(pending) == [request_id] and pending[request_id]["kind"] == "approval"
                    answer = approver.post(f"/runs/{run_id}/responses/{request_id}", json={"approved": True})
                    assert answer.status_code == 202, answer.text
        types = [e["event"] for e in seen]
        assert types[0] == "status" and types[-1] == "completed"
        assert types.index("approval_request") < types.index("response") < types.index("permission")
        assert (
            types.index("permission") < types.index("tool_call") < types.index("tool_result") < types.index("completed")
        )
        assert [int(e["id"]) for e in seen] == list(range(1, len(seen) + 1))
        assert {"cycle", "model_call", "checkpoint"} <= set(types)  # progress: cycles, model calls, checkpoints
        model_call = next(e for e in seen if e["event"] == "model_call")["data"]["data"]
        assert model_call["provider"] == "mock" and model_call["usage"]["total_tokens"] > 0
        response_event = next(e for e in seen if e["event"] == "response")["data"]["data"]
        assert (
            response_event["outcome"] == "answered"
            and response_event["approved"] is True
            and response_event["by"] == "env"
        )
        tool_result = next(e for e in seen if e["event"] == "tool_result")["data"]["data"]
        assert tool_result["tool"] == "write_file" and tool_result["outcome"] == "success"
        assert (workdir / "out.txt").read_text() == "hello"
        final = watcher.get(f"/runs/{run_id}").json()
        assert (
            final["status"] == "completed" and final["result"]["summary"] == "wrote out.txt" and final["pending"] == {}
        )
        # Resuming with Last-Event-ID replays exactly what came after that id.
        middle = seen[2]["id"]
        with watcher.stream("GET", f"/runs/{run_id}/events", headers={"Last-Event-ID": middle}) as again:
            replay = list(sse_events(again))
        assert [e["id"] for e in replay] == [e["id"] for e in seen[3:]]
        with watcher.stream("GET", f"/runs/{run_id}/events", params={"last_event_id": middle}) as again:
            assert [e["id"] for e in sse_events(again)] == [e["id"] for e in seen[3:]]  # the query form
        for bad in ("-1", "1.5", "1_0", "x"):  # only what the document's ^[0-9]+$ allows
            refused = watcher.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": bad})
            assert refused.status_code == 400 and refused.json()["error"]["code"] == "EXEC_001", bad
        late = approver.post(f"/runs/{run_id}/responses/{request_id}", json={"approved": True})
        assert late.status_code == 409


def test_wait_with_a_timeout_answers_202_while_the_run_goes_on(serve: Any) -> None:
    server = serve(WRITER)
    with server.client() as client:
        # The run waits for an approval nobody gives: it is certainly still running after 0.5 s.
        response = client.post("/agents/writer/runs?wait=true&timeout=0.5", json={"inputs": {"task": "write"}})
        assert response.status_code == 202 and response.json()["status"] == "running"
        run_id = response.json()["run_id"]
        with client.stream("GET", f"/runs/{run_id}/events") as events:  # until it asks (however slow)
            asked = next(e for e in sse_events(events) if e["event"] == "approval_request")
        assert list(client.get(f"/runs/{run_id}").json()["pending"]) == [asked["data"]["data"]["request_id"]]
        assert (
            client.post("/agents/writer/runs?wait=true&timeout=-1", json={"inputs": {"task": "x"}}).status_code == 400
        )
        assert client.post(f"/runs/{run_id}/interrupt", json={"mode": "immediate"}).status_code == 202


def test_an_unanswered_approval_is_denied_when_its_timeout_passes(serve: Any, workdir: Path) -> None:
    server = serve(IMPATIENT)
    with server.client() as client:
        response = client.post("/agents/impatient/runs?wait=true", json={"inputs": {"task": "try to write"}})
        assert response.status_code == 200, response.text
        run_id = response.json()["run_id"]
        with client.stream("GET", f"/runs/{run_id}/events") as stream:
            events = list(sse_events(stream))
        outcome = next(e for e in events if e["event"] == "response")["data"]["data"]
        assert outcome["outcome"] == "timeout"
        decision = next(e for e in events if e["event"] == "permission")["data"]["data"]
        assert decision["tool"] == "write_file" and decision["decision"] == "deny"
        assert "tool_call" not in [e["event"] for e in events]  # a denied call never starts
        assert not (workdir / "never.txt").exists()


def test_answers_are_checked(serve: Any) -> None:
    server = serve(WRITER)
    with server.client() as client:
        run_id = start(client, "writer", {"task": "write"})
        with client.stream("GET", f"/runs/{run_id}/events") as response:
            for event in sse_events(response):
                if event["event"] != "approval_request":
                    continue
                request_id = event["data"]["data"]["request_id"]
                url = f"/runs/{run_id}/responses/{request_id}"
                assert client.post(url, json={"approved": "yes"}).status_code == 422
                assert client.post(url, json={"answer": 3}).status_code == 422
                assert client.post(url, json={"approved": True, "extra": 1}).status_code == 422
                assert client.post(f"/runs/{run_id}/responses/other", json={"approved": True}).status_code == 409
                assert client.post(url, json={"approved": False, "reason": "not today"}).status_code == 202
        run = client.get(f"/runs/{run_id}").json()
        assert run["status"] == "completed"
        assert run["result"]["_meta"]["permission_decisions"]


def test_interrupt_stops_the_run_gracefully_with_a_checkpoint(serve: Any) -> None:
    server = serve(WRITER)
    with server.client() as client:
        run_id = start(client, "writer", {"task": "write"})
        with client.stream("GET", f"/runs/{run_id}/events") as response:
            events = []
            for event in sse_events(response):
                events.append(event)
                if event["event"] == "approval_request":
                    stopped = client.post(f"/runs/{run_id}/interrupt", json={"message": "operator stop"})
                    assert stopped.status_code == 202, stopped.text
        assert events[-1]["event"] == "interrupted"
        run = client.get(f"/runs/{run_id}").json()
        assert run["status"] == "interrupted" and run["error"]["code"] == "INTERRUPT_003"
        assert run["checkpoint_id"] and events[-1]["data"]["data"]["checkpoint_id"] == run["checkpoint_id"]
        assert "operator stop" in run["error"]["message"]
        closed = next(e for e in events if e["event"] == "response")["data"]["data"]
        assert closed["outcome"] == "cancelled"  # the pending approval ended with the run, not at its timeout
        again = client.post(f"/runs/{run_id}/interrupt", json={})
        assert again.status_code == 409 and again.json()["error"]["code"] == "EXEC_001"
        assert client.post(f"/runs/{run_id}/interrupt", json={"mode": "sideways"}).status_code == 422
