"""In-process embedding against a local Dask cluster, on the texts ``qa index`` embeds for the
report (every chunk and every sentence): wall time, cluster start, per-worker model load, and
the largest difference between the two sets of vectors.

    .venv/bin/python scripts/measure_distributed.py [--workers local:2] [--repeat 2]

On one 2-core machine a cluster cannot beat torch's own two threads; what this shows is the
overhead of the cluster path and that its vectors are the in-process ones. Throughput scales
with machines (DEPLOY.md). Noisy when other work shares the CPUs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def report_texts(model) -> list[str]:  # type: ignore[no-untyped-def]
    from qa.chunk import ChunkSettings, chunk_document, embed_text
    from qa.ingest import iter_source_files, load_document, read_source
    from qa.sentences import strip_footnotes

    docs = ROOT / "source_docs"
    texts: list[str] = []
    for p in iter_source_files(docs):
        if p.suffix != ".txt":
            continue
        doc = load_document(p, docs, read_source(p, docs))
        chunks = chunk_document(doc, ChunkSettings(), lambda t: model.count_tokens(t) <= model.max_tokens)
        texts += [embed_text(c) for c in chunks]
        texts += [strip_footnotes(c.text[s.start - c.char_start : s.end - c.char_start]) for c in chunks for s in c.sentences]
    return texts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="local:2")
    ap.add_argument("--model", default=None)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    from qa.distributed import DistributedEmbedder, worker_models
    from qa.embed import make_embedder

    emb = make_embedder(args.model)
    t = time.perf_counter()
    emb.warm_up()  # type: ignore[attr-defined]
    load_s = time.perf_counter() - t
    texts = report_texts(emb)
    out: dict[str, object] = {"texts": len(texts), "model": emb.name, "workers": args.workers, "local_model_load_s": round(load_s, 2)}

    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        local = np.vstack([emb.encode(texts[s : s + 64], batch_size=64) for s in range(0, len(texts), 64)])
        times.append(time.perf_counter() - t)
    out["in_process_s"] = round(min(times), 2)

    t = time.perf_counter()
    with DistributedEmbedder(emb, args.workers) as d:
        d.client.wait_for_workers(1)
        out["cluster_start_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        d.warm_up()
        out["model_load_on_workers_s"] = round(time.perf_counter() - t, 2)
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            remote = d.encode(texts, batch_size=d.submit_batch)
            times.append(time.perf_counter() - t)
        out["cluster_s"] = round(min(times), 2)
        out["loads_per_worker"] = d.client.run(worker_models)
    out["max_abs_diff"] = float(np.abs(remote - local).max())
    out["allclose_1e-6"] = bool(np.allclose(remote, local, atol=1e-6))
    out["texts_per_s_in_process"] = round(len(texts) / float(out["in_process_s"]), 1)  # type: ignore[arg-type]
    out["texts_per_s_cluster"] = round(len(texts) / float(out["cluster_s"]), 1)  # type: ignore[arg-type]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
