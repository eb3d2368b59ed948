"""Executors: where child runs execute (a pipeline's children, a batch of one agent's runs).

    pipeline = Pipeline.parallel(agents, max_workers=50, executor="ray")       # or "ray://10.0.0.1:6379"
    results = agent.run_many([{"question": q} for q in questions], executor="local")

Every child run of a pattern goes through :meth:`PipelineRun.call`, which hands it to the
pipeline's executor (:meth:`Executor.submit`) instead of awaiting ``agent.run_async``
itself; nothing else in a pattern knows where its children run. The built-in ``local``
executor runs the child on the caller's event loop (the behaviour without an executor).
Others are plugins, registered through the ``register_executors`` hook and selected by
name or URL scheme (``"ray"``, ``"ray://host:port"``: kaizen-ray).

A remote executor does not pickle a live agent (providers hold HTTP clients, stores hold
connections): it ships an :class:`AgentSpec` (the agent's class, config, signature and
the tools its config does not name) and rebuilds the agent where the child runs. State
stays in the storage plugins: a rebuilt agent writes its checkpoints to its config's
``checkpoint_storage``, exactly where a local run would.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import pickle
import types
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from kaizen_core.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.hooks import HookManager
    from kaizen_core.interrupts import InterruptScope
    from kaizen_core.permissions import ExecutionContext
    from kaizen_core.signatures import Signature

__all__ = [
    "AgentSpec",
    "ChildRun",
    "Executor",
    "LocalExecutor",
    "child_metadata",
    "get_executor",
    "run_batch",
    "signature_from_spec",
    "signature_spec",
]


# --- what is submitted ---------------------------------------------------------------------------
@dataclass
class ChildRun:
    """One child run handed to an executor.

    ``key`` is the child's step key (``agent-3``, ``item-17``), unique within the parent run
    ``parent_run_id``; :attr:`child_id` is stable across retries and resumes of that parent run.
    ``scope`` is the child's interrupt scope on the caller's side (nested in the parent's):
    a local child runs inside it, a remote executor forwards its interrupts to the child.
    ``metadata`` is the hook metadata the child's events carry (``parent_run_id``,
    ``pipeline``, ``pipeline_step``, and whatever the caller's ``hook_metadata`` holds, such
    as a W3C ``traceparent``): a remote executor carries it across the boundary.
    """

    agent: BaseAgent
    inputs: dict[str, Any]
    key: str
    parent_run_id: str
    scope: InterruptScope
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def child_id(self) -> str:
        return f"{self.parent_run_id}-{self.key}"


@runtime_checkable
class Executor(Protocol):
    """Where child runs execute. ``submit`` returns the child's result (outputs plus ``_meta``)
    or raises the child's own exception (AgentInterrupted with its checkpoint, BudgetExceededError...),
    exactly like ``child.agent.run_async(**child.inputs)`` would."""

    name: ClassVar[str]

    async def submit(self, child: ChildRun) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...


class LocalExecutor:
    """The built-in executor: the child runs on the caller's event loop, in its scope."""

    name: ClassVar[str] = "local"

    @classmethod
    def from_url(cls, url: str = "local", **options: Any) -> LocalExecutor:
        if options:
            raise ConfigError(f"the local executor takes no options, got {', '.join(sorted(options))}")
        return cls()

    async def submit(self, child: ChildRun) -> dict[str, Any]:
        from kaizen_core.hooks.context import hook_metadata

        # The child's own hook events (on its own hook manager) name the parent run too.
        with hook_metadata(**child.metadata):
            return await child.agent.run_async(**child.inputs)

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return "LocalExecutor()"


def child_metadata(**values: Any) -> dict[str, Any]:
    """The hook metadata of a child run started here: the caller's ``hook_metadata``, the
    current trace context (the W3C ``traceparent`` when a tracing plugin is active, see
    :mod:`kaizen_core.tracecontext`), then ``values``. An executor carries it to the child,
    so a child run elsewhere continues the caller's trace."""
    from kaizen_core.hooks.context import current_hook_metadata
    from kaizen_core.tracecontext import current_headers

    return {**current_hook_metadata(), **current_headers(), **values}


_LOCAL = LocalExecutor()
#: Executors built from a URL, shared by every pipeline naming the same URL and options (one pool each).
_BUILT: dict[str, Executor] = {}


def get_executor(spec: str | Executor | None = None, **options: Any) -> Executor:
    """The executor ``spec`` names: None or ``"local"`` (the built-in one), an :class:`Executor`
    (used as is), a registered name or URL (``"ray"``, ``"ray://host:port"``).

    The scheme (the part before ``://``) selects the registration of the ``register_executors``
    hook; its ``from_url(spec, **options)`` builds the executor. One executor is built per
    spec and options and shared. An unknown name is KAIZEN_003 naming the installed ones.
    """
    if spec is None:
        return _LOCAL
    if not isinstance(spec, str):
        if isinstance(spec, Executor):
            return spec
        raise ConfigError(f"executor must be a name, a URL or an Executor, got {type(spec).__name__}")
    name = spec.split("://", 1)[0].strip().lower()
    if name == "local" and not options:
        return _LOCAL
    key = spec if not options else f"{spec}?{sorted(options.items())!r}"
    built = _BUILT.get(key)
    if built is not None:
        return built
    from kaizen_core.plugins import get_registry

    target = get_registry().load("executor", name)
    factory = getattr(target, "from_url", None)
    if not callable(factory):
        raise PluginError(f"executor {name!r} is registered with {target!r}, which has no from_url(url, **options)")
    executor = factory(spec, **options)
    if not isinstance(executor, Executor):
        raise PluginError(f"executor {name!r} built a {type(executor).__name__}, which is not an Executor")
    _BUILT[key] = executor
    return executor


# --- rebuilding an agent elsewhere -------------------------------------------------------------
def _import_path(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _resolves_to(path: str, obj: Any) -> bool:
    from kaizen_core.plugins import resolve_target

    try:
        return bool(resolve_target(path) is obj)
    except Exception:  # not importable (a class made at runtime): shipped by value instead
        return False


def signature_spec(signature: Signature) -> dict[str, Any]:
    """A picklable description of ``signature``: its import path when that names the very
    class, else its fields (types are objects: ``str``, ``list[str]``, pydantic models by reference),
    docstring, intent and guidelines. :func:`signature_from_spec` rebuilds it."""
    cls = type(signature)
    path = _import_path(cls)
    if "<" not in path and _resolves_to(path, cls):
        return {"ref": path}
    from kaizen_core.signatures import Signature

    doc = next(
        (b.__dict__["__doc__"] for b in cls.__mro__ if b not in (Signature, object) and b.__dict__.get("__doc__")),
        None,
    )
    fields = [
        {
            "name": f.name,
            "kind": f.kind,
            "annotation": f.annotation,
            "description": f.description,
            "default": f.default if f.has_default else None,
            "has_default": f.has_default,
            "required": f.required,
            "extra": dict(f.extra),
        }
        for f in cls._fields.values()
    ]
    return {
        "name": cls.__name__,
        "doc": doc,
        "intent": cls.__intent__,
        "guidelines": list(cls.guidelines()),
        "fields": fields,
    }


#: Signatures rebuilt from field specs, by their pickled spec: agents described alike share one
#: class (as agents built from one signature string do), so its pydantic models compile once.
_REBUILT: dict[bytes, Any] = {}


def signature_from_spec(spec: Mapping[str, Any]) -> Signature:
    """The signature :func:`signature_spec` described."""
    from kaizen_core.plugins import resolve_target

    if "ref" in spec:
        target = resolve_target(spec["ref"])
        signature: Signature = target() if isinstance(target, type) else target
        return signature
    try:
        key = pickle.dumps(dict(spec))
    except Exception:  # a type pickle cannot name (only an in-process spec can hold one)
        fresh: Signature = _signature_class(spec)()
        return fresh
    cls = _REBUILT.get(key)
    if cls is None:
        if len(_REBUILT) >= 1024:
            _REBUILT.clear()
        cls = _REBUILT[key] = _signature_class(spec)
    rebuilt: Signature = cls()
    return rebuilt


def _signature_class(spec: Mapping[str, Any]) -> type[Signature]:
    from kaizen_core.signatures import InputField, OutputField, Signature
    annotations: dict[str, Any] = {}
    ns: dict[str, Any] = {
        "__module__": "kaizen_core.signatures",
        "__annotations__": annotations,
        "__doc__": spec.get("doc"),
        "__intent__": spec.get("intent") or "",
        "__guidelines__": tuple(spec.get("guidelines") or ()),
    }
    for f in spec["fields"]:
        make = InputField if f["kind"] == "input" else OutputField
        options: dict[str, Any] = {"required": f["required"], **f["extra"]}
        if f["has_default"]:
            options["default"] = f["default"]
        annotations[f["name"]] = f["annotation"]
        ns[f["name"]] = make(f["description"], **options)
    cls: type[Signature] = types.new_class(spec["name"], (Signature,), exec_body=lambda body: body.update(ns))
    return cls


#: Config fields holding a store URL (or a path) that must name the same place wherever the agent is rebuilt.
_PLACES = ("checkpoint_storage", "memory_storage", "cache_storage")


def _absolute(url: str) -> str:
    """``url`` with a relative ``file://`` or ``sqlite://`` path made absolute (from this process's
    working directory), so an agent rebuilt in another process writes where this one would."""
    from urllib.parse import urlencode

    from kaizen_core.urls import MEMORY_DATABASE, file_url, parse_file_url, parse_sqlite_url, sqlite_url

    if url.startswith("file://"):
        path, query = parse_file_url(url)
        out = file_url(path.resolve())
    elif url.startswith("sqlite://"):
        db, query = parse_sqlite_url(url)
        if db == MEMORY_DATABASE:
            return url
        out = sqlite_url(os.path.abspath(db))
    else:
        return url
    return f"{out}?{urlencode(query)}" if query else out


class AgentSpec(BaseModel):
    """What a remote executor ships to rebuild an agent where its child runs (never the live
    agent: its provider, stores and memory are rebuilt from ``config``).

    ``tools`` are the agent's Tool objects its config does not name (``config.tools`` names are
    looked up in the tool registry where the agent is rebuilt); they travel by pickle, so their
    functions must be importable there. Relative ``file://`` and ``sqlite://`` store URLs and
    ``workspace_root`` are made absolute (from the caller's working directory), so a rebuilt
    agent writes where the caller's would. Lifecycle hooks (``config.hooks``) are not rebuilt:
    a remote executor sends the child's hook events back to the agent's hooks on the caller's side.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    agent_class: str
    config_class: str
    agent_id: str
    config: dict[str, Any]
    signature: dict[str, Any]
    tools: list[Any] = []

    @classmethod
    def from_agent(cls, agent: BaseAgent) -> AgentSpec:
        """Describe ``agent``; ConfigError when it cannot be rebuilt from its config (it was given
        a provider instance, or a state manager without a checkpoint_storage URL)."""
        config = agent.config
        provider = getattr(agent, "provider", None)
        if getattr(agent, "_provider_given", False):
            raise ConfigError(
                f"agent {agent.agent_id!r} was given a provider instance ({type(provider).__name__}): a remote "
                "executor rebuilds the agent from its config and cannot ship a live provider",
                hint="set llm_provider / model / provider_config in the config instead of passing provider=",
            )
        if config.llm_provider is None and provider is not None:
            # Auto-detection could pick another provider where the child runs: pin the one in use.
            config = config.model_copy(update={"llm_provider": provider.name, "model": config.model or provider.model})
        if agent._state_manager is not None and not config.checkpoint_storage:
            raise ConfigError(
                f"agent {agent.agent_id!r} has a state_manager but no checkpoint_storage URL: "
                "a remote child could not write its checkpoints where a local run would",
                hint="configure checkpoint_storage='file://...' (or redis://, postgresql://, s3://) instead",
            )
        named = set(config.tools) if isinstance(config.tools, list) else set()
        tools = [t for t in (agent.tools or ()) if config.tools != "all" and t.name not in named]
        dumped = config.model_dump(mode="python")
        for place in _PLACES:
            if isinstance(dumped.get(place), str):
                dumped[place] = _absolute(dumped[place])
        if isinstance(dumped.get("workspace_root"), str):
            dumped["workspace_root"] = os.path.abspath(os.path.expanduser(dumped["workspace_root"]))
        # Hooks run on the caller's side (a remote executor replays the child's events there).
        dumped["hooks"] = []
        for flag in ("enable_metrics", "enable_tracing"):
            if flag in dumped:
                dumped[flag] = False
        return cls(
            agent_class=_import_path(type(agent)),
            config_class=_import_path(type(config)),
            agent_id=agent.agent_id,
            config=dumped,
            signature=signature_spec(agent.signature),
            tools=tools,
        )

    @property
    def fingerprint(self) -> str:
        """Equal for specs that build the same agent: a remote worker caches built agents by it."""
        blob = pickle.dumps((self.agent_class, self.config_class, self.agent_id, sorted(self.config.items(), key=str)))
        digest = hashlib.sha256(blob)
        digest.update(repr(self.signature).encode())
        digest.update(repr([getattr(t, "name", t) for t in self.tools]).encode())
        return digest.hexdigest()[:24]

    def build(self, *, hook_manager: HookManager | None = None, execution_context: ExecutionContext | None = None) -> BaseAgent:
        """The agent, rebuilt here (its provider, state manager and memory from its config)."""
        from kaizen_core.plugins import resolve_target

        agent_cls = resolve_target(self.agent_class)
        config_cls = resolve_target(self.config_class)
        agent: BaseAgent = agent_cls(
            config_cls(**self.config),
            signature_from_spec(self.signature),
            hook_manager=hook_manager,
            tools=list(self.tools) or None,
            agent_id=self.agent_id,
            execution_context=execution_context,
        )
        return agent


# --- batches ---------------------------------------------------------------------------------------
async def run_batch(
    agent: BaseAgent,
    inputs_list: Sequence[Mapping[str, Any]],
    *,
    executor: str | Executor | None = None,
    max_concurrency: int | None = None,
    return_exceptions: bool = False,
) -> list[Any]:
    """Run ``agent`` once per inputs mapping through ``executor``; results in the order given.

    The batch is one interrupt scope (Ctrl+C or the agent's interrupt manager stops every
    run, each leaving its checkpoint); every run is waited for. With ``return_exceptions``
    a failed run's exception takes its place in the list; otherwise the first one is raised
    once every run has ended. Hook events carry ``parent_run_id`` (the batch) and ``batch_index``.
    """
    from kaizen_core.interrupts import InterruptScope

    if max_concurrency is not None and max_concurrency < 1:
        raise ConfigError("run_many: max_concurrency must be at least 1 (or None: as many as the executor takes)")
    chosen = get_executor(executor)
    batch_id = uuid.uuid4().hex
    limit = asyncio.Semaphore(max_concurrency) if max_concurrency else None
    grace = agent.config.graceful_shutdown_timeout
    inherited = child_metadata()

    async def one(index: int, inputs: Mapping[str, Any], parent: InterruptScope) -> dict[str, Any]:
        key = f"item-{index}"
        scope = InterruptScope(grace, parent=parent, run_id=f"{batch_id}/{key}")
        token = scope.activate()
        try:
            child = ChildRun(
                agent,
                dict(inputs),
                key=key,
                parent_run_id=batch_id,
                scope=scope,
                metadata={**inherited, "parent_run_id": batch_id, "batch_index": index},
            )
            return await chosen.submit(child)
        finally:
            scope.deactivate(token)
            scope.close()

    async def bounded(index: int, inputs: Mapping[str, Any], parent: InterruptScope) -> dict[str, Any]:
        if limit is None:
            return await one(index, inputs, parent)
        async with limit:
            if parent.is_interrupted():  # a stopping batch starts no more runs
                from kaizen_core.errors import AgentInterrupted

                raise AgentInterrupted(f"batch {batch_id} was interrupted before item {index} started", reason=parent.reason)
            return await one(index, inputs, parent)

    async with agent.interrupt_manager.monitor(signals=agent.config.enable_interrupts, run_id=batch_id) as batch:
        settled = await asyncio.gather(*(bounded(i, x, batch) for i, x in enumerate(inputs_list)), return_exceptions=True)
    if not return_exceptions:
        for item in settled:
            if isinstance(item, BaseException):
                raise item
    return list(settled)
