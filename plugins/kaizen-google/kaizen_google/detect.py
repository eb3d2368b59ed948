"""Auto-detection: a Gemini API key is set (either variable name)."""

from __future__ import annotations

import os

KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")


def api_key() -> str | None:
    """The first of ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY`` that is set."""
    for name in KEY_VARIABLES:
        value = os.environ.get(name)
        if value:
            return value
    return None


def api_key_set() -> bool:
    return api_key() is not None
