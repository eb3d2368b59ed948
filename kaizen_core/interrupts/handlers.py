"""Interrupt handlers: small objects that look at an :class:`InterruptContext` and say
whether the run must stop. Registered by name through the interrupt-handlers hookspec
(``timeout``, ``budget``, ``resource``) and added with ``manager.add_handler(...)``."""

from __future__ import annotations

import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, get_args

from kaizen_core.errors import ConfigError
from kaizen_core.interrupts.types import (
    InterruptContext,
    InterruptMode,
    InterruptReason,
    InterruptSignal,
    InterruptSource,
)

__all__ = [
    "BaseInterruptHandler",
    "BudgetInterruptHandler",
    "ResourceInterruptHandler",
    "TimeoutInterruptHandler",
    "TrackBy",
]

logger = logging.getLogger("kaizen.interrupts")


class BaseInterruptHandler:
    """Base of every interrupt handler.

    Subclasses implement ``check_interrupt(context)`` (sync or async) returning an
    :class:`InterruptReason` when the run must stop, else ``None``. It is called every
    ``poll_interval`` while an agent runs, so it must be cheap and must not block.
    ``context`` is an :class:`InterruptContext`; it also reads like a dict
    (``context.get("error_count")``), as the original documents it.

    A subclass need not call ``super().__init__()``: ``mode`` defaults to GRACEFUL,
    ``checkpoint_before_stop`` to None and ``name`` to the class name.

    ``checkpoint_before_stop``: True makes the agent save a checkpoint before it stops
    on this handler's interrupt even with ``checkpoint_on_interrupt=False``; False skips
    it; None leaves it to the config. Recorded as ``reason.metadata["checkpoint_before_stop"]``.
    """

    name: str = "handler"
    mode: InterruptMode = InterruptMode.GRACEFUL
    checkpoint_before_stop: bool | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    def __init__(
        self, mode: InterruptMode | str = InterruptMode.GRACEFUL, *, checkpoint_before_stop: bool | None = None
    ) -> None:
        self.mode = InterruptMode(mode)
        self.checkpoint_before_stop = checkpoint_before_stop

    def check_interrupt(self, context: InterruptContext) -> InterruptReason | Awaitable[InterruptReason | None] | None:
        """Return a reason to stop, or ``None``. May be ``async``."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget per-run state (warnings given, CPU baseline).

        Called when a run starts while no other run of the same manager is active. A
        handler shared by overlapping runs keeps its per-run state keyed by
        ``context.run_id`` (as :class:`BudgetInterruptHandler` does).
        """

    def _reason(self, message: str, *, signal: InterruptSignal | None = None, **metadata: Any) -> InterruptReason:
        extra: dict[str, Any] = {"handler": self.name}
        if signal is not None:
            extra["interrupt_signal"] = signal.value
        if self.checkpoint_before_stop is not None:
            extra["checkpoint_before_stop"] = self.checkpoint_before_stop
        return InterruptReason(
            source=InterruptSource.SYSTEM,
            mode=self.mode,
            message=message,
            metadata={**extra, **metadata},
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, mode={InterruptMode(self.mode).value})"


class TimeoutInterruptHandler(BaseInterruptHandler):
    """Stops a run that has been going for ``timeout_seconds`` or more."""

    name = "timeout"

    def __init__(
        self,
        timeout_seconds: float,
        mode: InterruptMode | str = InterruptMode.GRACEFUL,
        *,
        checkpoint_before_stop: bool | None = None,
    ) -> None:
        if timeout_seconds <= 0:
            raise ConfigError(
                f"timeout_seconds must be > 0, got {timeout_seconds}", hint="pass a positive number of seconds"
            )
        super().__init__(mode, checkpoint_before_stop=checkpoint_before_stop)
        self.timeout_seconds = float(timeout_seconds)

    def check_interrupt(self, context: InterruptContext) -> InterruptReason | None:
        elapsed = context.current_elapsed()
        if elapsed < self.timeout_seconds:
            return None
        return self._reason(
            f"run exceeded its timeout of {self.timeout_seconds:g}s",
            signal=InterruptSignal.TIMEOUT,
            elapsed_s=round(elapsed, 3),
            timeout_seconds=self.timeout_seconds,
        )


TrackBy = Literal["run", "session", "agent", "user"]
_TRACK_BY: tuple[str, ...] = get_args(TrackBy)


class BudgetInterruptHandler(BaseInterruptHandler):
    """Stops a run once the spending it tracks reaches ``max_budget_usd``.

    ``max_budget_usd`` (alias ``budget_limit``, the quick reference's name) is the limit
    in USD. ``track_by`` chooses whose spending counts:

    * ``"run"`` (default): the run's own spending (``context.budget_spent_usd``; a resumed
      run carries its earlier spending);
    * ``"session"``: every run of the same ``session_id`` while this handler is attached
      (a run without a session counts alone);
    * ``"agent"``: every run of the agent while this handler is attached;
    * ``"user"``: every run of the same ``context.user_id``; runs whose user is unknown
      are counted per agent (never less than any one user's spending).

    Logs one warning per tracked key when spending first reaches ``warn_at`` (a
    fraction) of the limit. The reason's metadata has ``budget_spent_usd`` (the tracked
    total), ``run_spent_usd``, ``max_budget_usd`` and ``track_by``.
    """

    name = "budget"

    def __init__(
        self,
        max_budget_usd: float | None = None,
        warn_at: float = 0.8,
        mode: InterruptMode | str = InterruptMode.GRACEFUL,
        *,
        budget_limit: float | None = None,
        track_by: TrackBy = "run",
        checkpoint_before_stop: bool | None = None,
    ) -> None:
        if max_budget_usd is None:
            max_budget_usd = budget_limit
        elif budget_limit is not None and budget_limit != max_budget_usd:
            raise ConfigError(
                f"BudgetInterruptHandler got two limits (max_budget_usd={max_budget_usd}, budget_limit={budget_limit})",
                hint="max_budget_usd and budget_limit name the same limit: pass one",
            )
        if max_budget_usd is None:
            raise ConfigError("BudgetInterruptHandler needs a limit", hint="BudgetInterruptHandler(max_budget_usd=5.0)")
        if max_budget_usd < 0:
            raise ConfigError(f"max_budget_usd must be >= 0, got {max_budget_usd}", hint="pass a USD amount")
        if not 0 < warn_at <= 1:
            raise ConfigError(f"warn_at must be in (0, 1], got {warn_at}", hint="pass a fraction such as 0.8")
        if track_by not in _TRACK_BY:
            raise ConfigError(f"track_by must be one of {', '.join(_TRACK_BY)}, got {track_by!r}")
        super().__init__(mode, checkpoint_before_stop=checkpoint_before_stop)
        self.max_budget_usd = float(max_budget_usd)
        self.warn_at = float(warn_at)
        self.track_by: TrackBy = track_by
        self._lock = threading.Lock()
        #: tracked key -> {run_id: that run's spending}; folded into _carried by reset()
        self._spent: dict[tuple[str, str | None], dict[str | None, float]] = {}
        self._carried: dict[tuple[str, str | None], float] = {}
        self._warned: set[tuple[str, str | None]] = set()

    @property
    def budget_limit(self) -> float:
        """Same as :attr:`max_budget_usd`."""
        return self.max_budget_usd

    @property
    def warned(self) -> bool:
        """Whether a warning was given since the last :meth:`reset`."""
        return bool(self._warned)

    def _key(self, context: InterruptContext) -> tuple[str, str | None]:
        if self.track_by == "session" and context.session_id is not None:
            return ("session", context.session_id)
        if self.track_by == "agent" or (self.track_by == "user" and context.user_id is None):
            return ("agent", context.agent_id)
        if self.track_by == "user":
            return ("user", context.user_id)
        return ("run", context.run_id)

    def spent(self, context: InterruptContext) -> float:
        """The spending this handler counts for ``context`` (without recording anything)."""
        key = self._key(context)
        with self._lock:
            runs = dict(self._spent.get(key, {}))
            carried = self._carried.get(key, 0.0)
        runs[context.run_id] = max(runs.get(context.run_id, 0.0), context.budget_spent_usd)
        return carried + sum(runs.values())

    def reset(self) -> None:
        """Forget the warnings; per-run spending ends, tracked totals (session, agent, user) carry on."""
        with self._lock:
            self._warned.clear()
            for key, runs in self._spent.items():
                if key[0] != "run":
                    self._carried[key] = self._carried.get(key, 0.0) + sum(runs.values())
            self._spent.clear()

    def check_interrupt(self, context: InterruptContext) -> InterruptReason | None:
        key = self._key(context)
        run_spent = context.budget_spent_usd
        with self._lock:
            runs = self._spent.setdefault(key, {})
            runs[context.run_id] = max(runs.get(context.run_id, 0.0), run_spent)
            spent = self._carried.get(key, 0.0) + sum(runs.values())
            warn = key not in self._warned and spent >= self.warn_at * self.max_budget_usd
            if warn:
                self._warned.add(key)
        if spent >= self.max_budget_usd:
            return self._reason(
                f"budget exhausted: spent ${spent:.4f} of ${self.max_budget_usd:.4f}",
                signal=InterruptSignal.BUDGET_EXCEEDED,
                budget_spent_usd=spent,
                run_spent_usd=run_spent,
                max_budget_usd=self.max_budget_usd,
                track_by=self.track_by,
            )
        if warn:
            logger.warning(
                "agent %s has spent $%.4f, %.0f%% of its $%.4f budget (tracked by %s)",
                context.agent_id,
                spent,
                100 * spent / self.max_budget_usd if self.max_budget_usd else 100.0,
                self.max_budget_usd,
                self.track_by,
            )
        return None


def current_rss_mb() -> float:
    """Resident memory of this process in MiB (psutil if installed, else /proc, else peak RSS)."""
    try:
        import psutil
    except ImportError:
        pass
    else:
        return float(psutil.Process().memory_info().rss) / (1024 * 1024)
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _process_cpu_seconds() -> float:
    """CPU time used by this process so far (user + system, all threads)."""
    times = os.times()
    return times.user + times.system


class ResourceInterruptHandler(BaseInterruptHandler):
    """Stops a run when this process uses too much memory or CPU.

    Memory is the current resident set size. CPU is the process CPU time (all threads)
    over wall time, in percent of one core, measured over windows of at least
    ``cpu_window_s`` so that a single busy poll does not trip it. No psutil needed.

    ``clock`` (wall seconds, ``time.monotonic`` by default) and ``cpu_clock`` (this
    process's CPU seconds, user + system, by default) are the two clocks the CPU share is
    measured on; tests inject clocks they move by hand.
    """

    name = "resource"

    def __init__(
        self,
        max_memory_mb: float | None = None,
        max_cpu_percent: float | None = None,
        mode: InterruptMode | str = InterruptMode.GRACEFUL,
        cpu_window_s: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = _process_cpu_seconds,
        checkpoint_before_stop: bool | None = None,
    ) -> None:
        if max_memory_mb is None and max_cpu_percent is None:
            raise ConfigError(
                "ResourceInterruptHandler needs max_memory_mb or max_cpu_percent", hint="set at least one limit"
            )
        for label, value in (("max_memory_mb", max_memory_mb), ("max_cpu_percent", max_cpu_percent)):
            if value is not None and value <= 0:
                raise ConfigError(f"{label} must be > 0, got {value}", hint="pass a positive limit or None")
        super().__init__(mode, checkpoint_before_stop=checkpoint_before_stop)
        self.max_memory_mb = max_memory_mb
        self.max_cpu_percent = max_cpu_percent
        self.cpu_window_s = cpu_window_s
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._baseline: tuple[float, float] | None = None
        self.last_cpu_percent: float | None = None

    def reset(self) -> None:
        self._baseline = None
        self.last_cpu_percent = None

    def cpu_percent(self) -> float | None:
        """CPU use over the last completed window, or ``None`` before the first window ends."""
        now = (self._clock(), self._cpu_clock())
        if self._baseline is None:
            self._baseline = now
            return None
        wall = now[0] - self._baseline[0]
        if wall < self.cpu_window_s:
            return self.last_cpu_percent
        self.last_cpu_percent = 100.0 * (now[1] - self._baseline[1]) / wall
        self._baseline = now
        return self.last_cpu_percent

    def check_interrupt(self, context: InterruptContext) -> InterruptReason | None:
        if self.max_memory_mb is not None:
            rss = current_rss_mb()
            if rss >= self.max_memory_mb:
                return self._reason(
                    f"memory use {rss:.1f} MiB reached the limit of {self.max_memory_mb:g} MiB",
                    resource="memory",
                    memory_mb=round(rss, 1),
                    max_memory_mb=self.max_memory_mb,
                )
        if self.max_cpu_percent is not None:
            cpu = self.cpu_percent()
            if cpu is not None and cpu >= self.max_cpu_percent:
                return self._reason(
                    f"CPU use {cpu:.0f}% reached the limit of {self.max_cpu_percent:g}%",
                    resource="cpu",
                    cpu_percent=round(cpu, 1),
                    max_cpu_percent=self.max_cpu_percent,
                )
        return None
