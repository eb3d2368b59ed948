"""TOML agent composition, environment overrides and the `kaizen` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaizen_core import BaseAgent, load_agent
from kaizen_core.cli import main
from kaizen_core.errors import ConfigError

AGENT_TOML = """
[agent]
id = "qa-from-toml"
signature = "question: str -> answer: str, confidence: float"
instructions = "Answer briefly."
llm_provider = "mock"
temperature = 0.1
hooks = ["metrics"]

[agent.provider_config]
script = [{answer = "Paris", confidence = 0.9}]
"""


@pytest.fixture
def agent_file(tmp_path: Path) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(AGENT_TOML, encoding="utf-8")
    return path


def test_load_agent_composes_everything(agent_file: Path) -> None:
    agent = load_agent(agent_file)
    assert isinstance(agent, BaseAgent)
    assert agent.agent_id == "qa-from-toml"
    assert agent.config.temperature == 0.1
    assert agent.signature.instructions() == "Answer briefly."
    assert agent.hook_manager is not None
    result = agent.run(question="Capital of France?")
    assert result["answer"] == "Paris" and result["confidence"] == 0.9


def test_signature_by_import_path(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(
        '[agent]\nsignature = "kaizen_testing.provider_suite:SuiteQA"\nllm_provider = "mock"\n', encoding="utf-8"
    )
    result = load_agent(path).run(question="q")
    assert isinstance(result["confidence"], float)


def test_environment_overrides_the_file(agent_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_MODEL", "mock-override")
    assert load_agent(agent_file).provider.model == "mock-override"
    monkeypatch.setenv("KAIZEN_LLM_PROVIDER", "not-installed")
    with pytest.raises(ConfigError) as info:
        load_agent(agent_file)
    assert "llm_provider" in info.value.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("not toml [", "not valid TOML"),
        ("[other]\nx = 1\n", "no [agent] table"),
        ('[agent]\nllm_provider = "mock"\n', "signature"),
        ('[agent]\nsignature = "a -> b"\ntemperatur = 1\n', "temperatur"),
        ('[agent]\nsignature = "a -> b"\ntype = "weird"\n', "weird"),
    ],
)
def test_bad_files_are_config_errors(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_agent(path)
    assert fragment in str(info.value)


def test_a_missing_agent_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match=r"agent file .*nowhere\.toml.* does not exist") as info:
        load_agent(missing)
    assert info.value.code == "KAIZEN_002"


def test_cli_run_prints_json(agent_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(agent_file), "--input", "question=Capital of France?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answer"] == "Paris"
    assert out["_meta"]["agent_id"] == "qa-from-toml"


def test_cli_errors_are_json_with_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "missing.toml")]) == 1
    err = json.loads(capsys.readouterr().err)
    assert err["error"]["code"] == "KAIZEN_002"


def test_cli_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    core = data["plugins"][0]
    assert core["distribution"] == "kaizen-core"
    assert "register_providers" in core["hooks"]
