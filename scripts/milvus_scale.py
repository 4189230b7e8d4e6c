"""What a Milvus collection of N passages costs here: insert, flush, index build + load time,
memory, disk, search latency and HNSW recall, on synthetic 384-d unit vectors in milvus-lite.

    .venv/bin/python scripts/milvus_scale.py --n 100000 --index HNSW
    .venv/bin/python scripts/milvus_scale.py --n 100000 --index FLAT --json runs/scale-flat.json

Runs milvus-lite in this process (a local .db folder, removed afterwards), so the resident
memory reported is client + server together. The rows carry the fields qa stores (id = 64
hex characters, doc_id, section, vector). DEPLOY.md extrapolates these figures to 1M and
100M passages. Timings are noisy when other work shares the CPUs: run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DIM = 384


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


_BASIS = np.random.default_rng(7).standard_normal((32, DIM)).astype(np.float32)


def vectors(n: int, seed: int) -> np.ndarray:
    """Unit vectors with a low intrinsic dimension (32 latent factors plus a little noise), like
    sentence embeddings; uniformly random 384-d vectors make every ANN index look bad."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, 32), dtype=np.float32) @ _BASIS + 0.3 * rng.standard_normal((n, DIM), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--index", default="HNSW", choices=["FLAT", "HNSW"])
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--dir", default=None, help="where the milvus-lite folder goes (default: a temp dir)")
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args()

    from qa.milvus_store import StoreSpec, _index_params, _schema, connect, disconnect

    base = Path(args.dir or tempfile.mkdtemp(prefix="milvus-scale-"))
    base.mkdir(parents=True, exist_ok=True)
    spec = StoreSpec(uri=str(base / "scale.db"), index_type=args.index)
    out: dict[str, float | int | str] = {"n": args.n, "index": args.index, "dim": DIM}
    client = connect(spec)
    name = "scale"
    if client.has_collection(name):
        client.drop_collection(name)
    # Bulk-load order: rows first, then the index (what the nightly rebuild does at scale).
    client.create_collection(name, schema=_schema(client, spec, DIM))
    rss0 = rss_mb()  # after the libraries and the server are up: what the rows cost

    t0 = time.perf_counter()
    for s in range(0, args.n, args.batch):
        m = min(args.batch, args.n - s)
        v = vectors(m, seed=s)
        rows = [
            {"id": hashlib.sha256(str(s + i).encode()).hexdigest(), "doc_id": f"doc{(s + i) // 200:08d}",
             "section": f"Country {(s + i) % 7} › Topic {(s + i) % 31}", "vector": v[i].tolist()}
            for i in range(m)
        ]
        client.insert(name, rows)
    t1 = time.perf_counter()
    client.flush(name)
    t2 = time.perf_counter()
    indexes = client.list_indexes(name)
    out["auto_index_after_flush"] = ",".join(indexes)
    for field in indexes:  # milvus-lite may have indexed a large flush on its own (FLAT): replace it
        client.release_collection(name)
        client.drop_index(name, field)
    try:
        client.create_index(name, _index_params(client, spec))
    except Exception as e:
        # A build of minutes can outlive the gRPC keepalive: pymilvus retries the call and the
        # retry finds the index the first call built.
        if "already exists" not in str(e):
            raise
    client.load_collection(name)  # builds the segment indexes
    q = vectors(args.queries, seed=10**9)
    client.search(name, data=[q[0].tolist()], anns_field="vector", limit=10, output_fields=["id"])
    t3 = time.perf_counter()
    client.release_collection(name)
    client.load_collection(name)  # what a restarted server pays: the index files exist now
    client.search(name, data=[q[0].tolist()], anns_field="vector", limit=10, output_fields=["id"])
    t4 = time.perf_counter()
    for i in range(5):  # reload after inserting, before timing searches
        client.search(name, data=[q[i].tolist()], anns_field="vector", limit=10, output_fields=["id"])
    out.update(insert_s=round(t1 - t0, 1), flush_s=round(t2 - t1, 1), index_build_and_load_s=round(t3 - t2, 1),
               reload_s=round(t4 - t3, 1), rss_mb=round(rss_mb() - rss0), rss_total_mb=round(rss_mb()),
               peak_rss_mb=round(peak_mb()), disk_mb=round(du_mb(base), 1))

    params = {"metric_type": "IP", **({"params": {"ef": 64}} if args.index == "HNSW" else {})}
    lat, lat_f, found = [], [], []
    for i in range(args.queries):
        t = time.perf_counter()
        res = client.search(name, data=[q[i].tolist()], anns_field="vector", limit=10, search_params=params, output_fields=["id"])
        lat.append(time.perf_counter() - t)
        found.append([h["id"] for h in res[0]])
        t = time.perf_counter()
        client.search(name, data=[q[i].tolist()], anns_field="vector", limit=10, search_params=params,
                      filter='section in ["Country 3 › Topic 5"]', output_fields=["id"])
        lat_f.append(time.perf_counter() - t)
    out.update(search_p50_ms=round(1000 * float(np.median(lat)), 2), search_p95_ms=round(1000 * float(np.percentile(lat, 95)), 2),
               filtered_search_p50_ms=round(1000 * float(np.median(lat_f)), 2))

    if args.index == "HNSW":
        # Recall@10 against exact inner products over the same vectors.
        hits = 0
        for i in range(min(args.queries, 20)):
            best = []
            for s in range(0, args.n, args.batch):
                v = vectors(min(args.batch, args.n - s), seed=s)
                sc = v @ q[i]
                best.extend((float(sc[j]), s + j) for j in np.argsort(-sc)[:10])
            truth = {hashlib.sha256(str(j).encode()).hexdigest() for _, j in sorted(best, reverse=True)[:10]}
            hits += len(truth & set(found[i]))
        out["recall_at_10"] = round(hits / (10 * min(args.queries, 20)), 3)

    disconnect(spec)
    if args.dir is None:
        shutil.rmtree(base, ignore_errors=True)
    out["cpus"] = os.cpu_count() or 0
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
