"""Nearest-neighbour search over unit vectors (inner product = cosine).

Exact numpy search up to `EXACT_LIMIT` vectors, a faiss IVF-Flat index above it. Measured with
`make bench-retrieval` on this 2-core machine (reports/retrieval.md), at 300,000 vectors
(100,000 synthetic articles): exact search ~30 ms a question; IVF-Flat ~1 ms with recall@3 of
99.8% against exact search, built in 18-36 s; HNSW (M=32, efSearch=96) ~1 ms but recall@3 of
84%, built in 46-77 s. IVF's k-means suits knowledge-base vectors, which cluster by topic, and
the index is rebuilt whole when articles change, so its lists never go stale. At 20,000 vectors
exact search takes ~2 ms, less than encoding the question (~4 ms).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

IndexKind = Literal["exact", "hnsw", "ivf"]

EXACT_LIMIT = 20_000
# The faiss index used above EXACT_LIMIT (HNSW stays available for comparison).
LARGE_INDEX: IndexKind = "ivf"
# HNSW, kept for the benchmark's comparison: graph degree and search breadth.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 96
# IVF: inverted lists per sqrt(vectors), and lists probed per query.
IVF_LISTS_PER_SQRT = 4
IVF_NPROBE = 32


class VectorIndex(Protocol):
    """Rows of unit vectors; `search` returns (scores, rows), best first, row -1 for none."""

    kind: IndexKind

    @property
    def size(self) -> int: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


def dot_rows(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """matrix @ vector, single-threaded.

    numpy's `@` hands a matrix-vector product to multi-threaded OpenBLAS; for one question on a
    busy 2-core machine the threads' hand-off alone cost ~7 ms (measured), more than the product.
    einsum's own SIMD loop stays on the calling thread.
    """
    return np.einsum("ij,j->i", matrix, vector)


def as_unit_rows(vectors: np.ndarray) -> np.ndarray:
    """C-contiguous float32 rows of length 1 (what faiss and the inner product expect)."""
    rows = np.ascontiguousarray(vectors, dtype=np.float32)
    if rows.ndim == 1:
        rows = rows[None, :]
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.ascontiguousarray(rows / np.maximum(norms, 1e-12), dtype=np.float32)


class ExactIndex:
    """Brute-force inner product: one matrix product per query batch."""

    kind: IndexKind = "exact"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    @property
    def size(self) -> int:
        return int(self.vectors.shape[0])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(queries).astype(np.float32, copy=False)
        k = min(k, self.size)
        if k <= 0:
            empty = np.zeros((queries.shape[0], 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        scores = np.stack([dot_rows(self.vectors, query) for query in queries])
        # argpartition is linear in the corpus; only the k best get sorted.
        rows = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(scores, rows, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        return np.take_along_axis(top, order, axis=1), np.take_along_axis(rows, order, axis=1)


class FaissIndex:
    """A faiss index with inner-product metric (HNSW or IVF), searched single-threaded."""

    def __init__(self, index: Any, kind: IndexKind) -> None:
        self.index = index
        self.kind = kind

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        scores, rows = self.index.search(queries, min(k, self.size))
        return scores, rows.astype(np.int64)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: IndexKind) -> FaissIndex:
        import faiss

        index = faiss.read_index(str(path))
        _tune(index, kind)
        return cls(index, kind)


def _tune(index: Any, kind: IndexKind) -> None:
    # Search-time parameters are not all stored in the file.
    if kind == "hnsw":
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind == "ivf":
        index.nprobe = IVF_NPROBE


def choose_kind(count: int, exact_limit: int = EXACT_LIMIT) -> IndexKind:
    return "exact" if count <= exact_limit else LARGE_INDEX


def build_index(vectors: np.ndarray, kind: IndexKind) -> ExactIndex | FaissIndex:
    """An index over unit-length rows."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if kind == "exact":
        return ExactIndex(vectors)
    import faiss

    dimension = int(vectors.shape[1])
    index: Any
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.add(vectors)
    else:
        lists = max(1, int(IVF_LISTS_PER_SQRT * np.sqrt(len(vectors))))
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, lists, faiss.METRIC_INNER_PRODUCT)
        # 50 training points per list are plenty for k-means; more only costs time.
        sample = np.random.default_rng(0).permutation(len(vectors))[: 50 * lists]
        index.train(vectors[np.sort(sample)])
        index.add(vectors)
    _tune(index, kind)
    return FaissIndex(index, kind)
