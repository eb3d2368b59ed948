"""One redis client per live event loop: blocking calls from the main thread (its own loop)
and from a worker thread (the background loop) each keep theirs across calls, and
``close()`` from the main thread closes both (counted on the server, by client name)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import anyio

from kaizen_core._sync import run_sync
from kaizen_core.errors import MemoryBackendError
from kaizen_redis.connection import RedisConnection


def _in_a_thread(fn: Any) -> Any:
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(fn()))
    worker.start()
    worker.join()
    return out[0]


def test_the_main_thread_and_a_worker_thread_each_keep_their_client(redis_server: Any) -> None:
    name = f"kz-loops-{uuid.uuid4().hex[:8]}"
    connection = RedisConnection(f"{redis_server.url}?client_name={name}")
    probe = RedisConnection(redis_server.url)

    async def ping() -> Any:
        await connection.call("ping", lambda client: client.ping(), MemoryBackendError)
        return connection.client()

    async def ours() -> int:
        listing = await probe.call("client list", lambda client: client.client_list(), MemoryBackendError)
        return sum(1 for entry in listing if entry.get("name") == name)

    async def gone() -> int:
        """Our connections the server still lists, once it has seen them close (it reads the
        close and the next command in no fixed order): waits for the count to drop, up to 30 s."""
        with anyio.move_on_after(30):
            while await ours():
                await anyio.sleep(0.01)
        return await ours()

    main_client = run_sync(ping)
    worker_client = _in_a_thread(lambda: run_sync(ping))
    assert worker_client is not main_client
    assert run_sync(ping) is main_client and _in_a_thread(lambda: run_sync(ping)) is worker_client
    assert run_sync(ours) == 2  # one connection per loop, none rebuilt by the alternation
    run_sync(connection.close)  # from the main thread: its client here, the background loop's there
    assert run_sync(gone) == 0
    run_sync(probe.close)
