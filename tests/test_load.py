"""The web app under load, on loopback, bounded in users and time (``tests/reliability/load.py``).

- steady: 20 ``gradio_client`` users asking ``/ask`` in a loop (15 s in ``make test``,
  60 s in ``make soak``): zero errors;
- burst: 100 users at once (plain HTTP, as the page does) while the answers are held, so the
  queue (``max_size=64``, one answer at a time) is certainly full: the excess is refused at
  once with HTTP 503 "Queue is full" (the page shows "This application is currently busy.
  Please try again."; ``gradio_client`` raises "Queue is full! Please try again."), everything
  accepted is answered, and the app answers the next question at once;
- soak (``make soak``): 20 users for 10 minutes, the server's resident memory flat.

The figures for RELIABILITY.md come from ``tests/reliability/figures.py``, not from here:
these tests assert behaviour, never timings.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reliability.common import CORPUS_A, soak
from reliability.hostile_app import HOLD
from reliability.load import BUSY_TEXT, QUESTIONS, burst, memory_trend, steady
from reliability.server import Server, serving

pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("load")
    with serving(base, CORPUS_A, {"QA_TEST_GATE": str(base / "release")}) as s:
        yield s


def test_twenty_users_steady_no_errors(server: Server) -> None:
    fig = steady(server.url, users=20, seconds=15)
    assert fig["errors"] == 0, fig["error_kinds"]
    assert fig["answers"] >= 20, fig  # every user was answered (at least once each, on any machine)


def test_a_hundred_users_excess_refused_as_busy_then_recovers(server: Server) -> None:
    gate = server.base / "release"
    gate.unlink(missing_ok=True)
    fig = burst(server.url, users=100, question=f"{QUESTIONS[0]} {HOLD}", release=lambda: gate.touch())
    print(json.dumps(fig, indent=1))
    assert fig["other_errors"] == 0, fig["error_messages"]
    assert fig["answered"] + fig["refused_busy"] == 100
    assert 64 <= fig["answered"] <= 66, fig  # the queue holds 64 (+ the one being answered): nothing accepted is lost
    assert fig["refused_busy"] >= 100 - 66, fig
    assert all(m.startswith("HTTP 503") and "Queue is full" in m for m in fig["busy_messages"]), fig["busy_messages"]
    assert fig["answer_after_ok"]  # recovers: the next question is answered


def test_the_page_says_busy_when_the_queue_is_full() -> None:
    """The browser's message for a refused event (HTTP 503 from queue/join), from the Gradio bundle served."""
    import gradio

    assets = Path(gradio.__file__).parent / "templates" / "frontend" / "assets"
    bundles = [p for p in assets.glob("index-*.js") if BUSY_TEXT.encode() in p.read_bytes()]
    assert bundles, "the Gradio page no longer says it is busy on a full queue: make the app say so"


# ------------------------------------------------------------------------------ soak
@soak
def test_twenty_users_for_sixty_seconds(server: Server) -> None:
    fig = steady(server.url, users=20, seconds=60)
    print(json.dumps({k: v for k, v in fig.items() if k != "rss_mib"}, indent=1))
    assert fig["errors"] == 0, fig["error_kinds"]


@soak
def test_memory_flat_over_ten_minutes(server: Server) -> None:
    fig = steady(server.url, users=20, seconds=600, sample_memory=server.rss_kib, memory_every=10)
    trend = memory_trend(fig["rss_mib"])
    print(json.dumps({"answers": fig["answers"], "errors": fig["errors"], **trend}, indent=1))
    assert fig["errors"] == 0, fig["error_kinds"]
    # flat: the last quarter's median within 10% (or 30 MiB) of the second quarter's
    assert trend["growth_mib"] <= max(30.0, 0.10 * trend["early_mib"]), trend
