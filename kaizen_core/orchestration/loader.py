"""Compose a pipeline from a TOML file: the pattern, its options, its agents, where children run.

    # pipeline.toml
    [pipeline]
    pattern = "parallel"
    name = "fanout"
    executor = "local"                 # one line moves the children: "ray", "ray://10.0.0.1:6379"
    max_workers = 50
    timeout = 30

    [[pipeline.agents]]                # a list of agents: the pattern's `agents` (or `workers`, ...)
    id = "qa"
    signature = "question: str -> answer: str"
    llm_provider = "mock"

    [[pipeline.agents]]
    file = "agents/reviewer.toml"      # or an agent file (its [agent] table); other keys override it

    [pipeline.synthesizer]             # a single agent of a role (synthesizer, supervisor, judge...)
    id = "editor"
    signature = "perspectives: list -> answer: str"
    llm_provider = "mock"

Every other key of ``[pipeline]`` is a keyword of the pattern (``Pipeline.create(pattern, **keys)``).
A table (or array of tables) with a ``signature`` or ``file`` key is an agent (see
:mod:`kaizen_core.agent_loader` for an agent table's keys); relative ``file`` paths are
relative to the pipeline file. ``overrides`` win over the file: ``load_pipeline(path, executor="ray")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kaizen_core.errors import ConfigError

if TYPE_CHECKING:
    from kaizen_core.orchestration.pipeline import Pipeline

__all__ = ["load_pipeline", "load_pipeline_config"]


def load_pipeline_config(path: str | Path) -> dict[str, Any]:
    """The ``[pipeline]`` table of ``path`` (KAIZEN_002 naming the file when it is missing or bad)."""
    from kaizen_core.agent_loader import load_toml_table

    return load_toml_table(path, "pipeline")


def _is_agent_table(value: Any) -> bool:
    return isinstance(value, dict) and ("signature" in value or "file" in value)


def _agent(table: dict[str, Any], base: Path) -> Any:
    from kaizen_core.agent_loader import build_agent, load_agent_config

    table = dict(table)
    file = table.pop("file", None)
    if file is not None:
        path = Path(file) if Path(file).is_absolute() else base / file
        table = {**load_agent_config(path), **table}
    return build_agent(table)


def load_pipeline(path: str | Path, **overrides: Any) -> Pipeline:
    """Build the pipeline described by a TOML file (``overrides`` win over the file's keys)."""
    from kaizen_core.orchestration.pipeline import Pipeline

    base = Path(path).parent
    section = {**load_pipeline_config(path), **overrides}
    pattern = section.pop("pattern", None)
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError("pattern: missing from [pipeline]", hint="add pattern = 'parallel' (or sequential, router...)")
    options: dict[str, Any] = {}
    for key, value in section.items():
        if _is_agent_table(value):
            options[key] = _agent(value, base)
        elif isinstance(value, list) and value and all(_is_agent_table(v) for v in value):
            options[key] = [_agent(v, base) for v in value]
        else:
            options[key] = value
    return Pipeline.create(pattern, **options)
