"""OTelHook: OpenTelemetry spans and metrics for Kaizen runs, following the GenAI semantic conventions.

Spans (the lifecycle events they come from):

* ``invoke_agent {agent}`` per run (PRE/POST_AGENT_LOOP), INTERNAL; its parent is the span
  current when the run starts (a pipeline step, the application's own span) or, when there
  is none, the W3C ``traceparent`` in the run's hook metadata (a child run executed
  elsewhere, see :mod:`kaizen_core.tracecontext`);
* ``chat {model}`` per provider call (PRE/POST_MODEL_CALL), CLIENT, child of the run;
* ``execute_tool {tool}`` per tool call (PRE/POST_TOOL_CALL), INTERNAL, child of the run;
* ``pipeline_step {key}`` per pipeline child (the pipeline's PRE/POST_AGENT_LOOP for a child),
  child of the pipeline's run; the child's own ``invoke_agent`` span nests in it.

Each span is *current* in the task between its PRE and POST events (hook handlers run in the
triggering task's context), so the provider's HTTP request carries the chat span's
``traceparent``, a child run started in a pipeline step nests under it, and log records
get its ids (:class:`kaizen_otel.TraceContextFilter`). Spans are paired through the
manager's PRE/POST pairing (per agent, run and step: exact under parallel tool calls and
concurrent runs); a span still open when its run ends (a call an interrupt cut short) is
ended with the run.

Metrics: ``gen_ai.client.token.usage`` ({token}, per ``gen_ai.token.type``),
``gen_ai.client.operation.duration`` (s), ``kaizen.gen_ai.client.cost`` (USD, priced models
only), labelled by operation, provider and model only (bounded cardinality).

Message content (prompts, completions, tool arguments and results) is recorded only with
``capture_content=True`` (or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``), and
redacted; by default spans hold names, ids, models, token counts and error types.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from kaizen_core.hooks import HookContext, HookEvent, HookPriority
from kaizen_core.hooks.builtin import TracingHook
from kaizen_core.redaction import redact
from kaizen_core.tracecontext import register_propagator
from kaizen_otel import semconv as sc
from kaizen_otel.export import resolve_providers, shutdown

__all__ = ["OTelHook"]

E = HookEvent
_MAX_OPEN_RUNS = 10_000  # runs whose POST never came are forgotten beyond this


class _Open:
    """One open span: the span, the context token that made it current, its run's record."""

    __slots__ = ("children", "context", "run", "span", "token")

    def __init__(self, span: Any, token: Any, run: _Open | None = None, context: Any = None) -> None:
        self.span = span
        self.token = token
        self.run = run
        self.context = context  # a run's context with its span: the parent of its calls
        self.children: set[_Open] | None = None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class OTelHook(TracingHook):
    """The ``otel`` lifecycle hook (kaizen-otel). See the module docstring for what it records.

    Options (all optional; ``hooks = [{name = "otel", service_name = "shop", endpoint = "http://collector:4318"}]``):

    * ``service_name``: the resource's ``service.name`` (else ``OTEL_SERVICE_NAME``, else ``"kaizen"``);
    * ``endpoint``: the OTLP HTTP collector's base URL; ``headers``: a mapping or ``"k=v,..."``
      (secrets: never logged); without them the standard ``OTEL_EXPORTER_OTLP_*`` variables apply;
    * ``capture_content``: record message content (default off: it may hold personal data);
    * ``metrics``: record the GenAI metrics (default True);
    * ``tracer_provider`` / ``meter_provider``: record into these instead (see :mod:`kaizen_otel.export`).
    """

    events: list[HookEvent] = [
        E.PRE_AGENT_LOOP,
        E.POST_AGENT_LOOP,
        E.PRE_MODEL_CALL,
        E.POST_MODEL_CALL,
        E.PRE_TOOL_CALL,
        E.POST_TOOL_CALL,
        E.ON_ERROR,
    ]
    priority = HookPriority.CRITICAL  # first at PRE: the span is current for the other hooks
    name = "otel"

    def __init__(
        self,
        service_name: str | None = None,
        *,
        endpoint: str | None = None,
        headers: Mapping[str, str] | str | None = None,
        capture_content: bool | None = None,
        metrics: bool = True,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        super().__init__()
        providers = resolve_providers(
            service_name=service_name,
            endpoint=endpoint,
            headers=headers,
            metrics=metrics,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        self.service_name = service_name
        self._providers = providers
        self.tracer_provider = providers.tracer
        self.meter_provider = providers.meter
        self.capture_content = (
            _truthy(os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"))
            if capture_content is None
            else capture_content
        )
        self.tracer = providers.tracer.get_tracer("kaizen_otel", sc.VERSION, schema_url=sc.SCHEMA_URL)
        self._token_usage: Any = None
        self._duration: Any = None
        self._cost: Any = None
        if providers.meter is not None:
            meter = providers.meter.get_meter("kaizen_otel", sc.VERSION, schema_url=sc.SCHEMA_URL)
            self._token_usage = meter.create_histogram(
                sc.METRIC_TOKEN_USAGE,
                unit="{token}",
                description="Number of input and output tokens used per model call",
                explicit_bucket_boundaries_advisory=sc.TOKEN_BUCKETS,
            )
            self._duration = meter.create_histogram(
                sc.METRIC_OPERATION_DURATION,
                unit="s",
                description="Duration of each model call",
                explicit_bucket_boundaries_advisory=sc.DURATION_BUCKETS,
            )
            self._cost = meter.create_counter(
                sc.METRIC_COST, unit="USD", description="Cost of the model calls in US dollars (priced models only)"
            )
        # Where a PRE event's span waits for its POST: a private metadata key, one per hook
        # instance (two otel hooks on one manager keep their spans apart).
        self._key = f"_otel_span_{id(self):x}"
        self._runs: dict[tuple[str, str | None], _Open] = {}
        self._steps: dict[tuple[str, str], _Open] = {}
        # Outgoing HTTP provider requests and pipeline children carry the current span (W3C traceparent).
        register_propagator(propagate.inject)

    # -- dispatch ----------------------------------------------------------------------------
    async def handle(self, context: HookContext) -> None:
        event = context.event
        if event is E.ON_ERROR:
            self.record_error(context)
            return
        phase = event.phase
        assert phase is not None
        if phase == "agent_loop" and context.run_id is None and "parent_run_id" in context.metadata:
            # The pipeline's own events around one child: keyed by (pipeline run, step), which
            # tells apart concurrent children even when they are the same agent.
            if event.is_pre:
                self._start_step(context)
            else:
                self._end_step(context)
            return
        if event.is_pre:
            opened = self.start_span(phase, context)
            if opened is not None:
                context.metadata[self._key] = opened
        else:
            opened = context.metadata.pop(self._key, None)
            if isinstance(opened, _Open):
                self.end_span(opened, context)

    def start_span(self, name: str, context: HookContext) -> _Open | None:
        """Open the span of phase ``name`` (``agent_loop``, ``model_call``, ``tool_call``) and make it current."""
        if name == "model_call":
            return self._start_chat(context)
        if name == "tool_call":
            return self._start_tool(context)
        if name == "agent_loop":
            return self._start_run(context)
        return None

    def end_span(self, span: Any, context: HookContext) -> None:
        """End ``span`` (an open span of :meth:`start_span`) with what the POST event says."""
        phase = context.event.phase
        if phase == "model_call":
            self._end_chat(span, context)
        elif phase == "tool_call":
            self._end_tool(span, context)
        elif phase == "agent_loop":
            self._end_run(span, context)

    def record_error(self, context: HookContext) -> None:
        """ON_ERROR: an ``exception`` event (type and redacted message) on the run's span."""
        run = self._runs.get((context.agent_id, context.run_id))
        span = run.span if run is not None else trace.get_current_span()
        if not span.is_recording():
            return
        md = context.metadata
        attributes = {"exception.type": str(md.get("error_type") or "Exception")}
        if md.get("error_message"):
            attributes["exception.message"] = str(md["error_message"])  # redacted by the manager
        if md.get("error_code"):
            attributes[sc.KAIZEN_ERROR_CODE] = str(md["error_code"])
        if md.get("phase"):
            attributes["kaizen.phase"] = str(md["phase"])
        span.add_event("exception", attributes)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export every finished span and the metrics now (True when both providers managed)."""
        ok = True
        for provider in (self.tracer_provider, self.meter_provider):
            flush = getattr(provider, "force_flush", None)
            if flush is not None:
                ok = bool(flush(timeout_millis)) and ok
        return ok

    def shutdown(self) -> None:
        """Flush and shut down the export pipeline this hook built (shared by hooks with the same
        settings; given or global providers are left alone). Exporting stops for all of them."""
        shutdown(self._providers)

    # -- runs --------------------------------------------------------------------------------
    def _start_run(self, context: HookContext) -> _Open:
        md = context.metadata
        agent = context.agent_id
        parent = None  # the current context
        if not trace.get_current_span().get_span_context().is_valid:
            carried = md.get("traceparent")
            if isinstance(carried, str):  # a child run executed away from its parent's task
                carrier = {"traceparent": carried}
                if isinstance(md.get("tracestate"), str):
                    carrier["tracestate"] = md["tracestate"]
                parent = propagate.extract(carrier)
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: "invoke_agent",
            sc.AGENT_NAME: agent,
            sc.AGENT_ID: agent,
        }
        if context.run_id is not None:
            attributes[sc.KAIZEN_RUN_ID] = context.run_id
        session = md.get("session_id")
        if session is not None:
            attributes[sc.CONVERSATION_ID] = str(session)
        if md.get("parent_run_id") is not None:
            attributes[sc.KAIZEN_PARENT_RUN_ID] = str(md["parent_run_id"])
        if md.get("pipeline_step") is not None:
            attributes[sc.KAIZEN_PIPELINE_STEP] = str(md["pipeline_step"])
        span = self.tracer.start_span(f"invoke_agent {agent}", context=parent, kind=SpanKind.INTERNAL, attributes=attributes)
        run_context = trace.set_span_in_context(span, parent)
        opened = _Open(span, otel_context.attach(run_context), context=run_context)
        opened.children = set()
        runs = self._runs
        if len(runs) >= _MAX_OPEN_RUNS:
            runs.pop(next(iter(runs)))
        runs[(agent, context.run_id)] = opened
        return opened

    def _end_run(self, opened: _Open, context: HookContext) -> None:
        self._runs.pop((context.agent_id, context.run_id), None)
        md = context.metadata
        span = opened.span
        status = md.get("status")
        meta = md.get("meta")
        if isinstance(meta, Mapping):
            if meta.get("provider"):
                span.set_attribute(sc.PROVIDER_NAME, sc.provider_name(str(meta["provider"])))
            if meta.get("model"):
                span.set_attribute(sc.REQUEST_MODEL, str(meta["model"]))
        _set_usage(span, md.get("usage"))
        if status is not None:
            span.set_attribute(sc.KAIZEN_STATUS, str(status))
        error = md.get("error")
        if isinstance(error, BaseException):
            _fail(span, type(error).__name__, error)
        for child in list(opened.children or ()):  # calls the run's end cut short (an interrupt)
            child.span.set_attribute(sc.KAIZEN_STATUS, str(status or "unfinished"))
            child.span.end()
        span.end()
        otel_context.detach(opened.token)

    # -- model calls -------------------------------------------------------------------------
    def _start_chat(self, context: HookContext) -> _Open:
        md = context.metadata
        run = self._runs.get((context.agent_id, context.run_id))
        model = md.get("model")
        attributes: dict[str, Any] = {sc.OPERATION_NAME: "chat"}
        if md.get("provider"):
            attributes[sc.PROVIDER_NAME] = sc.provider_name(str(md["provider"]))
        if model:
            attributes[sc.REQUEST_MODEL] = str(model)
        if md.get("session_id") is not None:
            attributes[sc.CONVERSATION_ID] = str(md["session_id"])
        request = md.get("_request")
        if request is not None:
            params = request.params
            for key, value in (
                (sc.REQUEST_TEMPERATURE, params.temperature),
                (sc.REQUEST_MAX_TOKENS, params.max_tokens),
                (sc.REQUEST_SEED, params.seed),
            ):
                if value is not None:
                    attributes[key] = value
            if self.capture_content:
                system, messages = sc.input_messages(request.messages)
                if system is not None:
                    attributes[sc.SYSTEM_INSTRUCTIONS] = redact(system)
                attributes[sc.INPUT_MESSAGES] = redact(messages)
        return self._open_child(f"chat {model}" if model else "chat", SpanKind.CLIENT, attributes, run)

    def _end_chat(self, opened: _Open, context: HookContext) -> None:
        md = context.metadata
        span = opened.span
        error = md.get("error")
        response_model = md.get("response_model")
        if response_model:
            span.set_attribute(sc.RESPONSE_MODEL, str(response_model))
        usage = md.get("usage")
        _set_usage(span, usage)
        completion = md.get("_completion")
        if completion is not None:
            span.set_attribute(sc.RESPONSE_FINISH_REASONS, [str(completion.finish_reason)])
            if self.capture_content:
                span.set_attribute(sc.OUTPUT_MESSAGES, redact(sc.output_messages(completion)))
        error_type = None
        if isinstance(error, BaseException):
            error_type = str(md.get("error_type") or type(error).__name__)
            _fail(span, error_type, error)
        self._close(opened)
        if self._duration is not None:
            self._record_metrics(md, context, error_type, usage)

    def _record_metrics(self, md: Mapping[str, Any], context: HookContext, error_type: str | None, usage: Any) -> None:
        attributes: dict[str, Any] = {sc.OPERATION_NAME: "chat"}
        if md.get("provider"):
            attributes[sc.PROVIDER_NAME] = sc.provider_name(str(md["provider"]))
        if md.get("model"):
            attributes[sc.REQUEST_MODEL] = str(md["model"])
        if md.get("response_model"):
            attributes[sc.RESPONSE_MODEL] = str(md["response_model"])
        if error_type is not None:
            attributes[sc.ERROR_TYPE] = error_type
        seconds = md.get("duration_seconds")
        if isinstance(seconds, int | float):
            self._duration.record(float(seconds), attributes)
        if isinstance(usage, Mapping):
            for token_type, field in (("input", "input_tokens"), ("output", "output_tokens")):
                count = usage.get(field)
                if isinstance(count, int):
                    self._token_usage.record(count, {**attributes, sc.TOKEN_TYPE: token_type})
        cost = md.get("cost_usd_call")
        if isinstance(cost, int | float) and cost > 0:
            self._cost.add(float(cost), attributes)

    # -- tool calls --------------------------------------------------------------------------
    def _start_tool(self, context: HookContext) -> _Open:
        md = context.metadata
        run = self._runs.get((context.agent_id, context.run_id))
        tool = str(md.get("tool") or "tool")
        attributes: dict[str, Any] = {sc.OPERATION_NAME: "execute_tool", sc.TOOL_NAME: tool, sc.TOOL_TYPE: "function"}
        if md.get("tool_call_id") is not None:
            attributes[sc.TOOL_CALL_ID] = str(md["tool_call_id"])
        if self.capture_content and md.get("arguments") is not None:
            attributes[sc.TOOL_CALL_ARGUMENTS] = redact(json.dumps(md["arguments"], default=str, ensure_ascii=False))
        return self._open_child(f"execute_tool {tool}", SpanKind.INTERNAL, attributes, run)

    def _end_tool(self, opened: _Open, context: HookContext) -> None:
        md = context.metadata
        span = opened.span
        outcome = md.get("outcome")
        result = md.get("result")
        if outcome is not None:
            span.set_attribute(sc.KAIZEN_STATUS, str(outcome))
        if outcome not in (None, "success"):
            code = _tool_error_code(result)
            error_type = code or str(outcome)
            span.set_attribute(sc.ERROR_TYPE, error_type)
            if code:
                span.set_attribute(sc.KAIZEN_ERROR_CODE, code)
            span.set_status(Status(StatusCode.ERROR, f"tool call {outcome}"))
        if self.capture_content and result is not None:
            span.set_attribute(sc.TOOL_CALL_RESULT, redact(str(result)))
        self._close(opened)

    # -- pipeline steps ----------------------------------------------------------------------
    def _start_step(self, context: HookContext) -> None:
        md = context.metadata
        parent_run = str(md["parent_run_id"])
        step = str(md.get("step"))
        pipeline = self._runs.get((str(md.get("pipeline")), parent_run))
        attributes: dict[str, Any] = {
            sc.AGENT_NAME: str(md.get("agent") or context.agent_id),
            sc.AGENT_ID: context.agent_id,
            sc.KAIZEN_PARENT_RUN_ID: parent_run,
            sc.KAIZEN_PIPELINE_STEP: step,
        }
        if md.get("pattern"):
            attributes[sc.KAIZEN_PIPELINE_PATTERN] = str(md["pattern"])
        self._steps[(parent_run, step)] = self._open_child(f"pipeline_step {step}", SpanKind.INTERNAL, attributes, pipeline)

    def _end_step(self, context: HookContext) -> None:
        md = context.metadata
        opened = self._steps.pop((str(md["parent_run_id"]), str(md.get("step"))), None)
        if opened is None:
            return
        span = opened.span
        status = md.get("status")
        if status is not None:
            span.set_attribute(sc.KAIZEN_STATUS, str(status))
        if md.get("child_run_id"):
            span.set_attribute(sc.KAIZEN_CHILD_RUN_ID, str(md["child_run_id"]))
        _set_usage(span, md.get("usage"))
        error = md.get("error")
        if status not in (None, "success"):
            error_type = str(error.get("type") or status) if isinstance(error, Mapping) else str(status)
            span.set_attribute(sc.ERROR_TYPE, error_type)
            span.set_status(Status(StatusCode.ERROR, f"step {status}"))
        self._close(opened)

    # -- shared ------------------------------------------------------------------------------
    def _open_child(self, name: str, kind: SpanKind, attributes: dict[str, Any], parent: _Open | None) -> _Open:
        """Start span ``name`` under ``parent`` (a run or pipeline span; None: the current context), made current."""
        span = self.tracer.start_span(
            name, context=parent.context if parent is not None else None, kind=kind, attributes=attributes
        )
        return self._opened(span, parent)

    def _opened(self, span: Any, run: _Open | None) -> _Open:
        opened = _Open(span, otel_context.attach(trace.set_span_in_context(span)), run)
        if run is not None and run.children is not None:
            run.children.add(opened)
        return opened

    @staticmethod
    def _close(opened: _Open) -> None:
        run = opened.run
        if run is not None and run.children is not None:
            run.children.discard(opened)
        opened.span.end()
        otel_context.detach(opened.token)


def _set_usage(span: Any, usage: Any) -> None:
    if isinstance(usage, Mapping):
        for key, field in ((sc.USAGE_INPUT_TOKENS, "input_tokens"), (sc.USAGE_OUTPUT_TOKENS, "output_tokens")):
            value = usage.get(field)
            if isinstance(value, int):
                span.set_attribute(key, value)
        cost = usage.get("cost_usd")
        if isinstance(cost, int | float):
            span.set_attribute(sc.KAIZEN_COST_USD, float(cost))


def _fail(span: Any, error_type: str, error: BaseException) -> None:
    """Error status, ``error.type`` and an ``exception`` event; the message is redacted (no traceback)."""
    message = redact(str(getattr(error, "message", None) or error))
    span.set_attribute(sc.ERROR_TYPE, error_type)
    code = getattr(error, "code", None)
    if isinstance(code, str):
        span.set_attribute(sc.KAIZEN_ERROR_CODE, code)
    span.add_event("exception", {"exception.type": error_type, "exception.message": message})
    span.set_status(Status(StatusCode.ERROR, message))


def _tool_error_code(result: Any) -> str | None:
    """The ``error_code`` of a failed tool call's message (``{"error": ..., "error_code": ...}``)."""
    if not isinstance(result, str) or not result.startswith("{"):
        return None
    try:
        body = json.loads(result)
    except ValueError:
        return None
    code = body.get("error_code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None

