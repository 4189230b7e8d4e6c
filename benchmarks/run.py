"""Run the benchmarks and write ``benchmarks/results/latest.json``, the charts and BENCHMARKS.md.

    python -m benchmarks.run                          # the quick set (make bench): latency, indexing,
                                                      # 10k/100k scale, add-one-report at 100k, peers
    python -m benchmarks.run --only scale --sizes 1000000 --merge   # the 1M run (make bench-scale)

Numbers are wall-clock on this machine; other processes on the same cores make them noisy
(the load average at the start is recorded with the results).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, ROOT, all_questions, build_real_index, machine

PARTS = ("latency", "indexing", "scale", "peers")


def log(msg: str) -> None:
    print(msg, flush=True)


def _targets(res: dict[str, Any]) -> dict[str, Any]:
    t: dict[str, Any] = {}
    lat = res.get("latency")
    if lat:
        t["ask_p50"] = {"target": "ask p50 ≤ 20 ms (report)", "measured": f"{lat['ask_ms']['p50']} ms", "met": lat["ask_ms"]["p50"] <= 20}
        t["ask_vs_embed"] = {"target": "ask p50 ≤ 1.5 × query embedding alone", "measured": f"{lat['ask_over_embed_p50']} ×",
                             "met": lat["ask_over_embed_p50"] <= 1.5}
        t["ask_p95"] = {"target": "ask p95 ≤ 40 ms", "measured": f"{lat['ask_ms']['p95']} ms", "met": lat["ask_ms"]["p95"] <= 40}
    ix = res.get("indexing")
    if ix:
        o = ix["throughput"]["index_overhead_vs_encode"]
        t["overhead"] = {"target": "indexing within 10 % of raw encode", "measured": f"{o} × raw encode time", "met": o <= 1.10}
        t["reindex"] = {"target": "unchanged corpus re-indexes in ≤ 2 s", "measured": f"{ix['reindex_unchanged_s']} s (report)", "met": ix["reindex_unchanged_s"] <= 2}
        add = ix.get("add_one_report")
        if add:
            t["add_one"] = {"target": f"adding one report to a {add['chunks_before']:,}-chunk index re-embeds only that report",
                            "measured": f"{add['embedded_chunks']} of its {add['report_chunks']} chunks embedded, nothing else; {add['add_s']} s",
                            "met": bool(add["embeds_only_the_report"])}
    big = (res.get("scale") or {}).get("1000000")
    if big:
        t["1m_p50"] = {"target": "1M chunks: hybrid end to end p50 ≤ 40 ms", "measured": f"{big['e2e_p50_ms']} ms", "met": big["e2e_p50_ms"] <= 40}
        t["1m_recall"] = {"target": "1M chunks: ANN recall@10 ≥ 0.95", "measured": f"{big['recall_at_10']} ({big['index']})", "met": big["recall_at_10"] >= 0.95}
        t["1m_ram"] = {"target": "1M chunks: vector index RAM ≤ 1 GB", "measured": f"{big['ram_mb']} MB", "met": big["ram_mb"] <= 1024}
    pe = res.get("peers") or {}
    if "qa" in pe:
        ours = pe["qa"]
        others = {k: v for k, v in pe.items() if k != "qa" and "p50_ms" in v}
        slower = [k for k, v in others.items() if v["p50_ms"] <= ours["p50_ms"]]
        better = [k for k, v in others.items() if v["hit_at_5"] > ours["hit_at_5"]]
        t["peers"] = {"target": "faster than each peer at equal or better hit@5",
                      "measured": f"qa p50 {ours['p50_ms']} ms, hit@5 {ours['hit_at_5']}; faster than qa: {', '.join(slower) or 'none'}; "
                                  f"better hit@5: {', '.join(better) or 'none'}",
                      "met": not slower and not better}
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}")
    ap.add_argument("--sizes", default="10000,100000", help="synthetic collection sizes for the scale part")
    ap.add_argument("--kinds", default="flat,hnsw,ivf-sq8,ivf-pq", help="dense index kinds to compare")
    ap.add_argument("--add-size", type=int, default=100_000, help="library size for the add-one-report measurement (0: skip)")
    ap.add_argument("--merge", action="store_true", help="keep the parts of latest.json this run does not redo")
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    ap.add_argument("--profile", action="store_true", default=True, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        ap.error(f"unknown part(s): {', '.join(bad)}")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    latest = out_dir / "latest.json"
    res: dict[str, Any] = json.loads(latest.read_text()) if (args.merge and latest.exists()) else {}
    res["machine"] = machine()
    res["command"] = "python -m benchmarks.run " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    t_start = time.perf_counter()

    from qa.assistant import Assistant
    from qa.embed import make_embedder

    log("loading the model and indexing the report...")
    emb = make_embedder(None)
    t = time.perf_counter()
    emb.warm_up()
    res["model_load_s"] = round(time.perf_counter() - t, 2)
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp_s:
        tmp = Path(tmp_s)
        real = build_real_index(tmp / "real", emb)
        assistant = Assistant.load(real.index, real.docs, embedder=emb)

        if "latency" in parts:
            from benchmarks import latency

            log("latency per stage...")
            res["latency"] = latency.run(assistant, emb)
            res["ask_p50_ms"] = res["latency"]["ask_ms"]["p50"]
            res["ask_p95_ms"] = res["latency"]["ask_ms"]["p95"]
            res["ask_p99_ms"] = res["latency"]["ask_ms"]["p99"]
            res["embed_p50_ms"] = res["latency"]["embed_alone_ms"]["p50"]
            log(f"  ask p50 {res['ask_p50_ms']} ms, p95 {res['ask_p95_ms']} ms; embedding alone p50 {res['embed_p50_ms']} ms")
            prof = latency.profile(Assistant.load(real.index, real.docs, embedder=emb))
            (out_dir / "profile_ask.txt").write_text(prof, encoding="utf-8")

        anchors = np.concatenate([np.asarray(assistant.index.chunk_vectors), np.asarray(assistant.index.sentence_vectors)])
        pool: list[str] = []
        if "indexing" in parts or "scale" in parts:
            from benchmarks.synthetic import sentence_pool

            idx = assistant.index
            pool = sentence_pool([c.text[s.start - c.char_start : s.end - c.char_start] for c in idx.chunks for s in c.sentences])

        if "indexing" in parts:
            from benchmarks import indexing

            log("indexing throughput against raw encode...")
            tp = indexing.throughput(real.docs, emb, tmp)
            log(f"  build {tp['build_s']} s vs raw encode {tp['raw_encode_s']} s: {tp['index_overhead_vs_encode']} ×")
            re_s = indexing.reindex_unchanged(real.docs, real.index, emb)
            log(f"  unchanged re-index {re_s} s")
            res["indexing"] = {"throughput": tp, "reindex_unchanged_s": re_s}
            if args.add_size:
                log(f"adding one report to a {args.add_size:,}-chunk library...")
                res["indexing"]["add_one_report"] = indexing.add_one_report(args.add_size, pool, anchors, tmp, tp["raw_encode_s"], log)
            res["index_overhead_vs_encode"] = tp["index_overhead_vs_encode"]
            res["reindex_unchanged_s"] = re_s
            res["index_build_s"] = real.build_s

        if "scale" in parts:
            from benchmarks import scale

            qs = [q.question for q in all_questions()]
            qvecs = emb.encode(qs)
            answer_p50 = (res.get("latency") or {}).get("stages_ms", {}).get("scoring", {}).get("p50", 0.0) + \
                (res.get("latency") or {}).get("stages_ms", {}).get("composition", {}).get("p50", 0.0)
            res.setdefault("scale", {})
            for n in sizes:
                log(f"scale: {n:,} chunks...")
                res["scale"][str(n)] = scale.run_size(n, anchors, pool, qvecs, qs, emb, answer_p50,
                                                      kinds=tuple(args.kinds.split(",")), workdir=tmp, log=log)

        if "peers" in parts:
            from benchmarks import peers

            log("peers...")
            p = peers.run(Assistant.load(real.index, real.docs, embedder=emb), log)
            res["peers"] = p.pop("systems")
            res["peers_meta"] = p

    res["targets"] = _targets(res)
    res["finished_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    res["seconds"] = round(time.perf_counter() - t_start, 1)
    latest.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    from benchmarks.charts import all_charts
    from benchmarks.report import update_markdown

    charts = all_charts(res, out_dir)
    if out_dir.resolve() == RESULTS.resolve():
        update_markdown(ROOT / "BENCHMARKS.md", res)
    log(f"wrote {latest} and {', '.join(p.name for p in charts)} in {res['seconds']} s")
    for row in res["targets"].values():
        log(f"  {'ok    ' if row['met'] else 'MISSED'} {row['target']}: {row['measured']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

