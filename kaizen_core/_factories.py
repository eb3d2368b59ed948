"""Default factories for pydantic fields: ``Field(default_factory=new_list)`` instead of ``list``.

pydantic inspects each ``default_factory`` with :func:`inspect.signature` when it builds a
model (does the factory take the validated data?). For a builtin type such as ``list`` that
parses its text signature with :mod:`tokenize`, whose first use compiles a large regular
expression: about 15 ms on the first model of a process and 0.1 ms per field after that.
A plain function has a real signature and costs neither (see benchmarks/bench_core.py,
cold start). Per instance the call costs the same as ``list()``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["new_dict", "new_list"]


def new_list() -> list[Any]:
    """A new empty list."""
    return []


def new_dict() -> dict[str, Any]:
    """A new empty dict."""
    return {}
