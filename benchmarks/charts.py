"""PNG charts of a results dict (matplotlib, Agg backend)."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def stages(res: dict[str, Any], out: Path) -> Path:
    plt = _plt()
    st = res["latency"]["stages_ms"]
    names = [k for k in ("embed", "dense", "bm25", "fusion", "scoring", "composition", "total") if k in st]
    p50 = [st[k]["p50"] for k in names]
    p95 = [st[k]["p95"] for k in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], p50, 0.4, label="p50")
    ax.bar([i + 0.2 for i in x], p95, 0.4, label="p95")
    ax.set_xticks(list(x), names)
    ax.set_ylabel("ms")
    ax.set_title("qa ask: latency per stage (real report, no query cache)")
    ax.legend()
    fig.tight_layout()
    path = out / "latency_stages.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scale(res: dict[str, Any], out: Path) -> Path | None:
    sc = res.get("scale") or {}
    if not sc:
        return None
    plt = _plt()
    sizes = sorted(sc, key=lambda s: int(s))
    kinds = sorted({k for s in sizes for k in sc[s].get("dense", {})})
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for kind in kinds:
        xs = [int(s) for s in sizes if kind in sc[s]["dense"]]
        d = [sc[str(s)]["dense"][kind] for s in xs]
        axes[0].plot(xs, [v["p50_ms"] for v in d], marker="o", label=kind)
        axes[1].plot(xs, [v["ram_mb"] for v in d], marker="o", label=kind)
        axes[2].plot(xs, [v["recall_at_10"] for v in d], marker="o", label=kind)
    xs = [int(s) for s in sizes]
    axes[0].plot(xs, [sc[str(s)]["bm25"]["p50_ms"] for s in xs], marker="s", ls="--", label="bm25")
    axes[0].plot(xs, [sc[str(s)]["hybrid"]["retrieve_p50_ms"] for s in xs], marker="^", ls=":", label="hybrid (auto)")
    axes[1].plot(xs, [sc[str(s)]["bm25"]["ram_mb"] for s in xs], marker="s", ls="--", label="bm25")
    axes[1].axhline(1024, color="grey", lw=0.8)
    axes[2].axhline(0.95, color="grey", lw=0.8)
    for ax, title in zip(axes, ("search p50 (ms, k=10)", "index RAM (MB)", "recall@10 vs exact")):
        ax.set_xscale("log")
        ax.set_xlabel("chunks")
        ax.set_title(title)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path = out / "scale.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def peers(res: dict[str, Any], out: Path) -> Path | None:
    pe = res.get("peers") or {}
    rows = [(k, v) for k, v in pe.items() if "p50_ms" in v]
    if not rows:
        return None
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
    names = [k for k, _ in rows]
    a1.barh(names, [v["p50_ms"] for _, v in rows], color=["C3" if k == "qa" else "C0" for k in names])
    a1.set_xlabel("query p50 (ms, query embedding included)")
    a1.set_xscale("log")
    a2.barh(names, [v["hit_at_5"] for _, v in rows], color=["C3" if k == "qa" else "C0" for k in names])
    a2.set_xlabel("retrieval hit@5")
    a2.set_xlim(min(v["hit_at_5"] for _, v in rows) - 0.1, 1.0)
    fig.suptitle("qa vs peers: same chunks, model and questions")
    fig.tight_layout()
    path = out / "peers.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def all_charts(res: dict[str, Any], out: Path) -> list[Path]:
    paths = []
    if "latency" in res:
        paths.append(stages(res, out))
    for fn in (scale, peers):
        p = fn(res, out)
        if p is not None:
            paths.append(p)
    return paths
