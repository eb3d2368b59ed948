"""The original docs' Permission System examples, run as written.

Imports translated: ``kaizen.core.autonomy.permissions`` -> ``kaizen_core.permissions``. The
example uses an ``agent`` defined elsewhere; the test builds one first (mock provider, the
builtin tools, a workspace holding ``data.txt``), outside the example's lines.

Both quick references hold the same example; it runs against the one gate: the context in
the example is the user's own bookkeeping, and ``agent.execute_tool`` still passes the agent's
permission gate (here it allows ``read_file``, a SAFE tool).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.tools import ToolResult

pytestmark = pytest.mark.anyio


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BaseAgent:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.txt").write_text("the data")
    return BaseAgent(BaseAgentConfig(llm_provider="mock"), "task -> result", tools="all")


async def _permission_system_example(agent: BaseAgent) -> dict[str, Any]:
    from kaizen_core.permissions import ExecutionContext, PermissionMode, PermissionRule, PermissionType

    # Create execution context with budget
    context = ExecutionContext(
        mode=PermissionMode.DEFAULT,
        budget_limit=50.0,  # $50 maximum
        allowed_tools={"read_file", "http_get"},
        denied_tools={"delete_file"},
    )

    # Define permission rules
    rules = [
        # Deny destructive operations
        PermissionRule(
            pattern="(delete|drop|truncate)_.*",
            permission_type=PermissionType.DENY,
            reason="Destructive operations not allowed",
            priority=100,
        ),
        # Ask for write operations
        PermissionRule(
            pattern="(write|create|update)_.*",
            permission_type=PermissionType.ASK,
            reason="Write operations require approval",
            priority=50,
        ),
        # Allow read operations
        PermissionRule(
            pattern="(read|get|list)_.*",
            permission_type=PermissionType.ALLOW,
            reason="Read operations are safe",
            priority=10,
        ),
    ]

    # Check permissions before tool execution
    if context.can_use_tool("read_file"):
        result = await agent.execute_tool("read_file", {"path": "data.txt"})
        context.record_tool_usage("read_file", cost=0.001)

    # Check budget
    if context.has_budget():
        # Proceed with operation
        pass

    return {"context": context, "rules": rules, "result": result}


async def test_quick_reference_permission_system_example(agent: BaseAgent) -> None:
    """quick-reference.md, "Permission System"."""
    seen = await _permission_system_example(agent)
    result, context = seen["result"], seen["context"]
    assert isinstance(result, ToolResult) and result.success and result.output == "the data"
    assert context.budget_spent == pytest.approx(0.001) and context.has_budget()
    assert context.tool_usage == {"read_file": 1}
    assert not context.can_use_tool("delete_file")  # denied_tools
    assert [r.permission_type.value for r in seen["rules"]] == ["deny", "ask", "allow"]


async def test_quick_reference_v05_permission_system_example(agent: BaseAgent) -> None:
    """quick-reference-v0.5.md, "Permission System (NEW in v0.5.0+)" (the same example)."""
    seen = await _permission_system_example(agent)
    assert seen["result"].success and seen["context"].has_budget()


async def test_permission_system_rules_applied_to_an_agent(agent: BaseAgent) -> None:
    """The example's rules, given to an agent's context: the gate decides every direct call with them
    (DENY delete_*, ASK write_* -> refused with no one to approve, ALLOW read_*)."""
    from kaizen_core.permissions import ExecutionContext, PermissionMode, PermissionRule, PermissionType

    rules = [
        PermissionRule(pattern="(delete|drop|truncate)_.*", permission_type=PermissionType.DENY, priority=100),
        PermissionRule(pattern="(write|create|update)_.*", permission_type=PermissionType.ASK, priority=50),
        PermissionRule(pattern="(read|get|list)_.*", permission_type=PermissionType.ALLOW, priority=10),
    ]
    context = ExecutionContext(mode=PermissionMode.DEFAULT, budget_limit=50.0, rules=rules)
    gated = BaseAgent(BaseAgentConfig(llm_provider="mock"), "task -> result", tools="all", execution_context=context)
    assert (await gated.execute_tool("read_file", {"path": "data.txt"})).success
    assert (await gated.execute_tool("write_file", {"path": "w.txt", "content": "x"})).error_code == "EXEC_005"
    assert (await gated.execute_tool("delete_file", {"path": "data.txt"})).error_code == "EXEC_005"
    assert Path("data.txt").exists() and not Path("w.txt").exists()
    assert context.tool_usage == {"read_file": 1}  # the agent records what ran in its context
