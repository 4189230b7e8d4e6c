"""The human report of an evaluation run: one self-contained HTML file.

Inline CSS, charts as base64 PNGs (matplotlib's Agg canvas, no pyplot, so it neither needs a
display nor touches global figure state in a process that also serves the UI). Every string
that comes from predictions or question sets goes through ``html.escape``: answers quote the
documents, and a document can contain markup.
"""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.evaluate import (
    headline_keys,
    question_from_dict,
    score_prediction,
    strip_markers,
)

# Cap on the failures listed per kind: the page must stay openable on a large run.
MAX_FAILURES = 200

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:70rem;
     color:#222;line-height:1.4;padding:0 1rem}
h1{font-size:1.5rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
td.text{text-align:left;max-width:30rem}
.cards{display:flex;flex-wrap:wrap;gap:.75rem}
.card{border:1px solid #ddd;border-radius:6px;padding:.5rem .75rem;min-width:8rem}
.card .v{font-size:1.4rem;font-weight:600} .card .k{font-size:.8rem;color:#666}
.meta{font-size:.85rem;color:#555} img{max-width:100%}
.none{color:#999}
"""

_LABELS = {
    "hit@1": "retrieval hit@1",
    "hit@3": "retrieval hit@3",
    "hit@5": "retrieval hit@5",
    "hit@10": "retrieval hit@10",
    "mrr@10": "MRR@10",
    "paragraph_hit@5": "gold paragraph in top 5",
    "containment": "answer contains gold",
    "containment_answered": "contains gold (answered)",
    "exact_match": "short EM",
    "f1": "short F1",
    "citation_support": "citation support",
    "abstention_accuracy": "abstention accuracy",
    "false_abstention_rate": "false abstention rate",
    "answer_words_median": "median answer words",
    "confidence_auc": "confidence AUC",
}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(v: Any) -> str:
    if v is None:
        return '<span class="none">–</span>'
    if isinstance(v, float):
        return f"{v:.3f}"
    return _e(v)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return '<img alt="chart" src="data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode("ascii") + '">'


def tradeoff_figure(metrics: Mapping[str, Any]) -> Any:
    """The abstention trade-off as a matplotlib Figure (no pyplot: no global state).

    Shared by the HTML report and the web app's Evaluate tab.
    """
    from matplotlib.figure import Figure

    tr = metrics.get("tradeoff") or {}
    xs = tr.get("thresholds") or []
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    if xs:
        def series(key: str) -> list[float]:
            return [float("nan") if v is None else v for v in tr.get(key) or []]

        ax.plot(xs, series("answered_correct_rate"), label="answered & correct (answerable)", color="tab:green", drawstyle="steps-post")
        ax.plot(xs, series("abstained_rate"), label="abstained (unanswerable)", color="tab:red", drawstyle="steps-post")
        threshold = (metrics.get("meta") or {}).get("threshold")
        if isinstance(threshold, (int, float)):
            ax.axvline(float(threshold), color="#555", linestyle="--", label=f"current threshold {threshold:.2f}")
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel("confidence threshold")
    ax.set_ylabel("rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    return fig


def _tradeoff_chart(metrics: Mapping[str, Any]) -> str:
    if not (metrics.get("tradeoff") or {}).get("thresholds"):
        return "<p>No trade-off data.</p>"
    return _png(tradeoff_figure(metrics))


def _latency_chart(metrics: Mapping[str, Any]) -> str:
    from matplotlib.figure import Figure

    lat = metrics.get("latency_ms") or {}
    if not lat:
        return "<p>No timings recorded.</p>"
    stages = list(lat)
    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    xs = range(len(stages))
    w = 0.38
    ax.bar([x - w / 2 for x in xs], [lat[s]["p50"] for s in stages], w, label="p50")
    ax.bar([x + w / 2 for x in xs], [lat[s]["p95"] for s in stages], w, label="p95")
    ax.set_xticks(list(xs), stages)
    ax.set_ylabel("ms")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def _cards(overall: Mapping[str, Any]) -> str:
    keys = ("n", "n_answerable", "n_unanswerable", *headline_keys(overall), "confidence_auc")
    parts = []
    for k in keys:
        parts.append(
            f'<div class="card"><div class="v">{_num(overall.get(k))}</div>'
            f'<div class="k">{_e(_LABELS.get(k, k))}</div></div>'
        )
    if overall.get("n_errors"):
        parts.append(f'<div class="card"><div class="v">{_num(overall["n_errors"])}</div><div class="k">errors</div></div>')
    return '<div class="cards">' + "".join(parts) + "</div>"


def _type_table(metrics: Mapping[str, Any], key: str = "by_type", label: str = "type") -> str:
    cols = ("n", "n_answerable", "hit@1", "hit@5", "hit@10", "mrr@10", "containment", "containment_answered",
            "exact_match", "f1", "citation_support", "abstention_accuracy", "false_abstention_rate",
            "answer_words_median")
    head = f"<tr><th>{_e(label)}</th>" + "".join(f"<th>{_e(_LABELS.get(c, c))}</th>" for c in cols) + "</tr>"
    body = []
    groups = [("overall", metrics.get("overall") or {})] + list((metrics.get(key) or {}).items())
    for name, m in groups:
        body.append(f"<tr><td>{_e(name)}</td>" + "".join(f"<td>{_num(m.get(c))}</td>" for c in cols) + "</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _latency_table(metrics: Mapping[str, Any]) -> str:
    lat = metrics.get("latency_ms") or {}
    if not lat:
        return ""
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{v['p50']:.1f}</td><td>{v['p95']:.1f}</td><td>{_e(v.get('n'))}</td></tr>"
        for k, v in lat.items()
    )
    return f"<table><tr><th>stage</th><th>p50 ms</th><th>p95 ms</th><th>n</th></tr>{rows}</table>"


def _failures(rows: Sequence[Mapping[str, Any]]) -> str:
    kinds: dict[str, list[str]] = {
        "Answerable, answered, but the answer does not contain the gold": [],
        "Unanswerable, but answered": [],
        "False abstentions (answerable, abstained)": [],
    }
    keys = list(kinds)
    for i, row in enumerate(rows, 1):
        try:
            q = question_from_dict(row, f"row {i}")
        except Exception:  # a malformed row must not break the whole report
            continue
        s = score_prediction(q, row)
        if s["answerable"] and s["found"] and not s["contained"]:
            kind = keys[0]
        elif not s["answerable"] and s["found"]:
            kind = keys[1]
        elif s["answerable"] and not s["found"]:
            kind = keys[2]
        else:
            continue
        if s["found"]:
            answer = strip_markers(row.get("answer") or "")
        else:  # the answer text of an abstention is a message; show what the engine had
            cand = strip_markers(row.get("candidate") or "")
            answer = f"(abstained) candidate: {cand}" if cand else "(abstained, no candidate)"
        kinds[kind].append(
            "<tr>"
            f"<td>{_e(q.id)}</td><td>{_e(q.type)}</td>"
            f'<td class="text">{_e(q.question)}</td>'
            f'<td class="text">{_e(answer)}</td>'
            f'<td class="text">{_e(" | ".join(q.answers)) or "–"}</td>'
            f"<td>{_num(s['gold_rank'])}</td><td>{_num(s['confidence'])}</td>"
            "</tr>"
        )
    out = []
    head = ("<tr><th>id</th><th>type</th><th>question</th><th>answer (or candidate)</th><th>gold</th>"
            "<th>gold rank</th><th>confidence</th></tr>")
    for kind, items in kinds.items():
        out.append(f"<h3>{_e(kind)} ({len(items)})</h3>")
        if not items:
            out.append("<p>None.</p>")
            continue
        more = f"<p>… and {len(items) - MAX_FAILURES} more (see predictions.jsonl).</p>" if len(items) > MAX_FAILURES else ""
        out.append(f"<table>{head}{''.join(items[:MAX_FAILURES])}</table>{more}")
    return "".join(out)


def write_report(metrics: dict[str, Any], rows: list[dict[str, Any]], path: Path) -> None:
    """Write the HTML report of a run to ``path``.

    ``rows`` are the lines of predictions.jsonl (predictions with their gold fields); the
    failures are re-scored from them so the lists always agree with the metrics.
    """
    meta = metrics.get("meta") or {}
    meta_html = " · ".join(f"{_e(k)}: {_e(v)}" for k, v in meta.items() if v not in (None, ""))
    auc = (metrics.get("tradeoff") or {}).get("auc")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>qa evaluation</title>
<style>{_CSS}</style></head><body>
<h1>qa evaluation</h1>
<p class="meta">{meta_html}</p>
<h2>Headline</h2>
{_cards(metrics.get("overall") or {})}
<h2>By question type</h2>
{_type_table(metrics)}
<p class="meta">Retrieval and answer metrics are over answerable questions; abstention accuracy over
unanswerable ones; a retrieved chunk counts when it holds a gold answer and the evidence.</p>
<h2>By what the engine reads the question as asking for</h2>
{_type_table(metrics, "by_asked", "asks for") if metrics.get("by_asked") else ""}
<p class="meta">The answer type qa reads from the wording ("how many" → count, "who" → person; "other"
when none): a question of a type whose answer it cannot find in the chosen sentences is
abstained on more readily.</p>
<h2>Abstention trade-off</h2>
<p class="meta">Answering only when confidence ≥ threshold (using the best candidate even where the engine
abstained). Confidence AUC (answerable &amp; contained vs unanswerable): {_num(auc)}</p>
{_tradeoff_chart(metrics)}
<h2>Latency</h2>
{_latency_chart(metrics)}
{_latency_table(metrics)}
<h2>Failures</h2>
{_failures(rows)}
</body></html>
"""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
