"""The dense-search seam: where chunk vectors live and how the nearest ones are found.

Retrieval asks a :class:`VectorStore` for the ``k`` chunks nearest a query vector, optionally
within a boolean mask over chunk rows (the document/section filter). Row numbers are the
chunk order of the loaded generation (``chunks.jsonl``), so every backend answers in the
same coordinates and the rest of the pipeline never knows which one served.

:class:`FaissVectorStore` is the embedded default: the generation's ``vectors.faiss`` plus
``chunk_vectors.npy`` (exact scores for filtered searches and for fusion). The FAISS index is
exact (flat) for small collections and approximate (HNSW, IVF) for large ones (``qa/ann.py``);
approximate candidates are re-scored exactly, so callers always get true cosines.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

EMPTY_IDS = np.zeros(0, dtype=np.int64)
EMPTY_SCORES = np.zeros(0, dtype=np.float32)


@runtime_checkable
class VectorStore(Protocol):
    """Nearest chunks to a query vector, in chunk-row coordinates of one generation."""

    kind: str

    def search(self, qvec: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and cosine scores of the ``k`` best chunks (within ``mask``), best first."""
        ...

    def scores(self, qvec: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact cosine scores of ``rows`` (used to place lexical-only hits on the dense scale)."""
        ...


class FaissVectorStore:
    """FAISS index + the raw vectors of one generation (the default, embedded backend).

    ``spec`` is the generation's ``manifest["vector_index"]`` record (kind and parameters);
    without it the kind is read off the FAISS object. Search-time parameters (``efSearch``,
    ``nprobe``) are applied here, on load. ``chunk_vectors`` may be a read-only memory map:
    only the rows a query touches are read.
    """

    kind = "faiss"

    def __init__(self, faiss_index: object, chunk_vectors: np.ndarray, spec: dict[str, Any] | None = None) -> None:
        from qa import ann

        self.faiss_index = faiss_index
        self.chunk_vectors = chunk_vectors
        if spec is None:
            spec = {"kind": ann.kind_of(faiss_index), "params": {}}
        self.index_kind: str = str(spec.get("kind", "flat"))
        self.params = ann.apply_search_params(faiss_index, spec)
        self.exact = self.index_kind == "flat"
        self.rescore = int((spec.get("params") or {}).get("rescore") or ann.IndexSettings.rescore)

    def search(self, qvec: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.chunk_vectors)
        if n == 0 or k <= 0:
            return EMPTY_IDS, EMPTY_SCORES
        if mask is None:
            want = min(k if self.exact else k * self.rescore, n)
            scores, ids = self.faiss_index.search(qvec.reshape(1, -1).astype(np.float32), want)  # type: ignore[attr-defined]
            keep = ids[0] >= 0
            ids, scores = ids[0][keep].astype(np.int64), scores[0][keep]
            if self.exact:
                return ids, scores
            # Approximate candidates: exact cosines from the stored vectors, then the best k.
            rows = np.sort(ids)
            s = self.scores(qvec, rows)
            top = np.argsort(-s, kind="stable")[:k]
            return rows[top], s[top]
        # A filter: exact scores over the allowed rows, so a selective filter still gets k hits.
        rows = np.flatnonzero(mask)
        if len(rows) == 0:
            return EMPTY_IDS, EMPTY_SCORES
        s = self.chunk_vectors[rows] @ qvec
        top = np.argsort(-s, kind="stable")[:k]
        return rows[top], s[top]

    def scores(self, qvec: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return EMPTY_SCORES
        return (self.chunk_vectors[rows] @ qvec).astype(np.float32)
