"""The plugin selected by configuration: KaizenConfig(real_time_metrics=True) (api-reference
"KaizenConfig") and ``hooks = [...]`` in an agent TOML file."""

from __future__ import annotations

from pathlib import Path

from prom_scrape import scrape, value

from kaizen_core import load_agent
from kaizen_core.audit import verify_chain
from kaizen_core.config import KaizenConfig
from kaizen_testing.servers._process import free_port


def test_real_time_metrics_selects_the_prometheus_hook() -> None:
    options = KaizenConfig(real_time_metrics=True).agent_options()
    assert "prometheus" in options["hooks"]
    assert "prometheus" not in KaizenConfig().agent_options()["hooks"]


def test_an_agent_toml_file_selects_prometheus_and_the_audit_trail_by_name(tmp_path: Path) -> None:
    port = free_port()
    trail = tmp_path / "audit.jsonl"
    agent_file = tmp_path / "agent.toml"
    agent_file.write_text(
        "[agent]\n"
        'id = "from-toml"\n'
        'signature = "question: str -> answer: str"\n'
        'llm_provider = "mock"\n'
        f'hooks = [{{name = "prometheus", port = {port}}}, {{name = "audit", path = "{trail.as_posix()}"}}]\n',
        encoding="utf-8",
    )
    agent = load_agent(agent_file)
    for i in range(3):
        agent.run(question=f"q{i}")
    samples = scrape(f"http://127.0.0.1:{port}/metrics")
    assert value(samples, "kaizen_agent_runs_total", agent="from-toml", status="success") == 3
    checked = verify_chain(trail)
    assert checked.ok and checked.records > 0
