"""Stored embedding vectors and the cosine ranking over them (vectorised with numpy when it is installed).

A vector is stored as ``{"model": ..., "dim": n, "f32": "<base64>"}``: the little-endian
float32 bytes, base64 encoded (a tier holds JSON). That is a quarter of the JSON text of
the same floats and decodes without parsing numbers; float32 is what embedding models
produce. Vectors stored as a JSON list (``{"model": ..., "vector": [...]}``, the earlier
form) are still read.

:class:`VectorMatrix` ranks stored vectors against a query with one matrix product when
numpy is importable, and with :func:`kaizen_core.providers.similarity.cosine_similarity`
per vector otherwise; both give the same order (ties: the earlier vector first).
"""

from __future__ import annotations

import binascii
import math
import sys
from array import array
from collections.abc import Collection, Sequence
from typing import Any

from kaizen_core.providers.similarity import cosine_similarity

__all__ = ["VectorMatrix", "decode_vector", "encode_vector", "stored_bytes"]


def encode_vector(vector: Sequence[float], model: str) -> dict[str, Any]:
    """The stored form of ``vector`` (see the module docstring)."""
    packed = array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return {
        "model": model,
        "dim": len(packed),
        "f32": binascii.b2a_base64(packed.tobytes(), newline=False).decode("ascii"),
    }


def stored_bytes(stored: Any, model: str) -> bytes | None:
    """The little-endian float32 bytes of a stored vector of ``model`` (None: absent, another model, unreadable)."""
    if not isinstance(stored, dict) or stored.get("model") != model:
        return None
    packed = stored.get("f32")
    if isinstance(packed, str):
        try:
            raw = binascii.a2b_base64(packed)
        except (binascii.Error, ValueError):
            return None
        return raw if len(raw) % 4 == 0 and len(raw) // 4 == stored.get("dim", len(raw) // 4) else None
    legacy = stored.get("vector")
    if isinstance(legacy, list):
        try:
            floats = array("f", (float(x) for x in legacy))
        except (TypeError, ValueError):
            return None
        if sys.byteorder == "big":
            floats.byteswap()
        return floats.tobytes()
    return None


def decode_vector(stored: Any, model: str) -> list[float] | None:
    """The vector of a stored value for ``model``, or None when absent, of another model or unreadable."""
    raw = stored_bytes(stored, model)
    if raw is None:
        return None
    floats = array("f")
    floats.frombytes(raw)
    if sys.byteorder == "big":
        floats.byteswap()
    return floats.tolist()


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


class VectorMatrix:
    """Stored vectors of one dimension, ready to rank: one float32 matrix and its row norms
    (numpy), or a list of arrays when numpy is not installed. Build it once, rank many times."""

    def __init__(self, rows: Sequence[bytes], dim: int) -> None:
        for raw in rows:
            if len(raw) != 4 * dim:
                raise ValueError(f"vector dimensions differ ({len(raw) // 4} vs {dim}); embed both with one model")
        self.dim = dim
        self.size = len(rows)
        self._np = _numpy()
        if self._np is not None:
            np = self._np
            # A writable buffer with room to grow, so append() does not copy the matrix each time.
            self._buffer = np.empty((max(16, len(rows) + len(rows) // 4), dim), dtype="<f4")
            self._buffer[: len(rows)] = np.frombuffer(b"".join(rows), dtype="<f4").reshape(len(rows), dim)
            self._norm_buffer = np.empty(self._buffer.shape[0], dtype="<f4")
            self._matrix = self._buffer[: len(rows)]
            self._norm_buffer[: len(rows)] = np.sqrt(np.einsum("ij,ij->i", self._matrix, self._matrix))
            self._norms = self._norm_buffer[: len(rows)]
        else:
            self._rows = []
            for raw in rows:
                floats = array("f")
                floats.frombytes(raw)
                if sys.byteorder == "big":
                    floats.byteswap()
                self._rows.append(floats)

    def append(self, raw: bytes) -> bool:
        """Add one row (little-endian float32 bytes); False when its dimension differs."""
        if self.size and len(raw) != 4 * self.dim:
            return False
        if not self.size and self.dim != len(raw) // 4:
            return False  # an empty matrix of unknown dimension: the caller rebuilds it
        if self._np is None:
            floats = array("f")
            floats.frombytes(raw)
            if sys.byteorder == "big":
                floats.byteswap()
            self._rows.append(floats)
            self.size += 1
            return True
        np = self._np
        if self.size == self._buffer.shape[0]:
            grown = np.empty((self.size * 2, self.dim), dtype="<f4")
            grown[: self.size] = self._buffer[: self.size]
            norms = np.empty(self.size * 2, dtype="<f4")
            norms[: self.size] = self._norm_buffer[: self.size]
            self._buffer, self._norm_buffer = grown, norms
        row = np.frombuffer(raw, dtype="<f4")
        self._buffer[self.size] = row
        self._norm_buffer[self.size] = np.sqrt(np.dot(row, row))
        self.size += 1
        self._matrix = self._buffer[: self.size]
        self._norms = self._norm_buffer[: self.size]
        return True

    def top_k(
        self, query: Sequence[float], limit: int, min_similarity: float, exclude: Collection[int] = ()
    ) -> list[tuple[int, float]]:
        """``(row, cosine similarity)`` of the best ``limit`` rows with similarity >= ``min_similarity``.

        Best first; equal similarities keep the row order. A zero vector has similarity 0.
        Rows in ``exclude`` are left out. Raises ValueError when the query's
        dimension differs.
        """
        if len(query) != self.dim and self.size:
            raise ValueError(f"vector dimensions differ ({self.dim} vs {len(query)}); embed both with one model")
        if limit <= 0 or not self.size:
            return []
        if self._np is None:
            return self._top_k_python(query, limit, min_similarity, exclude)
        np = self._np
        q = np.asarray(query, dtype=np.float32)
        norms = self._norms * float(np.linalg.norm(q))
        dots = self._matrix @ q
        scores = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
        keep = scores >= min_similarity
        if exclude:
            keep[np.fromiter(exclude, dtype=np.intp, count=len(exclude))] = False
        candidates = np.flatnonzero(keep)
        if candidates.size > limit:
            # the limit-th best score, then everything at least as good (ties kept for the stable order)
            kth = np.partition(scores[candidates], candidates.size - limit)[candidates.size - limit]
            candidates = candidates[scores[candidates] >= kth]
        order = candidates[np.lexsort((candidates, -scores[candidates]))][:limit]
        return [(int(i), float(scores[i])) for i in order]

    def _top_k_python(
        self, query: Sequence[float], limit: int, min_similarity: float, exclude: Collection[int]
    ) -> list[tuple[int, float]]:
        q = [float(x) for x in query]
        scored = []
        for i, row in enumerate(self._rows):
            if i in exclude:
                continue
            similarity = cosine_similarity(q, row)
            if similarity >= min_similarity and not math.isnan(similarity):
                scored.append((i, similarity))
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored[:limit]
