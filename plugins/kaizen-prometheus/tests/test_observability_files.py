"""docs/observability (the docker-compose stack, not run here): every file parses, and the files
agree with each other and with what kaizen-prometheus exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaizen_prometheus import DEFAULT_HOST, DEFAULT_PORT
from kaizen_prometheus.metrics import METRICS, exported_series

STACK = Path(__file__).resolve().parents[3] / "docs" / "observability"
DASHBOARD = STACK / "grafana" / "dashboards" / "kaizen-agents.json"

# PromQL words that look like metric names but are functions, keywords or label names.
_PROMQL_WORDS = {
    "sum", "rate", "increase", "histogram_quantile", "by", "without", "le", "avg", "max", "min", "count",
    "irate", "label_values", "on", "ignoring", "group_left", "group_right", "topk", "bottomk",
}  # fmt: skip
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def _yaml(name: str) -> Any:
    return yaml.safe_load((STACK / name).read_text())


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # collapsed rows keep their panels inside
    return out


def _queries(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in _panels(dashboard) for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if v.get("type") == "query"]
    return exprs


def _strip_strings_and_selectors(expr: str) -> str:
    """The expression without label matchers ({...}), strings and durations ([5m])."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    return re.sub(r"\[[^\]]*\]", "", expr)


def _metric_names(expr: str) -> set[str]:
    bare = _strip_strings_and_selectors(expr)
    grouped = {g for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", bare) for g in re.findall(r"\w+", group)}
    names = set()
    for match in _IDENT.finditer(bare):
        word = match.group(0)
        rest = bare[match.end() :].lstrip()
        if word in _PROMQL_WORDS or word in grouped or rest.startswith("("):
            continue
        if re.fullmatch(r"[0-9.]+", word):
            continue
        names.add(word)
    # label_values(metric, label): the first argument is a metric
    names |= set(re.findall(r"label_values\(\s*(\w+)", expr))
    names -= {m.group(1) for m in re.finditer(r"label_values\(\s*\w+\s*,\s*(\w+)", expr)}
    return names


def test_the_dashboard_is_valid_json_with_unique_panel_ids() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "kaizen-agents" and dashboard["title"]
    ids = [p["id"] for p in _panels(dashboard)]
    assert len(ids) == len(set(ids)) >= 10
    for panel in _panels(dashboard):
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert panel["datasource"]["uid"] == "prometheus"


def test_every_metric_the_dashboard_queries_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_series()
    queried: set[str] = set()
    for expr in _queries(dashboard):
        names = _metric_names(expr)
        assert names, f"no metric found in {expr!r}"
        queried |= names
    assert queried <= exported, f"not exported by kaizen-prometheus: {sorted(queried - exported)}"
    # ...and the dashboard shows every family the plugin has (service info aside).
    families = {spec.name for spec in METRICS if spec.name != "kaizen_service_info"}
    shown = {spec.name for spec in METRICS if set(spec.series_names) & queried}
    assert families <= shown, f"exported but on no panel: {sorted(families - shown)}"


def test_grouping_and_matcher_labels_exist_on_the_queried_metrics() -> None:
    labels_of = {
        name: set(spec.labels) | ({"le"} if spec.kind == "histogram" else set())
        for spec in METRICS
        for name in spec.series_names
    }
    dashboard = json.loads(DASHBOARD.read_text())
    for expr in _queries(dashboard):
        available = set().union(*(labels_of[name] for name in _metric_names(expr)))
        used = {g for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr) for g in re.findall(r"\w+", group)}
        used |= set(re.findall(r"(\w+)\s*(?:=~|!=|!~|=)\s*\"", expr))
        assert used <= available, f"{expr!r} uses labels {sorted(used - available)}"


def test_the_compose_file_names_the_stack_and_mounts_files_that_exist() -> None:
    compose = _yaml("docker-compose.yml")
    services = compose["services"]
    assert {"jaeger", "prometheus", "grafana", "otel-collector"} <= set(services)
    for name, service in services.items():
        assert service["image"].count(":") == 1 and not service["image"].endswith(":latest"), name  # pinned
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (STACK / source).exists(), f"{name} mounts missing {source}"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]


def test_prometheus_scrapes_the_plugins_default_port() -> None:
    config = _yaml("prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    kaizen = jobs["kaizen"]
    assert kaizen.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for group in kaizen["static_configs"] for t in group["targets"]]
    assert targets == [f"{DEFAULT_HOST}:{DEFAULT_PORT}"]
    # The collector's Prometheus exporter is what the otel-collector job scrapes.
    collector = _yaml("otel-collector.yml")
    port = collector["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    assert [t for g in jobs["otel-collector"]["static_configs"] for t in g["targets"]] == [f"127.0.0.1:{port}"]


def test_the_collector_pipelines_use_defined_components() -> None:
    collector = _yaml("otel-collector.yml")
    for pipeline in collector["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(kind, [])) <= set(collector.get(kind) or {}), (kind, pipeline)
    assert collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")  # kaizen-otel's default


def test_grafana_provisioning_matches_the_dashboard() -> None:
    sources = _yaml("grafana/provisioning/datasources/datasources.yml")["datasources"]
    uids = {s["uid"]: s for s in sources}
    assert uids["prometheus"]["url"] == "http://127.0.0.1:9090" and "jaeger" in uids
    provider = _yaml("grafana/provisioning/dashboards/dashboards.yml")["providers"][0]
    compose = _yaml("docker-compose.yml")
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"] if v.startswith("./"))
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    dashboard = json.loads(DASHBOARD.read_text())
    refs = {p["datasource"]["uid"] for p in _panels(dashboard) if "datasource" in p}
    assert refs <= set(uids)


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (agent, status) (rate(kaizen_agent_runs_total{agent=~"$agent"}[5m]))', {"kaizen_agent_runs_total"}),
        ("histogram_quantile(0.95, sum by (le) (rate(x_bucket[1m])))", {"x_bucket"}),
        ("label_values(kaizen_agent_runs_total, agent)", {"kaizen_agent_runs_total"}),
    ],
)
def test_the_metric_name_extraction_itself(expr: str, names: set[str]) -> None:
    assert _metric_names(expr) == names
