"""Vector similarity for embeddings (semantic search, routing)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def cosine_similarity(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of the angle between two vectors (0.0 when either is all zeros).

    Raises ValueError when the dimensions differ (vectors from two different models).
    """
    if len(a) != len(b):
        raise ValueError(f"vector dimensions differ ({len(a)} vs {len(b)}); embed both with one model")
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
