"""A tool contributed by the template plugin."""

from kaizen_core.tools import DangerLevel, tool


@tool(danger_level=DangerLevel.SAFE, category="text", idempotent=True)
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())
