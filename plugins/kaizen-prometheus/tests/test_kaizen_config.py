"""KaizenConfig(real_time_metrics=True) (api-reference "KaizenConfig") means this plugin's hook."""

from __future__ import annotations

from kaizen_core.config import KaizenConfig


def test_real_time_metrics_selects_the_prometheus_hook() -> None:
    options = KaizenConfig(real_time_metrics=True).agent_options()
    assert "prometheus" in options["hooks"]
    assert "prometheus" not in KaizenConfig().agent_options()["hooks"]
