"""The original docs' configuration examples, run as written.

Imports translated: ``kaizen.core.config`` -> ``kaizen_core.config``,
``kaizen.agents.autonomous.config`` -> ``kaizen_core.config``; ``llm_provider="mock"``.

Each documented field does what it says or is refused with a ConfigError naming what
brings it (docs/agents.md has the table); the tests check the effect of every field the
examples set, outside the examples' lines.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaizen_core import BaseAgent, BaseAutonomousAgent, plugins
from kaizen_core.config import KaizenConfig
from kaizen_core.errors import ConfigError
from kaizen_core.hooks.builtin import AuditHook, MetricsHook
from kaizen_core.providers.mock import MockProvider


@contextlib.contextmanager
def _no_plugins() -> Iterator[None]:
    """Only the built-ins, as in a bare ``pip install kaizen-core`` (``KAIZEN_LOAD_PLUGINS=``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KAIZEN_LOAD_PLUGINS", "")
        plugins.reset()
        try:
            yield
        finally:
            mp.undo()
            plugins.reset()

def hooks_of(agent: BaseAgent) -> set[object]:
    """The hook objects registered on the agent's manager (HookManager has no public listing)."""
    return {entry.owner for entries in agent.hook_manager._handlers.values() for entry in entries}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    logger = logging.getLogger("kaizen_core")
    level = logger.level
    yield
    logger.setLevel(level)  # log_level is process-wide


def test_api_reference_configuration_reference_base_agent_config() -> None:
    """api-reference.md, "Configuration Reference", "BaseAgentConfig"."""
    from kaizen_core.config import BaseAgentConfig

    config = BaseAgentConfig(
        # LLM settings
        llm_provider="mock",  # openai, anthropic, ollama
        model="gpt-4",
        temperature=0.7,
        max_tokens=1000,
        # Provider-specific settings
        provider_config={
            "top_p": 0.9,
            "frequency_penalty": 0.0,
            "presence_penalty": 0.0,
            "response_format": {"type": "json_object"},  # Structured outputs
        },
        # Performance settings
        timeout=30,
        retry_attempts=3,
        stream=False,
        # Caching settings
        cache_enabled=True,
        cache_ttl=3600,
        cache_key_strategy="content_hash",
        # Monitoring settings
        enable_metrics=True,
        enable_tracing=False,
        log_level="INFO",
    )

    assert (config.timeout, config.retry_attempts, config.stream) == (30.0, 3, False)
    assert (config.cache_enabled, config.cache_ttl, config.cache_key_strategy) == (True, 3600.0, "content_hash")
    assert config.enable_metrics and "metrics" in config.hooks and config.log_level == "INFO"
    # not in the example: an agent built from it sends the sampling options with every request
    # (provider_config's response_format stays the agent's: the reply is a JSON object)
    agent = BaseAgent(config, "question -> answer")
    assert isinstance(agent.provider, MockProvider)
    assert agent.run(question="What is AI?")["answer"]
    (request,) = agent.provider.requests
    params = request.params
    assert (params.top_p, params.frequency_penalty, params.presence_penalty) == (0.9, 0.0, 0.0)
    assert (params.temperature, params.max_tokens, params.timeout) == (0.7, 1000, 30.0)
    with pytest.raises(ConfigError, match="top_p") as bad:
        BaseAgent(config.model_copy(update={"provider_config": {"top_p": 1.5}}), "question -> answer")
    assert bad.value.code == "KAIZEN_002"


def test_base_agent_config_fields_take_effect() -> None:
    """The caching, monitoring and logging fields of the BaseAgentConfig example, on an agent."""
    from kaizen_core.config import BaseAgentConfig

    config = BaseAgentConfig(
        llm_provider="mock",
        provider_config={"response_format": {"type": "json_object"}},
        cache_enabled=True,
        cache_ttl=3600,
        cache_key_strategy="content_hash",
        enable_metrics=True,
        enable_tracing=False,
        log_level="INFO",
    )
    agent = BaseAgent(config, "question -> answer")
    provider = agent.provider
    assert isinstance(provider, MockProvider)
    agent.run(question="q")
    agent.run(question="q")
    assert len(provider.requests) == 1  # cache_enabled: the second run came from the cache
    metrics = [h for h in hooks_of(agent) if isinstance(h, MetricsHook)]
    assert metrics and metrics[0].counters["post_agent_loop"] == 2  # enable_metrics
    assert logging.getLogger("kaizen_core").level == logging.INFO  # log_level
    with _no_plugins(), pytest.raises(ConfigError, match="pip install kaizen-otel"):
        BaseAgentConfig(enable_tracing=True)
    with _no_plugins(), pytest.raises(ConfigError, match="pip install kaizen-prometheus"):
        KaizenConfig(real_time_metrics=True)  # with kaizen-prometheus: its hook (plugins/kaizen-prometheus tests)


def test_api_reference_configuration_reference_autonomous_config() -> None:
    """api-reference.md, "Configuration Reference", "AutonomousConfig"."""
    from kaizen_core.config import AutonomousConfig

    config = AutonomousConfig(
        # Base agent settings
        llm_provider="mock",
        model="gpt-4",
        temperature=0.7,
        # Autonomy settings
        max_cycles=15,  # Max autonomous cycles
        convergence_threshold=0.9,  # Stop when confidence > 0.9
        planning_enabled=True,  # Enable planning phase
        # Lifecycle settings
        enable_hooks=True,  # Enable hook system
        enable_checkpoints=True,  # Enable checkpoints
        checkpoint_frequency=5,  # Checkpoint every 5 cycles
        enable_interrupts=True,  # Enable interrupt handling
        graceful_shutdown_timeout=5.0,  # Graceful shutdown timeout
        checkpoint_on_interrupt=True,  # Save checkpoint on interrupt
        # Memory settings
        enable_memory=True,
        memory_type="hierarchical",  # hierarchical, buffer, vector
        hot_tier_size=1000,
        warm_tier_size=10000,
        # Budget settings
        max_budget_usd=10.0,
        budget_alert_threshold=0.8,
    )

    assert (config.max_cycles, config.convergence_threshold, config.checkpoint_frequency) == (15, 0.9, 5)
    assert (config.memory_type, config.hot_tier_size, config.warm_tier_size) == ("hierarchical", 1000, 10000)
    # not in the example: hierarchical memory keeps its warm tier in memory_storage, which must be given
    with pytest.raises(ConfigError, match="memory_storage"):
        BaseAutonomousAgent(config, "task -> summary, confidence: float")


def test_autonomous_config_memory_and_convergence_fields_take_effect(tmp_path: Path) -> None:
    """enable_memory / memory_type / hot_tier_size / warm_tier_size and convergence_threshold of the
    AutonomousConfig example, on an agent (with the warm tier the example leaves to the deployment)."""
    from kaizen_core.config import AutonomousConfig

    def make(provider: MockProvider) -> BaseAutonomousAgent:
        config = AutonomousConfig(
            llm_provider="mock",
            max_cycles=15,
            convergence_threshold=0.9,
            enable_memory=True,
            memory_type="hierarchical",
            memory_storage=f"sqlite:///{tmp_path}/memory.db",
            hot_tier_size=4,
            warm_tier_size=10,
        )
        return BaseAutonomousAgent(config, "task -> summary, confidence: float", provider=provider, agent_id="a1")

    unsure, sure = {"summary": "maybe", "confidence": 0.5}, {"summary": "sure", "confidence": 0.95}
    provider = MockProvider(script=[unsure, sure])
    result = make(provider).run_autonomous_sync("first task", session_id="s1")
    assert result["summary"] == "sure" and result["cycles_used"] == 2  # 0.5 < 0.9: the model kept working
    assert "below the required 0.9" in (provider.requests[1].messages[-1].content or "")
    # a new agent (same id and warm tier) remembers the session; the model sees at most hot_tier_size messages
    later = MockProvider()
    make(later).run_autonomous_sync("second task", session_id="s1")
    history = [m for m in later.requests[0].messages if m.role != "system"][:-1]
    assert [m.role for m in history] == ["user", "assistant"] and "first task" in (history[0].content or "")
    with pytest.raises(ConfigError, match="vector"):
        AutonomousConfig(memory_type="vector")
    with pytest.raises(ConfigError, match="cannot be switched off"):
        AutonomousConfig(enable_hooks=False)


def test_api_reference_kaizen_config_example() -> None:
    """api-reference.md, "Core Classes", "KaizenConfig", as written: Kaizen keeps no metrics history
    (the Prometheus server does), so ``metrics_retention`` is refused rather than accepted and ignored."""
    from kaizen_core.config import KaizenConfig

    with pytest.raises(ConfigError, match="metrics_retention") as info:
        KaizenConfig(
            # Core settings
            signature_programming_enabled=True,
            performance_tracking=True,
            transparency_enabled=True,
            # Caching settings
            cache_enabled=True,
            cache_backend="memory",  # memory, redis, database
            cache_ttl=3600,
            # Monitoring settings
            monitoring_level="detailed",  # basic, detailed, comprehensive
            metrics_retention="7d",
            real_time_metrics=False,
            # Enterprise settings
            security_profile="enterprise",  # standard, enterprise
            audit_enabled=True,
            compliance_mode=True,
        )
    assert "retention.time" in info.value.message and "kaizen-prometheus" in info.value.message


def test_kaizen_config_without_metrics_retention_configures_agents() -> None:
    """The KaizenConfig example without ``metrics_retention``: an agent built with it caches, counts
    metrics and writes the audit trail."""
    from kaizen_core.config import KaizenConfig

    config = KaizenConfig(
        signature_programming_enabled=True,
        performance_tracking=True,
        transparency_enabled=True,
        cache_enabled=True,
        cache_backend="memory",
        cache_ttl=3600,
        monitoring_level="detailed",
        real_time_metrics=False,
        security_profile="enterprise",
        audit_enabled=True,
        compliance_mode=True,
    )
    agent = BaseAgent(config, "question -> answer", provider=MockProvider())
    agent.run(question="q")
    agent.run(question="q")
    assert agent.config.cache_enabled and agent.response_cache is not None
    assert agent.response_cache.stats().hits == 1
    hooks = hooks_of(agent)
    assert any(isinstance(h, MetricsHook) for h in hooks)
    audit = next(h for h in hooks if isinstance(h, AuditHook))
    events = [json.loads(line)["event"] for line in Path(audit.path).read_text().splitlines()]
    assert events.count("post_agent_loop") == 2
    for field, value in [("signature_programming_enabled", False), ("transparency_enabled", False)]:
        with pytest.raises(ConfigError, match=field):
            KaizenConfig(**{field: value})


def test_dict_configs_reject_unknown_keys_with_the_field_list() -> None:
    """A mapping config (TOML table, dict) with a misspelt key is an error listing the fields, as the
    dataclass path is for its constructor (domain dataclasses keep their own fields)."""
    from kaizen_core.config import BaseAgentConfig

    with pytest.raises(ConfigError) as info:
        BaseAgent({"llm_provider": "mock", "temprature": 0.2}, "question -> answer")
    assert "temprature" in info.value.message and "temperature" in (info.value.hint or "")
    assert BaseAgentConfig.from_any({"provider": "mock", "model_name": "m"}).model == "m"
