"""Permissions: the policy (modes, rules, budgets: :mod:`.policy`) and the one gate every
tool call passes (:mod:`.gate`). See docs/permissions.md."""

from kaizen_core.permissions.gate import GateDecision, PermissionGate
from kaizen_core.permissions.policy import (
    DEFAULT_EDIT_TOOLS,
    ExecutionContext,
    PermissionDecision,
    PermissionMode,
    PermissionRule,
    PermissionType,
)

__all__ = [
    "DEFAULT_EDIT_TOOLS",
    "ExecutionContext",
    "GateDecision",
    "PermissionDecision",
    "PermissionGate",
    "PermissionMode",
    "PermissionRule",
    "PermissionType",
]
