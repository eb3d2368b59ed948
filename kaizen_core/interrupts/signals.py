"""The process-wide signal dispatcher and the exit codes of signal interrupts.

One :class:`SignalDispatcher` per process (:data:`dispatcher`). Runs that want signals
subscribe their :class:`~kaizen_core.interrupts.scope.InterruptScope`; code running in
the main thread *holds* the dispatcher while such runs may be active. The first hold
installs SIGINT and SIGTERM handlers, the last release puts the original handlers back
(unless something else replaced ours in between), so overlapping runs and the
application's own handlers never clobber each other.

A signal goes to every subscribed scope that is not nested in another subscribed one
(nested runs get it through their parent): the first signal asks for a GRACEFUL stop
with ``metadata["signal"]``, the next escalates to IMMEDIATE, and a SIGINT after that
raises ``KeyboardInterrupt`` as a last resort. With nothing subscribed, the signal goes
to the original handler, as if Kaizen were not there. A run that took a signal but
finished its last step instead of stopping passes the signal on when it ends
(:meth:`SignalDispatcher.pass_on`), so a Ctrl+C or SIGTERM is deferred, never lost.

An :class:`~kaizen_core.errors.AgentInterrupted` caused by a signal that reaches the
top of the program uncaught makes the process exit with ``128 + signum`` (130 for
SIGINT, 143 for SIGTERM): :func:`install_exit_hook` wraps :data:`sys.excepthook`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from kaizen_core import _threads
from kaizen_core.errors import AgentInterrupted
from kaizen_core.interrupts.types import InterruptMode, InterruptSignal, InterruptSource

if TYPE_CHECKING:
    from kaizen_core.interrupts.models import InterruptReason
    from kaizen_core.interrupts.scope import InterruptScope

__all__ = [
    "HANDLED_SIGNALS",
    "SignalDispatcher",
    "dispatcher",
    "exit_code_for",
    "exit_code_for_exception",
    "install_exit_hook",
]

HANDLED_SIGNALS: tuple[int, ...] = (int(signal.SIGINT), int(signal.SIGTERM))

try:  # the raw functions: signal.signal() adds enum conversions (~6 µs a call) the raw one rejects back
    from _signal import getsignal as _get_signal
    from _signal import signal as _set_signal
except ImportError:  # pragma: no cover - other interpreters
    _get_signal, _set_signal = signal.getsignal, signal.signal


def exit_code_for(reason: InterruptReason | None) -> int | None:
    """The conventional process exit code for an interrupt caused by a signal:
    ``128 + signum`` (130 for SIGINT, 143 for SIGTERM); ``None`` for other interrupts."""
    if reason is None:
        return None
    name = reason.metadata.get("signal")
    if not name:
        return None
    try:
        return 128 + int(signal.Signals[str(name)])
    except KeyError:
        return None


def exit_code_for_exception(exc: BaseException | None) -> int | None:
    """:func:`exit_code_for` of a signal-caused :class:`AgentInterrupted` (also inside an
    exception group), else ``None``."""
    if isinstance(exc, AgentInterrupted):
        return exit_code_for(exc.reason)
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            code = exit_code_for_exception(inner)
            if code is not None:
                return code
    return None


def install_exit_hook() -> None:
    """Wrap :data:`sys.excepthook` (once per process): after the usual report, an uncaught
    signal interrupt exits with :func:`exit_code_for_exception` instead of 1.

    The exit is a ``SystemExit`` raised from the hook, which CPython honours there, so
    ``atexit`` handlers and buffered output are not lost. In an interactive session (the
    REPL, ``python -i``) nothing exits.
    """
    global _installed_hook
    if getattr(sys.excepthook, "_kaizen_exit_hook", False):
        return
    previous = sys.excepthook

    def excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        previous(exc_type, exc, tb)
        code = exit_code_for_exception(exc)
        interactive = hasattr(sys, "ps1") or sys.flags.interactive  # the REPL stays, as after a KeyboardInterrupt
        if code is not None and not interactive:
            raise SystemExit(code)

    excepthook._kaizen_exit_hook = True  # type: ignore[attr-defined]
    sys.excepthook = _installed_hook = excepthook


#: The hook :func:`install_exit_hook` set last: while it is still ``sys.excepthook``, a hold
#: need not call it (the first thing every run that takes signals does).
_installed_hook: Any = None


_SIG_DFL, _SIG_IGN = int(signal.SIG_DFL), int(signal.SIG_IGN)
_get_ident = threading.get_ident
_main = _threads.main
SignalHandler = Callable[[int, FrameType | None], Any] | int | None


class SignalDispatcher:
    """Installs SIGINT/SIGTERM handlers once for the whole process and fans signals out
    to the subscribed interrupt scopes. See the module docstring."""

    def __init__(self, signals: tuple[int, ...] = HANDLED_SIGNALS) -> None:
        self.signals = signals
        self._holds = 0
        self._originals: list[tuple[int, SignalHandler]] = []
        # Insertion-ordered; one dict operation per (un)subscription, which the GIL makes atomic
        # from any thread, and the handler reads a snapshot (``tuple(dict)``, also one operation).
        self._scopes: dict[InterruptScope, None] = {}
        self._handler = self._handle  # one bound method, so identity checks work

    # ------------------------------------------------------------------ subscriptions
    def subscribe(self, scope: InterruptScope) -> None:
        """Deliver signals to ``scope`` (from any thread) until :meth:`unsubscribe`."""
        self._scopes[scope] = None

    def unsubscribe(self, scope: InterruptScope) -> None:
        """Stop delivering signals to ``scope`` (no error if absent)."""
        self._scopes.pop(scope, None)

    @property
    def scopes(self) -> tuple[InterruptScope, ...]:
        """The subscribed scopes, oldest first."""
        return tuple(self._scopes)

    # ------------------------------------------------------------------ installation
    @property
    def installed(self) -> bool:
        """Whether the dispatcher's handlers are in place (held at least once, not all released)."""
        return self._holds > 0

    def hold(self) -> bool:
        """Take a reference on the installed handlers; the first one installs them.
        Only possible in the main thread: elsewhere it returns ``False`` and does nothing."""
        if _get_ident() != _main.ident:
            return False
        # No lock: only the main thread holds and releases (a signal handler, which also runs
        # there between two bytecodes, never does), and the count is all they share.
        if self._holds == 0:
            if sys.excepthook is not _installed_hook:
                install_exit_hook()
            # Record the originals before replacing them: a signal may arrive in between.
            handler = self._handler
            self._originals = originals = [(signum, _get_signal(signum)) for signum in self.signals]
            for signum, _ in originals:
                _set_signal(signum, handler)
        self._holds += 1
        return True

    def release(self) -> None:
        """Drop a reference taken by :meth:`hold` (in the main thread, as it was taken); the
        last one restores the original handlers, except where something replaced ours
        meanwhile (that one stays)."""
        holds = self._holds
        if holds == 0:
            return
        self._holds = holds = holds - 1
        if holds:
            return
        handler = self._handler
        for signum, original in self._originals:  # still known to _chain meanwhile
            if _get_signal(signum) is handler:
                _set_signal(signum, _SIG_DFL if original is None else original)
        self._originals = []

    @contextlib.contextmanager
    def watching(self, scope: InterruptScope | None = None) -> Iterator[bool]:
        """Subscribe ``scope`` (if given) and hold the handlers for the ``with`` block.
        Yields whether this thread could hold them (the main thread only)."""
        if scope is not None:
            self.subscribe(scope)
        held = False
        try:
            held = self.hold()
            yield held
        finally:
            if held:
                self.release()
            if scope is not None:
                self.unsubscribe(scope)

    # ------------------------------------------------------------------ delivery
    def pass_on(self, signum: int) -> None:
        """Send ``signum`` to this process again, for whoever handles it now: the other
        runs, or (when none is left) the original handler. For a signal a run took and
        then finished instead of stopping, so that a Ctrl+C or a SIGTERM is never lost."""
        os.kill(os.getpid(), signum)

    def targets(self) -> list[InterruptScope]:
        """Subscribed scopes not nested in another subscribed scope (those hear it from their parent)."""
        scopes = tuple(self._scopes)
        subscribed = {id(s) for s in scopes}
        found: list[InterruptScope] = []
        for scope in scopes:
            parent = scope.parent
            while parent is not None and id(parent) not in subscribed:
                parent = parent.parent
            if parent is None:
                found.append(scope)
        return found

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        targets = self.targets()
        if not targets:
            self._chain(signum, frame)
            return
        name = signal.Signals(signum).name
        # metadata["signal"] is the OS signal (it decides the exit code); interrupt_signal the kind of stop.
        kind = InterruptSignal.SHUTDOWN if signum == signal.SIGTERM else InterruptSignal.USER_REQUESTED
        metadata = {"signal": name, "interrupt_signal": kind.value}
        changed = False
        for scope in targets:
            reason = scope.reason
            if reason is None:
                changed |= scope.request_interrupt(
                    InterruptSource.USER, InterruptMode.GRACEFUL, f"received {name}", metadata
                )
            elif reason.mode is InterruptMode.GRACEFUL:
                changed |= scope.request_interrupt(
                    InterruptSource.USER, InterruptMode.IMMEDIATE, f"received {name} again", metadata
                )
        if not changed and signum == signal.SIGINT:
            raise KeyboardInterrupt  # every run is already stopping now: the last resort

    def _chain(self, signum: int, frame: FrameType | None) -> None:
        """What the original handler would have done."""
        original = dict(self._originals).get(signum)
        if callable(original):
            original(signum, frame)
        elif original == _SIG_IGN:
            return
        else:  # SIG_DFL (or a handler not set from Python): the default action
            _set_signal(signum, _SIG_DFL)
            signal.raise_signal(signum)


#: The process-wide dispatcher.
dispatcher = SignalDispatcher()
