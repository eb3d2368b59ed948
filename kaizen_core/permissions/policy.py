"""Permission modes, rules, budgets: may the agent run this tool now?

Decision order of :meth:`ExecutionContext.can_use_tool` (first match wins):

1. mode BYPASS -> ALLOW (everything, budget included);
2. budget: ``budget_limit`` set and ``spent + estimated_cost > budget_limit``, or
   ``token_limit`` set and reached -> DENY;
3. mode PLAN ("look, don't touch") -> ALLOW only tools declared ``read_only``, DENY the rest;
4. tool in ``denied_tools`` -> DENY;
5. tool in ``allowed_tools`` -> ALLOW;
6. rules, highest ``priority`` first (ties: order given), first whose pattern fully
   matches the tool name -> that rule's type;
7. danger-level default: SAFE and LOW -> ALLOW; MEDIUM and above -> ASK, except that
   mode ACCEPT_EDITS allows file-edit tools (``edit_tools``) up to MEDIUM.

A :class:`PermissionDecision` is truthy only for ALLOW, so the documented idiom
``if context.can_use_tool("read_file"): ...`` never runs a denied or unanswered (ASK)
call. Agents never call this directly: every tool call of every agent passes
:class:`kaizen_core.permissions.PermissionGate`, which also asks for approvals.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from kaizen_core.errors import BudgetExceededError, ConfigError
from kaizen_core.tools.tool import DangerLevel

__all__ = [
    "DEFAULT_EDIT_TOOLS",
    "BudgetReservation",
    "ExecutionContext",
    "PermissionDecision",
    "PermissionMode",
    "PermissionRule",
    "PermissionType",
]

#: Tools ACCEPT_EDITS mode treats as "file edits" (auto-approved up to MEDIUM).
DEFAULT_EDIT_TOOLS: frozenset[str] = frozenset({"write_file", "edit_file", "append_file", "create_file"})


class PermissionMode(StrEnum):
    """How permissive the run is. See the module docstring for the decision order."""

    DEFAULT = "default"
    ACCEPT_EDITS = "accept_edits"
    PLAN = "plan"
    BYPASS = "bypass"


class PermissionType(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    ASK = "ask"


class PermissionDecision(BaseModel):
    """The answer of :meth:`ExecutionContext.can_use_tool`; ``source`` names the step that decided."""

    type: PermissionType
    reason: str
    source: str = ""

    @property
    def allowed(self) -> bool:
        return self.type is PermissionType.ALLOW

    def __bool__(self) -> bool:
        # DENY and ASK (not yet answered) are falsy: ``if ctx.can_use_tool(name):`` is safe.
        return self.type is PermissionType.ALLOW


class PermissionRule(BaseModel):
    """A regex on tool names (full match). An invalid pattern is rejected at creation (KAIZEN_002)."""

    model_config = ConfigDict(frozen=True)

    pattern: str
    permission_type: PermissionType
    reason: str = ""
    priority: int = 0

    def __init__(
        self,
        pattern: str | None = None,
        permission_type: PermissionType | str | None = None,
        reason: str = "",
        priority: int = 0,
        **data: Any,
    ) -> None:
        if pattern is not None:
            data["pattern"] = pattern
        if permission_type is not None:
            data["permission_type"] = permission_type
        data.setdefault("reason", reason)
        data.setdefault("priority", priority)
        raw = data.get("pattern")
        if isinstance(raw, str):
            try:
                re.compile(raw)
            except re.error as exc:
                raise ConfigError(
                    f"invalid permission rule pattern {raw!r}: {exc}", hint="give a Python regular expression"
                ) from exc
        super().__init__(**data)

    def matches(self, tool_name: str) -> bool:
        return _compiled(self.pattern).fullmatch(tool_name) is not None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern)
    return compiled


class BudgetReservation(BaseModel):
    """One model call's hold on a budget, from :meth:`ExecutionContext.reserve` to :meth:`~ExecutionContext.settle`.

    ``cost``/``tokens`` are the estimates held meanwhile (the average settled call so far).
    """

    model_config = ConfigDict(frozen=True)

    cost: float = 0.0
    tokens: int = 0


class ExecutionContext(BaseModel):
    """Permission state of one run: mode, budget, allow/deny lists, rules. Thread-safe.

    Budgets: ``budget_limit`` in USD, ``token_limit`` in tokens (input + output) and
    ``call_limit`` in model calls. Spending is recorded under a lock, so concurrent tool
    calls and model calls keep the totals exact.

    Runs sharing one context (concurrent pipeline children) take a :meth:`reserve` before
    each model call and :meth:`settle` it with the call's real usage: the check and the
    hold are one atomic step, so ``call_limit`` is never exceeded however many calls run
    at once, and calls in flight count against the USD and token limits at the average
    cost of the calls settled so far (exact for call counts; for money and tokens an
    overrun is bounded by how far one call exceeds the average).
    """

    model_config = ConfigDict(validate_assignment=True)

    mode: PermissionMode = PermissionMode.DEFAULT
    budget_limit: float | None = Field(default=None, ge=0)
    token_limit: int | None = Field(default=None, ge=0)
    call_limit: int | None = Field(default=None, ge=0)
    allowed_tools: set[str] | None = None
    denied_tools: set[str] | None = None
    rules: list[PermissionRule] | None = None
    edit_tools: frozenset[str] = DEFAULT_EDIT_TOOLS

    _lock: threading.RLock = PrivateAttr(default_factory=threading.RLock)
    _spent: float = PrivateAttr(default=0.0)
    _tokens: int = PrivateAttr(default=0)
    _usage: dict[str, int] = PrivateAttr(default_factory=dict)
    _calls: int = PrivateAttr(default=0)  # settled model calls
    _held_calls: int = PrivateAttr(default=0)  # reserved, not yet settled
    _held_cost: float = PrivateAttr(default=0.0)
    _held_tokens: int = PrivateAttr(default=0)

    def __init__(
        self,
        mode: PermissionMode | str = PermissionMode.DEFAULT,
        budget_limit: float | None = None,
        allowed_tools: Iterable[str] | None = None,
        denied_tools: Iterable[str] | None = None,
        rules: Iterable[PermissionRule] | None = None,
        token_limit: int | None = None,
        call_limit: int | None = None,
        **kw: object,
    ) -> None:
        super().__init__(
            mode=mode,
            budget_limit=budget_limit,
            token_limit=token_limit,
            call_limit=call_limit,
            allowed_tools=set(allowed_tools) if allowed_tools is not None else None,
            denied_tools=set(denied_tools) if denied_tools is not None else None,
            rules=list(rules) if rules is not None else None,
            **kw,
        )

    # --- budget -------------------------------------------------------------------------
    @property
    def budget_spent(self) -> float:
        with self._lock:
            return self._spent

    @property
    def budget_remaining(self) -> float | None:
        with self._lock:
            return None if self.budget_limit is None else max(0.0, self.budget_limit - self._spent)

    @property
    def tool_usage(self) -> dict[str, int]:
        """Calls recorded per tool name."""
        with self._lock:
            return dict(self._usage)

    @property
    def tokens_spent(self) -> int:
        with self._lock:
            return self._tokens

    @property
    def calls_made(self) -> int:
        """Model calls settled so far (:meth:`settle`), failed and cancelled ones included."""
        with self._lock:
            return self._calls

    @property
    def calls_in_flight(self) -> int:
        """Model calls reserved and not yet settled."""
        with self._lock:
            return self._held_calls

    @property
    def has_limits(self) -> bool:
        """Whether any budget (USD, tokens or calls) is set."""
        return self.budget_limit is not None or self.token_limit is not None or self.call_limit is not None

    def has_budget(self, estimate: float = 0.0) -> bool:
        """True when ``estimate`` more dollars fit in the budget and tokens and calls remain (always without limits)."""
        return self.budget_exhausted(estimate) is None

    def budget_exhausted(self, estimate: float = 0.0, *, calls: bool = True) -> str | None:
        """Why no more work fits in the budget (``estimate`` more dollars), or None when it does.

        Calls in flight (reserved, not settled) count with their estimates. ``calls=False``
        leaves ``call_limit`` out (a tool call is not a model call).
        """
        with self._lock:
            spent = self._spent + self._held_cost
            if self.budget_limit is not None and spent + estimate > self.budget_limit:
                return (
                    f"budget exhausted: spent ${spent:.4f} + estimated ${estimate:.4f} "
                    f"exceeds the ${self.budget_limit:.4f} limit"
                )
            if self.budget_limit and spent >= self.budget_limit:  # all of it spent
                return f"budget exhausted: spent ${spent:.4f} of the ${self.budget_limit:.4f} limit"
            tokens = self._tokens + self._held_tokens
            if self.token_limit is not None and tokens >= self.token_limit:
                return f"token budget exhausted: {tokens} of {self.token_limit} tokens used"
            if calls and self.call_limit is not None and self._calls + self._held_calls >= self.call_limit:
                return (
                    f"call budget exhausted: {self._calls} of {self.call_limit} model calls made"
                    + (f", {self._held_calls} in flight" if self._held_calls else "")
                )
            return None

    def reserve(self) -> BudgetReservation:
        """Check the budget and hold one model call against it, in one atomic step.

        Raises :class:`~kaizen_core.errors.BudgetExceededError` (EXEC_006) when no call
        fits. Every reservation must be :meth:`settle`-d, also when the call fails.
        """
        with self._lock:
            exhausted = self.budget_exhausted()
            if exhausted is not None:
                raise BudgetExceededError(exhausted, hint="raise the budget, or make the task smaller")
            calls = self._calls
            reservation = BudgetReservation(
                cost=self._spent / calls if calls else 0.0, tokens=self._tokens // calls if calls else 0
            )
            self._held_calls += 1
            self._held_cost += reservation.cost
            self._held_tokens += reservation.tokens
            return reservation

    def settle(self, reservation: BudgetReservation, *, cost: float | None = 0.0, tokens: int = 0) -> None:
        """Replace ``reservation`` by the call's real usage (a call that failed settles with none:
        it still counts as a call)."""
        with self._lock:
            self._held_calls = max(0, self._held_calls - 1)
            self._held_cost = max(0.0, self._held_cost - reservation.cost)
            self._held_tokens = max(0, self._held_tokens - reservation.tokens)
            self._calls += 1
            self._spent += cost or 0.0
            self._tokens += tokens

    async def areserve(self) -> BudgetReservation:
        """:meth:`reserve` for the agent's async model-call path. A context whose budget is kept
        elsewhere (kaizen-ray's, on a budget actor) overrides it to wait without blocking."""
        return self.reserve()

    async def asettle(self, reservation: BudgetReservation, *, cost: float | None = 0.0, tokens: int = 0) -> None:
        """:meth:`settle` for the agent's async model-call path (see :meth:`areserve`)."""
        self.settle(reservation, cost=cost, tokens=tokens)

    def record_tokens(self, tokens: int) -> None:
        """Add model tokens (input + output) to the token budget."""
        with self._lock:
            self._tokens += tokens

    def record_tool_usage(self, name: str, cost: float = 0.0) -> None:
        """Count one call of ``name`` and add ``cost`` to the spent budget."""
        with self._lock:
            self._usage[name] = self._usage.get(name, 0) + 1
            self._spent += cost

    def record_cost(self, cost: float) -> None:
        """Add a cost not tied to a tool (e.g. model usage)."""
        with self._lock:
            self._spent += cost

    # --- decisions ----------------------------------------------------------------------
    def add_rule(self, rule: PermissionRule) -> None:
        with self._lock:
            self.rules = [*(self.rules or []), rule]

    def can_use_tool(
        self,
        tool_name: str,
        danger_level: DangerLevel | str = DangerLevel.SAFE,
        estimated_cost: float = 0.0,
        *,
        read_only: bool = False,
    ) -> PermissionDecision:
        """Decide ALLOW / DENY / ASK for one call, in the documented order.

        ``read_only``: the tool declares that it changes nothing (PLAN mode runs only those).
        """
        level = DangerLevel(danger_level)
        with self._lock:
            if self.mode is PermissionMode.BYPASS:
                return PermissionDecision(
                    type=PermissionType.ALLOW, reason="bypass mode allows every tool", source="mode"
                )
            exhausted = self.budget_exhausted(estimated_cost, calls=False)
            if exhausted is not None:
                return PermissionDecision(type=PermissionType.DENY, reason=exhausted, source="budget")
            if self.mode is PermissionMode.PLAN:
                if read_only:
                    return PermissionDecision(
                        type=PermissionType.ALLOW, reason="plan mode allows read-only tools", source="mode"
                    )
                return PermissionDecision(
                    type=PermissionType.DENY,
                    reason=f"plan mode allows only read-only tools; {tool_name!r} is not marked read_only",
                    source="mode",
                )
            if self.denied_tools and tool_name in self.denied_tools:
                return PermissionDecision(
                    type=PermissionType.DENY, reason=f"tool {tool_name!r} is in the denied list", source="denied_tools"
                )
            if self.allowed_tools and tool_name in self.allowed_tools:
                return PermissionDecision(
                    type=PermissionType.ALLOW,
                    reason=f"tool {tool_name!r} is in the allowed list",
                    source="allowed_tools",
                )
            rules = sorted(enumerate(self.rules or []), key=lambda pair: (-pair[1].priority, pair[0]))
            for _, rule in rules:
                if rule.matches(tool_name):
                    reason = rule.reason or f"rule {rule.pattern!r} -> {rule.permission_type.value}"
                    return PermissionDecision(type=rule.permission_type, reason=reason, source="rule")
            if level <= DangerLevel.LOW:
                return PermissionDecision(
                    type=PermissionType.ALLOW,
                    reason=f"{level.name} tools are allowed by default",
                    source="danger_level",
                )
            if (
                self.mode is PermissionMode.ACCEPT_EDITS
                and tool_name in self.edit_tools
                and level <= DangerLevel.MEDIUM
            ):
                return PermissionDecision(
                    type=PermissionType.ALLOW, reason="accept-edits mode allows file edits", source="mode"
                )
            return PermissionDecision(
                type=PermissionType.ASK,
                reason=f"{tool_name!r} is {level.name}: approval required",
                source="danger_level",
            )
