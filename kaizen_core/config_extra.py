"""The configs a plain agent never builds: :class:`AutonomousConfig` (the autonomous agent's)
and :class:`KaizenConfig` (framework-level options). Import them from :mod:`kaizen_core.config`
(or ``kaizen_core``), which loads this module on first use; see that module's docstring.
"""

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kaizen_core.config import BaseAgentConfig, _config_error
from kaizen_core.errors import ConfigError

__all__ = ["AutonomousConfig", "KaizenConfig"]


class AutonomousConfig(BaseAgentConfig):
    """Configuration of a :class:`kaizen_core.BaseAutonomousAgent` (multi-cycle tool loop)."""

    model_config = ConfigDict(defer_build=True)  # built on first use: not on the import path

    max_cycles: int = Field(20, gt=0)
    planning_enabled: bool = False
    enable_checkpoints: bool = True
    checkpoint_frequency: int = Field(1, gt=0, description="Checkpoint every N cycles")
    checkpoint_storage: str | None = "file://./.kaizen/checkpoints"
    max_tool_errors: int = Field(5, ge=0, description="Invalid tool calls tolerated per run")
    max_repeated_calls: int = Field(
        2, ge=0, description="Identical repeated tool calls before the final answer is asked for (0: no limit)"
    )
    convergence_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="An answer converges only with confidence >= this (the signature needs a 'confidence' output)",
    )
    enable_hooks: bool = Field(True, description="Lifecycle hooks are on (they cannot be switched off, see below)")
    # Conversation memory (agents/setup.py:build_memory)
    enable_memory: bool = Field(False, description="Remember the conversation per session_id")
    memory_type: Literal["buffer", "hierarchical"] = Field(
        "buffer",
        description="buffer: in process (persisted when memory_storage is set); hierarchical: hot buffer over memory_storage",
    )
    hot_tier_size: int | None = Field(None, gt=0, description="Messages of a session's history given to the model")
    warm_tier_size: int | None = Field(None, gt=0, description="Messages kept per session (in memory_storage when set)")

    @field_validator("enable_hooks")
    @classmethod
    def _hooks_are_always_on(cls, value: bool) -> bool:
        if not value:
            raise ConfigError(
                "enable_hooks=False: lifecycle hooks cannot be switched off, and need not be: "
                "an event nobody listens to costs nothing",
                hint="leave enable_hooks at True and register no hooks (no hooks=[...], no hook_manager)",
                details={"fields": ["enable_hooks"]},
            )
        return value

    @field_validator("memory_type", mode="before")
    @classmethod
    def _vector_is_long_term_memory(cls, value: Any) -> Any:
        if value == "vector":
            raise ConfigError(
                "memory_type='vector' is semantic memory, which here is LongTermMemory, not a conversation memory type",
                hint="use memory_type='buffer' or 'hierarchical' for the conversation, and "
                "kaizen_core.memory.LongTermMemory for similarity search",
                details={"fields": ["memory_type"]},
            )
        return value


class KaizenConfig(BaseModel):
    """Framework-level options, as the original ``KaizenConfig``; an agent built with one gets
    the agent options they stand for (:meth:`agent_options`).

    Every field does something or is refused: signatures and result transparency cannot be
    switched off (results always carry ``_meta``: usage, cost, tool calls, permission
    decisions); ``monitoring_level`` "detailed" adds the metrics hook, "comprehensive" the
    metrics and profiler hooks; ``audit_enabled``, ``compliance_mode`` and ``security_profile="enterprise"``
    each turn the append-only audit trail on (``audit_path``); ``real_time_metrics``
    serves live metrics through kaizen-prometheus (refused when it is not installed);
    ``metrics_retention`` is refused: retention is the Prometheus server's setting.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", validate_assignment=True)

    signature_programming_enabled: Literal[True] = True
    performance_tracking: bool = Field(False, description="Count events and latencies (enable_metrics)")
    transparency_enabled: Literal[True] = True
    cache_enabled: bool = False
    cache_backend: str = Field("memory", description="'memory' or a memory tier URL (sqlite:///cache.db, redis://...)")
    cache_ttl: float | None = Field(3600.0, gt=0)
    monitoring_level: Literal["basic", "detailed", "comprehensive"] = "basic"
    metrics_retention: str | None = None
    real_time_metrics: bool = Field(False, description="Serve live metrics on /metrics (kaizen-prometheus)")
    security_profile: Literal["standard", "enterprise"] = "standard"
    audit_enabled: bool = False
    audit_path: str = Field("kaizen-audit.jsonl", description="Where the audit trail is appended")
    compliance_mode: bool = False

    @field_validator("signature_programming_enabled", "transparency_enabled", mode="before")
    @classmethod
    def _always_on(cls, value: Any, info: Any) -> Any:
        if value is False:
            what = {
                "signature_programming_enabled": "every agent is defined by its signature",
                "transparency_enabled": "every result carries _meta (usage, cost, tool calls, permission decisions)",
            }[info.field_name]
            raise ConfigError(
                f"{info.field_name}=False: this cannot be switched off here ({what})",
                hint=f"leave {info.field_name} at True",
                details={"fields": [info.field_name]},
            )
        return value

    @field_validator("real_time_metrics", mode="after")
    @classmethod
    def _live_metrics_need_prometheus(cls, value: bool) -> bool:
        if value:
            from kaizen_core.plugins import get_registry

            if "prometheus" not in get_registry().names("lifecycle_hook"):
                raise ConfigError(
                    "real_time_metrics=True serves live metrics with the kaizen-prometheus plugin, which is not installed",
                    hint="pip install kaizen-prometheus, or leave real_time_metrics off "
                    "(performance_tracking counts metrics in process)",
                    details={"fields": ["real_time_metrics"]},
                )
        return value

    @model_validator(mode="after")
    def _needs_a_metrics_backend(self) -> Self:
        # Kaizen exports metrics; keeping them over time is the metrics server's job. Accepting
        # the setting would promise a retention that nothing here enforces.
        if self.metrics_retention is not None:
            raise ConfigError(
                "metrics_retention: Kaizen keeps no metrics history; the Prometheus server scraping "
                "kaizen-prometheus does (its --storage.tsdb.retention.time flag)",
                hint="leave metrics_retention unset and set the retention on Prometheus "
                "(docs/observability/docker-compose.yml)",
                details={"fields": ["metrics_retention"]},
            )
        return self

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _config_error(type(self), exc) from None

    def agent_options(self) -> dict[str, Any]:
        """The :class:`BaseAgentConfig` fields these options stand for."""
        hooks: list[str | dict[str, Any]] = []
        if self.monitoring_level == "comprehensive":
            hooks.append("profiler")
        if self.real_time_metrics:
            hooks.append("prometheus")
        if self.audit_enabled or self.compliance_mode or self.security_profile == "enterprise":
            hooks.append({"name": "audit", "path": self.audit_path})
        backend = "memory://" if self.cache_backend == "memory" else self.cache_backend
        if "://" not in backend:
            raise ConfigError(
                f"cache_backend {self.cache_backend!r} needs its URL",
                hint="use 'memory' or a memory tier URL such as 'sqlite:///cache.db' or 'redis://localhost:6379/0'",
            )
        return {
            "cache_enabled": self.cache_enabled,
            "cache_storage": backend,
            "cache_ttl": self.cache_ttl,
            "enable_metrics": self.performance_tracking or self.monitoring_level != "basic",
            "hooks": hooks,
        }
