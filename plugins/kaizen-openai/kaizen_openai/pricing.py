"""OpenAI list prices, USD per million tokens: (input, output[, cached input]). Models not listed cost None.

Cached input tokens (``usage.prompt_tokens_details.cached_tokens``, part of
``prompt_tokens``) are priced at the cached price where one is listed; models without
prompt caching list none, so their cached tokens (there should be none) cost the input price.
"""

from __future__ import annotations

from kaizen_core.providers.pricing import Price

PRICES: dict[str, Price] = {
    "gpt-4o": (2.50, 10.00, 1.25),
    "gpt-4o-mini": (0.15, 0.60, 0.075),
    "gpt-4.1": (2.00, 8.00, 0.50),
    "gpt-4.1-mini": (0.40, 1.60, 0.10),
    "gpt-4.1-nano": (0.10, 0.40, 0.025),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o1": (15.00, 60.00, 7.50),
    "o1-mini": (1.10, 4.40, 0.55),
    "o3-mini": (1.10, 4.40, 0.55),
    "o4-mini": (1.10, 4.40, 0.275),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
    "text-embedding-ada-002": (0.10, 0.0),
}
