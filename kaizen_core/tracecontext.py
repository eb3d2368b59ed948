"""Trace-context propagation for a tracing plugin, with no tracing library in the core.

A tracing plugin (kaizen-otel) registers one *propagator*: a function writing the trace
context current in the calling task into a carrier of string headers, e.g. W3C Trace
Context ``{"traceparent": "00-<32 hex trace id>-<16 hex span id>-01"}``. The core calls
:func:`inject` where work leaves the process or the task:

* every HTTP provider request (:class:`kaizen_core.providers.http.HTTPClient`) carries
  the headers, so the model server's spans join the run's trace;
* every pipeline child runs inside ``hook_metadata(traceparent=..., ...)`` (the headers
  of :func:`current_headers`), so an executor running the child elsewhere (another
  process, a Ray worker) carries its parent with the child's hook metadata and the
  tracing hook over there continues the same trace.

With nothing registered (the default) :func:`inject` is one truth test and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping

__all__ = [
    "Propagator",
    "current_headers",
    "current_trace_ids",
    "inject",
    "register_propagator",
    "unregister_propagator",
    "with_trace_headers",
]

#: Writes the current trace context into a carrier (header name -> value).
Propagator = Callable[[MutableMapping[str, str]], None]

# A tuple replaced on (un)registration, never mutated: readers need no lock.
_PROPAGATORS: tuple[Propagator, ...] = ()


def register_propagator(propagator: Propagator) -> None:
    """Add ``propagator`` (registering the same function twice keeps one)."""
    global _PROPAGATORS
    if propagator not in _PROPAGATORS:
        _PROPAGATORS = (*_PROPAGATORS, propagator)


def unregister_propagator(propagator: Propagator) -> None:
    """Remove ``propagator`` (no-op when it is not registered)."""
    global _PROPAGATORS
    _PROPAGATORS = tuple(p for p in _PROPAGATORS if p != propagator)


def inject(carrier: MutableMapping[str, str]) -> None:
    """Write the current trace context into ``carrier`` with every registered propagator."""
    for propagator in _PROPAGATORS:
        propagator(carrier)


def current_headers() -> dict[str, str]:
    """The current trace context as headers (``{}`` when no propagator is registered or no trace is active)."""
    if not _PROPAGATORS:
        return {}
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier


def with_trace_headers(headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """``headers`` plus the current trace headers (``headers`` itself when there are none)."""
    if not _PROPAGATORS:
        return headers
    trace = current_headers()
    if not trace:
        return headers
    return {**(headers or {}), **trace}


def current_trace_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` in hex of the current span, from its W3C ``traceparent``; None outside a trace.

    For structured logs that want the ids without importing a tracing library.
    """
    parent = current_headers().get("traceparent")
    if not parent:
        return None
    parts = parent.split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    return parts[1], parts[2]
