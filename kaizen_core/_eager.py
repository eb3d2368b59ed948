"""Run a coroutine eagerly up to its first suspension, and resume it later as ``await`` would.

A step that answers without ever suspending (the mock provider, a reply from memory)
cannot be reached by a timer or by a cancellation: both only act where a coroutine
suspends. The run path therefore starts such steps eagerly and arms its deadline
(``asyncio.timeout``) or its interrupt watch only when the step actually suspends, so a
step that finishes at once costs neither::

    finished, value = step_eagerly(coro)
    if finished:
        return value                      # nothing to watch: it never suspended
    async with asyncio.timeout_at(deadline):
        return await resume(coro, value)  # exactly as ``await coro`` from here on

:func:`resume` forwards what the task sends and throws (cancellation included) to the
coroutine, like ``yield from``.
"""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

__all__ = ["resume", "step_eagerly"]

T = TypeVar("T")


def step_eagerly(coro: Coroutine[Any, Any, T]) -> tuple[bool, Any]:
    """Run ``coro`` until it finishes or first suspends, in the calling task.

    Returns ``(True, value)`` when it finished (its return value), ``(False, yielded)``
    when it suspended: pass ``yielded`` to :func:`resume` to go on. An exception the
    coroutine raises propagates.
    """
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        return True, stop.value
    return False, yielded


@types.coroutine
def resume(coro: Coroutine[Any, Any, T], yielded: Any) -> Generator[Any, Any, T]:
    """Await ``coro``, which :func:`step_eagerly` left suspended on ``yielded``.

    Everything the task sends or throws in goes to ``coro``, as with ``await coro``;
    closing this awaitable closes ``coro``.
    """
    while True:
        try:
            sent = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # a cancellation, or anything else thrown into the task
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
