"""Plugins add ``kaizen`` sub-commands through ``register_cli_commands``, loaded only when run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kaizen_core import hookimpl
from kaizen_core.cli import main
from kaizen_core.plugins import plugin_registered

COMMAND_MODULE = '''
import click

@click.group()
def greet():
    """Greetings."""

@greet.command()
@click.argument("name")
@click.option("--shout", is_flag=True)
def hello(name, shout):
    """Say hello."""
    text = f"hello {name}"
    print(text.upper() if shout else text)
'''


class GreetPlugin:
    @hookimpl
    def register_cli_commands(self, register):  # type: ignore[no-untyped-def]
        register("greet", "kaizen_test_greet:greet", description="Say hello from a plugin.")
        register("run", "kaizen_test_greet:greet")  # a core name: never replaces `kaizen run`


@pytest.fixture
def greet_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    (tmp_path / "kaizen_test_greet.py").write_text(COMMAND_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with plugin_registered(GreetPlugin(), name="greet-plugin"):
        yield
    sys.modules.pop("kaizen_test_greet", None)


def test_a_plugin_command_runs_with_its_own_arguments(greet_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["greet", "hello", "Ada", "--shout"]) == 0
    assert capsys.readouterr().out.strip() == "HELLO ADA"


def test_the_plugin_module_loads_only_when_its_command_runs(
    greet_plugin: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "greet" in out and "Say hello from a plugin." in out
    assert "kaizen_test_greet" not in sys.modules
    assert main(["greet", "--help"]) == 0  # --help goes to the plugin's own group
    assert "hello" in capsys.readouterr().out and "kaizen_test_greet" in sys.modules


def test_a_plugin_cannot_shadow_a_core_command(greet_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    assert "Run an agent described in a TOML file" in capsys.readouterr().out


FAILING_MODULE = '''
import click

@click.command()
def broken():
    """Always fails."""
    raise click.ClickException("the thing is broken")
'''


class BrokenPlugin:
    @hookimpl
    def register_cli_commands(self, register):  # type: ignore[no-untyped-def]
        register("broken", "kaizen_test_broken:broken")


def test_a_click_error_of_a_plugin_command_is_a_message_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "kaizen_test_broken.py").write_text(FAILING_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with plugin_registered(BrokenPlugin(), name="broken-plugin"):
        assert main(["broken"]) == 1
    err = capsys.readouterr().err
    assert "Error: the thing is broken" in err and "Traceback" not in err
    sys.modules.pop("kaizen_test_broken", None)
