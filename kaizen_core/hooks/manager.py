"""HookManager: runs lifecycle handlers by priority, each under a timeout, isolating failures."""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from uuid import uuid4

from kaizen_core._eager import resume, step_eagerly
from kaizen_core.errors import ConfigError, HookError
from kaizen_core.hooks.base import BaseHook
from kaizen_core.hooks.context import HookContext, HookResult, current_hook_metadata
from kaizen_core.hooks.events import HookEvent, HookPriority
from kaizen_core.redaction import redact, redacted_traceback

__all__ = ["CallObserver", "Handler", "HookManager", "instantiate_hook"]

logger = logging.getLogger("kaizen.hooks")

HandlerReturn = HookResult | dict[str, Any] | None
#: A lifecycle handler: ``handler(context)``, sync or async.
Handler = Callable[[HookContext], HandlerReturn | Awaitable[HandlerReturn]]
#: Told of every handler call once it ends: ``observer(hook_name, event, duration_ms, success)``.
CallObserver = Callable[[str, HookEvent, float, bool], None]


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
class _Open:
    """A PRE_x event whose POST_x has not come yet: when it started and what its handlers wrote."""

    start: float
    carried: dict[str, Any]


#: PRE_x -> POST_x and back (ON_ERROR has no pair).
_POST_OF: dict[HookEvent, HookEvent] = {e: HookEvent("post_" + e.phase) for e in HookEvent if e.is_pre and e.phase}
_PRE_OF: dict[HookEvent, HookEvent] = {post: pre for pre, post in _POST_OF.items()}
_BY_VALUE: dict[str, HookEvent] = {e.value: e for e in HookEvent}  # str -> member without Enum.__call__
_MAX_OPEN = 10_000  # open PRE events kept at most (bounds memory when POST events never come)
_PairKey = tuple[str, str | None, HookEvent, str | int | None]


@dataclass(slots=True)
class _Stat:
    calls: int = 0
    failures: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0


def _finite(seconds: float | None) -> float | None:
    """``asyncio.timeout``'s delay: None for no limit (``math.inf`` included)."""
    return None if seconds is None or math.isinf(seconds) else seconds


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

    PRE/POST pairs: the ``POST_x`` trigger matching a ``PRE_x`` one (same agent, run and
    ``step``) sees the metadata the PRE handlers wrote and gets ``context.duration_ms``
    (and ``metadata["duration_seconds"]``): a hook can keep a span or a start time in
    ``context.metadata`` at PRE and find it at POST.

    Handlers run in the triggering task, in its context: a context variable a PRE handler
    sets (a tracer making its span current) is seen by the guarded work and reset by the
    matching POST handler.

    Zero cost when unused: :meth:`trigger` returns ``[]`` at once when nothing listens
    for the event; callers on hot paths guard with :meth:`has_handlers`. ``clock``
    (seconds, monotonic) measures PRE -> POST durations; tests inject one.
    """

    def __init__(self, default_timeout: float | None = 5.0, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.default_timeout = default_timeout
        self.clock = clock
        # event -> entries sorted by (priority, seq); lists are replaced, never mutated,
        # so a trigger in progress is unaffected by (un)registration. No key when empty.
        self._handlers: dict[HookEvent, list[_Entry]] = {}
        # Events whose trigger does work: those with handlers, and the PRE_x of each POST_x with
        # handlers (its start time and metadata are kept for the POST). has_handlers() reads it.
        self._wanted: frozenset[HookEvent] = frozenset()
        self._open: dict[_PairKey, list[_Open]] = {}
        self._open_count = 0
        self._stats: dict[str, _Stat] = {}
        self._seq = 0
        self._observers: tuple[CallObserver, ...] = ()  # replaced, never mutated (like _handlers)

    # -- registration ----------------------------------------------------------------------
    def register(
        self,
        event: HookEvent | str | None = None,
        handler: Handler | None = None,
        priority: HookPriority | int = HookPriority.NORMAL,
        *,
        event_type: HookEvent | str | None = None,
        name: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Register ``handler`` for ``event`` and return its name (used by stats/unregister).

        ``event_type=`` is the original documentation's spelling of ``event=``; pass one.
        Without ``name`` the handler's qualified name is used, suffixed ``#2``, ``#3``... if
        another handler already uses it. An explicit ``name`` already taken by a different
        handler, or the same handler registered twice for one event (unless under a new
        explicit name), raises HOOK_001.
        """
        if event_type is not None:
            if event is not None:
                raise HookError("register() got both event= and event_type=", hint="pass the event once")
            event = event_type
        if event is None:
            raise HookError("register() needs an event", hint="register(HookEvent.POST_AGENT_LOOP, handler)")
        if handler is None:
            raise HookError("register() needs a handler", hint="register(event, handler) with handler(context)")
        return self._add(event, handler, handler, priority, name, timeout)

    def register_hook(self, hook: BaseHook, priority: HookPriority | int | None = None) -> str:
        """Register a :class:`BaseHook` for each of its ``events``; returns its name.

        ``priority`` overrides the hook's own ``priority`` for this registration.
        """
        if not isinstance(hook, BaseHook):
            raise HookError(
                f"register_hook() needs a BaseHook instance, got {type(hook).__name__}",
                hint="use register(event, handler) for plain functions",
            )
        if not hook.events:
            raise HookError(f"hook {hook.hook_name!r} declares no events", hint="set events = [HookEvent....]")
        name = self._unique_name(hook.hook_name, hook)
        prio = hook.priority if priority is None else priority
        for event in hook.events:
            self._add(event, hook.handle, hook, prio, name, hook.timeout)
        hook.attached(self)
        return name

    def register_all(self, hooks: Iterable[BaseHook]) -> list[str]:
        """:meth:`register_hook` each of ``hooks``; returns their names.

        A plain function names no event: register it with :meth:`register` (HOOK_001 here).
        """
        names = []
        for hook in hooks:
            if not isinstance(hook, BaseHook):
                raise HookError(
                    f"register_all() takes BaseHook instances, got {type(hook).__name__}",
                    hint="a function has no events: use register(event, handler) for it",
                )
            names.append(self.register_hook(hook))
        return names

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
        self._refresh_wanted()
        self._stats.setdefault(hook_name, _Stat())
        return hook_name

    def _refresh_wanted(self) -> None:
        wanted = set(self._handlers)
        wanted.update(_PRE_OF[ev] for ev in self._handlers if ev in _PRE_OF)
        self._wanted = frozenset(wanted)

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
        self._refresh_wanted()
        return removed

    def has_handlers(self, event: HookEvent | str) -> bool:
        """True when triggering ``event`` does any work (O(1)): a handler listens for it, or,
        for a ``PRE_x`` event, for its ``POST_x`` (which needs the PRE's time and metadata).

        Accepts the event's string value too (``"pre_cycle"``): HookEvent is a StrEnum, so
        callers on the hot path can ask without constructing the enum member.
        """
        return event in self._wanted

    def handler_names(self, event: HookEvent) -> list[str]:
        """Names of the handlers of ``event`` in run order."""
        return [e.name for e in self._handlers.get(event, ())]

    # -- running ---------------------------------------------------------------------------
    async def trigger(
        self,
        event: HookEvent | str,
        *,
        agent_id: str,
        run_id: str | None = None,
        trace_id: str | None = None,
        cycle: int | None = None,
        step: str | int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[HookResult]:
        """Run every handler of ``event`` in order and return their results in that order.

        ``trace_id`` defaults to ``run_id`` (or a fresh id). ``step`` tells apart PRE/POST
        pairs of one phase that can be open at once in a run (the tool call id). The
        context's metadata is, lowest precedence first: the :func:`~kaizen_core.hooks.hook_metadata`
        values, what the PRE handlers wrote (on a POST event), ``metadata``. On ``ON_ERROR``
        with an exception as ``metadata["error"]``, ``error_type``, ``error_message`` and
        ``traceback`` (redacted) are added. Failures never raise: see the ``success`` /
        ``error_code`` fields of the results. Cancellation of the caller does propagate.
        """
        ev = event if isinstance(event, HookEvent) else _BY_VALUE.get(event) or HookEvent(event)
        if ev not in self._wanted:
            return []
        entries = self._handlers.get(ev)
        post = _POST_OF.get(ev)
        if post is not None:  # a PRE event
            key: _PairKey = (agent_id, run_id, ev, step)
            if not entries:  # only its POST listens: keep the start time
                self._open_pair(key, _Open(self.clock(), {}))
                return []
            supplied = self._base_metadata(metadata)
            context = self._context(ev, agent_id, run_id, trace_id, cycle, dict(supplied), None)
            results = [await self._run(entry, context) for entry in entries]
            if post in self._handlers:
                written = {k: v for k, v in context.metadata.items() if supplied.get(k, _MISSING) is not v}
                self._open_pair(key, _Open(self.clock(), written))
            return results
        assert entries is not None  # in _wanted and not a PRE event: it has handlers
        md = dict(self._base_metadata(metadata))
        duration: float | None = None
        pre = _PRE_OF.get(ev)
        if pre is not None:  # a POST event: close its PRE
            opened = self._close_pair((agent_id, run_id, pre, step))
            given = md.get("duration_ms")
            if isinstance(given, (int, float)) and not isinstance(given, bool):
                duration = float(given)
            elif opened is not None:
                duration = (self.clock() - opened.start) * 1000.0
            if opened is not None and opened.carried:
                md = {**opened.carried, **md}
            if duration is not None:
                md.setdefault("duration_seconds", duration / 1000.0)
            if ev is HookEvent.POST_AGENT_LOOP:
                self._drop_run(agent_id, run_id)
        elif ev is HookEvent.ON_ERROR:
            _describe_error(md)
        context = self._context(ev, agent_id, run_id, trace_id, cycle, md, duration)
        return [await self._run(entry, context) for entry in entries]

    @staticmethod
    def _base_metadata(metadata: Mapping[str, Any] | None) -> Mapping[str, Any]:
        ambient = current_hook_metadata()
        if not ambient:
            return metadata or {}
        return {**ambient, **metadata} if metadata else ambient

    @staticmethod
    def _context(
        event: HookEvent,
        agent_id: str,
        run_id: str | None,
        trace_id: str | None,
        cycle: int | None,
        metadata: dict[str, Any],
        duration_ms: float | None,
    ) -> HookContext:
        context = HookContext(
            event=event,
            agent_id=agent_id,
            run_id=run_id,
            trace_id=trace_id or run_id or uuid4().hex,
            cycle=cycle,
            duration_ms=duration_ms,
        )
        context.metadata = metadata  # the very dict handlers write to (validation would copy it)
        return context

    # -- PRE/POST pairs --------------------------------------------------------------------
    def _open_pair(self, key: _PairKey, opened: _Open) -> None:
        if self._open_count >= _MAX_OPEN:  # drop the oldest open PRE
            oldest_key = next(iter(self._open))
            stack = self._open[oldest_key]
            del stack[0]
            if not stack:
                del self._open[oldest_key]
            self._open_count -= 1
        self._open.setdefault(key, []).append(opened)
        self._open_count += 1

    def _close_pair(self, key: _PairKey) -> _Open | None:
        stack = self._open.get(key)
        if not stack:
            return None
        opened = stack.pop()  # LIFO: nested pairs of one phase close innermost first
        if not stack:
            del self._open[key]
        self._open_count -= 1
        return opened

    def _drop_run(self, agent_id: str, run_id: str | None) -> None:
        """Forget the PRE events of a finished run whose POST never came."""
        for key in [k for k in self._open if k[0] == agent_id and k[1] == run_id]:
            self._open_count -= len(self._open.pop(key))

    async def _run(self, entry: _Entry, context: HookContext) -> HookResult:
        start = time.perf_counter()
        deadline: asyncio.Timeout | None = None
        value: Any = None
        code: str | None = None
        error = ""
        exc_info: BaseException | None = None
        try:
            if entry.is_async:
                # Run the coroutine's first step directly: most hooks never suspend, and a
                # step that does not suspend cannot be cancelled anyway. Only a coroutine
                # that suspends pays for the timeout. It is asyncio.timeout, not an anyio
                # cancel scope: the handler may already be inside scopes of its own (a Lock,
                # to_thread) entered in that first step, and anyio scopes must nest strictly.
                coro = cast(Coroutine[Any, Any, HandlerReturn], entry.fn(context))
                finished, value = step_eagerly(coro)
                if not finished:
                    deadline = asyncio.timeout(_finite(self._timeout(entry)))
                    async with deadline:
                        value = await resume(coro, value)
            else:
                value = entry.fn(context)  # sync handlers are called directly: they must be quick
                if value is not None and not isinstance(value, HookResult | dict) and inspect.isawaitable(value):
                    deadline = asyncio.timeout(_finite(self._timeout(entry)))
                    async with deadline:
                        value = await value
        except TimeoutError as exc:
            if deadline is not None and deadline.expired():
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
                "lifecycle hook %s failed on %s (agent %s): [%s] %s%s",
                entry.name,
                context.event.value,
                context.agent_id,
                code,
                error,
                "\n" + redacted_traceback(exc_info) if exc_info is not None else "",
            )
            result = HookResult(success=False, error=error, error_code=code, hook_name=entry.name, duration_ms=duration)
        stat = self._stats[entry.name]
        stat.calls += 1
        stat.total_ms += duration
        if duration > stat.max_ms:
            stat.max_ms = duration
        if not result.success:
            stat.failures += 1
        if self._observers:
            self._notify(entry.name, context.event, duration, result.success)
        return result

    def _notify(self, name: str, event: HookEvent, duration: float, success: bool) -> None:
        for observer in self._observers:
            try:
                observer(name, event, duration, success)
            except Exception as exc:  # an observer must not break the run it reports on
                logger.warning("hook call observer %r failed: %s", observer, redact(_describe(exc)))

    def _timeout(self, entry: _Entry) -> float | None:
        return entry.timeout if entry.timeout is not None else self.default_timeout

    # -- reporting -------------------------------------------------------------------------
    def observe_calls(self, observer: CallObserver) -> Callable[[], None]:
        """Call ``observer(hook_name, event, duration_ms, success)`` after every handler call.

        For exporters of per-call hook latency (``stats()`` only keeps totals). The observer
        runs on the trigger's path, so it must be quick; one that raises is logged and the
        run goes on. Returns a function that removes it again.
        """
        self._observers = (*self._observers, observer)

        def remove() -> None:
            self._observers = tuple(o for o in self._observers if o is not observer)

        return remove

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
            manager.register_hook(instantiate_hook(hook_name, registry.load("lifecycle_hook", hook_name), options))
        return manager


def instantiate_hook(name: str, target: Any, options: dict[str, Any]) -> BaseHook:
    """The lifecycle hook registered as ``name`` (``target``: its class or a ready-made instance).

    A class is called with ``options`` (KAIZEN_002 for options it does not take); an instance
    takes none. A hook without a ``name`` of its own is named ``name``.
    """
    if isinstance(target, BaseHook):
        if options:
            raise ConfigError(f"lifecycle hook {name!r} is a ready-made instance and takes no options")
        hook = target
    elif isinstance(target, type) and issubclass(target, BaseHook):
        try:
            hook = target(**options)
        except TypeError as exc:
            raise ConfigError(f"invalid options for lifecycle hook {name!r}: {exc}") from exc
    else:
        raise HookError(f"lifecycle hook {name!r} is registered with {target!r}, which is not a BaseHook subclass")
    if not hook.name:
        hook.name = name
    return hook


_MISSING = object()


def _describe_error(metadata: dict[str, Any]) -> None:
    """ON_ERROR: name the exception in ``metadata["error"]`` (type, message, traceback; redacted)."""
    error = metadata.get("error")
    if not isinstance(error, BaseException):
        return
    metadata.setdefault("error_type", type(error).__name__)
    metadata.setdefault("error_message", redact(getattr(error, "message", None) or str(error)))
    code = getattr(error, "code", None)
    if isinstance(code, str):
        metadata.setdefault("error_code", code)
    if "traceback" not in metadata:
        metadata["traceback"] = redact("".join(traceback.format_exception(error)))


def _same(a: Any, b: Any) -> bool:
    return a is b or (inspect.ismethod(a) and a == b)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
