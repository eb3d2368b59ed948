"""A2A (Agent2Agent) endpoints on a2a-sdk 1.x: every served agent as an A2A agent.

    GET  /agents/{name}/.well-known/agent-card.json    the agent's card
    GET  /.well-known/agent-card.json                  the default agent's card (the first served)
    POST /agents/{name}/a2a                            JSON-RPC: SendMessage, SendStreamingMessage,
                                                       GetTask, CancelTask, ... (A2A 1.0), and the
                                                       0.3 names (message/send, message/stream,
                                                       tasks/get, tasks/cancel) on the same URL

Built on the SDK's route factories (``create_jsonrpc_routes``) and its
``DefaultRequestHandler``; the one Kaizen-specific piece is :class:`RunExecutor`, an
``AgentExecutor`` that starts an ordinary run through the server's
:class:`~kaizen_serve.runs.RunManager` and translates that run's event stream into A2A
task updates. So an A2A task *is* a run: it shows in ``GET /runs`` and on the dashboard,
its approvals are answered with ``POST /runs/{id}/responses/{request_id}``, and the
task's metadata carries ``kaizen_run_id``.

Messages to inputs: a data part holding a JSON object is the inputs; otherwise the text
is the value of the agent's single required input (or, when the signature has several
inputs, parsed as a JSON object of them). Invalid inputs reject the task with
the field errors. The answer is one artifact ``result``: a data part with the output
fields, plus a text part when the signature has a single text output.

Auth: the same API keys as the rest of the server (the cards too: nothing is served
without a key unless ``--insecure-no-auth``); cards declare the bearer scheme, and a key
limited to some agents is refused (403) on the others' cards and endpoints. The SDK's
A2A task records are kept in memory per server process (the runs themselves are in the
server's storage like every run).
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from kaizen_core.errors import InputValidationError, KaizenError
from kaizen_serve.errors import HTTPError

__all__ = ["agent_card", "executor_type", "message_inputs", "routes"]

logger = logging.getLogger("kaizen.serve")

RPC_SUFFIX = "/a2a"
CARD_PATH = "/.well-known/agent-card.json"
#: Never copied into the SDK's call context (it keeps the request headers there).
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def _text_field(served: Any) -> str | None:
    """The name of the signature's only required input (or only input), if it has exactly one."""
    fields = served.signature.input_fields()
    required = [name for name, spec in fields.items() if getattr(spec, "required", True)]
    names = required or list(fields)
    return names[0] if len(names) == 1 else None


def message_inputs(served: Any, message: Any) -> dict[str, Any]:
    """The run inputs a user message carries (see the module docstring); EXEC_001 when it carries none."""
    from a2a.helpers import get_data_parts, get_text_parts

    for data in get_data_parts(message.parts):
        if isinstance(data, dict):
            return data
    text = "\n".join(get_text_parts(message.parts)).strip()
    field = _text_field(served)
    if field is not None and text:
        return {field: text}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return data
    names = ", ".join(served.signature.input_fields())
    raise InputValidationError(
        f"the message carries no inputs for agent {served.name!r}",
        hint=f"send a data part with a JSON object of its inputs ({names})",
    )


def _answer_parts(served: Any, result: dict[str, Any]) -> list[Any]:
    from a2a.helpers import new_data_part, new_text_part

    fields = list(served.signature.output_fields())
    # The signature's outputs only: not _meta, nor an autonomous run's bookkeeping (tool calls, stop reason).
    outputs = {name: result[name] for name in fields if name in result}
    parts = [new_data_part(outputs, media_type="application/json")]
    if len(fields) == 1 and isinstance(outputs.get(fields[0]), str):
        parts.insert(0, new_text_part(outputs[fields[0]]))
    return parts


def _error_text(error: dict[str, Any] | None) -> str:
    error = error or {}
    code = error.get("code")
    message = error.get("message") or "the run failed"
    return f"[{code}] {message}" if code else str(message)


@functools.cache
def executor_type() -> type:
    """The ``RunExecutor`` class: an a2a-sdk ``AgentExecutor`` over the server's runs of one agent.

    Built on first use so that importing this module does not import the SDK.
    """
    from a2a.helpers import new_task, new_text_message
    from a2a.server.agent_execution import AgentExecutor, RequestContext
    from a2a.server.events import EventQueue
    from a2a.server.tasks import TaskUpdater
    from a2a.types import Role, TaskState
    from a2a.utils.errors import InvalidParamsError

    class RunExecutor(AgentExecutor):
        """Starts one run per A2A message and mirrors its events as task updates."""

        def __init__(self, ctx: Any, name: str) -> None:
            self.ctx = ctx
            self.name = name
            self.runs: dict[str, str] = {}  # A2A task id -> run id (for CancelTask)

        async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
            if context.current_task is not None:
                raise InvalidParamsError(message="each message starts a new task: send it without a taskId")
            task_id = context.task_id or ""
            context_id = context.context_id or ""
            updater = TaskUpdater(event_queue, task_id, context_id)
            served = self.ctx.agents[self.name]

            def say(text: str) -> Any:
                return new_text_message(text, context_id=context_id, task_id=task_id, role=Role.ROLE_AGENT)

            history = [context.message] if context.message is not None else []
            await event_queue.enqueue_event(
                new_task(task_id, context_id, TaskState.TASK_STATE_SUBMITTED, history=history)
            )
            try:
                inputs = message_inputs(served, context.message)
                run = await self.ctx.runs.submit(
                    self.name, inputs, key_name=context.call_context.state.get("kaizen_key")
                )
            except (KaizenError, HTTPError) as exc:
                error = exc.error if isinstance(exc, HTTPError) else exc
                await updater.reject(say(_error_text(error.to_dict())))
                return
            run_id = run.record.run_id
            self.runs[task_id] = run_id
            try:
                await self._follow(run_id, updater, say, served)
            finally:
                self.runs.pop(task_id, None)  # the task has ended (or its execution was cancelled)

        async def _follow(self, run_id: str, updater: TaskUpdater, say: Any, served: Any) -> None:
            """Mirror the run's events as task updates until the run ends."""
            meta = {"kaizen_run_id": run_id}
            await updater.update_status(TaskState.TASK_STATE_WORKING, say(f"run {run_id} started"), metadata=meta)
            async for event in self.ctx.runs.events(run_id):
                if event is None:  # keep-alive tick
                    continue
                data = event.data
                if event.type in ("approval_request", "question"):
                    what = data.get("action") or data.get("question") or ""
                    text = f"waiting for an answer to {event.type} {data.get('request_id')}: {what}"
                    await updater.update_status(TaskState.TASK_STATE_WORKING, say(text), metadata=meta)
                elif event.type == "progress" and data.get("message"):
                    await updater.update_status(TaskState.TASK_STATE_WORKING, say(str(data["message"])), metadata=meta)
                elif event.type == "completed":
                    await updater.add_artifact(
                        _answer_parts(served, data.get("result") or {}), name="result", metadata=meta
                    )
                    await updater.complete()
                    return
                elif event.type == "failed":
                    await updater.failed(say(_error_text(data.get("error"))))
                    return
                elif event.type == "interrupted" and data.get("resumable"):
                    # A stopping server interrupted it: the run resumes on the next server, this task does not.
                    await updater.failed(say(f"the server stopped; run {run_id} resumes when a server restarts"))
                    return
                elif event.type == "interrupted":
                    await updater.cancel(say(str(data.get("message") or "the run was interrupted")))
                    return
            # The stream ended without a final event: this server is stopping (the run resumes elsewhere).
            await updater.failed(say(f"the server stopped while run {run_id} was going"))

        async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
            run_id = self.runs.get(context.task_id or "")
            if run_id is not None:
                try:
                    await self.ctx.runs.interrupt(run_id, "graceful", "cancelled through A2A")
                except HTTPError as exc:
                    if exc.status != 409:
                        raise
                    # 409: the run ended meanwhile; the task is cancelled all the same
            updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
            await updater.cancel(new_text_message("cancelled", context_id=context.context_id, task_id=context.task_id))

    return RunExecutor


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kaizen-serve")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "0.0.0"


def agent_card(served: Any, base_url: str) -> Any:
    """The A2A ``AgentCard`` of one served agent, reachable under ``base_url``."""
    from a2a.types import (
        AgentCapabilities,
        AgentCard,
        AgentInterface,
        AgentSkill,
        HTTPAuthSecurityScheme,
        SecurityRequirement,
        SecurityScheme,
        StringList,
    )

    url = f"{base_url.rstrip('/')}/agents/{served.name}{RPC_SUFFIX}"
    fields = served.signature.input_fields()
    inputs = ", ".join(fields)
    outputs = ", ".join(served.signature.output_fields())
    return AgentCard(
        name=served.name,
        description=served.description or f"Kaizen agent {served.name}",
        version=_version(),
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0"),
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="0.3"),
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        security_schemes={"bearer": SecurityScheme(http_auth_security_scheme=HTTPAuthSecurityScheme(scheme="Bearer"))},
        security_requirements=[SecurityRequirement(schemes={"bearer": StringList(list=[])})],
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=["application/json", "text/plain"],
        skills=[
            AgentSkill(
                id=served.name,
                name=served.name,
                description=f"{(served.description or served.name).rstrip('.')}. Inputs: {inputs}. Outputs: {outputs}.",
                tags=["kaizen", served.kind] + (["autonomous"] if served.autonomous else []),
            )
        ],
    )


def routes(ctx: Any) -> list[Any]:
    """The A2A routes of every served agent (the app's extension point, ``kaizen_serve.app.EXTENSIONS``)."""
    try:
        from a2a.server.request_handlers import DefaultRequestHandler
    except ModuleNotFoundError as exc:  # a2a-sdk is an optional extra (kaizen-serve[a2a]): no A2A without it
        if exc.name != "a2a":
            raise  # installed but broken: say so instead of serving without A2A
        return []
    from a2a.server.context import ServerCallContext
    from a2a.server.request_handlers.response_helpers import agent_card_to_dict
    from a2a.server.routes import DefaultServerCallContextBuilder, create_jsonrpc_routes
    from a2a.server.tasks import InMemoryTaskStore
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    executor_class = executor_type()

    class KeyContextBuilder(DefaultServerCallContextBuilder):
        """The SDK's context (it reads the A2A-Version header from it) minus the credentials, plus the key's name."""

        def build(self, request: Request) -> ServerCallContext:
            context = super().build(request)
            headers = context.state.get("headers", {})
            context.state["headers"] = {k: v for k, v in headers.items() if k.lower() not in _SECRET_HEADERS}
            context.state["kaizen_key"] = ctx.key_of(request).name
            return context

    def card_endpoint(name: str) -> Any:
        async def card(request: Request) -> Response:
            ctx.allowed(request, name)
            return JSONResponse(agent_card_to_dict(agent_card(ctx.agents[name], str(request.base_url))))

        return card

    def guarded(name: str, endpoint: Any) -> Any:
        async def rpc(request: Request) -> Response:
            ctx.allowed(request, name)
            response: Response = await endpoint(request)
            return response

        return rpc

    found: list[Any] = []
    for name, served in ctx.agents.items():
        placeholder = agent_card(served, "http://127.0.0.1")  # the handler reads capabilities only
        handler = DefaultRequestHandler(
            agent_executor=executor_class(ctx, name), task_store=InMemoryTaskStore(), agent_card=placeholder
        )
        for route in create_jsonrpc_routes(
            handler, f"/agents/{name}{RPC_SUFFIX}", context_builder=KeyContextBuilder(), enable_v0_3_compat=True
        ):
            found.append(Route(route.path, guarded(name, route.endpoint), methods=["POST"], include_in_schema=False))
        found.append(Route(f"/agents/{name}{CARD_PATH}", card_endpoint(name), methods=["GET"], include_in_schema=False))
    if ctx.agents:
        default = next(iter(ctx.agents))
        found.append(Route(CARD_PATH, card_endpoint(default), methods=["GET"], include_in_schema=False))
    return found
