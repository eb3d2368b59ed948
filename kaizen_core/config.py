"""Agent configuration: BaseAgentConfig, AutonomousConfig, conversion from any object.

Configs are pydantic models, so every value is validated when the config is built;
an invalid value raises :class:`ConfigError` (KAIZEN_002) naming the field. Any
dataclass, pydantic model, mapping or plain object carrying some of these attributes
is accepted wherever a config is expected ("domain config auto-extraction"): the known
attributes are picked, the rest ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kaizen_core.errors import ConfigError

__all__ = ["AutonomousConfig", "BaseAgentConfig", "coerce_config"]

C = TypeVar("C", bound="BaseAgentConfig")


class BaseAgentConfig(BaseModel):
    """Configuration of a :class:`kaizen_core.BaseAgent`.

    ``llm_provider`` None means auto-detection (OpenAI, Azure, Anthropic, Google,
    Ollama, Docker, then the bundled local model), see :mod:`kaizen_core.providers.selection`.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    llm_provider: str | None = Field(None, description="Registered provider name (openai, llamacpp, mock...)")
    model: str | None = Field(None, description="Model name; None = the provider's default")
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, gt=0)
    provider_config: dict[str, Any] = Field(default_factory=dict, description="Provider-specific options")
    timeout: float = Field(120.0, gt=0, description="Seconds per provider call")
    retry_attempts: int = Field(2, ge=0, description="Retries after an invalid model output")
    stream: bool = False
    seed: int | None = None
    hooks: list[str | dict[str, Any]] = Field(default_factory=list, description="Lifecycle hooks by name")
    hook_timeout: float = Field(5.0, gt=0, description="Default timeout of each lifecycle hook")
    tools: list[str] | Literal["all"] = Field(default_factory=list, description="Tool names, or 'all'")
    max_turns: int | None = Field(None, gt=0, description="Conversation buffer size per session")
    checkpoint_storage: str | None = Field(None, description="Checkpoint store URL (file://, sqlite://, s3://...)")
    memory_storage: str | None = Field(None, description="Memory tier URL for persistent conversation memory")
    checkpoint_on_interrupt: bool = True
    graceful_shutdown_timeout: float = Field(5.0, gt=0)
    enable_interrupts: bool = True
    # Permissions and budgets apply to every agent's tool calls (one gate, see docs/permissions.md).
    permission_mode: Literal["default", "accept_edits", "plan", "bypass"] = "default"
    permission_rules: list[dict[str, Any]] = Field(default_factory=list)
    allowed_tools: list[str] | None = None
    denied_tools: list[str] | None = None
    approval_timeout: float = Field(60.0, gt=0, description="Seconds to wait for an approval before denying")
    workspace_root: str | None = Field(
        None, description="Root that file tools and bash_command are confined to (default: cwd)"
    )
    max_budget_usd: float | None = Field(None, ge=0, description="USD limit per run (checked before every call)")
    max_budget_tokens: int | None = Field(
        None, gt=0, description="Token limit per run; enforced instead of USD when the model has no price"
    )
    budget_alert_threshold: float = Field(0.8, gt=0, le=1)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _config_error(type(self), exc) from None

    @classmethod
    def build(cls: type[C], **values: Any) -> C:
        """Same as the constructor (raises ConfigError, KAIZEN_002, naming the bad field)."""
        return cls(**values)

    @classmethod
    def from_any(cls: type[C], obj: Any) -> C:
        """Convert a config-like object (dataclass, mapping, model, object) into this config."""
        if isinstance(obj, cls):
            return obj
        if obj is None:
            return cls()
        if isinstance(obj, BaseModel):
            data = obj.model_dump()
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            data = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        elif isinstance(obj, Mapping):
            data = dict(obj)
        else:
            data = {name: getattr(obj, name) for name in cls.model_fields if hasattr(obj, name)}
        # Aliases that users of other frameworks bring along.
        if "provider" in data and "llm_provider" not in data:
            data["llm_provider"] = data["provider"]
        if "model_name" in data and "model" not in data:
            data["model"] = data["model_name"]
        picked = {k: v for k, v in data.items() if k in cls.model_fields}
        return cls.build(**picked)


class AutonomousConfig(BaseAgentConfig):
    """Configuration of a :class:`kaizen_core.BaseAutonomousAgent` (multi-cycle tool loop)."""

    max_cycles: int = Field(20, gt=0)
    planning_enabled: bool = False
    enable_checkpoints: bool = True
    checkpoint_frequency: int = Field(1, gt=0, description="Checkpoint every N cycles")
    checkpoint_storage: str | None = "file://./.kaizen/checkpoints"
    max_tool_errors: int = Field(5, ge=0, description="Invalid tool calls tolerated per run")
    max_repeated_calls: int = Field(
        2, ge=0, description="Identical repeated tool calls before the final answer is asked for (0: no limit)"
    )


def coerce_config(config: Any, cls: type[C]) -> C:
    """The config as ``cls``: converts config-like objects, upgrades a base config to a subclass."""
    if isinstance(config, cls):
        return config
    if isinstance(config, BaseAgentConfig):
        return cls.build(**config.model_dump(exclude_unset=True))
    return cls.from_any(config)


def _config_error(cls: type[BaseModel], exc: ValidationError) -> ConfigError:
    parts = []
    fields = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        fields.append(loc)
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{loc}: {msg}")
    return ConfigError(
        f"invalid {cls.__name__}: " + "; ".join(parts),
        hint=f"fix the field(s) {', '.join(fields)}",
        details={"fields": fields},
    )
