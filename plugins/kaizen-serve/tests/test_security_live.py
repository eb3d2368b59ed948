"""Keys, per-key agents, --insecure-no-auth, body and stream limits, coded errors without secrets."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import AGENTS, KEY, QUICKSTART, ServeProcess, kaizen_program, sse_events

WRITER = AGENTS / "writer.toml"


def add_key(workdir: Path, name: str, *agents: str) -> str:
    args = [kaizen_program(), "serve", "--add-key", name, "--api-key-file", str(workdir / "keys.toml")]
    for agent in agents:
        args += ["--allow-agent", agent]
    done = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


def test_key_files_store_hashes_and_limit_keys_to_their_agents(serve: Any, workdir: Path) -> None:
    qa_only = add_key(workdir, "qa-only", "quickstart-qa")
    admin = add_key(workdir, "admin")
    stored = (workdir / "keys.toml").read_text()
    assert qa_only not in stored and admin not in stored
    entries = tomllib.loads(stored)["keys"]
    assert [(k["name"], k["agents"]) for k in entries] == [("qa-only", ["quickstart-qa"]), ("admin", ["*"])]
    assert (workdir / "keys.toml").stat().st_mode & 0o077 == 0
    server = serve(QUICKSTART, WRITER, key=None, args=["--api-key-file", str(workdir / "keys.toml")])
    with server.client(key=qa_only) as client:
        assert [a["name"] for a in client.get("/agents").json()["agents"]] == ["quickstart-qa"]
        ok = client.post("/agents/quickstart-qa/runs?wait=true", json={"inputs": {"question": "q"}})
        assert ok.status_code == 200 and ok.json()["key_name"] == "qa-only"
        refused = client.post("/agents/writer/runs", json={"inputs": {"task": "t"}})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "EXEC_005"
        assert client.get("/agents/writer").status_code == 403
        assert client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}).status_code == 403
    with server.client(key=admin) as client:
        run_id = client.post("/agents/writer/runs", json={"inputs": {"task": "t"}}).json()["run_id"]
        with server.client(key=qa_only) as other:
            assert other.get(f"/runs/{run_id}").status_code == 403  # a run of an agent the key may not use
            assert run_id not in {r["run_id"] for r in other.get("/runs").json()["runs"]}
            assert other.get(f"/runs/{run_id}/events").status_code == 403
            assert other.post(f"/runs/{run_id}/responses/any", json={"approved": True}).status_code == 403
            assert other.post(f"/runs/{run_id}/interrupt", json={}).status_code == 403
        # Still running (the refused interrupt did nothing): its own key may stop it.
        assert client.post(f"/runs/{run_id}/interrupt", json={"mode": "immediate"}).status_code == 202
    with server.client(key=KEY) as stranger:  # the environment key is not accepted: only the file's
        assert stranger.get("/runs").status_code == 401
    log = server.output()
    assert qa_only not in log and admin not in log


def test_insecure_no_auth_only_on_loopback(serve: Any, workdir: Path) -> None:
    refused = subprocess.run(
        [kaizen_program(), "serve", str(QUICKSTART), "--host", "0.0.0.0", "--insecure-no-auth"],
        capture_output=True, text=True, timeout=60, cwd=workdir,
    )  # fmt: skip
    assert refused.returncode != 0 and "non-loopback" in refused.stdout + refused.stderr
    server = serve(QUICKSTART, key=None, args=["--insecure-no-auth"])
    with server.client(key=None) as anonymous:
        assert (
            anonymous.post("/agents/quickstart-qa/runs?wait=true", json={"inputs": {"question": "q"}}).status_code
            == 200
        )


def test_a_server_without_keys_prints_one_it_generated(serve: Any) -> None:
    server: ServeProcess = serve(QUICKSTART, key=None)
    line = next(line for line in server.output().splitlines() if line.startswith("API key for this server"))
    generated = line.rsplit(" ", 1)[1]
    with server.client(key=generated) as client:
        assert client.get("/runs").status_code == 200
    with server.client(key=None) as anonymous:
        assert anonymous.get("/runs").status_code == 401


def test_body_and_stream_limits(serve: Any) -> None:
    server = serve(WRITER, args=["--max-body-bytes", "300", "--max-streams", "1"])
    with server.client() as client:
        big = client.post("/agents/writer/runs", json={"inputs": {"task": "x" * 400}})
        assert big.status_code == 413 and big.json()["error"]["code"] == "EXEC_001"
        chunked = client.post(
            "/agents/writer/runs", content=iter([b'{"inputs": {"task": "', b"y" * 400, b'"}}']),
            headers={"content-type": "application/json"},
        )  # fmt: skip
        assert chunked.status_code == 413
        run_id = client.post("/agents/writer/runs", json={"inputs": {"task": "small"}}).json()["run_id"]
        with server.client() as second, client.stream("GET", f"/runs/{run_id}/events") as stream:
            for event in sse_events(stream):
                if event["event"] == "approval_request":
                    busy = second.get(f"/runs/{run_id}/events")
                    assert busy.status_code == 503 and busy.json()["error"]["code"] == "EXEC_003"
                    second.post(f"/runs/{run_id}/interrupt", json={})
        with client.stream("GET", f"/runs/{run_id}/events") as again:  # the slot was given back
            assert again.status_code == 200


@pytest.mark.parametrize("path", ["/runs/x/events", "/runs/%3Cscript%3E"])
def test_errors_are_coded_json_and_echo_nothing_as_html(serve: Any, path: str) -> None:
    server = serve(QUICKSTART)
    with server.client() as client:
        response = client.get(path, headers={"Last-Event-ID": "<b>"})
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "EXEC_001" and "Traceback" not in response.text
