"""The tamper-evident audit trail: what an agent run records, `kaizen audit verify`, each kind
of tampering named at its line, fsync batching, continuing a file, several writers, redaction."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.audit import GENESIS, AuditChainWriter, record_hash, verify_chain
from kaizen_core.cli import main
from kaizen_core.errors import ConfigError, HookExecutionError, PermissionDeniedError
from kaizen_core.hooks import hook_metadata
from kaizen_core.hooks.builtin import AuditHook
from kaizen_core.providers.mock import tool_calls_reply
from kaizen_core.redaction import forget_secrets, register_secret
from kaizen_core.tools import tool

SECRET = "sk-live-abcdefghijklmnop1234"


class Ask(Signature):
    """Answer a question."""

    question: str = InputField(desc="the question")
    answer: str = OutputField(desc="the answer")


pytestmark = pytest.mark.anyio

calls: list[dict[str, Any]] = []


@tool
def lookup(word: str, api_key: str = "") -> str:
    """Look a word up."""
    calls.append({"word": word})
    return f"{word}: found"


@tool
def purge(target: str) -> str:
    """Remove everything."""
    calls.append({"purge": target})
    return "purged"


def _agent(trail: Path, script: list[Any], **config: Any) -> BaseAgent:
    cfg = BaseAgentConfig(
        llm_provider="mock",
        provider_config={"script": script},
        hooks=[{"name": "audit", "path": str(trail)}],
        **config,
    )
    return BaseAgent(cfg, Ask(), tools=[lookup, purge])


def _write(path: Path, n: int, **options: Any) -> AuditChainWriter:
    writer = AuditChainWriter(path, **options)
    for i in range(n):
        writer.append({"event": "step", "n": i})
    writer.close()
    return writer


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


# --- what a run records ------------------------------------------------------------------------


def test_agent_run_records_who_what_and_decisions_and_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trail = tmp_path / "audit.jsonl"
    calls.clear()
    script = [
        tool_calls_reply(("lookup", {"word": "AI", "api_key": SECRET}), ("purge", {"target": "/"})),
        {"answer": "done"},
    ]
    agent = _agent(trail, script, denied_tools=["purge"])
    with hook_metadata(user_id="alice"):
        agent.run(question="What is AI?")
    assert calls == [{"word": "AI"}]  # purge was denied and did not run

    text = trail.read_text()
    assert SECRET not in text  # the argument is redacted before it is hashed
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["prev"] == GENESIS and all(b["prev"] == a["hash"] for a, b in itertools.pairwise(rows))
    assert {r["who"]["agent_id"] for r in rows} == {agent.agent_id}
    assert {r["who"].get("user_id") for r in rows if r["run_id"]} == {"alice"}  # the run's records
    assert {r["event"] for r in rows if not r["run_id"]} == {"pre_agent_init", "post_agent_init"}
    assert len({r["run_id"] for r in rows if r["run_id"]}) == 1  # one run

    decisions = {r["what"]["tool"]: r["decision"] for r in rows if r["event"] == "post_permission_check"}
    assert decisions["lookup"]["decision"] == "allow" and decisions["purge"]["decision"] == "deny"
    assert decisions["purge"]["initial_decision"] == "deny" and decisions["purge"]["reason"]
    (pre_lookup,) = [r for r in rows if r["event"] == "pre_tool_call"]  # only the permitted call runs
    assert pre_lookup["what"]["tool"] == "lookup" and pre_lookup["what"]["arguments"]["word"] == "AI"
    assert pre_lookup["what"]["arguments"]["api_key"] == "***"
    (post_lookup,) = [r for r in rows if r["event"] == "post_tool_call"]
    assert post_lookup["decision"] == {"outcome": "success"} and post_lookup["what"]["call_id"]
    assert rows[-1]["event"] == "post_agent_loop" and rows[-1]["decision"] == {"outcome": "success"}

    assert main(["audit", "verify", str(trail)]) == 0
    assert capsys.readouterr().out.startswith(f"ok {len(rows)} records (head {rows[-1]['hash']})")


def test_registered_secret_never_reaches_the_trail(tmp_path: Path) -> None:
    register_secret("hunter2-database-pass")
    try:
        trail = tmp_path / "audit.jsonl"
        script = [tool_calls_reply(("lookup", {"word": "hunter2-database-pass"})), {"answer": "hunter2-database-pass"}]
        _agent(trail, script).run(question="the password is hunter2-database-pass")
        text = trail.read_text()
        assert "hunter2-database-pass" not in text and "***" in text
        assert verify_chain(trail).ok
    finally:
        forget_secrets("hunter2-database-pass")


# --- tampering, each kind named at its line -------------------------------------------------------


def test_edited_line_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.jsonl"
    _write(path, 5)
    lines = _lines(path)
    lines[2] = lines[2].replace(b'"n":2', b'"n":7')
    path.write_bytes(b"".join(lines))
    result = verify_chain(path)
    assert (result.ok, result.line, result.problem, result.records) == (False, 3, "edited", 2)
    assert main(["audit", "verify", str(path)]) == 1
    assert "line 3: was edited" in capsys.readouterr().err


def test_deleted_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _write(path, 5)
    lines = _lines(path)
    del lines[1]
    path.write_bytes(b"".join(lines))
    result = verify_chain(path)
    assert (result.line, result.problem) == (2, "deleted")
    assert "record(s) 2..2 were deleted" in result.message


def test_deleted_first_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _write(path, 3)
    path.write_bytes(b"".join(_lines(path)[1:]))
    assert (verify_chain(path).line, verify_chain(path).problem) == (1, "deleted")


def test_reordered_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _write(path, 5)
    lines = _lines(path)
    lines[1], lines[3] = lines[3], lines[1]
    path.write_bytes(b"".join(lines))
    result = verify_chain(path)
    assert (result.line, result.problem) == (2, "reordered")


def test_replaced_record_with_a_valid_hash_is_caught_by_prev(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _write(path, 4)
    lines = _lines(path)
    forged = json.loads(lines[2])
    forged["n"] = 99
    forged["hash"] = record_hash(forged)  # recomputed: the line itself looks whole
    lines[2] = json.dumps(forged).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    result = verify_chain(path)
    assert (result.line, result.problem) == (4, "reordered")  # line 4's prev no longer matches line 3


def test_truncated_tail_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.jsonl"
    _write(path, 4)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])  # cut inside the last record
    result = verify_chain(path)
    assert (result.line, result.problem, result.records) == (4, "truncated", 3)
    assert main(["audit", "verify", str(path)]) == 1
    assert "line 4: incomplete record" in capsys.readouterr().err


def test_cut_off_whole_records_need_the_head_or_the_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.jsonl"
    writer = _write(path, 4)
    head = writer.head.hash
    path.write_bytes(b"".join(_lines(path)[:3]))
    assert verify_chain(path).ok  # a shorter chain is still a chain
    assert verify_chain(path, expect_head=head).problem == "head_mismatch"
    assert verify_chain(path, expect_records=4).problem == "count_mismatch"
    assert main(["audit", "verify", str(path), "--expect-head", head]) == 1
    assert "cut off the end" in capsys.readouterr().err


def test_malformed_line_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _write(path, 2)
    path.write_bytes(path.read_bytes() + b"not json\n")
    assert (verify_chain(path).line, verify_chain(path).problem) == (3, "malformed")
    assert verify_chain(tmp_path / "nope.jsonl").problem == "missing"
    assert main(["audit", "verify", str(tmp_path / "nope.jsonl")]) == 1


def test_keyed_trail_cannot_be_rewritten_without_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "k" * 32
    path = tmp_path / "a.jsonl"
    _write(path, 3, key=key)
    assert verify_chain(path, key=key).ok
    assert verify_chain(path).problem == "edited"  # no key: the HMACs cannot be checked
    # a forger rewrites every record and recomputes plain hashes: the keyed check fails at once
    rows = [json.loads(line) for line in _lines(path)]
    prev = GENESIS
    for row in rows:
        row["n"] += 100
        row["prev"] = prev
        row["hash"] = prev = record_hash(row, key=b"wrong-key-wrong-key")
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert (verify_chain(path, key=key).line, verify_chain(path, key=key).problem) == (1, "edited")
    monkeypatch.setenv("AUDIT_KEY", key)
    assert main(["audit", "verify", str(path), "--key-env", "AUDIT_KEY", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["line"] == 1
    with pytest.raises(ConfigError):
        AuditChainWriter(path, key="short")


# --- writing: fsync batching, continuing, several writers -----------------------------------------


def test_fsync_per_record_by_default_and_batched_with_fsync_every(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    writer = AuditChainWriter(tmp_path / "one.jsonl")
    for i in range(3):
        writer.append({"n": i})
        assert len(synced) == i + 1  # on disk before append returns
    writer.close()
    synced.clear()

    batched = AuditChainWriter(tmp_path / "batch.jsonl", fsync_every=3)
    for i in range(7):
        assert batched.sync_due is (i % 3 == 2)
        batched.append({"n": i})
    assert len(synced) == 2  # after records 3 and 6
    batched.close()
    assert len(synced) == 3  # close syncs record 7
    assert verify_chain(tmp_path / "batch.jsonl").message == "ok 7 records"
    with pytest.raises(ConfigError):
        AuditChainWriter(tmp_path / "x.jsonl", fsync_every=0)


async def test_audit_hook_option_fsync_every_from_config(tmp_path: Path) -> None:
    trail = tmp_path / "audit.jsonl"
    agent = BaseAgent(
        BaseAgentConfig(llm_provider="mock", hooks=[{"name": "audit", "path": str(trail), "fsync_every": 100}]), Ask()
    )
    await agent.run_async(question="q")
    (hook,) = [h for h in _hooks(agent) if isinstance(h, AuditHook)]
    assert hook.writer.fsync_every == 100
    hook.close()
    assert verify_chain(trail).ok and verify_chain(trail).records == hook.head.seq == 6  # init, run, model call


def test_reopened_file_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    first = _write(path, 2)
    second = AuditChainWriter(path)
    record = second.append({"event": "later"})
    second.close()
    assert record["seq"] == 3 and record["prev"] == first.head.hash
    assert verify_chain(path).message == "ok 3 records"


def test_damaged_tail_is_not_continued_and_blocks_tool_calls(tmp_path: Path) -> None:
    trail = tmp_path / "audit.jsonl"
    _write(trail, 2)
    trail.write_bytes(trail.read_bytes()[:-10])  # a torn last record
    with pytest.raises(HookExecutionError) as err:
        AuditChainWriter(trail).append({"event": "x"})
    assert err.value.code == "HOOK_003" and "kaizen audit verify" in (err.value.hint or "")

    calls.clear()
    agent = _agent(trail, [tool_calls_reply(("lookup", {"word": "AI"})), {"answer": "no tools"}])
    result = agent.run(question="q")
    assert calls == []  # no tool runs unaudited
    (record,) = result["_meta"]["tool_calls"]
    assert record["outcome"] == "blocked" and record["error_code"] == PermissionDeniedError.code


def test_two_processes_appending_to_one_file_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    script = (
        "import sys\n"
        "from kaizen_core.audit import AuditChainWriter\n"
        "w = AuditChainWriter(sys.argv[1])\n"
        "sys.stdin.readline()\n"  # both start appending when the test says so
        "for i in range(150):\n"
        "    w.append({'writer': sys.argv[2], 'n': i})\n"
        "w.close()\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), name], stdin=subprocess.PIPE) for name in ("a", "b")
    ]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0]
    result = verify_chain(path)
    assert result.message == "ok 300 records"
    rows = [json.loads(line) for line in _lines(path)]
    assert sorted((r["writer"], r["n"]) for r in rows) == sorted((w, i) for w in "ab" for i in range(150))


def _hooks(agent: BaseAgent) -> list[Any]:
    manager = agent.hook_manager
    return list({id(e.owner): e.owner for entries in manager._handlers.values() for e in entries}.values())


async def test_a_slow_audit_write_holds_the_tool_call_past_the_hook_timeout(tmp_path: Path) -> None:
    """The manager's hook timeout (here 1 ms) never lets a tool run before its PRE record is
    written: the audit hook has no timeout, so the call waits for the slow disk."""
    trail = tmp_path / "audit.jsonl"
    agent = _agent(trail, [tool_calls_reply(("lookup", {"word": "AI"})), {"answer": "done"}], hook_timeout=0.001)
    (hook,) = [h for h in _hooks(agent) if isinstance(h, AuditHook)]
    writing, release = threading.Event(), threading.Event()
    real_append = hook.writer.append

    def slow_append(body: dict[str, Any]) -> dict[str, Any]:
        if body["event"] == "pre_tool_call":
            writing.set()
            release.wait()  # the disk is slow until the test lets it finish
        return real_append(body)

    hook.writer.append = slow_append  # type: ignore[method-assign]
    hook.writer.fsync_every = 1  # every record goes through the worker thread
    calls.clear()
    async with anyio.create_task_group() as tg:
        outcome: dict[str, Any] = {}

        async def run() -> None:
            outcome["result"] = await agent.run_async(question="q")

        tg.start_soon(run)
        await anyio.to_thread.run_sync(writing.wait)
        await anyio.sleep(0.05)  # fifty times the hook timeout: its deadline has passed
        assert calls == []  # the tool waits for its record
        release.set()
    assert calls == [{"word": "AI"}]
    (record,) = outcome["result"]["_meta"]["tool_calls"]
    assert record["outcome"] == "success"
    events = [json.loads(line)["event"] for line in trail.read_text().splitlines()]
    assert events.index("pre_tool_call") < events.index("post_tool_call")
    assert agent.hook_manager.stats()["audit"]["failures"] == 0
