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
    (numpy), or a list of arrays when numpy is not installed. Build it once, rank many times;
    rows can be appended, replaced and removed in place (a removed row is never ranked;
    :meth:`select` compacts)."""

    def __init__(self, rows: Sequence[bytes], dim: int) -> None:
        for raw in rows:
            if len(raw) != 4 * dim:
                raise ValueError(f"vector dimensions differ ({len(raw) // 4} vs {dim}); embed both with one model")
        self.dim = dim
        self.size = len(rows)
        self.removed = 0
        self._np = _numpy()
        if self._np is not None:
            np = self._np
            # Writable buffers with room to grow, so append() does not copy the matrix each time.
            capacity = max(16, len(rows) + len(rows) // 4)
            self._buffer = np.empty((capacity, dim), dtype="<f4")
            self._buffer[: len(rows)] = np.frombuffer(b"".join(rows), dtype="<f4").reshape(len(rows), dim)
            self._norm_buffer = np.empty(capacity, dtype="<f4")
            self._alive_buffer = np.ones(capacity, dtype=bool)
            matrix = self._buffer[: len(rows)]
            self._norm_buffer[: len(rows)] = _row_norms(np, matrix)
        else:
            self._rows: list[array[float]] = []
            self._dead: set[int] = set()
            for raw in rows:
                self._rows.append(_floats(raw))

    def _fits(self, raw: bytes) -> bool:
        return len(raw) == 4 * self.dim and (self.size > 0 or self.dim > 0)

    def append(self, raw: bytes) -> bool:
        """Add one row (little-endian float32 bytes) at the end; False when its dimension differs
        (or the matrix is empty and of unknown dimension: the caller rebuilds it)."""
        if not self._fits(raw):
            return False
        if self._np is None:
            self._rows.append(_floats(raw))
            self.size += 1
            return True
        np = self._np
        if self.size == self._buffer.shape[0]:
            capacity = self.size * 2
            grown = np.empty((capacity, self.dim), dtype="<f4")
            grown[: self.size] = self._buffer[: self.size]
            norms = np.empty(capacity, dtype="<f4")
            norms[: self.size] = self._norm_buffer[: self.size]
            alive = np.ones(capacity, dtype=bool)
            alive[: self.size] = self._alive_buffer[: self.size]
            self._buffer, self._norm_buffer, self._alive_buffer = grown, norms, alive
        self.size += 1
        self._set(self.size - 1, raw)
        return True

    def replace(self, row: int, raw: bytes) -> bool:
        """Overwrite ``row`` with another vector (and rank it again if it was removed); False when
        the dimension differs."""
        if not self._fits(raw):
            return False
        if self._np is None:
            self._rows[row] = _floats(raw)
            if row in self._dead:
                self._dead.discard(row)
                self.removed -= 1
            return True
        if not self._alive_buffer[row]:
            self.removed -= 1
        self._set(row, raw)
        return True

    def _set(self, row: int, raw: bytes) -> None:
        np = self._np
        self._buffer[row] = np.frombuffer(raw, dtype="<f4")
        self._norm_buffer[row] = _row_norms(np, self._buffer[row : row + 1])[0]
        self._alive_buffer[row] = True

    def remove(self, row: int) -> None:
        """Leave ``row`` out of every ranking (its place stays until :meth:`select`)."""
        if self._np is None:
            if row not in self._dead:
                self._dead.add(row)
                self.removed += 1
        elif self._alive_buffer[row]:
            self._alive_buffer[row] = False
            self.removed += 1

    def select(self, rows: Sequence[int]) -> VectorMatrix:
        """A new matrix of ``rows`` (live ones), in that order."""
        if self._np is None:
            picked = [self._rows[i].tobytes() for i in rows]
            if sys.byteorder == "big":
                picked = [_le_bytes(r) for r in picked]
            return VectorMatrix(picked, self.dim)
        np = self._np
        chosen = VectorMatrix([], self.dim)
        index = np.asarray(rows, dtype=np.intp)
        capacity = max(16, len(rows) + len(rows) // 4)
        chosen._buffer = np.empty((capacity, self.dim), dtype="<f4")
        chosen._buffer[: len(rows)] = self._buffer[index]
        chosen._norm_buffer = np.empty(capacity, dtype="<f4")
        chosen._norm_buffer[: len(rows)] = self._norm_buffer[index]
        chosen._alive_buffer = np.ones(capacity, dtype=bool)
        chosen.size = len(rows)
        return chosen

    def top_k(
        self,
        query: Sequence[float],
        limit: int,
        min_similarity: float,
        exclude: Collection[int] = (),
        order: Sequence[float] | None = None,
    ) -> list[tuple[int, float]]:
        """``(row, cosine similarity)`` of the best ``limit`` rows with similarity >= ``min_similarity``.

        Best first; equal similarities go by ``order`` (one number per row, smaller first; the
        memory passes creation times) and then by row. A zero vector has similarity 0. Removed
        rows and rows in ``exclude`` are left out. Raises ValueError when the query's
        dimension differs.
        """
        if len(query) != self.dim and self.size:
            raise ValueError(f"vector dimensions differ ({self.dim} vs {len(query)}); embed both with one model")
        if limit <= 0 or not self.size:
            return []
        if self._np is None:
            return self._top_k_python(query, limit, min_similarity, exclude, order)
        np = self._np
        q = np.asarray(query, dtype=np.float32)
        matrix = self._buffer[: self.size]
        norms = self._norm_buffer[: self.size] * float(np.linalg.norm(q))
        # The BLAS product is the fast pass, but its rounding depends on the matrix's shape (a row
        # scores a last bit differently in a matrix of another size); the rows that can make the
        # cut are scored again with numpy's own loop, whose result for a row does not depend on
        # where it sits, so equal vectors tie exactly and a grown index ranks as a rebuilt one.
        # ``slack`` bounds the difference of two float32 dot products (d * 2**-24 each, in cosine units).
        slack = 2 * self.dim * 2.0**-24 + 1e-7
        dots = matrix @ q
        coarse = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
        keep = coarse >= min_similarity - slack
        if self.removed:
            keep &= self._alive_buffer[: self.size]
        if exclude:
            keep[np.fromiter(exclude, dtype=np.intp, count=len(exclude))] = False
        candidates = np.flatnonzero(keep)
        if candidates.size > limit:
            kth = np.partition(coarse[candidates], candidates.size - limit)[candidates.size - limit]
            candidates = candidates[coarse[candidates] >= kth - 2 * slack]
        picked = norms[candidates]
        exact = np.einsum("ij,j->i", matrix[candidates], q)
        scores = np.divide(exact, picked, out=np.zeros_like(exact), where=picked > 0)
        passing = scores >= min_similarity
        candidates, scores = candidates[passing], scores[passing]
        if order is None:
            ranked = np.lexsort((candidates, -scores))[:limit]
        else:
            ties = np.fromiter((order[int(i)] for i in candidates), dtype=np.float64, count=candidates.size)
            ranked = np.lexsort((candidates, ties, -scores))[:limit]
        return [(int(candidates[i]), float(scores[i])) for i in ranked]

    def _top_k_python(
        self,
        query: Sequence[float],
        limit: int,
        min_similarity: float,
        exclude: Collection[int],
        order: Sequence[float] | None,
    ) -> list[tuple[int, float]]:
        q = [float(x) for x in query]
        left_out = self._dead.union(exclude)
        scored = []
        for i, row in enumerate(self._rows):
            if i in left_out:
                continue
            similarity = cosine_similarity(q, row)
            if similarity >= min_similarity and not math.isnan(similarity):
                scored.append((i, similarity))
        scored.sort(key=lambda item: (-item[1], order[item[0]] if order is not None else 0.0, item[0]))
        return scored[:limit]


def _row_norms(np: Any, block: Any) -> Any:
    """Euclidean norms of the rows of ``block``: one computation for a whole matrix and for a
    row added later, so equal vectors get equal norms (and equal similarities, ties by age)."""
    return np.sqrt(np.einsum("ij,ij->i", block, block))


def _floats(raw: bytes) -> array[float]:
    floats = array("f")
    floats.frombytes(raw)
    if sys.byteorder == "big":
        floats.byteswap()
    return floats


def _le_bytes(native: bytes) -> bytes:
    floats = array("f")
    floats.frombytes(native)
    floats.byteswap()
    return floats.tobytes()
