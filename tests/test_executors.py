"""Executors in the core (no Ray here): the local executor passes the standard suite, patterns
submit every child to the pipeline's executor, selection by name/URL, AgentSpec rebuilds an
agent from its config, agent.run_many, and TOML pipelines."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kaizen_core import BaseAgent, hookimpl
from kaizen_core.errors import ConfigError, PluginNotInstalledError, ProviderError
from kaizen_core.orchestration import AgentSpec, ChildRun, LocalExecutor, Pipeline, get_executor, load_pipeline
from kaizen_core.plugins import plugin_registered
from kaizen_core.providers.mock import MockProvider
from kaizen_core.signatures import InputField, OutputField, Signature
from kaizen_testing.executor_suite import ExecutorSuite


class TestLocalExecutor(ExecutorSuite):
    @pytest.fixture
    def executor(self) -> Any:
        return "local"


def qa(agent_id: str, answer: str | None = None, **config: Any) -> BaseAgent:
    provider_config = {"script": [{"answer": answer}]} if answer is not None else {}
    return BaseAgent({"llm_provider": "mock", "provider_config": provider_config, **config}, "question: str -> answer: str", agent_id=agent_id)


class Counting:
    """An executor plugin that runs children locally and remembers what it was given."""

    name: ClassVar[str] = "counting"
    submitted: ClassVar[list[ChildRun]] = []

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Counting:
        return cls()

    async def submit(self, child: ChildRun) -> dict[str, Any]:
        type(self).submitted.append(child)
        return await LocalExecutor().submit(child)

    async def aclose(self) -> None:
        return None


class CountingPlugin:
    @hookimpl
    def register_executors(self, register: Any) -> None:
        register("counting", Counting)


def test_the_local_executor_is_the_default() -> None:
    assert get_executor() is get_executor("local") is Pipeline.parallel([qa("a")]).executor
    assert get_executor().name == "local"


def test_an_unknown_executor_names_the_installed_ones() -> None:
    with pytest.raises(PluginNotInstalledError) as caught:
        Pipeline.parallel([qa("a")], executor="dask://scheduler:8786")
    assert caught.value.code == "KAIZEN_003"
    assert "local" in caught.value.message


def test_fan_out_patterns_submit_every_child_to_the_pipelines_executor() -> None:
    agents = [qa(f"w{i}", f"yes {i % 2}") for i in range(3)]
    with plugin_registered(CountingPlugin(), name="counting-executor"):
        Counting.submitted.clear()
        built = {
            "parallel": Pipeline.parallel(agents, executor="counting://here"),
            "ensemble": Pipeline.ensemble(agents, qa("synth"), discovery_mode="all", executor="counting://here"),
            "consensus": Pipeline.consensus(agents, max_rounds=1, executor="counting://here"),
            "supervisor_worker": Pipeline.supervisor_worker(None, agents, selection_mode="round_robin", executor="counting://here"),
        }
        expected = {"parallel": 3, "ensemble": 4, "consensus": 3, "supervisor_worker": 1}
        for pattern, pipeline in built.items():
            Counting.submitted.clear()
            local = Pipeline.create(pattern, *_args(pattern, agents), **_options(pattern)).run(task="Agree?")
            here = pipeline.run(task="Agree?")
            assert {k: v for k, v in here.items() if k != "_meta"} == {k: v for k, v in local.items() if k != "_meta"}
            assert len(Counting.submitted) == expected[pattern], pattern
            child = Counting.submitted[0]
            assert child.parent_run_id == here["_meta"]["run_id"]
            assert child.metadata["pipeline"] == pipeline.name and child.metadata["pipeline_step"] == child.key
            assert child.child_id == f"{child.parent_run_id}-{child.key}"


def _args(pattern: str, agents: list[BaseAgent]) -> tuple[Any, ...]:
    if pattern == "ensemble":
        return (agents, qa("synth"))
    if pattern == "supervisor_worker":
        return (None, agents)
    return (agents,)


def _options(pattern: str) -> dict[str, Any]:
    return {
        "ensemble": {"discovery_mode": "all"},
        "consensus": {"max_rounds": 1},
        "supervisor_worker": {"selection_mode": "round_robin"},
    }.get(pattern, {})


class Review(Signature):
    """Review the code."""

    code: str = InputField(desc="The code")
    verdict: str = OutputField(desc="ok or not")


def test_an_agent_spec_rebuilds_the_agent_from_its_config() -> None:
    for signature in (Review(), Signature.parse("code: str, lang: str | None -> verdict: str", instructions="Be strict.")):
        agent = BaseAgent({"llm_provider": "mock", "provider_config": {"script": [{"verdict": "ok"}]}}, signature, agent_id="rev")
        spec = pickle.loads(pickle.dumps(AgentSpec.from_agent(agent)))
        rebuilt = spec.build()
        assert type(rebuilt) is BaseAgent and rebuilt.agent_id == "rev"
        assert rebuilt.signature.instructions() == agent.signature.instructions()
        assert rebuilt.signature.output_schema() == agent.signature.output_schema()
        assert rebuilt.run(code="x = 1")["verdict"] == "ok"
        assert spec.fingerprint == AgentSpec.from_agent(agent).fingerprint


def test_an_agent_spec_names_the_callers_stores_wherever_it_is_rebuilt(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    agent = BaseAgent(
        {
            "llm_provider": "mock",
            "checkpoint_storage": "file://./ckpt?compress=true",
            "memory_storage": "sqlite:///mem.db",
            "workspace_root": "ws",
        },
        "question: str -> answer: str",
        agent_id="placed",
    )
    config = AgentSpec.from_agent(agent).config
    assert config["checkpoint_storage"] == f"file://{tmp_path}/ckpt?compress=true"
    assert config["memory_storage"] == f"sqlite:///{tmp_path}/mem.db"
    assert config["workspace_root"] == str(tmp_path / "ws")


def test_an_agent_given_a_provider_instance_cannot_be_rebuilt_elsewhere() -> None:
    agent = BaseAgent({"llm_provider": "mock"}, "question: str -> answer: str", provider=MockProvider(), agent_id="p")
    with pytest.raises(ConfigError) as caught:
        AgentSpec.from_agent(agent)
    assert "provider_config" in (caught.value.hint or "")


def test_run_many_keeps_the_order_and_reports_failures() -> None:
    agent = BaseAgent(
        {"llm_provider": "mock", "provider_config": {"script": [{"error": {"status": 400, "message": "no"}}]}},
        "question: str -> answer: str",
        agent_id="flaky",
    )
    results = qa("ok").run_many([{"question": str(i)} for i in range(5)], max_concurrency=2)
    assert [r["_meta"]["agent_id"] for r in results] == ["ok"] * 5
    mixed = agent.run_many([{"question": "a"}], return_exceptions=True)
    assert isinstance(mixed[0], ProviderError)
    with pytest.raises(ProviderError):
        agent.run_many([{"question": "a"}, {"question": "b"}])
    with pytest.raises(ConfigError):
        agent.run_many([{"question": "a"}], max_concurrency=0)


def test_a_toml_pipeline_names_its_pattern_agents_and_executor(tmp_path: Path) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "second.toml").write_text(
        '[agent]\nid = "second"\nsignature = "question: str -> answer: str"\nllm_provider = "mock"\n'
        'provider_config = { script = [{ answer = "two" }] }\n',
        encoding="utf-8",
    )
    path = tmp_path / "pipeline.toml"
    path.write_text(
        """
[pipeline]
pattern = "ensemble"
name = "panel"
executor = "local"
discovery_mode = "all"

[[pipeline.agents]]
id = "first"
signature = "question: str -> answer: str"
llm_provider = "mock"
provider_config = { script = [{ answer = "one" }] }

[[pipeline.agents]]
file = "agents/second.toml"

[pipeline.synthesizer]
id = "editor"
signature = "perspectives: list -> answer: str"
llm_provider = "mock"
provider_config = { script = [{ answer = "one and two" }] }
""",
        encoding="utf-8",
    )
    pipeline = load_pipeline(path)
    assert pipeline.name == "panel" and pipeline.executor.name == "local"
    result = pipeline.run(question="Count?")
    assert result["answer"] == "one and two"
    assert [p["outputs"]["answer"] for p in result["perspectives"]] == ["one", "two"]
    with pytest.raises(PluginNotInstalledError):
        load_pipeline(path, executor="nowhere://x")
    path.write_text("[pipeline]\nname = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_pipeline(path)
