"""One asyncpg pool per live event loop: blocking calls from the main thread (its own loop)
and from a worker thread (the background loop) each keep theirs across calls, and
``close()`` from the main thread closes both (counted on the server, by application name)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import anyio

from kaizen_core._sync import run_sync
from kaizen_core.errors import MemoryBackendError
from kaizen_postgres.connection import PostgresConnection


def _in_a_thread(fn: Any) -> Any:
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(fn()))
    worker.start()
    worker.join()
    return out[0]


def test_the_main_thread_and_a_worker_thread_each_keep_their_pool(pg_url: str) -> None:
    name = f"kz-loops-{uuid.uuid4().hex[:8]}"
    connection = PostgresConnection(f"{pg_url}?application_name={name}", migrate=False)
    probe = PostgresConnection(pg_url, migrate=False)

    async def backend() -> int:
        pid = await connection.run("pid", lambda conn: conn.fetchval("select pg_backend_pid()"), MemoryBackendError)
        return pid

    async def ours() -> int:
        query = "select count(*) from pg_stat_activity where application_name = $1"
        return int(await probe.run("count", lambda conn: conn.fetchval(query, name), MemoryBackendError))

    async def gone() -> int:
        """Our sessions the server still lists once it has ended them (a backend exits after
        the client closed): waits for the count to drop, up to 30 s."""
        with anyio.move_on_after(30):
            while await ours():
                await anyio.sleep(0.01)
        return await ours()

    main_pid = run_sync(backend)
    worker_pid = _in_a_thread(lambda: run_sync(backend))
    assert worker_pid != main_pid  # a pool (and its connection) per loop
    assert run_sync(backend) == main_pid and _in_a_thread(lambda: run_sync(backend)) == worker_pid
    assert run_sync(ours) == 2  # the alternation rebuilt neither pool
    run_sync(connection.close)  # from the main thread: its pool here, the background loop's there
    assert run_sync(gone) == 0
    run_sync(probe.close)
