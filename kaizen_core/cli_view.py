"""The terminal view of a run, shared by ``kaizen run`` and the examples.

:class:`RunView` listens to an agent's lifecycle hooks and prints, on stderr, each
cycle, each tool call (arguments, outcome, duration), permission denials and the cost
so far; :func:`result_table` renders the typed result. Rich is imported here only, and
this module is imported only when a command runs (``import kaizen_core`` stays cheap).
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kaizen_core.hooks import HookContext, HookEvent

__all__ = ["RunView", "result_table"]

_OUTCOME_STYLE = {"success": "green", "error": "red", "denied": "yellow", "blocked": "yellow"}


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RunView:
    """Print a run's progress as it happens (attach with :meth:`attach` before the run)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console if console is not None else Console(stderr=True, highlight=False)
        self._arguments: dict[str, Any] = {}

    def attach(self, agent: Any) -> None:
        """Register the view's handlers on ``agent.hook_manager``."""
        hooks = agent.hook_manager
        hooks.register(HookEvent.PRE_CYCLE, self._pre_cycle, name="cli-view-pre-cycle")
        hooks.register(HookEvent.PRE_TOOL_CALL, self._pre_tool, name="cli-view-pre-tool")
        hooks.register(HookEvent.POST_TOOL_CALL, self._post_tool, name="cli-view-post-tool")
        hooks.register(HookEvent.POST_PERMISSION_CHECK, self._permission, name="cli-view-permission")
        hooks.register(HookEvent.POST_CHECKPOINT_SAVE, self._checkpoint, name="cli-view-checkpoint")

    def _print(self, text: str) -> None:
        self.console.print(text, soft_wrap=True)

    def _pre_cycle(self, ctx: HookContext) -> None:
        cost = float(ctx.metadata.get("cost_usd") or 0.0)
        self._print(f"[bold]cycle {ctx.metadata.get('cycle')}[/bold]  [dim]cost so far ${cost:.4f}[/dim]")

    def _pre_tool(self, ctx: HookContext) -> None:
        call_id = str(ctx.metadata.get("tool_call_id"))
        self._arguments[call_id] = ctx.metadata.get("arguments")
        self._print(f"  → {escape(str(ctx.metadata.get('tool')))}({escape(_short(ctx.metadata.get('arguments')))})")

    def _post_tool(self, ctx: HookContext) -> None:
        outcome = str(ctx.metadata.get("outcome"))
        style = _OUTCOME_STYLE.get(outcome, "white")
        duration = ctx.metadata.get("duration_ms") or ctx.duration_ms or 0.0
        result = _short(ctx.metadata.get("result") or "", 60)
        self._print(
            f"  ← {escape(str(ctx.metadata.get('tool')))} [{style}]{outcome}[/{style}] {duration:.1f} ms"
            f"  [dim]{escape(result)}[/dim]"
        )

    def _permission(self, ctx: HookContext) -> None:
        if ctx.metadata.get("decision") == "deny":
            self._print(f"  ✗ {escape(str(ctx.metadata.get('tool')))} [yellow]denied[/yellow]: {escape(str(ctx.metadata.get('reason')))}")

    def _checkpoint(self, ctx: HookContext) -> None:
        checkpoint = ctx.metadata.get("checkpoint_id")
        if checkpoint:
            self._print(f"  [dim]checkpoint {escape(str(checkpoint))}[/dim]")

    def summary(self, result: dict[str, Any]) -> None:
        """One line: stop reason, cycles, tokens and cost of a finished run."""
        meta = result.get("_meta") or {}
        usage = meta.get("usage") or {}
        tokens = usage.get("total_tokens", (usage.get("prompt_tokens") or 0) + (usage.get("completion_tokens") or 0))
        parts = [f"{k} {result[k]}" for k in ("stop_reason", "cycles_used") if k in result]
        parts.append(f"tokens {tokens}")
        cost = usage.get("cost_usd", meta.get("cost_usd"))
        if cost is not None:
            parts.append(f"cost ${float(cost):.4f}")
        self._print("[bold]done[/bold]  " + "  ".join(escape(p) for p in parts))


def result_table(result: dict[str, Any]) -> Table:
    """The signature's output fields of ``result`` as a two-column table (run metadata left out)."""
    skip = {"_meta", "tool_calls", "permission_decisions", "stop_reason", "cycles_used", "checkpoint_id"}
    table = Table("field", "value", title="result")
    for key, value in result.items():
        if key not in skip:
            table.add_row(escape(key), escape(value if isinstance(value, str) else json.dumps(value, default=str)))
    return table
