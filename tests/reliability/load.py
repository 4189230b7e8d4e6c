"""Load generators for the web app: loopback only, bounded in users and time, stop by themselves.

- :func:`steady` — N ``gradio_client`` users asking ``/ask`` in a loop for S seconds:
  answers, errors (with their messages), throughput, latency p50/p95/max, server memory.
- :func:`burst` — N users (plain HTTP, as the page) submitting at the same instant while the
  server holds the answer in progress:
  how many were answered, how many refused as busy (and with what message), anything else;
  then how long one question takes once the backlog is gone.
"""
from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

QUESTIONS = [
    "How much wheat did the Astana ministry ship to Ukraine?",
    "When was the Naryn treaty signed?",
    "How much water did the Toktogul reservoir hold in June?",
    "By how much did wheat prices rise in the spring?",
    "Who warned of a dry summer?",
]
BUSY_TEXT = "This application is currently busy. Please try again."  # what the Gradio page shows on a full queue


def _client(url: str):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def steady(url: str, users: int, seconds: float, questions: Sequence[str] = QUESTIONS,
           sample_memory: Callable[[], int] | None = None, memory_every: float = 5.0) -> dict[str, Any]:
    """``users`` clients asking in a loop for ``seconds``; returns the figures."""
    clients = list(ThreadPoolExecutor(max_workers=users).map(lambda _: _client(url), range(users)))
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    memory: list[tuple[float, int]] = []
    t_start = time.perf_counter()
    deadline = t_start + seconds

    def user(i: int) -> None:
        c = clients[i]
        n = i
        while time.perf_counter() < deadline:
            q = questions[n % len(questions)]
            n += 1
            t0 = time.perf_counter()
            try:
                pred = c.predict(q, api_name="/ask")
                ok = isinstance(pred, dict) and "answer" in pred
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    errors[f"{type(e).__name__}: {str(e)[:120]}"] += 1
                continue
            with lock:
                if ok:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors["malformed prediction"] += 1

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        if sample_memory is not None:
            memory.append((round(time.perf_counter() - t_start, 1), sample_memory()))
        time.sleep(max(0.05, min(memory_every, deadline - time.perf_counter())))
    for t in threads:
        t.join(timeout=60)
    elapsed = time.perf_counter() - t_start
    out = {
        "users": users, "seconds": round(elapsed, 1), "answers": len(latencies), "errors": sum(errors.values()),
        "error_kinds": dict(errors), "throughput_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1), "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 1),
    }
    if memory:
        out["rss_mib"] = [(t, round(kib / 1024, 1)) for t, kib in memory]
    for c in clients:
        _close(c)
    return out


def _api_fn_index(url: str, api_name: str = "ask") -> int:
    import json
    import urllib.request

    cfg = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())
    return next(d["id"] for d in cfg["dependencies"] if d.get("api_name") == api_name)


def burst(url: str, users: int, question: str = QUESTIONS[0], release: Callable[[], None] | None = None) -> dict[str, Any]:
    """``users`` submitting ``question`` to ``/ask`` at the same instant, over plain HTTP as the
    page does (queue join, then the event stream); the figures, and one question's latency afterwards.

    With ``release``, the server holds the questions (``hostile_app.HOLD``) until every join
    has been answered, then ``release()`` lets them go: the queue is full for certain,
    whatever the speed of the machine.
    """
    import json
    import urllib.error
    import urllib.request
    import uuid

    fn = _api_fn_index(url)
    go = threading.Event()
    joined = threading.Semaphore(0)
    results: list[tuple[str, str, float]] = []
    lock = threading.Lock()

    def user(i: int) -> None:
        session = uuid.uuid4().hex[:12]
        body = json.dumps({"data": [question, None], "event_data": None, "fn_index": fn, "session_hash": session}).encode()
        go.wait()
        t0 = time.perf_counter()
        try:
            req = urllib.request.Request(url + "gradio_api/queue/join", data=body, headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=60).read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            kind = "busy" if e.code == 503 else "error"
            with lock:
                results.append((kind, f"HTTP {e.code}: {detail}", time.perf_counter() - t0))
            joined.release()
            return
        except Exception as e:  # noqa: BLE001 - counted
            with lock:
                results.append(("error", f"{type(e).__name__}: {e}", time.perf_counter() - t0))
            joined.release()
            return
        joined.release()
        kind, msg = "error", "the event stream ended without a result"
        try:
            with urllib.request.urlopen(url + f"gradio_api/queue/data?session_hash={session}", timeout=300) as r:
                for raw in r:
                    line = raw.decode("utf-8").strip()
                    if not line.startswith("data:"):
                        continue
                    ev = json.loads(line[5:])
                    if ev.get("msg") == "process_completed":
                        ok = ev.get("success") and isinstance((ev.get("output") or {}).get("data", [None])[0], dict)
                        kind, msg = ("answered", "") if ok else ("error", str(ev.get("output"))[:200])
                        break
        except Exception as e:  # noqa: BLE001 - counted
            kind, msg = "error", f"{type(e).__name__}: {e}"
        with lock:
            results.append((kind, msg, time.perf_counter() - t0))

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    t_start = time.perf_counter()
    go.set()
    for _ in range(users):
        joined.acquire(timeout=120)
    all_joined_s = time.perf_counter() - t_start
    if release is not None:
        release()
    for t in threads:
        t.join(timeout=600)
    drained = time.perf_counter() - t_start
    client = _client(url)
    t0 = time.perf_counter()
    after_ok = True
    try:
        client.predict(QUESTIONS[1], api_name="/ask")
    except Exception:  # noqa: BLE001
        after_ok = False
    after_ms = (time.perf_counter() - t0) * 1000
    _close(client)
    kinds = Counter(k for k, _, _ in results)
    refused_ms = [d * 1000 for k, _, d in results if k == "busy"]
    return {
        "users": users, "answered": kinds["answered"], "refused_busy": kinds["busy"], "other_errors": kinds["error"],
        "error_messages": sorted({m for k, m, _ in results if k == "error"})[:5],
        "busy_messages": sorted({m for k, m, _ in results if k == "busy"}),
        "refused_within_ms_p95": round(percentile(refused_ms, 95), 1) if refused_ms else None,
        "all_joined_s": round(all_joined_s, 2), "drained_s": round(drained, 1),
        "answer_after_ok": after_ok, "answer_after_ms": round(after_ms, 1),
    }


def _close(client: Any) -> None:
    try:
        client.close()
    except Exception:  # noqa: BLE001 - best effort; older clients have no close()
        pass


def memory_trend(rss: Sequence[tuple[float, float]]) -> dict[str, float]:
    """Median RSS of the second and of the last quarter of a run, and the growth between them."""
    values = [v for _, v in rss]
    if len(values) < 8:
        return {"samples": len(values)}
    q = len(values) // 4
    early, late = round(statistics.median(values[q : 2 * q]), 1), round(statistics.median(values[-q:]), 1)
    return {"samples": len(values), "early_mib": early, "late_mib": late, "growth_mib": round(late - early, 1),
            "max_mib": max(values)}
