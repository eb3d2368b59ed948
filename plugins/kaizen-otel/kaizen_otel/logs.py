"""Trace and span ids for structured logs: :func:`current_ids` and :class:`TraceContextFilter`."""

from __future__ import annotations

import logging

from opentelemetry import trace

__all__ = ["TraceContextFilter", "current_ids"]


def current_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` of the current span as lower-case hex (32 and 16 digits), None outside a span.

    Inside a run traced by the ``otel`` hook this is the innermost open span of the calling
    task: the tool call inside a tool, the model call inside a provider, else the run.
    """
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


class TraceContextFilter(logging.Filter):
    """A logging filter adding ``trace_id`` and ``span_id`` (hex, or None outside a span) to every record.

    It never drops a record. Attach it to a handler (``handler.addFilter(TraceContextFilter())``)
    and use ``%(trace_id)s`` in a format, or read the attributes in a JSON formatter.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        record.trace_id, record.span_id = ids if ids is not None else (None, None)
        return True
