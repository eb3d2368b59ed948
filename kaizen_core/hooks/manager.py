"""HookManager: runs lifecycle handlers by priority, each under a timeout, isolating failures."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass
from typing import Any, cast
from uuid import uuid4

import anyio

from kaizen_core.errors import ConfigError, HookError, redact
from kaizen_core.hooks.base import BaseHook
from kaizen_core.hooks.context import HookContext, HookResult
from kaizen_core.hooks.events import HookEvent, HookPriority

__all__ = ["Handler", "HookManager"]

logger = logging.getLogger("kaizen.hooks")

HandlerReturn = HookResult | dict[str, Any] | None
#: A lifecycle handler: ``handler(context)``, sync or async.
Handler = Callable[[HookContext], HandlerReturn | Awaitable[HandlerReturn]]


@dataclass(slots=True)
class _Entry:
    name: str
    fn: Handler
    owner: Any  # the function or BaseHook instance, for unregister(handler)
    priority: int
    seq: int
    timeout: float | None
    is_async: bool


@dataclass(slots=True)
class _Stat:
    calls: int = 0
    failures: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0


class _Resumed:
    """Awaits the rest of a coroutine whose first step already ran and yielded ``first``.

    Forwards every value sent or exception thrown (cancellation included) to the
    coroutine, exactly like ``await coro`` would have.
    """

    __slots__ = ("_coro", "_first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self._coro = coro
        self._first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, to_yield = self._coro, self._first
        while True:
            try:
                sent = yield to_yield
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    to_yield = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                to_yield = coro.send(sent)
            except StopIteration as stop:
                return stop.value


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


def _default_name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


class HookManager:
    """Registry and runner of lifecycle handlers.

    Handlers of one event run one after the other, lowest :class:`HookPriority` first and
    in registration order for equal priorities. A handler that raises or exceeds its
    timeout yields a failed :class:`HookResult` (``HOOK_003`` / ``HOOK_002``), is logged on
    the ``kaizen.hooks`` logger and never stops the other handlers or the agent.

    Zero cost when unused: :meth:`trigger` returns ``[]`` at once when nothing listens
    for the event; callers on hot paths may also guard with :meth:`has_handlers`.
    """

    def __init__(self, default_timeout: float | None = 5.0) -> None:
        self.default_timeout = default_timeout
        # event -> entries sorted by (priority, seq); lists are replaced, never mutated,
        # so a trigger in progress is unaffected by (un)registration. No key when empty.
        self._handlers: dict[HookEvent, list[_Entry]] = {}
        self._stats: dict[str, _Stat] = {}
        self._seq = 0

    # -- registration ----------------------------------------------------------------------
    def register(
        self,
        event: HookEvent | str,
        handler: Handler,
        priority: HookPriority | int = HookPriority.NORMAL,
        *,
        name: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Register ``handler`` for ``event`` and return its name (used by stats/unregister).

        Without ``name`` the handler's qualified name is used, suffixed ``#2``, ``#3``... if
        another handler already uses it. An explicit ``name`` already taken by a different
        handler, or the same handler registered twice for one event (unless under a new
        explicit name), raises HOOK_001.
        """
        return self._add(event, handler, handler, priority, name, timeout)

    def register_hook(self, hook: BaseHook) -> str:
        """Register a :class:`BaseHook` for each of its ``events``; returns its name."""
        if not isinstance(hook, BaseHook):
            raise HookError(
                f"register_hook() needs a BaseHook instance, got {type(hook).__name__}",
                hint="use register(event, handler) for plain functions",
            )
        if not hook.events:
            raise HookError(f"hook {hook.hook_name!r} declares no events", hint="set events = [HookEvent....]")
        name = self._unique_name(hook.hook_name, hook)
        for event in hook.events:
            self._add(event, hook.handle, hook, hook.priority, name, hook.timeout)
        return name

    def _unique_name(self, base: str, owner: Any) -> str:
        name, n = base, 1
        while (other := self._owner_of(name)) is not None and not _same(other, owner):
            n += 1
            name = f"{base}#{n}"
        return name

    def _owner_of(self, name: str) -> Any:
        for entries in self._handlers.values():
            for entry in entries:
                if entry.name == name:
                    return entry.owner
        return None

    def _add(
        self,
        event: HookEvent | str,
        fn: Handler,
        owner: Any,
        priority: HookPriority | int,
        name: str | None,
        timeout: float | None,
    ) -> str:
        try:
            ev = HookEvent(event)
        except ValueError:
            raise HookError(
                f"unknown lifecycle event {event!r}",
                hint=f"use one of: {', '.join(e.value for e in HookEvent)}",
            ) from None
        if not callable(fn):
            raise HookError(f"hook handler for {ev.value} is not callable: {fn!r}")
        try:
            prio = int(HookPriority(priority))
        except ValueError:
            raise HookError(f"invalid hook priority {priority!r}", hint="use HookPriority (1..5)") from None
        if timeout is not None and timeout <= 0:
            raise HookError(f"hook timeout must be positive, got {timeout!r}")
        if name is None:
            hook_name = self._unique_name(_default_name(fn), owner)
        else:
            hook_name = name
            other = self._owner_of(hook_name)
            if other is not None and not _same(other, owner):
                raise HookError(f"a different hook is already registered as {hook_name!r}", hint="pick another name")
        current = self._handlers.get(ev, [])
        if any(_same(e.owner, owner) and (name is None or e.name == hook_name) for e in current):
            raise HookError(f"hook {hook_name!r} is already registered for {ev.value}")
        self._seq += 1
        entry = _Entry(hook_name, fn, owner, prio, self._seq, timeout, _is_async(fn))
        self._handlers[ev] = sorted([*current, entry], key=lambda e: (e.priority, e.seq))
        self._stats.setdefault(hook_name, _Stat())
        return hook_name

    def unregister(self, name_or_handler: str | Handler | BaseHook) -> int:
        """Remove a handler (by name, function or BaseHook instance) from every event.

        Returns how many registrations were removed (0 when none matched). Stats are kept.
        """
        removed = 0
        for ev in list(self._handlers):
            entries = self._handlers[ev]
            if isinstance(name_or_handler, str):
                kept = [e for e in entries if e.name != name_or_handler]
            else:
                kept = [e for e in entries if not _same(e.owner, name_or_handler)]
            removed += len(entries) - len(kept)
            if kept:
                self._handlers[ev] = kept
            else:
                del self._handlers[ev]
        return removed

    def has_handlers(self, event: HookEvent | str) -> bool:
        """True when at least one handler listens for ``event`` (O(1)).

        Accepts the event's string value too (``"pre_cycle"``): HookEvent is a StrEnum, so
        callers on the hot path can ask without constructing the enum member.
        """
        return event in self._handlers

    def handler_names(self, event: HookEvent) -> list[str]:
        """Names of the handlers of ``event`` in run order."""
        return [e.name for e in self._handlers.get(event, ())]

    # -- running ---------------------------------------------------------------------------
    async def trigger(
        self,
        event: HookEvent,
        *,
        agent_id: str,
        run_id: str | None = None,
        trace_id: str | None = None,
        cycle: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[HookResult]:
        """Run every handler of ``event`` in order and return their results in that order.

        ``trace_id`` defaults to ``run_id`` (or a fresh id). Failures never raise: see the
        ``success``/``error_code`` fields of the results. Cancellation of the caller does
        propagate.
        """
        entries = self._handlers.get(event)
        if not entries:
            return []
        context = HookContext(
            event=event,
            agent_id=agent_id,
            run_id=run_id,
            trace_id=trace_id or run_id or uuid4().hex,
            cycle=cycle,
            metadata=dict(metadata) if metadata else {},
        )
        return [await self._run(entry, context) for entry in entries]

    async def _run(self, entry: _Entry, context: HookContext) -> HookResult:
        start = time.perf_counter()
        scope: anyio.CancelScope | None = None
        value: Any = None
        code: str | None = None
        error = ""
        exc_info: BaseException | None = None
        try:
            if entry.is_async:
                # Run the coroutine's first step directly: most hooks never suspend, and a
                # step that does not suspend cannot be cancelled anyway. Only a coroutine
                # that suspends pays for the timeout scope.
                coro = cast(Coroutine[Any, Any, HandlerReturn], entry.fn(context))
                try:
                    first = coro.send(None)
                except StopIteration as stop:
                    value = stop.value
                else:
                    with anyio.fail_after(self._timeout(entry)) as scope:
                        value = await _Resumed(coro, first)
            else:
                value = entry.fn(context)  # sync handlers are called directly: they must be quick
                if value is not None and not isinstance(value, HookResult | dict) and inspect.isawaitable(value):
                    with anyio.fail_after(self._timeout(entry)) as scope:
                        value = await value
        except TimeoutError as exc:
            if scope is not None and scope.cancelled_caught:
                code, error = "HOOK_002", f"hook {entry.name!r} timed out after {self._timeout(entry)}s"
            else:
                code, error, exc_info = "HOOK_003", _describe(exc), exc
        except Exception as exc:
            code, error, exc_info = "HOOK_003", _describe(exc), exc
        duration = (time.perf_counter() - start) * 1000.0
        result: HookResult | None = None
        if code is None:
            if value is None:
                result = HookResult(success=True, hook_name=entry.name, duration_ms=duration)
            elif isinstance(value, HookResult):
                result = value.model_copy(update={"hook_name": entry.name, "duration_ms": duration})
            elif isinstance(value, dict):
                result = HookResult(success=True, data=value, hook_name=entry.name, duration_ms=duration)
            else:
                code = "HOOK_003"
                error = f"hook {entry.name!r} returned {type(value).__name__}; return a HookResult, a dict or None"
        if result is None:
            error = redact(error)
            logger.warning(
                "lifecycle hook %s failed on %s (agent %s): [%s] %s",
                entry.name,
                context.event.value,
                context.agent_id,
                code,
                error,
                exc_info=exc_info,
            )
            result = HookResult(success=False, error=error, error_code=code, hook_name=entry.name, duration_ms=duration)
        stat = self._stats[entry.name]
        stat.calls += 1
        stat.total_ms += duration
        if duration > stat.max_ms:
            stat.max_ms = duration
        if not result.success:
            stat.failures += 1
        return result

    def _timeout(self, entry: _Entry) -> float | None:
        return entry.timeout if entry.timeout is not None else self.default_timeout

    # -- reporting -------------------------------------------------------------------------
    def stats(self) -> dict[str, dict[str, float | int]]:
        """Per hook name: ``calls``, ``failures``, ``total_ms``, ``mean_ms``, ``max_ms``."""
        return {
            name: {
                "calls": s.calls,
                "failures": s.failures,
                "total_ms": s.total_ms,
                "mean_ms": s.total_ms / s.calls if s.calls else 0.0,
                "max_ms": s.max_ms,
            }
            for name, s in self._stats.items()
        }

    def reset_stats(self) -> None:
        """Zero every counter."""
        self._stats = {name: _Stat() for name in self._stats}

    # -- config ----------------------------------------------------------------------------
    @classmethod
    def from_config(cls, names: list[str | dict[str, Any]], default_timeout: float | None = 5.0) -> HookManager:
        """Build a manager from lifecycle-hook names registered by plugins.

        Each item is a name (``"logging"``) or a dict with ``name`` plus constructor
        options (``{"name": "audit", "path": "audit.jsonl"}``). An unknown name raises
        KAIZEN_003 listing what is installed; bad options raise KAIZEN_002.
        """
        from kaizen_core.plugins import get_registry

        manager = cls(default_timeout=default_timeout)
        registry = get_registry()
        for item in names:
            if isinstance(item, str):
                hook_name, options = item, {}
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                options = dict(item)
                hook_name = options.pop("name")
            else:
                raise ConfigError(
                    f"invalid lifecycle hook entry {item!r}",
                    hint='use a name ("logging") or a table with a name ({name = "audit", path = "audit.jsonl"})',
                )
            target = registry.load("lifecycle_hook", hook_name)
            hook = _instantiate(hook_name, target, options)
            if not hook.name:
                hook.name = hook_name
            manager.register_hook(hook)
        return manager


def _instantiate(name: str, target: Any, options: dict[str, Any]) -> BaseHook:
    if isinstance(target, BaseHook):
        if options:
            raise ConfigError(f"lifecycle hook {name!r} is a ready-made instance and takes no options")
        return target
    if not (isinstance(target, type) and issubclass(target, BaseHook)):
        raise HookError(f"lifecycle hook {name!r} is registered with {target!r}, which is not a BaseHook subclass")
    try:
        return target(**options)
    except TypeError as exc:
        raise ConfigError(f"invalid options for lifecycle hook {name!r}: {exc}") from exc


def _same(a: Any, b: Any) -> bool:
    return a is b or (inspect.ismethod(a) and a == b)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
