"""Tool, @tool, ToolRegistry."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field

from kaizen_core import plugins
from kaizen_core.errors import ConfigError, InputValidationError, PluginNotInstalledError, ToolExecutionError
from kaizen_core.hookspecs import hookimpl
from kaizen_core.providers import ToolDefinition
from kaizen_core.tools import DangerLevel, Tool, ToolContext, ToolRegistry, tool

pytestmark = pytest.mark.anyio


@tool(danger_level=DangerLevel.LOW, category="math", idempotent=True)
def add(a: int, b: int = 2) -> int:
    """Add two integers."""
    return a + b


@tool
async def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@tool(name="boom")
def explode(x: int) -> int:
    """Always fails."""
    raise RuntimeError(f"exploded with {x}")


def test_decorator_builds_name_description_schema() -> None:
    assert isinstance(add, Tool)
    assert add.name == "add"
    assert add.description == "Add two integers."
    assert add.danger_level is DangerLevel.LOW
    assert add.category == "math" and add.idempotent is True
    assert add.parameters["properties"]["a"]["type"] == "integer"
    assert add.parameters["required"] == ["a"]
    assert add.parameters["properties"]["b"]["default"] == 2
    assert explode.name == "boom"
    # the documented defaults of @tool: LOW (runs without approval in DEFAULT mode), not read-only
    assert shout.danger_level is DangerLevel.LOW and shout.idempotent is False and shout.read_only is False
    definition = add.to_definition()
    assert isinstance(definition, ToolDefinition)
    assert definition.name == "add" and definition.parameters == add.parameters


def test_read_only_is_declared_explicitly() -> None:
    @tool(read_only=True)
    def peek(key: str) -> str:
        """Look something up."""
        return key

    assert peek.read_only is True and peek.danger_level is DangerLevel.LOW
    assert Tool(lambda: 1, name="plain").read_only is False
    assert Tool(lambda: 1, name="plain").danger_level is DangerLevel.LOW
    assert "read_only=True" in repr(peek)


def test_context_parameter_is_not_in_schema() -> None:
    @tool
    def where(path: str, context: ToolContext) -> str:
        """Show where."""
        return str(context.workspace_root / path)

    assert list(where.parameters["properties"]) == ["path"]


def test_danger_levels_are_ordered() -> None:
    order = [DangerLevel.SAFE, DangerLevel.LOW, DangerLevel.MEDIUM, DangerLevel.HIGH, DangerLevel.CRITICAL]
    assert sorted(reversed(order)) == order
    assert DangerLevel.HIGH > DangerLevel.MEDIUM >= DangerLevel.MEDIUM
    assert DangerLevel("high") is DangerLevel.HIGH


async def test_execute_sync_and_async() -> None:
    result = await add.execute({"a": 40})
    assert (result.success, result.output, result.tool_name, result.error_code) == (True, 42, "add", None)
    assert result.duration_ms >= 0
    assert (await shout.execute({"text": "hi"})).output == "HI"


async def test_context_is_injected(tmp_path) -> None:
    @tool
    def where(context: ToolContext) -> str:
        """Root."""
        return str(context.workspace_root)

    result = await where.execute({}, context=ToolContext(workspace_root=tmp_path))
    assert result.output == str(tmp_path)


@pytest.mark.parametrize(
    "arguments, fragment",
    [({"a": "not a number"}, "a:"), ({}, "a: Field required"), ({"a": 1, "c": 3}, "c:"), ([1, 2], "JSON object")],
)
async def test_invalid_arguments_become_exec_001(arguments, fragment) -> None:
    result = await add.execute(arguments)
    assert result.success is False
    assert result.error_code == "EXEC_001"
    assert fragment in (result.error or "")


async def test_exception_inside_tool_becomes_exec_002() -> None:
    result = await explode.execute({"x": 7})
    assert not result.success and result.error_code == ToolExecutionError.code
    assert "exploded with 7" in (result.error or "")
    assert "exploded" in result.to_content()


async def test_tool_timeout_from_context() -> None:
    import anyio

    release = anyio.Event()

    @tool
    async def slow() -> str:
        """Runs until the test releases it (after its assertions)."""
        await release.wait()
        return "done"

    with anyio.fail_after(30):  # bounds a hang only, if the tool timeout is broken
        result = await slow.execute({}, context=ToolContext(tool_timeout=0.05))
    assert result.success is False
    assert result.error_code == ToolExecutionError.code and "timed out" in (result.error or "")
    release.set()


async def test_sync_tool_timeout_returns_at_the_deadline_and_abandons_the_thread() -> None:
    import threading

    release = threading.Event()
    finished = threading.Event()

    @tool
    def stuck() -> str:
        """Blocks until the test releases it (a 2 s job, as far as the caller knows)."""
        release.wait(timeout=30)
        finished.set()
        return "late"

    try:
        result = await stuck.execute({}, context=ToolContext(tool_timeout=0.3))
        # the result came back while the tool was still blocked: it did not wait for the thread
        assert not release.is_set() and not finished.is_set()
        assert result.success is False and result.error_code == ToolExecutionError.code
        assert "timed out after 0.3s" in (result.error or "")
    finally:
        release.set()
    # the abandoned thread runs to completion; its result is discarded
    assert finished.wait(timeout=30)


def test_to_content_redacts_what_the_model_sees(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaizen_core.tools import ToolResult

    monkeypatch.setenv("ACME_API_KEY", "acme-live-5f3c2a1b9e")
    ok = ToolResult(success=True, output={"config": "key acme-live-5f3c2a1b9e", "dsn": "redis://u:p@ss@h/0"})
    assert ok.to_content() == '{"config": "key ***", "dsn": "redis://u:***@h/0"}'
    assert ok.output["config"] == "key acme-live-5f3c2a1b9e"  # the caller's own value is untouched
    text = ToolResult(success=True, output="token ghp_0123456789abcdefghijABCDEFGHIJ012345")
    assert text.to_content() == "token ghp_***"
    failed = ToolResult(success=False, error="bad acme-live-5f3c2a1b9e", error_code="EXEC_001")
    assert "acme-live" not in failed.to_content()


def test_secrets_redacted_from_tool_errors() -> None:
    import anyio

    @tool
    def leaky() -> None:
        """Leaks."""
        raise ValueError("connect to https://user:hunter2secret@example.com failed")

    result = anyio.run(leaky.execute, {})
    assert "hunter2secret" not in (result.error or "")


async def test_registry_register_get_discover_execute() -> None:
    registry = ToolRegistry([add, shout])

    def plain(n: int) -> int:
        """Double."""
        return n * 2

    registry.register(plain)
    assert registry.names() == ["add", "plain", "shout"]
    assert registry.get("add") is add and registry.get("nope") is None
    assert [t.name for t in registry.discover(category="math")] == ["add"]
    assert [t.name for t in registry.discover(category="custom")] == ["plain", "shout"]
    assert (await registry.execute("plain", {"n": 4})).output == 8
    unknown = await registry.execute("nope", {})
    assert unknown.error_code == "EXEC_001" and "unknown tool 'nope'" in (unknown.error or "")
    with pytest.raises(ConfigError):
        registry.register(Tool(lambda: 1, name="add"))


async def test_execute_chain_stops_on_error() -> None:
    registry = ToolRegistry([add, explode])
    results = await registry.execute_chain([("add", {"a": 1}), {"name": "boom", "params": {"x": 1}}, ("add", {"a": 2})])
    assert [r.success for r in results] == [True, False]
    results = await registry.execute_chain(
        [("add", {"a": 1}), {"name": "boom", "arguments": {"x": 1}}, ("add", {"a": 2})], stop_on_error=False
    )
    assert [r.output for r in results] == [3, None, 4]


def test_from_config_loads_builtins_and_all() -> None:
    registry = ToolRegistry.from_config(["read_file", "http_get"])
    assert registry.names() == ["http_get", "read_file"]
    everything = ToolRegistry.from_config("all", extra=[add])
    # "all" = every registered tool (built-ins plus whatever plugins are installed)
    assert set(everything.names()) == set(plugins.get_registry().names("tool")) | {"add"}
    assert len(everything) >= 13
    assert {t.name for t in everything.discover(category="files")} == {
        "read_file",
        "file_exists",
        "list_directory",
        "write_file",
        "delete_file",
    }


def test_from_config_unknown_name_is_kaizen_003() -> None:
    with pytest.raises(PluginNotInstalledError) as info:
        ToolRegistry.from_config(["read_file", "teleport"])
    assert info.value.code == "KAIZEN_003"
    assert "read_file" in info.value.message


def test_from_config_picks_up_plugin_tools() -> None:
    class ToolPlugin:
        @hookimpl
        def register_tools(self, register) -> None:
            register("add_numbers", add, category="math")

    with plugins.plugin_registered(ToolPlugin(), name="tool-plugin"):
        registry = ToolRegistry.from_config(["add_numbers"])
        assert registry.names() == ["add_numbers"]
        assert registry.get("add_numbers") is add


@tool
def find_places(city: Annotated[str, Field(description="City name, e.g. Paris")], limit: int = 3) -> str:
    """Find places."""
    return city


def test_annotated_field_descriptions_reach_the_tool_schema() -> None:
    assert find_places.parameters["properties"]["city"]["description"] == "City name, e.g. Paris"
    assert find_places.parameters["required"] == ["city"]


def test_from_config_takes_all_and_names_in_extra_never_their_characters() -> None:
    assert set(ToolRegistry.from_config([], extra="all").names()) == set(plugins.get_registry().names("tool"))
    assert ToolRegistry.from_config([], extra="read_file").names() == ["read_file"]
    both = ToolRegistry.from_config(["read_file"], extra=["all", add])
    assert "add" in both and both.names().count("read_file") == 1


async def test_execute_chain_takes_the_documented_tool_name_key() -> None:
    registry = ToolRegistry([add])
    results = await registry.execute_chain([{"tool_name": "add", "params": {"a": 1}}])
    assert results[0].output == 3
    with pytest.raises(InputValidationError):
        await registry.execute_chain([{"params": {"a": 1}}])
