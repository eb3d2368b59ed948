"""Backend-agnostic scenarios the server-backed storage plugins share in their tests.

Each takes a storage URL (plus store options) and checks behaviour through the public
API only (:class:`~kaizen_core.state.StateManager` on top of ``open_store``), so
redis, PostgreSQL and S3 are held to exactly the same bar:

* :func:`concurrent_agents`: N agents saving at once through one store object;
* :func:`saver_processes`: several OS processes saving to the same store at once
  (this module is also the child program: ``python -m ...scenarios save ...``);
* :func:`verify_checkpoints`: every checkpoint loads, from a fresh store, to exactly
  the state that was saved;
* :func:`kill_and_restart`: the server dies between saves, the failed save is a clear
  CHECKPOINT_003 without credentials, the next save after the restart succeeds and
  nothing saved earlier is lost or corrupted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any, Protocol

import anyio

from kaizen_core.errors import StorageError
from kaizen_core.state import AgentState, StateManager, open_store

__all__ = ["concurrent_agents", "kill_and_restart", "saver_processes", "turn", "verify_checkpoints"]

Saved = dict[str, AgentState]


class Restartable(Protocol):
    def kill(self) -> None: ...
    def start(self) -> None: ...


def turn(i: int) -> dict[str, Any]:
    """One conversation turn (about 250 bytes)."""
    return {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " + "y" * 240}


def _advance(state: AgentState, i: int) -> None:
    state.conversation_history.append(turn(i))
    state.step_number = i
    state.memory_contents[f"slot{i % 3}"] = i
    state.custom_state.setdefault("notes", []).append(f"note {i}")


async def _save_agent(manager: StateManager, agent_id: str, turns: int, saved: Saved) -> None:
    state = AgentState(agent_id=agent_id)
    for i in range(turns):
        _advance(state, i)
        checkpoint_id = await manager.save_checkpoint(state)
        assert checkpoint_id is not None
        saved[checkpoint_id] = state.model_copy(deep=True)


async def concurrent_agents(
    url: str, *, agents: int = 20, turns: int = 4, prefix: str | None = None, **options: Any
) -> Saved:
    """``agents`` agents save ``turns`` checkpoints each, all at once, through one store."""
    prefix = prefix or f"conc-{uuid.uuid4().hex[:8]}"
    saved: Saved = {}
    store = open_store(url, **options)
    try:
        managers = [StateManager(store, retention_count=None, full_snapshot_every=3) for _ in range(agents)]
        async with anyio.create_task_group() as tg:
            for n, manager in enumerate(managers):
                tg.start_soon(_save_agent, manager, f"{prefix}-{n}", turns, saved)
    finally:
        await store.close()
    return saved


async def verify_checkpoints(url: str, saved: Saved, **options: Any) -> None:
    """Every saved checkpoint loads (fresh store, no cache) to the state that was saved,
    and each agent lists exactly the checkpoints saved for it."""
    store = open_store(url, **options)
    manager = StateManager(store, retention_count=None)
    try:
        for checkpoint_id, expected in saved.items():
            loaded = await manager.load_checkpoint(checkpoint_id)
            assert loaded == expected, f"checkpoint {checkpoint_id} does not load to what was saved"
        by_agent: dict[str, set[str]] = {}
        for checkpoint_id, state in saved.items():
            by_agent.setdefault(state.agent_id, set()).add(checkpoint_id)
        for agent_id, ids in by_agent.items():
            listed = {m.checkpoint_id for m in await manager.list_checkpoints(agent_id)}
            assert listed == ids, f"agent {agent_id}: listed {len(listed)} checkpoints, saved {len(ids)}"
    finally:
        await store.close()


def saver_processes(
    url: str, *, processes: int = 2, agents: int = 3, turns: int = 6, timeout: float = 120, **options: Any
) -> Saved:
    """Run ``processes`` child processes saving to ``url`` at the same time; return what they saved."""
    prefix = f"proc-{uuid.uuid4().hex[:8]}"
    children = [
        subprocess.Popen(
            [sys.executable, "-m", __name__, "save", url, f"{prefix}-p{p}", str(agents), str(turns), json.dumps(options)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for p in range(processes)
    ]
    saved: Saved = {}
    for child in children:
        out, err = child.communicate(timeout=timeout)
        if child.returncode != 0:
            raise AssertionError(f"saver process failed ({child.returncode}):\n{err.decode(errors='replace')[-3000:]}")
        for line in out.decode().splitlines():
            record = json.loads(line)
            saved[record["checkpoint_id"]] = AgentState.model_validate(record["state"])
    assert len(saved) == processes * agents * turns
    return saved


async def kill_and_restart(
    url: str, server: Restartable, *, secrets: tuple[str, ...] = (), turns_before: int = 3, **options: Any
) -> Saved:
    """Save, kill the server, fail one save cleanly, restart, save again; check all of it.

    Returns what was saved (for the caller's own extra checks).
    """
    saved: Saved = {}
    store = open_store(url, **options)
    manager = StateManager(store, retention_count=None, full_snapshot_every=4)
    state = AgentState(agent_id=f"killed-{uuid.uuid4().hex[:8]}")
    try:
        for i in range(turns_before):
            _advance(state, i)
            checkpoint_id = await manager.save_checkpoint(state)
            assert checkpoint_id is not None
            saved[checkpoint_id] = state.model_copy(deep=True)
        server.kill()
        try:
            _advance(state, turns_before)
            failure: StorageError | None = None
            try:
                await manager.save_checkpoint(state)
            except StorageError as exc:
                failure = exc
            assert failure is not None, "a save with the server down must raise StorageError"
            assert failure.code == "CHECKPOINT_003"
            for secret in secrets:
                assert secret not in str(failure), "a credential leaked into the error message"
        finally:
            server.start()
        # the run goes on: the next save after the restart succeeds
        _advance(state, turns_before + 1)
        checkpoint_id = await manager.save_checkpoint(state)
        assert checkpoint_id is not None
        saved[checkpoint_id] = state.model_copy(deep=True)
        fresh = open_store(url, **options)
        try:
            assert await StateManager(fresh).resume_from_latest(state.agent_id) == state
        finally:
            await fresh.close()
    finally:
        await store.close()
    await verify_checkpoints(url, saved, **options)
    return saved


async def _child(url: str, prefix: str, agents: int, turns: int, options: dict[str, Any]) -> None:
    saved: Saved = {}
    store = open_store(url, **options)
    try:
        async with anyio.create_task_group() as tg:
            for n in range(agents):
                manager = StateManager(store, retention_count=None, full_snapshot_every=3)
                tg.start_soon(_save_agent, manager, f"{prefix}-{n}", turns, saved)
    finally:
        await store.close()
    for checkpoint_id, state in saved.items():
        print(json.dumps({"checkpoint_id": checkpoint_id, "state": state.model_dump(mode="json")}))


if __name__ == "__main__":
    if len(sys.argv) != 7 or sys.argv[1] != "save":
        raise SystemExit("usage: python -m kaizen_testing.servers.scenarios save URL PREFIX AGENTS TURNS OPTIONS_JSON")
    anyio.run(_child, sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), json.loads(sys.argv[6]))
