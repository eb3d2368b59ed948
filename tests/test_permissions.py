"""Permission modes, rules, budget and the documented decision order."""

from __future__ import annotations

import threading

import pytest

from kaizen_core.errors import ConfigError
from kaizen_core.permissions import (
    ExecutionContext,
    PermissionDecision,
    PermissionMode,
    PermissionRule,
    PermissionType,
)
from kaizen_core.tools import DangerLevel

ALLOW, DENY, ASK = PermissionType.ALLOW, PermissionType.DENY, PermissionType.ASK


def decide(ctx: ExecutionContext, name: str, level: DangerLevel, cost: float = 0.0) -> PermissionType:
    return ctx.can_use_tool(name, level, cost).type


def test_danger_level_defaults() -> None:
    ctx = ExecutionContext()
    assert decide(ctx, "read_file", DangerLevel.SAFE) is ALLOW
    assert decide(ctx, "lowish", DangerLevel.LOW) is ALLOW
    for level in (DangerLevel.MEDIUM, DangerLevel.HIGH, DangerLevel.CRITICAL):
        decision = ctx.can_use_tool("tool_x", level)
        assert decision.type is ASK and level.name in decision.reason


def test_accept_edits_covers_file_edits_only() -> None:
    ctx = ExecutionContext(mode=PermissionMode.ACCEPT_EDITS)
    assert decide(ctx, "write_file", DangerLevel.MEDIUM) is ALLOW
    assert decide(ctx, "http_post", DangerLevel.MEDIUM) is ASK
    assert decide(ctx, "delete_file", DangerLevel.HIGH) is ASK


def test_bypass_allows_everything_even_over_budget() -> None:
    ctx = ExecutionContext(mode="bypass", budget_limit=0.0, denied_tools=["x"])
    assert decide(ctx, "x", DangerLevel.CRITICAL, cost=10) is ALLOW


def test_budget_comes_before_plan_and_lists() -> None:
    ctx = ExecutionContext(budget_limit=1.0, allowed_tools=["t"])
    ctx.record_tool_usage("t", 0.9)
    assert decide(ctx, "t", DangerLevel.SAFE, cost=0.05) is ALLOW
    decision = ctx.can_use_tool("t", DangerLevel.SAFE, 0.2)
    assert decision.type is DENY and "budget" in decision.reason and decision.source == "budget"
    assert ctx.has_budget(0.1) and not ctx.has_budget(0.2)
    assert ctx.budget_spent == pytest.approx(0.9)
    assert ctx.budget_remaining == pytest.approx(0.1)


def test_plan_mode_runs_only_read_only_tools_even_if_allowed() -> None:
    ctx = ExecutionContext(mode=PermissionMode.PLAN, allowed_tools=["write_file"])
    assert ctx.can_use_tool("read_file", DangerLevel.SAFE, read_only=True).type is ALLOW
    assert decide(ctx, "safe_but_not_read_only", DangerLevel.SAFE) is DENY
    assert decide(ctx, "write_file", DangerLevel.MEDIUM) is DENY
    assert decide(ctx, "low_tool", DangerLevel.LOW) is DENY


def test_documented_idiom_denied_or_unanswered_decisions_are_falsy() -> None:
    """kaizen-docs, Permission System: ``if context.can_use_tool("read_file"): ...``."""
    context = ExecutionContext(
        mode=PermissionMode.DEFAULT, budget_limit=50.0, allowed_tools={"read_file", "http_get"}, denied_tools={"delete_file"}
    )
    assert context.can_use_tool("read_file")
    assert not context.can_use_tool("delete_file")  # DENY
    assert not context.can_use_tool("deploy", DangerLevel.HIGH)  # ASK: not approved yet
    assert context.can_use_tool("deploy", DangerLevel.HIGH).type is PermissionType.ASK
    context.record_tool_usage("read_file", cost=0.001)
    assert context.has_budget()


def test_token_budget() -> None:
    ctx = ExecutionContext(token_limit=100)
    ctx.record_tokens(60)
    assert ctx.has_budget()
    ctx.record_tokens(40)
    assert not ctx.has_budget()
    assert ctx.can_use_tool("read_file", DangerLevel.SAFE).source == "budget"


def test_denied_before_allowed_before_rules() -> None:
    rules = [PermissionRule("tool_.*", PermissionType.ALLOW, "rule allows", 100)]
    ctx = ExecutionContext(allowed_tools=["tool_a", "tool_b"], denied_tools=["tool_a"], rules=rules)
    assert ctx.can_use_tool("tool_a", DangerLevel.SAFE).source == "denied_tools"
    assert decide(ctx, "tool_a", DangerLevel.SAFE) is DENY
    assert ctx.can_use_tool("tool_b", DangerLevel.HIGH).source == "allowed_tools"
    assert ctx.can_use_tool("tool_c", DangerLevel.HIGH).source == "rule"


def test_allowed_list_beats_deny_rule() -> None:
    ctx = ExecutionContext(allowed_tools=["delete_file"], rules=[PermissionRule("delete_.*", PermissionType.DENY)])
    assert decide(ctx, "delete_file", DangerLevel.HIGH) is ALLOW


def test_rules_by_priority_then_order() -> None:
    rules = [
        PermissionRule("http_.*", PermissionType.ASK, "low prio", 1),
        PermissionRule("http_get", PermissionType.ALLOW, "high prio", 10),
        PermissionRule("http_get", PermissionType.DENY, "same prio later", 10),
    ]
    ctx = ExecutionContext(rules=rules)
    assert ctx.can_use_tool("http_get", DangerLevel.SAFE).reason == "high prio"
    assert ctx.can_use_tool("http_post", DangerLevel.MEDIUM).reason == "low prio"


def test_rules_override_danger_default_both_ways() -> None:
    ctx = ExecutionContext(
        rules=[PermissionRule("read_.*", PermissionType.ASK), PermissionRule("write_file", PermissionType.ALLOW)]
    )
    assert decide(ctx, "read_file", DangerLevel.SAFE) is ASK
    assert decide(ctx, "write_file", DangerLevel.MEDIUM) is ALLOW


def test_rule_is_full_match() -> None:
    rule = PermissionRule(pattern="delete_.*", permission_type="deny", reason="no deletes")
    assert rule.matches("delete_file")
    assert not rule.matches("undelete_file")
    assert not PermissionRule("read", PermissionType.DENY).matches("read_file")


def test_invalid_pattern_rejected_at_creation() -> None:
    with pytest.raises(ConfigError) as info:
        PermissionRule("delete_(", PermissionType.DENY)
    assert info.value.code == "KAIZEN_002"


def test_decision_model() -> None:
    decision = ExecutionContext().can_use_tool("read_file", "safe")
    assert isinstance(decision, PermissionDecision) and decision.allowed and decision.reason


def test_record_tool_usage_is_thread_safe() -> None:
    ctx = ExecutionContext(budget_limit=1_000.0)

    def work() -> None:
        for _ in range(1000):
            ctx.record_tool_usage("t", 0.01)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ctx.tool_usage == {"t": 8000}
    assert ctx.budget_spent == pytest.approx(80.0)
