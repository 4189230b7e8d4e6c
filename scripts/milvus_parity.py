"""FAISS against Milvus on the real report and the project's question set: top-5 chunks and
answers, question by question; the differences are listed (DEPLOY.md quotes the output).

    .venv/bin/python scripts/milvus_parity.py                      # milvus-lite folder, FLAT
    .venv/bin/python scripts/milvus_parity.py --store "milvus://127.0.0.1:19530?index=HNSW"

Builds a private index of source_docs/ with the real model in a temp folder (or uses --index).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default=str(ROOT / "tests/questions/report.jsonl"))
    ap.add_argument("--docs", default=str(ROOT / "source_docs"))
    ap.add_argument("--index", default=None, help="an index folder built with the real model (default: build one)")
    ap.add_argument("--store", default=None, help="QA_STORE for the Milvus side (default: a temp milvus-lite folder, FLAT)")
    args = ap.parse_args()

    from qa.assistant import Assistant
    from qa.embed import make_embedder
    from qa.indexer import build_index

    tmp = Path(tempfile.mkdtemp(prefix="parity-"))
    try:
        emb = make_embedder(None)
        t = time.perf_counter()
        index = Path(args.index) if args.index else tmp / "index"
        if not args.index:
            build_index(args.docs, index, emb)
        print(f"index: {time.perf_counter() - t:.1f} s")
        os.environ.pop("QA_STORE", None)
        faiss = Assistant.load(index, args.docs, embedder=emb)
        os.environ["QA_STORE"] = args.store or str(tmp / "milvus.db") + "?index=FLAT"
        t = time.perf_counter()
        milvus = Assistant.load(index, args.docs, embedder=emb)
        print(f"Milvus load + sync: {time.perf_counter() - t:.1f} s ({os.environ['QA_STORE']})")
        questions = [json.loads(line) for line in Path(args.set).read_text(encoding="utf-8").splitlines() if line.strip()]
        same_top5 = same_answer = 0
        tf = tm = 0.0
        for q in questions:
            t0 = time.perf_counter()
            a = faiss.ask(q["question"])
            t1 = time.perf_counter()
            b = milvus.ask(q["question"])
            t2 = time.perf_counter()
            tf, tm = tf + t1 - t0, tm + t2 - t1
            ta, tb = [h.chunk.id for h in a.hits], [h.chunk.id for h in b.hits]
            same_top5 += ta == tb
            same_answer += (a.found, a.text, a.short) == (b.found, b.text, b.short)
            if ta != tb:
                print(f"  {q['id']} top-5 differs: FAISS {[x[:8] for x in ta]} / Milvus {[x[:8] for x in tb]}")
            if (a.found, a.text, a.short) != (b.found, b.text, b.short):
                print(f"  {q['id']} answer differs: FAISS {a.short or a.text[:70]!r} / Milvus {b.short or b.text[:70]!r}")
        n = len(questions)
        print(f"same top-5: {same_top5}/{n}; same answer: {same_answer}/{n}")
        print(f"ask mean: FAISS {1000 * tf / n:.1f} ms, Milvus {1000 * tm / n:.1f} ms (query embedding cached on the second ask)")
        return 0 if same_top5 >= 0.95 * n and same_answer >= 0.95 * n else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
