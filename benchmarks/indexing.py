"""Indexing: throughput against raw ``SentenceTransformer.encode``, unchanged re-index, and adding
one report to a 100k-chunk index (which must embed that report only)."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import SOURCE_DOCS, collect, rss_mb


def _texts(index_dir: Path) -> tuple[list[str], list[str], int]:
    """The unique chunk and sentence texts the indexer embeds (as it dedups them)."""
    from qa.chunk import embed_text
    from qa.sentences import strip_footnotes
    from qa.store import load_index

    li = load_index(index_dir)
    ctexts = list(dict.fromkeys(embed_text(c) for c in li.chunks))
    stexts = list(dict.fromkeys(strip_footnotes(c.text[s.start - c.char_start : s.end - c.char_start]) for c in li.chunks for s in c.sentences))
    return ctexts, stexts, len(li.chunks)


def throughput(docs: Path, embedder: Any, workdir: Path, rounds: int = 2) -> dict[str, Any]:
    """Build from scratch vs ``model.encode`` of the same texts, alternated; the best of ``rounds`` each."""
    from qa.indexer import build_index

    builds, raws = [], []
    ctexts: list[str] = []
    stexts: list[str] = []
    chunks = 0
    model = embedder.model  # the SentenceTransformer itself: the raw speed
    for r in range(rounds):
        out = workdir / f"build-{r}"
        t = time.perf_counter()
        rep = build_index(docs, out, embedder, rebuild=True)
        builds.append(time.perf_counter() - t)
        if not ctexts:
            ctexts, stexts, chunks = _texts(out)
            assert rep.embedded_chunks == len(ctexts) and rep.embedded_sentences == len(stexts)
        t = time.perf_counter()
        model.encode(ctexts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        model.encode(stexts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        raws.append(time.perf_counter() - t)
        shutil.rmtree(out, ignore_errors=True)
    build_s, raw_s = min(builds), min(raws)
    return {
        "chunks": chunks,
        "texts_embedded": len(ctexts) + len(stexts),
        "build_s": round(build_s, 2),
        "raw_encode_s": round(raw_s, 2),
        "chunks_per_s": round(chunks / build_s, 1),
        "raw_chunks_per_s": round(chunks / raw_s, 1),
        "texts_per_s": round((len(ctexts) + len(stexts)) / build_s, 1),
        "raw_texts_per_s": round((len(ctexts) + len(stexts)) / raw_s, 1),
        "index_overhead_vs_encode": round(build_s / raw_s, 3),
        "builds_s": [round(x, 2) for x in builds],
        "raw_encodes_s": [round(x, 2) for x in raws],
    }


def reindex_unchanged(docs: Path, index: Path, embedder: Any, rounds: int = 3) -> float:
    from qa.indexer import build_index

    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        rep = build_index(docs, index, embedder)
        times.append(time.perf_counter() - t)
        assert rep.generation is None and rep.embedded_chunks == 0
    return round(min(times), 4)


def _disk(gen: Path, n: int) -> dict[str, Any]:
    sizes: dict[str, int] = {}
    for p in gen.rglob("*"):
        if p.is_file():
            key = "lexical/" if p.parent.name == "lexical" else p.name
            sizes[key] = sizes.get(key, 0) + p.stat().st_size
    total = sum(sizes.values())
    return {"total_mb": round(total / 2**20, 1), "bytes_per_chunk": round(total / n),
            "files_bytes_per_chunk": {k: round(v / n) for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])}}


def add_one_report(n: int, pool: list[str], anchors: np.ndarray, workdir: Path, real_embed_s: float, log: Any = print) -> dict[str, Any]:
    """A synthetic ``n``-chunk library (hashing embedder, vectors precomputed), then the real report added."""
    from qa.chunk import ChunkSettings
    from qa.embed import HashingEmbedder
    from qa.indexer import _library_versions, build_index
    from qa.retrieve import Retriever
    from qa.store import current_generation, load_index, write_generation

    from benchmarks.synthetic import fake_collection

    emb = HashingEmbedder(anchors.shape[1])
    base = Path(tempfile.mkdtemp(prefix=f"qa-add-{n}-", dir=workdir))
    try:
        docs, index_dir = base / "docs", base / "index"
        t = time.perf_counter()
        col = fake_collection(pool, n, docs, anchors.shape[1], anchors)
        make_s = time.perf_counter() - t
        manifest = {
            "model": {"name": emb.name, "dim": emb.dim, "max_seq_length": emb.max_tokens},
            "chunker": ChunkSettings().to_json(),
            "documents": [{"id": d.id, "path": d.path, "title": d.title, "sha256": d.id, "chunks": 0, "warnings": []} for d in col["documents"]],
            "counts": {"documents": len(col["documents"]), "chunks": len(col["chunks"]), "sentences": len(col["sentence_keys"])},
            "skipped": [],
            "libraries": _library_versions(),
        }
        t = time.perf_counter()
        write_generation(index_dir, documents=col["documents"], chunks=col["chunks"], chunk_vectors=col["chunk_vectors"],
                         chunk_keys=col["chunk_keys"], sentence_vectors=col["sentence_vectors"], sentence_keys=col["sentence_keys"],
                         manifest=manifest)
        write_s = time.perf_counter() - t
        n_sent = len(col["sentence_keys"])
        del col
        collect()
        log(f"  {n:,}-chunk library written in {write_s:.1f} s (texts and vectors made in {make_s:.1f} s)")
        t = time.perf_counter()
        rep = build_index(docs, index_dir, emb)
        unchanged_s = time.perf_counter() - t
        assert rep.generation is None
        for p in SOURCE_DOCS.iterdir():
            if p.is_file() and p.suffix in (".txt", ".md") and p.name.lower() != "readme.md":
                shutil.copy(p, docs / p.name)
        t = time.perf_counter()
        rep = build_index(docs, index_dir, emb)
        add_s = time.perf_counter() - t
        new_chunks = rep.chunks - n
        log(f"  added one report ({new_chunks} chunks) to {n:,}: {add_s:.1f} s, embedded {rep.embedded_chunks} chunks + {rep.embedded_sentences} sentences")
        gen = current_generation(index_dir)
        assert gen is not None
        disk = _disk(gen, rep.chunks)
        collect()
        before = rss_mb()
        li = load_index(index_dir)
        r = Retriever(li)
        r.search("humanitarian aid Uzbekistan", np.asarray(li.chunk_vectors[0]), 6)
        ram = rss_mb() - before
        out = {
            "chunks_before": n,
            "sentences_before": n_sent,
            "report_chunks": new_chunks,
            "embedded_chunks": rep.embedded_chunks,
            "embedded_sentences": rep.embedded_sentences,
            "embeds_only_the_report": rep.embedded_chunks <= new_chunks,
            "add_s": round(add_s, 2),
            "add_with_real_model_s_estimate": round(add_s + real_embed_s, 2),
            "unchanged_reindex_s": round(unchanged_s, 2),
            "library_write_s": round(write_s, 2),
            "vector_index": li.manifest.get("vector_index", {}).get("kind"),
            "disk": disk,
            "loaded_rss_mb": round(ram, 1),
            "ram_bytes_per_chunk": round(ram * 2**20 / rep.chunks),
        }
        del li, r
        return out
    finally:
        shutil.rmtree(base, ignore_errors=True)
