"""Cost in USD from a provider's price table. Unknown model: ``None``, never a guess.

A price table maps a model name to ``(input, output)`` prices in USD per million
tokens::

    PRICES = {"gpt-4o-mini": (0.15, 0.60)}
    cost_usd(PRICES, "gpt-4o-mini-2024-07-18", usage)

Lookup is exact first, then with a leading ``models/`` removed and a trailing
version suffix removed (a date such as ``-2024-07-18`` / ``-20241022``, ``-latest`` or
a three-digit revision such as ``-001``). Nothing else is matched: ``gpt-4o-audio``
is *not* priced as ``gpt-4o``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kaizen_core.providers.types import Usage

__all__ = ["PriceTable", "cost_usd", "lookup_price"]

#: model -> (USD per 1M input tokens, USD per 1M output tokens)
PriceTable = Mapping[str, tuple[float, float]]

_VERSION_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest|\d{3}|v\d+(\.\d+)?)$")


def lookup_price(table: PriceTable, model: str | None) -> tuple[float, float] | None:
    """The ``(input, output)`` price of ``model`` per the rules above, or None."""
    if not model:
        return None
    candidates = [model]
    if model.startswith("models/"):
        candidates.append(model.removeprefix("models/"))
    for name in list(candidates):
        stripped = _VERSION_SUFFIX.sub("", name)
        if stripped != name:
            candidates.append(stripped)
    for name in candidates:
        price = table.get(name)
        if price is not None:
            return price
    return None


def cost_usd(table: PriceTable, model: str | None, usage: Usage) -> float | None:
    """USD cost of ``usage`` for ``model``; None when the model is not in ``table``."""
    price = lookup_price(table, model)
    if price is None:
        return None
    input_price, output_price = price
    return (usage.input_tokens * input_price + usage.output_tokens * output_price) / 1_000_000
