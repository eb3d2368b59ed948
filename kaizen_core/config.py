"""Agent configuration: BaseAgentConfig, AutonomousConfig, KaizenConfig, conversion from any object.

Configs are pydantic models, so every value is validated when the config is built;
an invalid value or an unknown field raises :class:`ConfigError` (KAIZEN_002) naming
the field. Wherever a config is expected, these are accepted too:

* a mapping (a dict, a TOML table): its keys must be config fields (an unknown key is
  an error listing the fields; ``provider`` and ``model_name`` are read as
  ``llm_provider`` and ``model``);
* any dataclass, pydantic model or plain object ("domain config auto-extraction", as in
  ``SimpleQAAgent(QAConfig(...))``): the attributes named like config fields are picked,
  the others belong to the domain and are left alone;
* a :class:`KaizenConfig` (framework-level options), translated by :meth:`KaizenConfig.agent_options`.

Options documented by the original framework that need a plugin this project does not
ship yet are refused with a ConfigError naming the plugin, never accepted and ignored
(``enable_tracing=True`` without kaizen-otel, for instance). docs/agents.md lists what
each field does.

Cold start: :class:`AutonomousConfig` and :class:`KaizenConfig` live in
:mod:`kaizen_core.config_extra` and load on first use (``from kaizen_core.config import
AutonomousConfig`` works as ever), so a plain agent never pays for their classes. This module
does not use ``from __future__ import annotations``: pydantic would evaluate every field's
annotation string when the class is made, which costs more than the annotations themselves.
"""

import dataclasses
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kaizen_core._factories import new_dict, new_list
from kaizen_core.errors import ConfigError
from kaizen_core.lazy import lazy_exports

if TYPE_CHECKING:
    from kaizen_core.config_extra import AutonomousConfig, KaizenConfig

__all__ = ["AutonomousConfig", "BaseAgentConfig", "KaizenConfig", "coerce_config"]

__getattr__, __dir__ = lazy_exports(
    globals(), {"AutonomousConfig": "kaizen_core.config_extra", "KaizenConfig": "kaizen_core.config_extra"}
)

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

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
    provider_config: dict[str, Any] = Field(default_factory=new_dict, description="Provider-specific options")
    timeout: float = Field(120.0, gt=0, description="Seconds per provider call")
    retry_attempts: int = Field(2, ge=0, description="Retries after an invalid model output")
    stream: bool = False
    seed: int | None = None
    hooks: list[str | dict[str, Any]] = Field(default_factory=new_list, description="Lifecycle hooks by name")
    hook_timeout: float = Field(5.0, gt=0, description="Default timeout of each lifecycle hook")
    tools: list[str] | Literal["all"] = Field(default_factory=new_list, description="Tool names, or 'all'")
    mcp_servers: list[dict[str, Any] | str] = Field(
        default_factory=new_list,
        description="MCP servers whose tools the agent uses (needs kaizen-mcp; entries as for mcp_servers=)",
    )
    max_turns: int | None = Field(None, gt=0, description="Conversation buffer size per session")
    checkpoint_storage: str | None = Field(None, description="Checkpoint store URL (file://, sqlite://, s3://...)")
    memory_storage: str | None = Field(None, description="Memory tier URL for persistent conversation memory")
    checkpoint_on_interrupt: bool = True
    graceful_shutdown_timeout: float = Field(5.0, gt=0)
    enable_interrupts: bool = True
    # Permissions and budgets apply to every agent's tool calls (one gate, see docs/permissions.md).
    permission_mode: Literal["default", "accept_edits", "plan", "bypass"] = "default"
    permission_rules: list[dict[str, Any]] = Field(default_factory=new_list)
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
    # Response cache (kaizen_core.agents.response_cache): identical requests answered once.
    cache_enabled: bool = Field(False, description="Answer a request identical to an earlier one from the cache")
    cache_ttl: float | None = Field(3600.0, gt=0, description="Seconds a cached response stays valid (None: no expiry)")
    cache_key_strategy: Literal["content_hash"] = Field(
        "content_hash", description="How requests are keyed: a SHA-256 of the full request"
    )
    cache_storage: str = Field(
        "memory://", description="Memory tier URL of the cache (memory://, sqlite:///..., redis://)"
    )
    # Observability
    enable_metrics: bool = Field(False, description="Count events and phase latencies (the 'metrics' lifecycle hook)")
    enable_tracing: bool = Field(False, description="OpenTelemetry spans (the 'otel' lifecycle hook of kaizen-otel)")
    log_level: LogLevel | None = Field(None, description="Level of the kaizen_core loggers (None: leave it alone)")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _observability_hooks(self) -> Self:
        # enable_metrics / enable_tracing are shorthands for their lifecycle hooks, so one
        # mechanism (config.hooks -> HookManager.from_config) installs them.
        if self.enable_metrics:
            _add_hook(self.hooks, "metrics")
        if self.enable_tracing:
            from kaizen_core.plugins import get_registry

            if "otel" not in get_registry().names("lifecycle_hook"):
                raise ConfigError(
                    "enable_tracing=True needs the kaizen-otel plugin (OpenTelemetry spans), which is not installed",
                    hint="pip install kaizen-otel, or leave enable_tracing off",
                    details={"fields": ["enable_tracing"]},
                )
            _add_hook(self.hooks, "otel")
        return self

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
        """Convert a config-like object into this config (see the module docstring).

        A mapping's keys must all be fields (KAIZEN_002 listing the fields otherwise); a
        dataclass, pydantic model or plain object contributes the attributes named like
        fields and keeps the rest to itself.
        """
        if isinstance(obj, cls):
            return obj
        if obj is None:
            return cls()
        extra = sys.modules.get("kaizen_core.config_extra")  # no KaizenConfig exists before it is loaded
        if extra is not None and isinstance(obj, extra.KaizenConfig):
            return cls.build(**obj.agent_options())
        if isinstance(obj, Mapping):
            data = _aliased(dict(obj))
            unknown = sorted(str(k) for k in data if k not in cls.model_fields)
            if unknown:
                raise ConfigError(
                    f"invalid {cls.__name__}: unknown field(s) {', '.join(unknown)}",
                    hint=f"the fields are: {', '.join(cls.model_fields)}",
                    details={"fields": unknown},
                )
            return cls.build(**data)
        if isinstance(obj, BaseModel):
            data = obj.model_dump()
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            data = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        else:
            names = [*cls.model_fields, "provider", "model_name"]
            data = {name: getattr(obj, name) for name in names if hasattr(obj, name)}
        picked = {k: v for k, v in _aliased(data).items() if k in cls.model_fields}
        return cls.build(**picked)


def coerce_config(config: Any, cls: type[C]) -> C:
    """The config as ``cls``: converts config-like objects, upgrades a base config to a subclass."""
    if isinstance(config, cls):
        return config
    if isinstance(config, BaseAgentConfig):
        return cls.build(**config.model_dump(exclude_unset=True))
    return cls.from_any(config)


def _aliased(data: dict[str, Any]) -> dict[str, Any]:
    """``provider`` / ``model_name`` (names users of other frameworks bring along) as our fields."""
    if "provider" in data:
        value = data.pop("provider")
        data.setdefault("llm_provider", value)
    if "model_name" in data:
        value = data.pop("model_name")
        data.setdefault("model", value)
    return data


def _add_hook(hooks: list[str | dict[str, Any]], name: str) -> None:
    if not any(h == name or (isinstance(h, dict) and h.get("name") == name) for h in hooks):
        hooks.append(name)


def _config_error(cls: type[BaseModel], exc: ValidationError) -> ConfigError:
    parts = []
    fields = []
    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, ConfigError):  # a validator's own error already says what to do
            return cause
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        fields.append(loc)
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{loc}: {msg}")
    return ConfigError(
        f"invalid {cls.__name__}: " + "; ".join(parts),
        hint=f"fix the field(s) {', '.join(fields)}",
        details={"fields": fields},
    )
