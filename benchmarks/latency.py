"""Query latency per stage and end to end through ``Assistant.ask``, after warm-up, on the real report.

Stages are timed inside real ``ask`` calls by wrapping the components of one assistant:
query embedding, dense search, BM25, fusion (the rest of ``Retriever.search``), sentence
scoring (``AnswerSelector.candidates`` + confidence) and composition (the rest of
``AnswerSelector.answer``). The query-embedding cache is emptied before every question so
each ``ask`` pays a real embedding; a second pass measures repeated questions (cache hits).
"""
from __future__ import annotations

import time
from typing import Any

from benchmarks.common import all_questions, summary


class _Clock:
    def __init__(self) -> None:
        self.t: dict[str, float] = {}

    def wrap(self, obj: Any, name: str, stage: str) -> None:
        fn = getattr(obj, name)

        def timed(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.t[stage] = self.t.get(stage, 0.0) + (time.perf_counter() - t) * 1000

        setattr(obj, name, timed)


class _Proxy:
    """Times ``search`` of a component the retriever holds (vector store, BM25 index)."""

    def __init__(self, inner: Any, clock: _Clock, stage: str) -> None:
        self._inner, self._clock, self._stage = inner, clock, stage

    def search(self, *a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return self._inner.search(*a, **k)
        finally:
            self._clock.t[self._stage] = self._clock.t.get(self._stage, 0.0) + (time.perf_counter() - t) * 1000

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def instrument(assistant: Any) -> _Clock:
    """Wrap the stages of ``assistant`` (in place) and return the clock they write to."""
    clock = _Clock()
    r = assistant.retriever
    r.vectors = _Proxy(r.vectors, clock, "dense")
    r.index.bm25 = _Proxy(r.index.bm25, clock, "bm25")
    clock.wrap(r, "search", "retrieve")
    clock.wrap(assistant.selector, "candidates", "scoring")
    clock.wrap(assistant.selector, "confidence", "scoring_conf")
    clock.wrap(assistant.selector, "answer", "answer")
    clock.wrap(assistant, "embed_query", "embed")
    return clock


def run(assistant: Any, embedder: Any, warmup: int = 30, repeats: int = 2) -> dict[str, Any]:
    """Per-stage and end-to-end latency (ms), plus the query embedding alone in the same run."""
    qs = [q.question for q in all_questions()]
    for q in qs[:warmup]:
        assistant.ask(q)
        embedder.encode([q])
    clock = instrument(assistant)
    stages: dict[str, list[float]] = {k: [] for k in ("embed", "dense", "bm25", "fusion", "scoring", "composition", "total")}
    cached: list[float] = []
    embed_alone: list[float] = []
    for _ in range(repeats):
        for q in qs:
            assistant._qcache.clear()  # a real query embedding every time
            clock.t.clear()
            t = time.perf_counter()
            assistant.ask(q)
            total = (time.perf_counter() - t) * 1000
            c = clock.t
            stages["embed"].append(c["embed"])
            stages["dense"].append(c.get("dense", 0.0))
            stages["bm25"].append(c.get("bm25", 0.0))
            stages["fusion"].append(c["retrieve"] - c.get("dense", 0.0) - c.get("bm25", 0.0))
            scoring = c.get("scoring", 0.0) + c.get("scoring_conf", 0.0)
            stages["scoring"].append(scoring)
            stages["composition"].append(c["answer"] - scoring)
            stages["total"].append(total)
            # The floor: the same question's embedding alone, right after.
            t = time.perf_counter()
            embedder.encode([q])
            embed_alone.append((time.perf_counter() - t) * 1000)
        for q in qs:  # a repeated question: its embedding comes from the cache
            assistant.ask(q)
            t = time.perf_counter()
            assistant.ask(q)
            cached.append((time.perf_counter() - t) * 1000)
    out: dict[str, Any] = {
        "questions": len(qs),
        "repeats": repeats,
        "stages_ms": {k: summary(v, 3) for k, v in stages.items()},
        "ask_ms": summary(stages["total"]),
        "ask_cached_ms": summary(cached),
        "embed_alone_ms": summary(embed_alone),
    }
    out["ask_over_embed_p50"] = round(out["ask_ms"]["p50"] / out["embed_alone_ms"]["p50"], 3)
    return out


def profile(assistant: Any, out_html: Any = None, rounds: int = 3) -> str:
    """pyinstrument over ``rounds`` passes of the question set (cache emptied): the hot path as text."""
    from pyinstrument import Profiler

    qs = [q.question for q in all_questions()]
    p = Profiler(interval=0.0005)
    p.start()
    for _ in range(rounds):
        for q in qs:
            assistant._qcache.clear()
            assistant.ask(q)
    p.stop()
    if out_html is not None:
        out_html.write_text(p.output_html(), encoding="utf-8")
    return p.output_text(unicode=False, color=False, show_all=False)
