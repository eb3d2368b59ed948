"""/metrics as Prometheus sees it: scraped over HTTP by a real client after real (mock-model) runs."""

from __future__ import annotations

import base64
import logging
import socket

import httpx
import pytest
from prom_scrape import scrape, value

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.errors import ConfigError
from kaizen_core.redaction import redact
from kaizen_prometheus import DEFAULT_HOST, DEFAULT_PORT, PrometheusHook
from kaizen_prometheus.exporter import authorized
from kaizen_testing.servers._process import free_port

KEY = "kaizen-metrics-key-7c1f"


def metrics_agent(agent_id: str, port: int, **options: object) -> BaseAgent:
    """An agent enabling the hook the documented way: by name, with options, in its config."""
    config = BaseAgentConfig(llm_provider="mock", hooks=[{"name": "prometheus", "port": port, **options}])
    return BaseAgent(config, "question -> answer", agent_id=agent_id)


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}/metrics"


def test_three_runs_are_three_in_a_scrape() -> None:
    port = free_port()
    agent = metrics_agent("qa-agent", port)
    results = [agent.run(question=f"question {i}") for i in range(3)]
    samples = scrape(url(port))
    assert value(samples, "kaizen_agent_runs_total", agent="qa-agent", status="success") == 3
    assert value(samples, "kaizen_agent_run_duration_seconds_count", agent="qa-agent", status="success") == 3
    assert value(samples, "kaizen_provider_calls_total", provider="mock", model="mock-model", status="success") == 3
    assert value(samples, "kaizen_provider_call_duration_seconds_count", provider="mock", model="mock-model") == 3
    for kind in ("input", "output"):
        expected = sum(r["_meta"]["usage"][f"{kind}_tokens"] for r in results)
        assert expected > 0
        assert value(samples, "kaizen_tokens_total", provider="mock", model="mock-model", type=kind) == expected
    # The hook times itself too: three runs are three POST_AGENT_LOOP handler calls.
    assert value(samples, "kaizen_hook_duration_seconds_count", hook="prometheus", event="post_agent_loop") == 3
    assert value(samples, "kaizen_service_info", service_name="kaizen") == 1
    assert "process_cpu_seconds_total" in samples  # the dedicated registry has the process collectors
    # No run, session or user id is a label anywhere.
    labels = {name for series in samples.values() for got, _ in series for name in got}
    assert not labels & {"run_id", "session_id", "user_id", "trace_id"}


def test_the_api_key_is_required_and_never_shown() -> None:
    port = free_port()
    agent = metrics_agent("keyed", port, api_key=KEY, service_name="billing")
    agent.run(question="q")
    refused = httpx.get(url(port))
    assert refused.status_code == 401
    assert refused.headers.get_list("www-authenticate") == [
        'Bearer realm="kaizen-metrics"',
        'Basic realm="kaizen-metrics"',
    ]
    assert KEY not in refused.text
    assert httpx.get(url(port), headers={"Authorization": "Bearer wrong-key"}).status_code == 401
    assert httpx.get(url(port), auth=("prometheus", "wrong-key")).status_code == 401
    by_bearer = scrape(url(port), headers={"Authorization": f"Bearer {KEY}"})
    assert value(by_bearer, "kaizen_agent_runs_total", agent="keyed", status="success") == 1
    assert value(by_bearer, "kaizen_service_info", service_name="billing") == 1
    by_basic = scrape(url(port), auth=("prometheus", KEY))  # Prometheus' basic_auth with the key as password
    assert value(by_basic, "kaizen_agent_runs_total", agent="keyed", status="success") == 1
    assert KEY not in httpx.get(url(port), headers={"Authorization": f"Bearer {KEY}"}).text


def test_the_key_can_come_from_the_environment_and_stays_out_of_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KAIZEN_TEST_METRICS_KEY", KEY)
    port = free_port()
    caplog.set_level(logging.DEBUG)
    agent = metrics_agent("env-keyed", port, api_key_env="KAIZEN_TEST_METRICS_KEY")
    agent.run(question="q")
    assert httpx.get(url(port)).status_code == 401
    assert httpx.get(url(port), headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    hook = PrometheusHook(port=port, api_key=KEY)  # the same port and key: the same exporter
    assert KEY not in caplog.text and KEY not in repr(hook)
    assert KEY not in redact(f"scrape with Bearer {KEY}")  # registered: every redacted text hides it
    assert f"127.0.0.1:{port}/metrics" in caplog.text  # the serving line names the URL
    monkeypatch.delenv("KAIZEN_TEST_METRICS_KEY")
    with pytest.raises(ConfigError, match="KAIZEN_TEST_METRICS_KEY"):
        PrometheusHook(port=free_port(), api_key_env="KAIZEN_TEST_METRICS_KEY")


def test_agents_enabling_the_hook_share_one_server_per_port() -> None:
    port = free_port()
    first, second = metrics_agent("first", port), metrics_agent("second", port)
    first.run(question="q")
    second.run(question="q")
    second.run(question="q")
    samples = scrape(url(port))
    assert value(samples, "kaizen_agent_runs_total", agent="first") == 1
    assert value(samples, "kaizen_agent_runs_total", agent="second") == 2
    with pytest.raises(ConfigError, match="different api_key") as info:
        metrics_agent("third", port, api_key=KEY)
    assert info.value.code == "KAIZEN_002" and KEY not in str(info.value)


def test_only_metrics_is_served() -> None:
    port = free_port()
    PrometheusHook(port=port)
    assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 404
    assert httpx.get(f"http://127.0.0.1:{port}/admin").status_code == 404
    assert httpx.get(url(port)).headers["content-type"].startswith("text/plain")


def test_non_loopback_hosts_are_refused_unless_opted_in() -> None:
    assert (DEFAULT_HOST, DEFAULT_PORT) == ("127.0.0.1", 9464)
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(ConfigError, match="not a loopback address") as info:
            PrometheusHook(port=free_port(), host=host)
        assert info.value.code == "KAIZEN_002" and "allow_remote" in (info.value.hint or "")
    # Opting in works (served here on an explicit loopback alias, so the test exposes nothing).
    port = free_port()
    PrometheusHook(port=port, host="127.0.0.1", allow_remote=True, api_key=KEY)
    assert httpx.get(url(port)).status_code == 401


def test_a_port_in_use_is_a_clear_config_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot serve /metrics on 127.0.0.1:{port}") as info:
            PrometheusHook(port=port)
        assert info.value.code == "KAIZEN_002"


def test_port_none_records_without_serving_and_exposes_the_registry() -> None:
    from prometheus_client import generate_latest

    config = BaseAgentConfig(llm_provider="mock", hooks=[{"name": "prometheus", "port": None}])
    agent = BaseAgent(config, "question -> answer", agent_id="unserved")
    agent.run(question="q")
    hook = PrometheusHook(port=None)  # the same unserved exporter
    assert hook.url is None and hook.port is None
    assert 'kaizen_agent_runs_total{agent="unserved",status="success"} 1.0' in generate_latest(hook.registry).decode()


def test_authorization_header_parsing() -> None:
    basic = base64.b64encode(f"anyone:{KEY}".encode()).decode()
    assert authorized(f"Bearer {KEY}", KEY) and authorized(f"bearer  {KEY} ", KEY) and authorized(f"Basic {basic}", KEY)
    no_password = base64.b64encode(KEY.encode()).decode()
    for header in (None, "", KEY, f"Bearer {KEY}x", f"Token {KEY}", f"Basic {no_password}", "Basic !!!", "Bearer"):
        assert not authorized(header, KEY), header


def test_threads_asking_for_one_port_at_once_get_one_exporter() -> None:
    import threading

    port = free_port()
    barrier = threading.Barrier(4)
    hooks: list[PrometheusHook] = []
    errors: list[BaseException] = []

    def make() -> None:
        barrier.wait()
        try:
            hooks.append(PrometheusHook(port=port))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(hooks) == 4
    assert len({id(h.exporter) for h in hooks}) == 1 and hooks[0].url == url(port)


def test_enable_observability_switches_the_metrics_on() -> None:
    port = free_port()
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", agent_id="one-liner")
    status = agent.enable_observability(
        service_name="shop",
        enable_logging=False,
        enable_tracing=False,
        enable_audit=False,
        metrics_options={"port": port},
    )
    assert status.enabled == ["prometheus"] and "metrics" not in status.missing
    for _ in range(3):
        agent.run(question="q")
    samples = scrape(url(port))
    assert value(samples, "kaizen_agent_runs_total", agent="one-liner", status="success") == 3
    assert value(samples, "kaizen_service_info", service_name="shop") == 1


def test_port_zero_binds_a_free_port_that_later_hooks_can_share() -> None:
    first, second = PrometheusHook(port=0), PrometheusHook(port=0)
    assert first.port and second.port and first.port != second.port  # each port=0 is a new server
    assert first.url == url(first.port) and httpx.get(first.url).status_code == 200
    assert PrometheusHook(port=first.port).exporter is first.exporter
