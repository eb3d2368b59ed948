"""Anthropic list prices, USD per million tokens. Models not listed cost None (never a guess).

Each entry is ``(input, output, cache read, cache write)``. Anthropic bills a cache read at
0.1x and a cache write at 1.25x the input price (5-minute TTL; Kaizen does not ask for the
1-hour TTL, billed at 2x, so every write is priced at the 5-minute rate). Fable 5.1 reads
its cache at $0.25. Sources: Anthropic's model catalogue and prompt-caching pricing, as
cached in the anthropics/skills claude-api skill (2026-06/07). Sonnet 5 is listed at its
list price ($3/$15), not the introductory price that runs to 2026-08-31.
"""

from __future__ import annotations

from kaizen_core.providers.pricing import Price


def _price(input_price: float, output_price: float, cache_read: float | None = None) -> Price:
    """``(input, output, cache read, cache write)`` with Anthropic's cache multipliers."""
    read = round(input_price * 0.1, 6) if cache_read is None else cache_read
    return (input_price, output_price, read, round(input_price * 1.25, 6))


_OPUS_4 = _price(15.00, 75.00)
_OPUS_45 = _price(5.00, 25.00)
_SONNET = _price(3.00, 15.00)

PRICES: dict[str, Price] = {
    # current
    "claude-fable-5-1": _price(10.00, 50.00, cache_read=0.25),
    "claude-mythos-5-1": _price(10.00, 50.00, cache_read=0.25),
    "claude-fable-5": _price(10.00, 50.00),
    "claude-mythos-5": _price(10.00, 50.00),
    "claude-opus-5": _OPUS_45,
    "claude-opus-4-8": _OPUS_45,
    "claude-opus-4-7": _OPUS_45,
    "claude-opus-4-6": _OPUS_45,
    "claude-opus-4-5": _OPUS_45,
    "claude-sonnet-5": _SONNET,
    "claude-sonnet-4-6": _SONNET,
    "claude-sonnet-4-5": _SONNET,
    "claude-haiku-4-5": _price(1.00, 5.00),
    # legacy and deprecated, still served
    "claude-opus-4-1": _OPUS_4,
    "claude-opus-4": _OPUS_4,  # claude-opus-4-20250514 (the date is stripped)
    "claude-opus-4-0": _OPUS_4,
    "claude-sonnet-4": _SONNET,
    "claude-sonnet-4-0": _SONNET,
    "claude-3-haiku": _price(0.25, 1.25),
}
