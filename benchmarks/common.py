"""Shared helpers of the benchmarks: percentiles, memory, the machine, the real report's index."""
from __future__ import annotations

import gc
import os
import platform
import resource
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
QUESTIONS = ROOT / "tests" / "questions" / "report.jsonl"
SOURCE_DOCS = ROOT / "source_docs"


def pct(xs: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank on the sorted values)."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(xs: list[float], nd: int = 2) -> dict[str, float]:
    """p50 / p95 / p99 / mean of a list of milliseconds."""
    return {
        "p50": round(statistics.median(xs), nd),
        "p95": round(pct(xs, 95), nd),
        "p99": round(pct(xs, 99), nd),
        "mean": round(statistics.fmean(xs), nd),
        "n": len(xs),
    }


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """(result, seconds)."""
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def rss_mb() -> float:
    """Resident memory of this process now (MB)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # pragma: no cover
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def collect() -> None:
    gc.collect()


def machine() -> dict[str, Any]:
    """Cores, CPU model, RAM and library versions: where the numbers come from."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    from importlib import metadata

    libs = {}
    for name in ("faiss-cpu", "bm25s", "numpy", "torch", "sentence-transformers", "transformers", "haystack-ai", "txtai", "llama-index-core"):
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": mem_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": load,
        "libraries": libs,
    }


@dataclass
class RealIndex:
    """The real report indexed with the real model in a temporary folder (built once per run)."""

    base: Path
    docs: Path
    index: Path
    embedder: Any
    build_s: float
    report: Any


def build_real_index(base: Path, embedder: Any) -> RealIndex:
    from qa.indexer import build_index

    docs = base / "docs"
    if docs.exists():
        shutil.rmtree(docs)
    shutil.copytree(SOURCE_DOCS, docs)
    t = time.perf_counter()
    rep = build_index(docs, base / "index", embedder)
    return RealIndex(base, docs, base / "index", embedder, time.perf_counter() - t, rep)


def answerable_questions(split: str | None = None) -> list[Any]:
    from qa.evaluate import load_question_set

    return [q for q in load_question_set(QUESTIONS, split=split) if q.answerable]


def all_questions() -> list[Any]:
    from qa.evaluate import load_question_set

    return load_question_set(QUESTIONS)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)
