"""The memory API convention: the documented name is blocking, ``a<name>`` is its async twin.

Every memory object (buffers, short/long-term and semantic memory, the learning classes)
implements its operations once, as coroutines named ``a<name>`` (``aget_history``,
``aadd``, ``asearch_similar``, ``aclose``...), and exposes the documented blocking name
(``get_history``, ``add``, ``search_similar``, ``close``) through :func:`sync_twin`. This is
the core's own rule (``agent.close()`` / ``await agent.aclose()``).

A blocking twin submits the coroutine to the core's one persistent background event loop
(:func:`kaizen_core._sync.run_sync`), so tier clients and connection pools opened by one
call are reused by the next, and the call works inside a running event loop (Jupyter).
Use one style per object: clients bound to a loop (redis, postgres) cannot move between
the background loop and your own.

The storage layer below (:class:`~kaizen_core.memory.tier.MemoryTier` and
:class:`~kaizen_core.memory.manager.TierManager`) is async only, as documented
(``await hot_tier.put(...)``, ``await tier_manager.optimize_tiers()``): it is the plugin
contract, and what the memory objects call from their coroutines.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Self, TypeVar

from kaizen_core._sync import run_sync

__all__ = ["Closing", "sync_twin"]

P = ParamSpec("P")
S = TypeVar("S")
T = TypeVar("T")


def sync_twin(async_method: Callable[Concatenate[S, P], Awaitable[T]]) -> Callable[Concatenate[S, P], T]:
    """The blocking method for ``async_method`` (named ``a<name>``), as ``<name> = sync_twin(a<name>)``.

    The coroutine is looked up on the instance at call time, so a subclass overriding
    ``a<name>`` changes ``<name>`` too.
    """
    async_name = async_method.__name__
    if not async_name.startswith("a") or len(async_name) < 2:
        raise TypeError(f"sync_twin expects an async method named a<name>, got {async_name!r}")
    name = async_name[1:]

    @functools.wraps(async_method)
    def blocking(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        bound: Callable[..., Awaitable[T]] = getattr(self, async_name)
        return run_sync(functools.partial(bound, *args, **kwargs))

    blocking.__name__ = name
    blocking.__qualname__ = async_method.__qualname__.rsplit(".", 1)[0] + "." + name
    summary = (async_method.__doc__ or "").strip().splitlines()
    first = summary[0] if summary else ""
    blocking.__doc__ = (
        f"{first}\n\nBlocking form of :meth:`{async_name}` (runs on the core's background event loop; "
        "also works inside a running event loop)."
    ).strip()
    return blocking  # __wrapped__ (from functools.wraps) gives inspect.signature() the same parameters


class Closing:
    """``with`` / ``async with`` for a memory object with ``aclose()`` and its blocking twin ``close()``."""

    if TYPE_CHECKING:  # each class defines ``async def aclose`` and ``close = sync_twin(aclose)``
        close: Callable[..., Any]
        aclose: Callable[..., Awaitable[Any]]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
