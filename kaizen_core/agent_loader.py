"""Compose an agent from a TOML file: provider, model, signature, tools, storage, hooks.

    # agent.toml
    [agent]
    id = "qa"
    type = "base"                     # or "autonomous"
    signature = "question: str -> answer: str, confidence: float"   # or "pkg.module:MySignature"
    instructions = "Answer briefly."
    llm_provider = "llamacpp"
    model = ""                        # empty: the provider's default
    tools = []
    hooks = ["logging"]
    checkpoint_storage = "file://./checkpoints"

    [agent.provider_config]
    n_ctx = 2048

Every other key of ``[agent]`` is a config field (BaseAgentConfig / AutonomousConfig).
Environment variables override the file: ``KAIZEN_LLM_PROVIDER``, ``KAIZEN_MODEL``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from kaizen_core.errors import ConfigError, KaizenError
from kaizen_core.plugins import resolve_target
from kaizen_core.signatures import Signature

ENV_OVERRIDES = {"KAIZEN_LLM_PROVIDER": "llm_provider", "KAIZEN_MODEL": "model"}


def load_toml_table(path: str | os.PathLike[str], table: str) -> dict[str, Any]:
    """The ``[table]`` table of the TOML file ``path`` (a copy), for every Kaizen TOML file.

    KAIZEN_002 (:class:`ConfigError`) names the file when it is missing, is not valid TOML or
    has no such table: ``agent file 'a.toml' has no [agent] table``.
    """
    shown = os.fspath(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{table} file {shown!r} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{table} file {shown!r} is not valid TOML: {exc}") from exc
    section = data.get(table)
    if not isinstance(section, dict):
        raise ConfigError(f"{table} file {shown!r} has no [{table}] table", hint=f"start the file with [{table}]")
    return dict(section)


def load_agent_config(path: str | Path) -> dict[str, Any]:
    """The ``[agent]`` table of ``path`` with environment overrides applied."""
    section = load_toml_table(path, "agent")
    for var, key in ENV_OVERRIDES.items():
        if os.environ.get(var):
            section[key] = os.environ[var]
    return section


def resolve_signature(spec: Any, instructions: str = "") -> Signature:
    """A signature from an inline string form or a ``"module:Class"`` import path."""
    if isinstance(spec, str) and "->" in spec:
        return Signature.parse(spec, instructions=instructions)
    if isinstance(spec, str) and ":" in spec:
        try:
            target = resolve_target(spec)
        except KaizenError as exc:
            raise ConfigError(f"signature: cannot import {spec!r}: {exc.message}") from exc
        sig = target() if isinstance(target, type) and issubclass(target, Signature) else target
        if not isinstance(sig, Signature):
            raise ConfigError(f"signature: {spec!r} is not a Signature")
        return sig.with_instructions(instructions) if instructions else sig
    raise ConfigError(
        f"signature: {spec!r} is neither an inline form ('a: str -> b: str') nor an import path ('pkg.mod:Sig')"
    )


def load_agent(path: str | Path, **overrides: Any) -> Any:
    """Build the agent described by a TOML file (``overrides`` win over the file)."""
    return build_agent({**load_agent_config(path), **overrides})


def build_agent(section: dict[str, Any]) -> Any:
    """Build an agent from the keys of an ``[agent]`` table (also a pipeline file's agent tables)."""
    section = dict(section)
    kind = section.pop("type", "base")
    agent_id = section.pop("id", None) or section.pop("name", None)
    instructions = section.pop("instructions", "")
    if "signature" not in section:
        raise ConfigError("signature: missing from [agent]", hint="add signature = 'question: str -> answer: str'")
    signature = resolve_signature(section.pop("signature"), instructions)
    if section.get("model") == "":
        section["model"] = None
    if kind == "base":
        from kaizen_core.agents.base import BaseAgent
        from kaizen_core.config import BaseAgentConfig

        return BaseAgent(BaseAgentConfig(**section), signature, agent_id=agent_id)
    if kind == "autonomous":
        from kaizen_core.agents.autonomous import BaseAutonomousAgent
        from kaizen_core.config import AutonomousConfig

        return BaseAutonomousAgent(AutonomousConfig(**section), signature, agent_id=agent_id)
    raise ConfigError(f"type: unknown agent type {kind!r}", hint="use 'base' or 'autonomous'")
