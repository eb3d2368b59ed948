"""Gemini Developer API list prices (paid tier), USD per million tokens. Unlisted: None (never a guess).

Each entry is ``(input, output, cached input)``: Gemini bills no cache write (explicit
caches bill storage by the hour, which Kaizen does not create). Thinking tokens are billed
as output (``Usage.output_tokens`` includes them). Models with a long-context tier are
priced at the <= 200k-token prompt tier. Gemini 3.8 Flash is listed at its list price; the
introductory half price that runs through 2026-12-31 is not applied. Source:
ai.google.dev/gemini-api/docs/pricing (as quoted in 2026 by the price trackers named in the
kaizen-google README).
"""

from __future__ import annotations

from kaizen_core.providers.pricing import Price

PRICES: dict[str, Price] = {
    "gemini-3.8-flash": (1.50, 7.50, 0.15),
    "gemini-2.5-pro": (1.25, 10.00, 0.125),
    "gemini-2.5-flash": (0.30, 2.50, 0.03),
    "gemini-2.5-flash-lite": (0.10, 0.40, 0.01),
    "gemini-embedding-001": (0.15, 0.0),
}
