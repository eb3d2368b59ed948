"""Built-in lifecycle hooks, registered by name in :mod:`kaizen_core.builtins`.

``logging``, ``metrics``, ``cost``, ``profiler`` and ``audit``; :class:`TracingHook` is the
interface an OpenTelemetry plugin implements. Phase latencies come from the manager's
PRE/POST pairing (``context.duration_ms`` on ``POST_x`` events).

Metadata keys that start with ``_`` are private to hooks (a tracing hook keeps its span
there between PRE and POST): the logging and audit records leave them out.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from abc import abstractmethod
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from kaizen_core._io_thread import IOThread
from kaizen_core.errors import ConfigError, KaizenError, redact
from kaizen_core.hooks.base import BaseHook
from kaizen_core.hooks.context import HookContext, HookResult
from kaizen_core.hooks.events import HookEvent, HookPriority

__all__ = [
    "AuditHook",
    "CostTrackingHook",
    "JsonFormatter",
    "JsonLogsHook",
    "LoggingHook",
    "MetricsHook",
    "PerformanceProfilerHook",
    "TracingHook",
    "audit_body",
    "percentile",
]

ALL_EVENTS: list[HookEvent] = list(HookEvent)
POST_EVENTS: list[HookEvent] = [e for e in HookEvent if e.is_post]
PAIRED_EVENTS: list[HookEvent] = [e for e in HookEvent if e.phase is not None]


def _record(context: HookContext) -> dict[str, Any]:
    record: dict[str, Any] = {
        "ts": context.occurred_at.isoformat(),
        "event": context.event.value,
        "agent_id": context.agent_id,
        "run_id": context.run_id,
        "trace_id": context.trace_id,
        "cycle": context.cycle,
        "metadata": {k: v for k, v in context.metadata.items() if not k.startswith("_")},
    }
    if context.duration_ms is not None:
        record["duration_ms"] = context.duration_ms
    return record


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _log_level(level: int | str) -> int:
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str):
        number = logging.getLevelNamesMapping().get(level.upper())
        if number is not None:
            return number
    raise ConfigError(
        f"unknown log level {level!r}", hint="use DEBUG, INFO, WARNING, ERROR, CRITICAL or a logging level number"
    )


class LoggingHook(BaseHook):
    """Writes every event as one structured JSON line, to a logger or a text stream.

    ``logger`` is a Logger or a logger name (default ``"kaizen.hooks.events"``); with
    ``stream`` set, lines go to that stream instead. ``level`` (or ``log_level``, the
    original documentation's name) is a ``logging`` level number or name (``"INFO"``).

    Subclasses choose what a line holds and where it goes by overriding :meth:`build`,
    :meth:`logger_for` and :meth:`level_for` (:class:`JsonLogsHook` does); the writing,
    with its redaction, is this class's.
    """

    events: list[HookEvent] = ALL_EVENTS
    priority = HookPriority.LOW
    name = "logging"

    def __init__(
        self,
        logger: logging.Logger | str | None = None,
        *,
        stream: TextIO | None = None,
        level: int | str | None = None,
        log_level: int | str | None = None,
    ) -> None:
        if level is not None and log_level is not None:
            raise ConfigError("LoggingHook got both level= and log_level=", hint="pass one of them")
        self.logger = (
            logger if isinstance(logger, logging.Logger) else logging.getLogger(logger or "kaizen.hooks.events")
        )
        self.stream = stream
        given = level if level is not None else log_level
        self.level = logging.INFO if given is None else _log_level(given)

    def build(self, context: HookContext) -> dict[str, Any] | None:
        """The JSON object logged for ``context`` (None: nothing is logged for it)."""
        return _record(context)

    def logger_for(self, context: HookContext) -> logging.Logger:
        """The logger the line of ``context`` goes to."""
        return self.logger

    def level_for(self, context: HookContext, record: dict[str, Any]) -> int:
        """The level of the line of ``context``."""
        return self.level

    @property
    def highest_level(self) -> int:
        """The highest level :meth:`level_for` returns (a logger not enabled for it is skipped at once)."""
        return self.level

    async def handle(self, context: HookContext) -> None:
        logger = self.logger_for(context)
        if self.stream is None and not logger.isEnabledFor(self.highest_level):
            return  # nobody would see it: not even built
        record = self.build(context)
        if record is None:
            return
        level = self.level_for(context, record)
        line = redact(json.dumps(record, default=str, ensure_ascii=False, separators=(",", ":")))
        if self.stream is not None:
            self.stream.write(line + "\n")
            self.stream.flush()
        elif logger.isEnabledFor(level):
            logger.log(level, "%s", line, extra={"kaizen_json": True})


#: POST event -> the operation its structured log line describes (logger ``kaizen.events.<kind>``)
_LOG_KINDS: dict[HookEvent, str] = {
    HookEvent.POST_AGENT_LOOP: "run",
    HookEvent.POST_MODEL_CALL: "model_call",
    HookEvent.POST_TOOL_CALL: "tool_call",
    HookEvent.POST_PERMISSION_CHECK: "permission",
    HookEvent.POST_CHECKPOINT_SAVE: "checkpoint",
    HookEvent.POST_INTERRUPT: "interrupt",
    HookEvent.ON_ERROR: "error",
}
#: kind -> the metadata fields its line carries
_LOG_FIELDS: dict[str, tuple[str, ...]] = {
    "run": ("status", "usage", "cost_usd", "error_type"),
    "model_call": ("provider", "model", "response_model", "usage", "cost_usd_call", "error_type"),
    "tool_call": ("tool", "tool_call_id", "outcome"),
    "permission": ("tool", "call_id", "decision", "initial_decision", "source", "reason"),
    "checkpoint": ("checkpoint_id", "parent_checkpoint_id", "step_number", "kind", "size_bytes"),
    "interrupt": ("reason", "checkpoint_id"),
    "error": ("error_type", "error_code", "error_message", "phase"),
}
_IDS_KEY = "_json_logs_trace_ids"
_PRE_KEY = "_json_logs_pre"


def _is_failure(kind: str, record: dict[str, Any]) -> bool:
    return bool(
        record.get("error_type")
        or record.get("status") in ("error", "interrupted")
        or record.get("outcome") == "error"
        or kind == "error"
    )


class JsonLogsHook(LoggingHook):
    """Structured JSON logs: one line per run, provider call, tool call, refused permission,
    checkpoint, interrupt and error, through :mod:`logging` (the ``json_logs`` hook).

    Each operation's line goes to the logger ``kaizen.events.<kind>`` (``run``,
    ``model_call``, ``tool_call``, ``permission``, ``checkpoint``, ``interrupt``, ``error``)
    at INFO (WARNING when it failed, ERROR for ``error``), or to ``stream``. It holds
    ``ts``, ``event`` (the kind), ``service``, ``agent_id``, ``run_id``, ``user_id`` /
    ``session_id`` (from :func:`~kaizen_core.hooks.hook_metadata`), ``cycle``,
    ``duration_ms``, the operation's own fields (provider, model, usage and cost; tool and
    outcome; checkpoint id...; never message or argument content) and, while a tracing
    plugin is active (kaizen-otel), the ``trace_id`` and ``span_id`` of the operation's span
    (read at its PRE event, where the span is current). Secrets are redacted. Only allowed
    permission decisions are not logged (their tool call is).
    """

    events: list[HookEvent] = [*(e.pre for e in _LOG_KINDS if e.pre is not None), *_LOG_KINDS]
    name = "json_logs"

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        level: int | str | None = None,
        service_name: str | None = None,
        logger_prefix: str = "kaizen.events",
    ) -> None:
        super().__init__(logger_prefix, stream=stream, level=level)
        self.service_name = service_name
        self._loggers = {kind: logging.getLogger(f"{logger_prefix}.{kind}") for kind in _LOG_FIELDS}

    def logger_for(self, context: HookContext) -> logging.Logger:
        kind = _LOG_KINDS.get(context.event)
        return self._loggers[kind] if kind is not None else self.logger

    @property
    def highest_level(self) -> int:
        return max(self.level, logging.ERROR)

    def level_for(self, context: HookContext, record: dict[str, Any]) -> int:
        if context.event is HookEvent.ON_ERROR:
            return max(self.level, logging.ERROR)
        return max(self.level, logging.WARNING) if _is_failure(record["event"], record) else self.level

    def build(self, context: HookContext) -> dict[str, Any] | None:
        from kaizen_core.tracecontext import current_trace_ids

        event = context.event
        md = context.metadata
        if event.is_pre:
            # The operation's span is current now (at POST the tracer has closed it), and some of
            # its fields are only given here (an interrupt's reason): keep both for the POST line.
            ids = current_trace_ids()
            if ids is not None:
                md[_IDS_KEY] = ids
            post = HookEvent("post_" + (event.phase or ""))
            given = {key: md[key] for key in _LOG_FIELDS[_LOG_KINDS[post]] if md.get(key) is not None}
            if given:
                md[_PRE_KEY] = given
            return None
        kind = _LOG_KINDS[event]
        if kind == "permission" and md.get("decision") == "allow":
            return None
        md = {**md.get(_PRE_KEY, {}), **md}
        ids = md.get(_IDS_KEY) or current_trace_ids()
        record: dict[str, Any] = {"ts": context.occurred_at.isoformat(), "event": kind}
        if self.service_name:
            record["service"] = self.service_name
        record["agent_id"] = context.agent_id
        record["run_id"] = context.run_id
        for key in _WHO_KEYS:
            if key in md:
                record[key] = md[key]
        if ids is not None:
            record["trace_id"], record["span_id"] = ids
        if context.cycle is not None:
            record["cycle"] = context.cycle
        if context.duration_ms is not None:
            record["duration_ms"] = round(context.duration_ms, 3)
        for key in _LOG_FIELDS[kind]:
            value = md.get(key)
            if value is not None:
                record[key] = value
        if kind == "run" and isinstance(md.get("error"), BaseException) and "error_type" not in record:
            record["error_type"] = type(md["error"]).__name__
        return record


class JsonFormatter(logging.Formatter):
    """Formats every log record as one JSON object: Kaizen's structured lines as they are,
    any other record as ``{"ts", "level", "logger", "message"}`` (message redacted, with the
    redacted traceback when it has one). ``enable_observability`` puts it on stderr when
    no handler is configured; use it on your own handler to ship all of Kaizen's logs as JSON.
    """

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "kaizen_json", False):
            return record.getMessage()
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info and record.exc_info[1] is not None:
            from kaizen_core.redaction import redacted_traceback

            out["traceback"] = redacted_traceback(record.exc_info[1])
        return json.dumps(out, default=str, ensure_ascii=False, separators=(",", ":"))


class MetricsHook(BaseHook):
    """In-memory counters per event and latency percentiles (p50/p95/p99) per phase.

    A phase's latency is ``context.duration_ms`` of its ``POST_x`` event: the time since the
    matching ``PRE_x`` (or the ``duration_ms`` the caller measured). The newest
    ``max_samples`` latencies per phase are kept.

    ``export_interval`` (seconds) exports :meth:`export` periodically: when an event arrives
    and at least that long has passed since the last export, the snapshot goes to
    ``exporter(snapshot)`` (default: one JSON line at INFO on the ``kaizen.hooks.metrics``
    logger). There is no background thread: an idle agent exports nothing. ``clock``
    (monotonic seconds) is injectable for tests.
    """

    events: list[HookEvent] = ALL_EVENTS
    priority = HookPriority.LOW
    name = "metrics"

    def __init__(
        self,
        max_samples: int = 10_000,
        *,
        export_interval: float | None = None,
        exporter: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if export_interval is not None and export_interval <= 0:
            raise ConfigError(f"MetricsHook export_interval must be positive, got {export_interval!r}")
        self.max_samples = max_samples
        self.export_interval = export_interval
        self.exporter = exporter or _log_metrics
        self.clock = clock
        self.counters: Counter[str] = Counter()
        self.samples: dict[str, deque[float]] = {}
        self._last_export = clock()

    async def handle(self, context: HookContext) -> None:
        self.observe(context)

    def observe(self, context: HookContext) -> None:
        """Record one event (sync; ``handle`` calls it), exporting when ``export_interval`` is due."""
        event = context.event
        self.counters[event.value] += 1
        if event.is_post and context.duration_ms is not None and event.phase is not None:
            self.record_latency(event.phase, context.duration_ms)
        if self.export_interval is not None:
            now = self.clock()
            if now - self._last_export >= self.export_interval:
                self._last_export = now
                self.exporter(self.export())

    def record_latency(self, phase: str, duration_ms: float) -> None:
        """Add one latency sample for ``phase``."""
        samples = self.samples.get(phase)
        if samples is None:
            samples = self.samples[phase] = deque(maxlen=self.max_samples)
        samples.append(duration_ms)

    def export(self) -> dict[str, Any]:
        """``{"counters": {event: n}, "latency_ms": {phase: {count, mean, p50, p95, p99, max}}}``."""
        latency: dict[str, dict[str, float]] = {}
        for phase, samples in self.samples.items():
            values = sorted(samples)
            latency[phase] = {
                "count": len(values),
                "mean": sum(values) / len(values) if values else 0.0,
                "p50": percentile(values, 50),
                "p95": percentile(values, 95),
                "p99": percentile(values, 99),
                "max": values[-1] if values else 0.0,
            }
        return {"counters": dict(self.counters), "latency_ms": latency}


def _log_metrics(snapshot: dict[str, Any]) -> None:
    logging.getLogger("kaizen.hooks.metrics").info("%s", json.dumps(snapshot, separators=(",", ":")))


def _usage_field(usage: Any, field: str) -> Any:
    if isinstance(usage, dict):
        return usage.get(field)
    return getattr(usage, field, None)


class CostTrackingHook(BaseHook):
    """Sums token usage and USD cost from ``POST_AGENT_LOOP`` metadata ``"usage"``.

    ``usage`` is a dict or a :class:`~kaizen_core.providers.types.Usage` with
    ``input_tokens``, ``output_tokens`` and ``cost_usd`` (None: price unknown, counted in
    ``runs_with_unknown_cost`` and never guessed).
    """

    events: list[HookEvent] = [HookEvent.POST_AGENT_LOOP]
    priority = HookPriority.LOW
    name = "cost"

    def __init__(self) -> None:
        self._totals: dict[str, dict[str, Any]] = {}

    async def handle(self, context: HookContext) -> dict[str, Any] | None:
        usage = context.metadata.get("usage")
        if usage is None:
            return None
        row = self._totals.setdefault(
            context.agent_id,
            {"runs": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "runs_with_unknown_cost": 0},
        )
        row["runs"] += 1
        row["input_tokens"] += int(_usage_field(usage, "input_tokens") or 0)
        row["output_tokens"] += int(_usage_field(usage, "output_tokens") or 0)
        cost = _usage_field(usage, "cost_usd")
        if cost is None:
            row["runs_with_unknown_cost"] += 1
        else:
            row["cost_usd"] += float(cost)
        return {"agent_cost_usd": row["cost_usd"]}

    def by_agent(self) -> dict[str, dict[str, Any]]:
        """Totals per agent id."""
        return {agent: dict(row) for agent, row in self._totals.items()}

    def totals(self) -> dict[str, Any]:
        """Totals over every agent."""
        out: dict[str, Any] = {
            "runs": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "cost_usd": 0.0,
            "runs_with_unknown_cost": 0,
        }
        for row in self._totals.values():
            for key in out:
                out[key] += row[key]
        return out


class PerformanceProfilerHook(BaseHook):
    """Time spent per phase (``context.duration_ms`` of each ``POST_x``): count, total, mean and max in ms."""

    events: list[HookEvent] = POST_EVENTS
    priority = HookPriority.CRITICAL
    name = "profiler"

    def __init__(self) -> None:
        self._phases: dict[str, list[float]] = {}  # phase -> [count, total_ms, max_ms]

    async def handle(self, context: HookContext) -> None:
        phase, ms = context.event.phase, context.duration_ms
        if phase is None or ms is None:
            return
        row = self._phases.setdefault(phase, [0, 0.0, 0.0])
        row[0] += 1
        row[1] += ms
        row[2] = max(row[2], ms)

    def report(self) -> dict[str, dict[str, float]]:
        """``{phase: {count, total_ms, mean_ms, max_ms}}``, the slowest phase (by total) first."""
        rows = sorted(self._phases.items(), key=lambda kv: kv[1][1], reverse=True)
        return {
            phase: {"count": int(n), "total_ms": total, "mean_ms": total / n, "max_ms": mx}
            for phase, (n, total, mx) in rows
        }


#: metadata keys the audit record lifts out of ``metadata`` into ``who`` / ``what`` / ``decision``
_WHO_KEYS = ("user_id", "session_id")
_DECISION_KEYS = ("decision", "initial_decision", "source", "reason")
_RECORD_FIELDS = frozenset({"cycle", "duration_ms", "duration_seconds"})


def audit_body(context: HookContext, service_name: str | None = None) -> dict[str, Any]:
    """The audit record of one event (before the chain fields), JSON-ready and redacted.

    ``event``, ``run_id``, ``trace_id``, ``cycle``, ``duration_ms``; ``who`` (``agent_id``,
    ``user_id`` and ``session_id`` from :func:`~kaizen_core.hooks.hook_metadata`, ``service``);
    ``what`` (``tool``, ``call_id``, ``arguments`` on tool and permission events);
    ``decision`` (the permission decision at ``post_permission_check``, the ``outcome`` of a
    tool call or the ``status`` of a run); ``metadata``: the rest of the event's metadata.
    """
    # private keys stay out; cycle and the durations are the record's own fields
    md = {k: v for k, v in context.metadata.items() if not k.startswith("_") and k not in _RECORD_FIELDS}
    who: dict[str, Any] = {"agent_id": context.agent_id}
    for key in _WHO_KEYS:
        if key in md:
            who[key] = md.pop(key)
    if service_name:
        who["service"] = service_name
    what: dict[str, Any] = {}
    if "tool" in md:
        what["tool"] = md.pop("tool")
        if md.get("action") == what["tool"]:
            del md["action"]
    call_id = md.pop("tool_call_id", None)
    call_id = md.pop("call_id", None) or call_id
    if call_id is not None:
        what["call_id"] = call_id
    if "arguments" in md:
        what["arguments"] = md.pop("arguments")
    decision: dict[str, Any] = {}
    event = context.event
    if event is HookEvent.POST_PERMISSION_CHECK:
        decision = {key: md.pop(key) for key in _DECISION_KEYS if key in md}
    elif event is HookEvent.POST_TOOL_CALL and "outcome" in md:
        decision = {"outcome": md.pop("outcome")}
        if md.get("status") == decision["outcome"]:
            del md["status"]
    elif event is HookEvent.POST_AGENT_LOOP and "status" in md:
        decision = {"outcome": md.pop("status")}
    body: dict[str, Any] = {
        "event": event.value,
        "run_id": context.run_id,
        "trace_id": context.trace_id,
        "cycle": context.cycle,
        "who": who,
        "what": what,
        "decision": decision,
        "metadata": md,
    }
    if context.duration_ms is not None:
        body["duration_ms"] = context.duration_ms
    # One redaction over the serialized body (it sees "password": "..." pairs a walk over values would miss).
    text = redact(json.dumps(body, default=str, ensure_ascii=False, separators=(",", ":")))
    result: dict[str, Any] = json.loads(text)
    return result


class AuditHook(BaseHook):
    """The tamper-evident audit trail: one hash-chained JSONL record per event (:mod:`kaizen_core.audit`).

    ``path`` is the trail's file (default ``kaizen-audit.jsonl``); ``storage_path`` (the
    original documentation's keyword) names a directory instead, the trail being
    ``<storage_path>/kaizen-audit.jsonl``. Pass one of them.

    Each record (:func:`audit_body` plus ``seq``, ``ts``, ``prev``, ``alg``, ``hash``) says
    who (agent, user), what (event, tool, redacted arguments) and the decision (permission
    decisions, tool outcomes); ``kaizen audit verify FILE`` checks the chain. An existing
    file is continued. ``fsync_every`` (default 1: every record is on disk before the hook
    returns) batches fsyncs; ``key`` (or ``key_env``, the name of the environment variable
    holding it, for TOML) makes the hashes HMAC-SHA256. ``service_name`` goes into ``who``.
    ``events`` narrows what is recorded (default: every event).

    A record that cannot be written at ``PRE_TOOL_CALL`` blocks the tool call (the reason
    says why): no tool runs unaudited. At other events the failure is the hook's (HOOK_003,
    logged by the manager). A write that fsyncs runs on the hook's own I/O thread
    (:class:`~kaizen_core._io_thread.IOThread`), as does any write made while one is waiting
    there, so records are appended in the order the events reached the hook; a write without
    an fsync, with nothing waiting, is made directly (no thread hop). A write whose caller is
    cancelled is still made whole. The hook has no
    timeout (the manager's ``default_timeout`` does not apply): a slow disk holds the event,
    and the tool call after it, until the record is written; a timed-out handler would let
    the tool run without its record.
    """

    events: list[HookEvent] = ALL_EVENTS
    priority = HookPriority.CRITICAL
    name = "audit"
    timeout = math.inf  # never skipped for slowness: see the class docstring
    FILE_NAME = "kaizen-audit.jsonl"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        storage_path: str | os.PathLike[str] | None = None,
        fsync_every: int = 1,
        key: bytes | str | None = None,
        key_env: str | None = None,
        service_name: str | None = None,
        events: list[HookEvent | str] | None = None,
    ) -> None:
        from kaizen_core.audit import AuditChainWriter

        super().__init__(events=events)
        if path is not None and storage_path is not None:
            raise ConfigError(
                "AuditHook got both path= and storage_path=", hint="path is the file, storage_path its directory"
            )
        if key is not None and key_env is not None:
            raise ConfigError("AuditHook got both key= and key_env=", hint="pass the key or the variable holding it")
        if key_env is not None:
            key = os.environ.get(key_env)
            if not key:
                raise ConfigError(f"AuditHook key_env={key_env!r}: the environment variable is not set")
        self.path = Path(storage_path) / self.FILE_NAME if storage_path is not None else Path(path or self.FILE_NAME)
        self.service_name = service_name
        self.writer = AuditChainWriter(self.path, fsync_every=fsync_every, key=key)
        self._io = IOThread(f"kaizen-audit {self.path}")
        self._queued = 0  # appends submitted to self._io and not run yet: later ones queue behind them
        self._queued_lock = threading.Lock()  # events may come from several loops (the sync API's)

    def _append_queued(self, body: dict[str, Any]) -> None:
        """An append on the I/O thread (counted in ``_queued`` until it has run)."""
        try:
            self.writer.append(body)
        finally:
            with self._queued_lock:
                self._queued -= 1

    async def handle(self, context: HookContext) -> HookResult | None:
        body = audit_body(context, self.service_name)
        try:
            # An fsync takes milliseconds: not on the event loop. An append behind a queued one
            # queues too, or it would land before it.
            with self._queued_lock:
                off_loop = self._queued > 0 or self.writer.sync_due
                if off_loop:
                    self._queued += 1
            if off_loop:
                await self._io.run(self._append_queued, body)
            else:
                self.writer.append(body)
        except (OSError, KaizenError) as exc:
            if context.event is not HookEvent.PRE_TOOL_CALL:
                raise
            reason = f"the audit trail {self.path} cannot be written: {redact(str(exc))}"
            logging.getLogger("kaizen.audit").error("%s; tool call %s blocked", reason, context.metadata.get("tool"))
            return HookResult.block(reason)
        return None

    @property
    def head(self) -> Any:
        """The trail's last record (:class:`~kaizen_core.audit.ChainHead`: ``seq`` and ``hash``) as this hook knows it."""
        return self.writer.head

    def close(self) -> None:
        """Stop the I/O thread after the writes already queued, sync and close the file (the
        next event reopens it, and starts the thread again, continuing the chain)."""
        self._io.stop()
        self.writer.close()


class TracingHook(BaseHook):
    """Interface for tracing backends (the OpenTelemetry implementation is a plugin).

    Opens a span on each ``PRE_x`` event and ends it on the matching ``POST_x``; the span
    travels in the context's metadata (a private ``_`` key), so PRE and POST pair exactly as
    the manager pairs them (per agent, run and step). ``ON_ERROR`` goes to
    :meth:`record_error`. Subclasses implement :meth:`start_span` and :meth:`end_span`.
    """

    events: list[HookEvent] = ALL_EVENTS
    priority = HookPriority.CRITICAL
    name = "tracing"

    @property
    def _span_key(self) -> str:
        return f"_{self.hook_name}_span"

    @abstractmethod
    def start_span(self, name: str, context: HookContext) -> Any:
        """Start a span called ``name`` (the phase, e.g. ``"tool_call"``); return its handle."""

    @abstractmethod
    def end_span(self, span: Any, context: HookContext) -> None:
        """End ``span`` (returned by :meth:`start_span`); ``context`` is the POST event."""

    def record_error(self, context: HookContext) -> None:
        """Called on ``ON_ERROR``; the default does nothing."""

    async def handle(self, context: HookContext) -> None:
        event = context.event
        phase = event.phase
        if phase is None:
            self.record_error(context)
        elif event.is_pre:
            context.metadata[self._span_key] = self.start_span(phase, context)
        elif (span := context.metadata.pop(self._span_key, None)) is not None:
            self.end_span(span, context)
