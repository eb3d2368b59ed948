"""Cost in USD from a provider's price table. Unknown model: ``None``, never a guess.

A price table maps a model name to ``(input, output)`` prices in USD per million
tokens, optionally followed by the price of cached input tokens (read from the
prompt cache) and of cache writes::

    PRICES = {"gpt-4o-mini": (0.15, 0.60, 0.075), "claude-sonnet-4": (3.00, 15.00, 0.30, 3.75)}
    cost_usd(PRICES, "gpt-4o-mini-2024-07-18", usage)

``Usage.cached_input_tokens`` and ``Usage.cache_write_tokens`` are parts of
``input_tokens``: they are priced at the cached / cache-write price when the table
gives one, else at the input price.

Lookup is exact first, then with a leading ``models/`` removed and a trailing
version suffix removed (a date such as ``-2024-07-18`` / ``-20241022``, ``-latest`` or
a three-digit revision such as ``-001``). Nothing else is matched: ``gpt-4o-audio``
is *not* priced as ``gpt-4o``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kaizen_core.providers.types import Usage

__all__ = ["Price", "PriceTable", "cost_usd", "lookup_price"]

#: model -> (USD per 1M input tokens, per 1M output tokens[, per 1M cached input tokens[, per 1M cache writes]])
Price = tuple[float, ...]
PriceTable = Mapping[str, Price]

_VERSION_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest|\d{3}|v\d+(\.\d+)?)$")


def lookup_price(table: PriceTable, model: str | None) -> Price | None:
    """The price tuple of ``model`` (``(input, output, ...)``) per the rules above, or None."""
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
    input_price, output_price = price[0], price[1]
    cached_price = price[2] if len(price) > 2 else input_price
    write_price = price[3] if len(price) > 3 else input_price
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    written = min(usage.cache_write_tokens, usage.input_tokens - cached)
    uncached = usage.input_tokens - cached - written
    total = uncached * input_price + cached * cached_price + written * write_price + usage.output_tokens * output_price
    return total / 1_000_000
