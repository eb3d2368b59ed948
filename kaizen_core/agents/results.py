"""RunResult: what the blocking ``agent.run()`` returns, a dict that refuses to be awaited.

``agent.run(**inputs)`` blocks until the run is done and returns its result;
``await agent.run_async(**inputs)`` is the coroutine. Code written as
``await agent.run(...)`` or ``asyncio.gather(agent.run(a=1), agent.run(a=2))`` would run
each call to completion, one after the other, while blocking the event loop, and then
fail with Python's bare "object dict can't be used in 'await' expression" (or "unhashable
type" inside ``gather``). The result of ``run()`` is therefore a ``dict`` subclass whose
``__await__`` raises :class:`AwaitedSyncResultError` saying to use ``run_async``. Everything
else a dict does (indexing, ``.get``, ``json.dumps``, ``==``, pickling) works unchanged; it is
also hashable by identity, which a plain dict is not.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from kaizen_core.errors import RuntimeExecutionError

__all__ = ["AwaitedSyncResultError", "RunResult"]


class AwaitedSyncResultError(RuntimeExecutionError, TypeError):
    """The result of a blocking call was awaited (EXEC_003; also a ``TypeError``, as awaiting a dict is)."""


class RunResult(dict[str, Any]):
    """The result dict of a blocking run (see the module docstring)."""

    def __await__(self) -> Generator[Any, None, Any]:
        raise AwaitedSyncResultError(
            "agent.run() is the blocking call: it has already run to completion (blocking the event loop) "
            "and returned this result, which cannot be awaited",
            hint="in async code write `await agent.run_async(...)`; "
            "for concurrent runs `await asyncio.gather(*(agent.run_async(**x) for x in inputs))`",
        )

    # Hashable by identity (a dict is not) only so that ``asyncio.gather(agent.run(...))`` reaches
    # __await__ and its clear error instead of "unhashable type"; equality stays a dict's.
    __hash__ = object.__hash__  # type: ignore[assignment]

    def __reduce__(self) -> Any:  # pickles as the plain dict it is
        return (dict, (dict(self),))
