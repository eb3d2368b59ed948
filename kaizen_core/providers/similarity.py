"""Similarity for search and routing: cosine for embeddings, BM25 for words.

One implementation of each, shared by memory search and agent routing.
"""

from __future__ import annotations

import math
from collections import Counter
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


def bm25_scores(
    query: Sequence[str],
    documents: Sequence[Sequence[str]],
    *,
    k1: float = 1.2,
    b: float = 0.75,
    normalize: bool = False,
) -> list[float]:
    """Okapi BM25 score of each tokenized document for the query terms (lexical relevance).

    A query term counts once however often it is repeated. ``idf = ln(1 + (N - df + 0.5) /
    (df + 0.5))`` (always positive), term frequencies saturate with ``k1`` and are
    normalized by document length with ``b``. A document sharing no term scores 0.

    ``normalize`` divides every score by the most any document could score for this query
    (``Σ idf·(k1 + 1)``, approached by a document full of every query term), so scores lie
    in [0, 1) and compare across queries: the share of the query's weight a document covers.
    """
    n = len(documents)
    terms = list(dict.fromkeys(query))
    if not n or not terms:
        return [0.0] * n
    counts = [Counter(doc) for doc in documents]
    lengths = [len(doc) for doc in documents]
    average = (sum(lengths) / n) or 1.0
    idf = {}
    for term in terms:
        df = sum(1 for c in counts if term in c)
        idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    scores = []
    for c, length in zip(counts, lengths, strict=True):
        norm = k1 * (1 - b + b * length / average)
        scores.append(sum(idf[t] * c[t] * (k1 + 1) / (c[t] + norm) for t in terms if c[t]))
    if normalize:
        ceiling = sum(idf.values()) * (k1 + 1)
        scores = [s / ceiling for s in scores]
    return scores
