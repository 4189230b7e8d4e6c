"""Synthetic collections at 10k–1M chunks, built from the real report so they look like it.

Vectors: each synthetic chunk vector is ``unit(a + b·r + σ·g)`` where ``a`` and ``r`` are real
chunk or sentence vectors of the report (embedded by the real model in the same run), ``b`` is
uniform in [0, 0.5] and ``g`` is Gaussian noise of unit expected norm; σ = 0.9 puts a synthetic
vector at cosine ~0.7 of its anchor, so neighbourhoods are dense (hard for ANN) but shaped like
text embeddings rather than uniform noise (on which no index can beat exhaustive search).
Queries are the real questions embedded by the real model.

Text (for BM25 and for whole-pipeline chunks): each chunk is 3–6 sentences drawn at random from
the report's sentences and the XQuAD English paragraphs (a real-text stream). The vocabulary is
therefore smaller than a real 1M-chunk library's, which makes BM25 postings longer: a
pessimistic case for BM25 latency.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from benchmarks.common import ROOT, unit

XQUAD = ROOT.parent / "shared" / "datasets" / "xquad-en" / "xquad.en.json"
SIGMA = 0.9


def synthetic_vectors(anchors: np.ndarray, n: int, seed: int = 0, block: int = 100_000) -> np.ndarray:
    """``n`` unit vectors around mixtures of the real ``anchors`` (float32, C order)."""
    rng = np.random.default_rng(seed)
    dim = anchors.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, block):
        m = min(block, n - s)
        a = anchors[rng.integers(0, len(anchors), m)]
        r = anchors[rng.integers(0, len(anchors), m)]
        b = rng.uniform(0.0, 0.5, (m, 1)).astype(np.float32)
        g = rng.standard_normal((m, dim), dtype=np.float32) * (SIGMA / np.sqrt(dim))
        out[s : s + m] = unit(a + b * r + g)
    return out


def sentence_pool(report_sentences: list[str]) -> list[str]:
    """Real sentences: the report's plus XQuAD's English Wikipedia paragraphs (when present)."""
    pool = [s.strip() for s in report_sentences if len(s.split()) >= 4]
    if XQUAD.exists():
        from qa.sentences import split_sentences

        data = json.loads(XQUAD.read_text(encoding="utf-8"))
        for art in data.get("data", []):
            for para in art.get("paragraphs", []):
                ctx = para["context"]
                pool.extend(ctx[sp.start : sp.end].strip() for sp in split_sentences(ctx))
    return [s for s in dict.fromkeys(pool) if len(s.split()) >= 4]


def chunk_sentences(pool: list[str], n: int, seed: int = 1) -> Iterator[list[str]]:
    """``n`` chunks, each a list of 3–6 sentences from ``pool``."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 7, n)
    picks = rng.integers(0, len(pool), int(sizes.sum()))
    at = 0
    for k in sizes:
        yield [pool[i] for i in picks[at : at + k]]
        at += k


def chunk_texts(pool: list[str], n: int, seed: int = 1) -> list[str]:
    return [" ".join(s) for s in chunk_sentences(pool, n, seed)]


def exact_topk(vectors: np.ndarray, queries: np.ndarray, k: int = 10, block: int = 200_000) -> np.ndarray:
    """Ground truth: the exact top-``k`` rows for each query (blocked, so 1M rows fit easily)."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for s in range(0, len(vectors), block):
        sc = queries @ vectors[s : s + block].T
        kk = min(k, sc.shape[1])
        part = np.argpartition(-sc, kk - 1, axis=1)[:, :kk]
        best_s = np.concatenate([best_s, np.take_along_axis(sc, part, 1)], axis=1)
        best_i = np.concatenate([best_i, part + s], axis=1)
        keep = np.argsort(-best_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
    return best_i


def recall_at(found: list[np.ndarray], truth: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(f[:k].tolist()) & set(t[:k].tolist())) / k for f, t in zip(found, truth)]))


def fake_collection(pool: list[str], n_chunks: int, docs_dir: Path, dim: int, anchors: np.ndarray, per_doc: int = 1000,
                    seed: int = 2) -> dict[str, Any]:
    """Documents, chunks and vectors of a synthetic library of ``n_chunks`` chunks, as the indexer
    would have produced them, plus the text files on disk (so an incremental build reuses them).

    Each document is ``per_doc`` chunks of one paragraph each; the text file holds exactly the
    document text, so its sha256 is the document id and the indexer treats it as unchanged.
    """
    from qa.chunk import embed_text
    from qa.indexer import text_key
    from qa.sentences import strip_footnotes
    from qa.types import Block, Chunk, Document, SectionSpan, Span, chunk_id
    from qa.ingest import sha256_bytes

    docs_dir.mkdir(parents=True, exist_ok=True)
    documents: list[Document] = []
    chunks: list[Chunk] = []
    sent_count = 0
    gen = chunk_sentences(pool, n_chunks, seed)
    n_docs = (n_chunks + per_doc - 1) // per_doc
    for d in range(n_docs):
        m = min(per_doc, n_chunks - d * per_doc)
        paras = [next(gen) for _ in range(m)]
        title = f"Synthetic report {d:05d}"
        parts: list[str] = []
        spans: list[tuple[int, int, list[tuple[int, int]]]] = []
        at = 0
        for sents in paras:
            s_spans = []
            start = at
            for j, s in enumerate(sents):
                if j:
                    parts.append(" ")
                    at += 1
                parts.append(s)
                s_spans.append((at, at + len(s)))
                at += len(s)
            spans.append((start, at, s_spans))
            parts.append("\n\n")
            at += 2
        text = "".join(parts)
        path = docs_dir / f"synthetic-{d:05d}.txt"
        data = text.encode("utf-8")
        path.write_bytes(data)
        doc_id = sha256_bytes(data)
        section = f"Synthetic {d:05d} › Part"
        blocks = tuple(Block("paragraph", s, e, section, None) for s, e, _ in spans)
        doc = Document(doc_id, str(path), title, text, blocks, (), (SectionSpan(section, 0, len(text)),))
        documents.append(doc)
        for s, e, s_spans in spans:
            body = text[s:e]
            chunks.append(Chunk(chunk_id(doc_id, s, e, body), doc_id, title, section, None, s, e, body,
                                tuple(Span(a, b) for a, b in s_spans)))
            sent_count += len(s_spans)
    ckeys = [text_key(embed_text(c)) for c in chunks]
    skeys = [text_key(strip_footnotes(c.text[s.start - c.char_start : s.end - c.char_start])) for c in chunks for s in c.sentences]
    return {
        "documents": documents,
        "chunks": chunks,
        "chunk_vectors": synthetic_vectors(anchors, len(chunks), seed=seed),
        "chunk_keys": ckeys,
        "sentence_vectors": synthetic_vectors(anchors, sent_count, seed=seed + 1),
        "sentence_keys": skeys,
        "dim": dim,
    }
