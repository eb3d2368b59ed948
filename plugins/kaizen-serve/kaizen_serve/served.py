"""What a server serves: agents (from TOML files or instances) and pipelines, by name.

A TOML agent (the files ``kaizen run`` reads) gets a fresh agent object for every run,
so runs never share state (a scripted mock provider starts its script anew, for
example); an agent *instance* passed to ``create_app`` serves all its runs itself
(runs are still isolated: each has its own interrupt scope and control channel).
A :class:`~kaizen_core.orchestration.Pipeline` (or a TOML file with a ``[pipeline]`` table,
:mod:`kaizen_core.orchestration.loader`) is served through ``pipeline.to_agent(name)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaizen_core.errors import ConfigError
from kaizen_core.signatures import Signature

__all__ = ["ServedAgent", "load_served"]


@dataclass
class ServedAgent:
    """One servable agent: its name, signature and how to get the agent for a run."""

    name: str
    build: Callable[[], Any]
    signature: Signature
    kind: str = "agent"  # or "pipeline"
    autonomous: bool = False
    description: str = ""
    source: str = ""
    #: The agent's checkpoint agent id (resume finds its checkpoints by it).
    agent_id: str = ""
    #: ``build()`` makes a new agent per run (closed when the run ends); False: one shared object.
    fresh: bool = False

    @classmethod
    def from_agent(cls, name: str, agent: Any, *, kind: str = "agent") -> ServedAgent:
        return cls(
            name=name,
            build=lambda: agent,
            signature=agent.signature,
            kind=kind,
            autonomous=hasattr(agent, "resume_from_checkpoint"),
            description=_describe(agent),
            agent_id=agent.agent_id,
        )

    @classmethod
    def from_toml(cls, path: str | Path, storage_url: str | None = None) -> ServedAgent:
        """The agent (``[agent]``) or pipeline (``[pipeline]``) of a TOML file.

        An agent's checkpoints default to ``storage_url`` (the server's store).
        """
        import tomllib

        from kaizen_core.agent_loader import load_agent, load_agent_config

        try:
            is_pipeline = "pipeline" in tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            is_pipeline = False  # load_agent_config reports the problem
        if is_pipeline:
            return cls.from_pipeline_toml(path)

        section = load_agent_config(path)
        overrides: dict[str, Any] = {"enable_interrupts": False}  # the server owns the process's signals
        if storage_url and not section.get("checkpoint_storage"):
            overrides["checkpoint_storage"] = storage_url

        def build() -> Any:
            return load_agent(path, **overrides)

        first = build()  # validates the file now; later runs get their own agent
        first.close()
        return cls(
            name=first.agent_id,
            build=build,
            signature=first.signature,
            autonomous=hasattr(first, "resume_from_checkpoint"),
            description=_describe(first),
            source=str(path),
            agent_id=first.agent_id,
            fresh=True,
        )

    @classmethod
    def from_pipeline_toml(cls, path: str | Path) -> ServedAgent:
        """The pipeline of a TOML file (:func:`kaizen_core.orchestration.loader.load_pipeline`), fresh per run."""
        from kaizen_core.orchestration.loader import load_pipeline, load_pipeline_config

        name = str(load_pipeline_config(path).get("name") or Path(path).stem)

        def build() -> Any:
            return load_pipeline(path).to_agent(name)

        first = build()
        first.close()
        return cls(
            name=name,
            build=build,
            signature=first.signature,
            kind="pipeline",
            description=_describe(first),
            source=str(path),
            agent_id=first.agent_id,
            fresh=True,
        )

    @classmethod
    def from_pipeline(cls, name: str, pipeline: Any) -> ServedAgent:
        agent = pipeline.to_agent(name)
        return cls.from_agent(name, agent, kind="pipeline")


def _describe(agent: Any) -> str:
    doc = (type(agent.signature).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else f"Kaizen agent {agent.agent_id}"


def load_served(
    agents: dict[str, Any] | list[Any] | None,
    pipelines: dict[str, Any] | None,
    storage_url: str | None,
) -> dict[str, ServedAgent]:
    """Name -> ServedAgent from ``create_app``'s arguments.

    ``agents``: a dict name -> agent instance / TOML path / ServedAgent, or a list of TOML
    paths and agent instances (named by their agent id). ``pipelines``: name -> Pipeline.
    """
    served: dict[str, ServedAgent] = {}

    def add(item: ServedAgent) -> None:
        if item.name in served:
            raise ConfigError(f"two served agents are named {item.name!r}", hint="give each agent a unique id")
        served[item.name] = item

    entries: list[tuple[str | None, Any]]
    if isinstance(agents, dict):
        entries = list(agents.items())
    else:
        entries = [(None, a) for a in agents or []]
    for name, value in entries:
        if isinstance(value, ServedAgent):
            add(value)
        elif isinstance(value, str | Path):
            item = ServedAgent.from_toml(value, storage_url)
            if name is not None:
                item.name = name
            add(item)
        elif hasattr(value, "run_async") and hasattr(value, "signature"):
            add(ServedAgent.from_agent(name or value.agent_id, value))
        else:
            raise ConfigError(f"cannot serve {type(value).__name__}: pass an agent, a TOML path or a ServedAgent")
    for name, pipeline in (pipelines or {}).items():
        add(ServedAgent.from_pipeline(name, pipeline))
    for name in served:
        if not name or "/" in name:
            raise ConfigError(f"served agent name {name!r} is not usable in a URL")
    return served
