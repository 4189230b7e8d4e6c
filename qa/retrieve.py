"""Hybrid retrieval: BM25 (bm25s) and dense (FAISS) rankings, fused.

Fusion is a weighted sum of each retriever's scores scaled to [0, 1] by the best score of
that query ("convex combination"); reciprocal-rank fusion is available too. Which one wins,
and the weight, were chosen by measuring hit@k on the dev questions (see README).
Filters (documents, section prefix) are applied inside both retrievers, never after the
cut-off, so a filtered search still returns ``k`` passages when they exist.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.store import LoadedIndex
from qa.types import Hit
from qa.vectorstore import FaissVectorStore, VectorStore


@dataclass(frozen=True)
class RetrievalSettings:
    """Knobs of the hybrid search (tuned on the dev half of the question set)."""

    fusion: str = "weighted"  # "weighted" | "rrf"
    dense_weight: float = 0.6
    rrf_k: int = 60
    candidates: int = 50  # taken from each retriever before fusion
    # Added to each fused candidate (weighted fusion): this weight times its best sentence's cosine to the query.
    # A passage that holds one sentence close to the question is worth more than its averaged
    # vector says (dev hit@5 0.949 -> 0.957, XQuAD open hit@1 0.910 -> 0.925 at 0.5).
    sentence_weight: float = 0.5


class Retriever:
    """Searches one loaded index generation."""

    def __init__(
        self,
        index: LoadedIndex,
        settings: RetrievalSettings = RetrievalSettings(),
        vectors: VectorStore | None = None,
    ) -> None:
        self.index = index
        self.settings = settings
        # Dense search goes through the vector-store seam; FAISS files of the generation by default.
        self.vectors: VectorStore = vectors or FaissVectorStore(index.faiss_index, index.chunk_vectors, index.manifest.get("vector_index"))
        self._section_cache: dict[tuple[tuple[str, ...] | None, str | None], np.ndarray | None] = {}

    def mask(self, doc_ids: tuple[str, ...] | None = None, section: str | None = None) -> np.ndarray | None:
        """Boolean mask over chunks for a filter (None: everything)."""
        if not doc_ids and not section:
            return None
        key = (doc_ids, section)
        if key not in self._section_cache:
            sec = (section or "").strip().lower()
            ids = set(doc_ids or ())
            m = np.fromiter(
                (
                    (not ids or c.doc_id in ids or c.title in ids or c.doc_id.startswith(tuple(ids)))
                    and (not sec or sec in c.section.lower())
                    for c in self.index.chunks
                ),
                dtype=bool,
                count=len(self.index.chunks),
            )
            self._section_cache[key] = m
        return self._section_cache[key]

    def dense(self, qvec: np.ndarray, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and cosine scores of the ``k`` nearest chunks (within ``mask``)."""
        return self.vectors.search(qvec, k, mask)

    def best_sentence_scores(self, qvec: np.ndarray, rows: list[int]) -> list[float]:
        """Per chunk row, the cosine of its sentence closest to the query (0.0 for none)."""
        offsets = self.index.sentence_offsets
        r = np.asarray(rows, dtype=np.int64)
        starts, lens = offsets[r].astype(np.int64), (offsets[r + 1] - offsets[r]).astype(np.int64)
        total = int(lens.sum())
        if not total:
            return [0.0] * len(rows)
        # Row ids of every sentence of every chunk, in one gather: start of its chunk + its place.
        firsts = np.cumsum(lens) - lens
        take = np.repeat(starts - firsts, lens) + np.arange(total)
        sims = np.asarray(self.index.sentence_vectors[take], dtype=np.float32) @ qvec
        best = np.maximum.reduceat(sims, np.minimum(firsts, total - 1))
        return np.where(lens > 0, best, 0.0).tolist()

    def search(
        self,
        query: str,
        qvec: np.ndarray,
        k: int = 5,
        doc_ids: tuple[str, ...] | None = None,
        section: str | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query`` (its vector ``qvec``), best first."""
        st = self.settings
        mask = self.mask(doc_ids, section)
        n_cand = max(st.candidates, k)
        d_ids, d_scores = self.dense(qvec, n_cand, mask)
        l_ids, l_scores = self.index.bm25.search(query, n_cand, mask)
        dense_rank = {int(i): r for r, i in enumerate(d_ids)}
        lex_rank = {int(i): r for r, i in enumerate(l_ids)}
        dense_score = {int(i): float(s) for i, s in zip(d_ids, d_scores)}
        lex_score = {int(i): float(s) for i, s in zip(l_ids, l_scores)}
        ids = list(dict.fromkeys([*dense_rank, *lex_rank]))
        if not ids:
            return []
        if st.fusion == "rrf":
            fused = {i: (1 / (st.rrf_k + dense_rank[i] + 1) if i in dense_rank else 0.0)
                     + (1 / (st.rrf_k + lex_rank[i] + 1) if i in lex_rank else 0.0) for i in ids}
        else:
            # Dense cosine is already on a common scale; BM25 is scaled by this query's best.
            lmax = max(lex_score.values(), default=0.0) or 1.0
            dmin = min(dense_score.values(), default=0.0)
            # Lexical-only hits: their exact cosine (kept for the Hit), but in the fusion at most
            # the worst dense candidate's, since the dense ranking did not pick them.
            missing = np.array([i for i in ids if i not in dense_score], dtype=np.int64)
            exact = dict(zip(missing.tolist(), self.vectors.scores(qvec, missing).tolist()))
            fused = {
                i: st.dense_weight * (dense_score[i] if i in dense_score else min(exact[i], dmin))
                + (1 - st.dense_weight) * lex_score.get(i, 0.0) / lmax
                for i in ids
            }
            dense_score.update(exact)
        if st.sentence_weight and st.fusion != "rrf":  # a cosine is on the weighted fusion's scale, not on RRF's
            best = self.best_sentence_scores(qvec, ids)
            fused = {i: fused[i] + st.sentence_weight * b for i, b in zip(ids, best)}
        order = sorted(ids, key=lambda i: -fused[i])[:k]
        return [
            Hit(
                chunk=self.index.chunks[i],
                score=float(fused[i]),
                dense_rank=dense_rank.get(i),
                lexical_rank=lex_rank.get(i),
                dense_score=dense_score[i] if i in dense_score else float(self.vectors.scores(qvec, np.array([i]))[0]),
                lexical_score=lex_score.get(i, 0.0),
            )
            for i in order
        ]
