"""Measure what the README reports: index build time and query latency after warm-up.

    python scripts/measure.py        (prints JSON; takes ~30 s on 2 cores)
"""
from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.assistant import Assistant  # noqa: E402
from qa.embed import make_embedder  # noqa: E402
from qa.evaluate import load_question_set  # noqa: E402
from qa.indexer import build_index  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="qa-measure-"))
    try:
        docs = tmp / "docs"
        shutil.copytree(ROOT / "source_docs", docs)
        t = time.perf_counter()
        emb = make_embedder(None)
        emb.warm_up()
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        r = build_index(docs, tmp / "index", emb)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        build_index(docs, tmp / "index", emb)
        reindex_s = time.perf_counter() - t
        a = Assistant.load(tmp / "index", docs, embedder=emb)
        qs = [q.question for q in load_question_set(ROOT / "tests/questions/report.jsonl")]
        for q in qs[:20]:
            a.ask(q)  # warm-up
        a._qcache.clear()  # measure real query embeddings, not the cache
        stages: dict[str, list[float]] = {}
        for q in qs:
            ans = a.ask(q)
            for k, v in ans.timings_ms.items():
                stages.setdefault(k, []).append(v)
        out = {
            "model_load_s": round(load_s, 2),
            "index_build_s": round(build_s, 2),
            "chunks": r.chunks,
            "sentences_embedded": r.embedded_sentences,
            "reindex_unchanged_s": round(reindex_s, 3),
            "questions": len(qs),
            "latency_ms": {k: {"p50": round(statistics.median(v), 2), "p95": round(pct(v, 95), 2)} for k, v in stages.items()},
        }
        print(json.dumps(out, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
