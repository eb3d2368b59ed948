"""Run async code from sync callers, including inside a running event loop (Jupyter)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Call ``await fn(*args)`` and return its result from synchronous code.

    With no loop running in this thread, ``asyncio.run`` is used. Inside a running
    loop (a notebook, an async web handler calling sync code) the coroutine runs on a
    fresh loop in a helper thread, so the caller's loop is never re-entered.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_call(fn, *args))
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(_call(fn, *args)))
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="kaizen-run-sync", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


async def _call(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await fn(*args)
