"""The web chat (Gradio 6): a thin edge over ``Assistant``.

``build_app(assistant)`` returns the Blocks; ``app.py`` launches it with the safe defaults of
DESIGN.md and with :data:`CSS`. Tabs: Chat (answers with clickable citations, a source viewer,
feedback), Evaluate (``qa eval`` in the browser) and Documents (list, add, remove).

Rules kept everywhere in this module:
- every string that comes from a document, a question set or a user goes through :func:`esc`
  before it becomes HTML or Markdown (a report holding ``<script>`` shows as text);
- a ``QAError`` reaches the user as its message; any other exception as a generic message,
  its traceback on stderr only;
- one lock around the model (HF fast tokenizers are not thread-safe).

The endpoint ``/ask`` answers scripts: ``gradio_client.Client(url).predict("question",
api_name="/ask")`` returns the prediction object (``Answer.to_json()``).
"""
from __future__ import annotations

import datetime as _dt
import functools
import html
import json
import re
import shutil
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from qa.assistant import Assistant
from qa.eval_report import tradeoff_figure
from qa.errors import QAError
from qa.feedback import FeedbackStore
from qa.types import Answer, Document

EXAMPLES = [
    "How much humanitarian aid did Uzbekistan send to Ukraine?",
    "Why did Huawei move staff out of Russia?",
    "How many people were killed in the Karakalpakstan protests?",
    "Who is the UN Special Rapporteur on minority issues?",
]
GENERIC_ERROR = "Something went wrong on our side. The details are in the server log; please try again."
NOT_ANSWERED = "The reports don't answer this"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CONTEXT_BLOCKS = 2  # paragraphs shown before and after a quote in the source viewer
EVAL_TOP_K = 10

CSS = """
.qa-answer{font-size:1.02rem;line-height:1.55;padding:.75rem 1rem;border:1px solid var(--border-color-primary);
  border-radius:8px;background:var(--background-fill-secondary)}
.qa-answer mark.qa-short{background:#ffe58a;color:#111;padding:0 .15em;border-radius:3px;font-weight:600}
.qa-cite{display:inline-block;border:1px solid #3b82f6;color:#1d4ed8;background:#eff6ff;border-radius:4px;
  font-size:.8em;padding:0 .3em;margin:0 .1em;cursor:pointer;font-weight:600;line-height:1.3}
.qa-cite:hover,.qa-cite:focus{background:#dbeafe}
.qa-conf{font-size:.85rem;margin:.4rem 0 .8rem 0;color:var(--body-text-color-subdued)}
.qa-conf b.high{color:#15803d}.qa-conf b.medium{color:#b45309}.qa-conf b.low{color:#b91c1c}
.qa-abstain{border-left:4px solid #b45309;padding:.5rem .8rem;background:#fff7ed;color:#7c2d12;border-radius:4px}
.qa-cards{display:flex;flex-direction:column;gap:.5rem;margin-top:.6rem}
.qa-card{border:1px solid var(--border-color-primary);border-radius:8px;padding:.5rem .75rem;cursor:pointer;
  background:var(--background-fill-primary)}
.qa-card:hover{border-color:#3b82f6}
.qa-card .qa-card-head{font-size:.85rem;color:var(--body-text-color-subdued);margin-bottom:.25rem}
.qa-card .qa-card-head b{color:var(--body-text-color)}
.qa-card p{margin:0;font-size:.92rem}
.qa-card mark, .qa-viewer mark{background:#fde68a;color:#111;padding:0 .1em}
.qa-viewer{margin-top:.8rem;border:2px solid #3b82f6;border-radius:8px;padding:.5rem .8rem}
.qa-viewer h4{margin:.2rem 0 .4rem 0}
.qa-viewer .qa-viewer-body{max-height:360px;overflow-y:auto;font-size:.92rem;line-height:1.5}
.qa-viewer .qa-viewer-body p{margin:.35rem 0}
.qa-viewer .qa-heading{font-weight:700}
.qa-viewer .qa-caption{font-style:italic;color:var(--body-text-color-subdued)}
.qa-muted{color:var(--body-text-color-subdued);font-size:.85rem}
"""

# Runs once when the answer panel mounts; one delegated listener serves every re-render.
ANSWER_JS = """
element.addEventListener('click', (e) => {
  const t = e.target.closest('[data-cite]');
  if (!t || !element.contains(t)) return;
  e.preventDefault();
  const n = t.getAttribute('data-cite');
  let shown = null;
  element.querySelectorAll('.qa-viewer').forEach((v) => {
    const on = v.getAttribute('data-n') === n;
    v.hidden = !on;
    if (on) shown = v;
  });
  if (!shown) return;
  shown.scrollIntoView({block: 'nearest'});
  const body = shown.querySelector('.qa-viewer-body');
  const mark = shown.querySelector('mark');
  if (body && mark) body.scrollTop = Math.max(0, mark.offsetTop - body.offsetTop - 40);
});
element.addEventListener('keydown', (e) => {
  if ((e.key === 'Enter' || e.key === ' ') && e.target.closest('.qa-card[data-cite]')) {
    e.preventDefault(); e.target.click();
  }
});
"""


# ------------------------------------------------------------------------------ rendering
def esc(text: Any) -> str:
    """HTML-escape, and also neutralise Markdown link brackets and template syntax."""
    s = html.escape("" if text is None else str(text), quote=True)
    return (
        s.replace("[", "&#91;").replace("]", "&#93;").replace("(", "&#40;").replace(")", "&#41;")
        .replace("{", "&#123;").replace("}", "&#125;").replace("$", "&#36;").replace("`", "&#96;")
        .replace("*", "&#42;").replace("_", "&#95;")
    )


def confidence_words(c: float) -> str:
    """Words for a confidence. Cut-offs from the dev questions: answers at 0.7 or more held the
    gold answer 91 % of the time (88 % on test), 0.4-0.7 50 %, below 0.4 (but above the
    threshold) 43 % (33 % on test)."""
    return "high" if c >= 0.7 else "medium" if c >= 0.4 else "low"


def _marked(text: str, start: int, end: int) -> str:
    """``text`` escaped, with ``[start, end)`` wrapped in <mark> (clamped; nothing if empty)."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    if end <= start:
        return esc(text)
    return f"{esc(text[:start])}<mark>{esc(text[start:end])}</mark>{esc(text[end:])}"


def _block_range(doc: Document, start: int, end: int) -> tuple[int, int]:
    """Indices (first, last) of the blocks overlapping ``[start, end)`` (nearest when none)."""
    blocks = doc.blocks
    idx = [i for i, b in enumerate(blocks) if b.start < max(end, start + 1) and b.end > start]
    if idx:
        return idx[0], idx[-1]
    best = min(range(len(blocks)), key=lambda i: abs(blocks[i].start - start))
    return best, best


def paragraph_html(doc: Document, start: int, end: int, mark: bool = True) -> str:
    """The paragraph(s) holding the quote, the quote highlighted unless ``mark`` is False (a card)."""
    text = doc.text
    if not doc.blocks:
        a, b = max(0, start - 300), min(len(text), end + 300)
        return "<p>" + ("… " if a else "") + _marked(text[a:b], start - a, end - a) + (" …" if b < len(text) else "") + "</p>"
    i, j = _block_range(doc, start, end)
    a, b = doc.blocks[i].start, doc.blocks[j].end
    if b - a > 1500:  # a very long paragraph: a window around the quote
        a, b = max(a, start - 500), min(b, end + 500)
    if not mark:
        return "<p>" + esc(text[a:b]) + "</p>"
    return "<p>" + _marked(text[a:b], start - a, end - a) + "</p>"


def context_html(doc: Document, start: int, end: int, around: int = CONTEXT_BLOCKS) -> str:
    """A few paragraphs around the quote, each a <p>; the quote highlighted where it lies."""
    text = doc.text
    if not doc.blocks:
        a, b = max(0, start - 1500), min(len(text), end + 1500)
        return "<p>" + _marked(text[a:b], start - a, end - a) + "</p>"
    i, j = _block_range(doc, start, end)
    out = []
    for blk in doc.blocks[max(0, i - around) : j + around + 1]:
        seg = text[blk.start : blk.end]
        inner = _marked(seg, start - blk.start, end - blk.start) if blk.start < end and blk.end > start else esc(seg)
        cls = {"heading": "qa-heading", "caption": "qa-caption"}.get(blk.kind, "")
        out.append(f'<p class="{cls}">{inner}</p>' if cls else f"<p>{inner}</p>")
    return "\n".join(out)


def _where(title: str, section: str, page: int | None) -> str:
    parts = [f"<b>{esc(title)}</b>"]
    if section:
        parts.append(esc(section))
    if page:
        parts.append(f"page {int(page)}")
    return " · ".join(parts)


def viewer_html(doc: Document | None, start: int, end: int, key: str, label: str, hidden: bool = True,
                extra: str = "") -> str:
    """The source viewer panel for one quote (``key`` is what ``data-cite`` names)."""
    h = " hidden" if hidden else ""
    if doc is None:
        body = '<p class="qa-muted">This document is no longer in the index.</p>'
        head = esc(label)
    else:
        body = context_html(doc, start, end)
        head = f"{esc(label)} — " + _where(doc.title, doc.section_at(start), doc.page_at(start))
    return (
        f'<div class="qa-viewer" data-n="{esc(key)}"{h}><h4>Source {head}</h4>{extra}'
        f'<div class="qa-viewer-body">{body}</div></div>'
    )


def _answer_body(text: str, short: str) -> str:
    """The answer: escaped, ``[n]`` markers as buttons, the first occurrence of ``short`` marked."""
    pieces = re.split(r"(\[\d+\])", text)
    done = not short
    out = []
    for piece in pieces:
        m = re.fullmatch(r"\[(\d+)\]", piece)
        if m:
            n = m.group(1)
            out.append(f'<button type="button" class="qa-cite" data-cite="{n}" title="Open source {n}">[{n}]</button>')
            continue
        k = -1 if done else piece.find(short)
        if k >= 0:
            out.append(f'{esc(piece[:k])}<mark class="qa-short">{esc(short)}</mark>{esc(piece[k + len(short):])}')
            done = True
        else:
            out.append(esc(piece))
    return "".join(out)


class Renderer:
    """Renders answers against the assistant's current documents."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def doc(self, doc_id: str) -> Document | None:
        try:
            return self.assistant.document(doc_id)
        except KeyError:
            return None

    def card(self, key: str, label: str, doc_id: str, title: str, section: str, page: int | None,
             start: int, end: int, fallback: str, mark: bool = True) -> str:
        d = self.doc(doc_id)
        para = paragraph_html(d, start, end, mark) if d is not None else f"<p>{esc(fallback)}</p>"
        return (
            f'<div class="qa-card" data-cite="{esc(key)}" role="button" tabindex="0" title="Open in the source viewer">'
            f'<div class="qa-card-head">{esc(label)} {_where(title, section, page)}</div>{para}</div>'
        )

    def answer_html(self, ans: Answer) -> str:
        conf = f'{confidence_words(ans.confidence)}'
        conf_html = (f'<div class="qa-conf">Confidence: <b class="{conf}">{conf}</b> '
                     f'({ans.confidence:.2f})</div>')
        cards, viewers = [], []
        if ans.found:
            head = f'<div class="qa-answer">{_answer_body(ans.text, ans.short)}</div>{conf_html}'
            if ans.resolved_question and ans.resolved_question != ans.question:
                head += f'<div class="qa-muted">Understood as: {esc(ans.resolved_question)}</div>'
            for c in ans.citations:
                key = str(c.n)
                cards.append(self.card(key, f"[{c.n}]", c.doc_id, c.title, c.section, c.page, c.char_start, c.char_end, c.quote))
                viewers.append(viewer_html(self.doc(c.doc_id), c.char_start, c.char_end, key, f"[{c.n}]"))
            section = "<h4>Cited passages</h4>"
        else:
            msg = ans.message if ans.message and ans.message != ans.text else ""
            head = (f'<div class="qa-abstain"><b>{NOT_ANSWERED}.</b> '
                    f'{esc(msg)}</div>{conf_html}')
            for i, h in enumerate(ans.hits[:3], 1):
                ch = h.chunk
                key = f"h{i}"
                cards.append(self.card(key, f"({i})", ch.doc_id, ch.title, ch.section, ch.page, ch.char_start, ch.char_end, ch.text,
                                       mark=False))
                viewers.append(viewer_html(self.doc(ch.doc_id), ch.char_start, ch.char_end, key, f"({i})"))
            section = ('<h4>Nearest passages</h4><p class="qa-muted">These are the closest passages found; '
                       "they do not answer the question.</p>") if cards else ""
        return (f'<div class="qa-panel">{head}{section}<div class="qa-cards">{"".join(cards)}</div>'
                f'{"".join(viewers)}</div>')


def answer_markdown(ans: Answer) -> str:
    """The chat transcript's copy of an answer: escaped Markdown, sources in text form."""
    if not ans.found:
        lines = [f"**{NOT_ANSWERED}.** Confidence {confidence_words(ans.confidence)} ({ans.confidence:.2f})."]
        if ans.hits:
            lines += ["", "Nearest passages (not an answer):"]
            for i, h in enumerate(ans.hits[:3], 1):
                lines.append(f"({i}) {esc(h.chunk.title)} › {esc(h.chunk.section)}: {esc(h.chunk.text[:120])}…")
        return "\n".join(lines)
    body = esc(ans.text)
    body = re.sub(r"&#91;(\d+)&#93;", r"**&#91;\1&#93;**", body)
    if ans.short:
        s = esc(ans.short)
        body = body.replace(s, f"**{s}**", 1)
    lines = [body, "", f"Confidence: {confidence_words(ans.confidence)} ({ans.confidence:.2f})", "", "Sources:"]
    for c in ans.citations:
        page = f", page {c.page}" if c.page else ""
        lines.append(f"&#91;{c.n}&#93; {esc(c.title)} › {esc(c.section)}{page}: “{esc(c.quote)}”")
    return "\n".join(lines)


def answer_text(ans: Answer) -> str:
    """Plain text for the clipboard: the answer with its citations."""
    if not ans.found:
        out = [f"Q: {ans.question}", f"{NOT_ANSWERED}. (confidence {ans.confidence:.2f})"]
        if ans.hits:
            out.append("Nearest passages:")
            for i, h in enumerate(ans.hits[:3], 1):
                out.append(f"({i}) {h.chunk.title} › {h.chunk.section}: {h.chunk.text[:300]}")
        return "\n".join(out)
    out = [f"Q: {ans.question}", f"A: {ans.text}"]
    if ans.short:
        out.append(f"Short answer: {ans.short}")
    out.append(f"Confidence: {confidence_words(ans.confidence)} ({ans.confidence:.2f})")
    out.append("Sources:")
    for c in ans.citations:
        page = f", page {c.page}" if c.page else ""
        out.append(f"[{c.n}] {c.title} › {c.section}{page}: \"{c.quote}\"")
    return "\n".join(out)


EMPTY_PANEL = ('<div class="qa-panel"><p class="qa-muted">Ask a question: the answer appears here with its '
               "cited passages. Click a [n] marker or a card to open the source.</p></div>")


# ------------------------------------------------------------------------------ errors
def _user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """QAError -> its message; anything else -> a generic message (traceback to stderr)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except QAError as e:
            raise gr.Error(str(e)) from None
        except Exception:
            traceback.print_exc(file=sys.stderr)
            raise gr.Error(GENERIC_ERROR) from None

    return wrapper


# ------------------------------------------------------------------------------ evaluation helpers
def _evaluate_module() -> Any:
    try:
        from qa import evaluate
    except Exception:  # being written, or broken: the tab says so instead of crashing the app
        traceback.print_exc(file=sys.stderr)
        return None
    return evaluate


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 3)
    return "–" if v is None else v


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "set"


# ------------------------------------------------------------------------------ the app
def build_app(
    assistant: Assistant,
    data_dir: Path | str | None = None,
    questions_dir: Path | str = "tests/questions",
):  # type: ignore[no-untyped-def]
    store = FeedbackStore(data_dir, index_dir=assistant.index_dir)
    data_path = store.data_dir
    questions_path = Path(questions_dir)
    renderer = Renderer(assistant)
    model_lock = threading.Lock()

    def ask(question: str, **kw: Any) -> Answer:
        with model_lock:
            return assistant.ask(question, **kw)

    # -- choices -------------------------------------------------------------------------------
    def doc_choices() -> list[tuple[str, str]]:
        return sorted(((d.title or d.path, d.id) for d in assistant.documents()), key=lambda t: t[0].lower())

    def set_choices() -> list[str]:
        if not questions_path.is_dir():
            return []
        return sorted(p.name for p in questions_path.iterdir() if p.suffix in (".jsonl", ".json") and p.is_file())

    # -- chat ----------------------------------------------------------------------------------
    @_user_errors
    def on_ask(question: str, messages: list, pairs: list, doc_ids: list | None, section: str, top_k: float):
        ans = ask(
            question or "",
            history=[tuple(p) for p in pairs or []],
            top_k=int(top_k or 5),
            doc_ids=list(doc_ids) if doc_ids else None,
            section=(section or "").strip() or None,
        )
        messages = list(messages or []) + [
            {"role": "user", "content": esc(ans.question)},
            {"role": "assistant", "content": answer_markdown(ans)},
        ]
        pairs = list(pairs or []) + [[ans.question, ans.text if ans.found else ""]]
        return (messages, pairs, ans.to_json(), renderer.answer_html(ans), answer_text(ans), "", "")

    def on_clear():
        return [], [], {}, EMPTY_PANEL, "", "", "", ""

    def on_example(evt: gr.SelectData):
        v = evt.value
        return v.get("text", "") if isinstance(v, dict) else str(v or "")

    @_user_errors
    def on_feedback(rating: str, last: dict, correction: str):
        if not last:
            raise gr.Error("Ask a question first: feedback is about the answer shown.")
        store.add(rating, last, correction=correction or "")
        label = {"helpful": "helpful", "not_helpful": "not helpful", "wrong_citation": "wrong citation"}[rating]
        extra = " with your correction" if (correction or "").strip() else ""
        return f"Thanks: recorded as **{label}**{extra}.", ""

    @_user_errors
    def on_export():
        path = store.export_question_set()
        n = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        csv_path = store.export_csv()
        return [str(path), str(csv_path)], (
            f"Exported {n} test case(s) for `qa eval` (run `qa eval {esc(str(path))}`), and all ratings as CSV."
        )

    def ask_api(question: str, history: list | None = None) -> dict[str, Any]:
        """Answer a question from the reports; returns the prediction object with citations."""
        try:
            return ask(question, history=history).to_json()
        except QAError as e:
            raise gr.Error(str(e)) from None
        except Exception:
            traceback.print_exc(file=sys.stderr)
            raise gr.Error(GENERIC_ERROR) from None

    # -- evaluate ------------------------------------------------------------------------------
    def _last_metrics(set_name: str, split: str, exclude: Path) -> dict[str, Any] | None:
        runs = data_path / "runs"
        if not runs.is_dir():
            return None
        for d in sorted(runs.iterdir(), reverse=True):
            if d == exclude or not (d / "metrics.json").is_file():
                continue
            try:
                m = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            meta = m.get("meta") or {}
            if meta.get("set_name") == set_name and meta.get("split") == split:
                return m
        return None

    def _failure_rows(ev: Any, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for i, line in enumerate(lines, 1):
            try:
                q = ev.question_from_dict(line, f"row {i}")
                s = ev.score_prediction(q, line)
            except Exception:
                continue
            if s["answerable"] and s["found"] and not s["contained"]:
                kind = "wrong answer"
            elif not s["answerable"] and s["found"]:
                kind = "answered an unanswerable"
            elif s["answerable"] and not s["found"]:
                kind = "false abstention"
            else:
                continue
            shown = line.get("answer") if s["found"] else ("(abstained) " + (line.get("candidate") or ""))
            out.append({"kind": kind, "line": line, "answer": ev.strip_markers(shown or ""),
                        "confidence": s["confidence"], "gold_rank": s["gold_rank"]})
        return out

    @_user_errors
    def on_eval(set_name: str | None, upload: Any, split: str, limit: float, progress=gr.Progress()):
        ev = _evaluate_module()
        if ev is None:
            raise gr.Error("Evaluation is not available in this installation (qa.evaluate is missing).")
        if upload:
            path = Path(upload if isinstance(upload, str) else getattr(upload, "name", ""))
            label = Path(getattr(upload, "orig_name", None) or path.name).name
        elif set_name:
            if set_name not in set_choices():
                raise gr.Error("Pick a question set from the list.")
            path, label = questions_path / set_name, set_name
        else:
            raise gr.Error("Pick a question set or upload one (JSONL or SQuAD JSON).")
        split_arg = None if not split or split == "all" else split
        questions = ev.load_question_set(path, split_arg)
        if limit and int(limit) > 0:
            questions = questions[: int(limit)]
        if not questions:
            raise gr.Error(f"No questions in {label}" + (f" for split '{split_arg}'" if split_arg else "") + ".")
        n = len(questions)
        done = [0]
        progress((0, n), desc="asking")

        def ask_one(text: str) -> dict[str, Any]:
            try:
                return ask(text, top_k=EVAL_TOP_K).to_json()
            finally:
                done[0] += 1
                progress((done[0], n), desc="asking")

        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        out = data_path / "runs" / f"{stamp}-{_slug(label)}-{split or 'all'}"
        meta = {"set": label, "set_name": label, "split": split or "all", "mode": "ui",
                "model": getattr(assistant.embedder, "name", None), "top_k": EVAL_TOP_K}
        thr = getattr(ev, "_operating_threshold", lambda a: None)(assistant)
        if thr is not None:
            meta["threshold"] = thr
        metrics = ev.run_eval(questions, ask_one, out, progress=False, meta=meta)
        lines = ev.read_predictions(out)
        prev = _last_metrics(label, split or "all", out)

        overall = metrics.get("overall") or {}
        keys = ("n", "n_answered", *ev.headline_keys(overall), "confidence_auc")
        headline = []
        for k in keys:
            now = overall.get(k)
            before = (prev or {}).get("overall", {}).get(k) if prev else None
            delta = (now - before) if isinstance(now, (int, float)) and isinstance(before, (int, float)) else None
            headline.append([k, _fmt(now), _fmt(before), _fmt(delta)])
        by_type = metrics.get("by_type") or {}
        cols = ("n", "hit@1", "hit@5", "mrr@10", "containment", "exact_match", "f1",
                "citation_support", "abstention_accuracy", "false_abstention_rate")
        type_rows = [[t, *(_fmt(m.get(c)) for c in cols)] for t, m in by_type.items()]
        # The same questions by what qa reads them as asking for ("how many" -> count).
        type_rows += [[f"asks for: {k}", *(_fmt(m.get(c)) for c in cols)] for k, m in (metrics.get("by_asked") or {}).items()]
        fails = _failure_rows(ev, lines)
        fail_rows = [[f["kind"], f["line"].get("id"), f["line"].get("type"), f["line"].get("question"),
                      f["answer"][:300], " | ".join(f["line"].get("gold_answers") or []) or "–",
                      _fmt(f["confidence"])] for f in fails]
        when = ((prev or {}).get("meta") or {}).get("date")
        summary = (f"**{n} question(s)** from `{esc(label)}` (split {esc(split or 'all')}) in "
                   f"{(metrics.get('meta') or {}).get('duration_s', '?')} s. "
                   + (f"Compared with the last run of this set ({esc(when)})." if prev else "No earlier run of this set to compare with.")
                   + f" Failures: {len(fails)} (click one to open its source).")
        report = out / "report.html"
        return (
            summary,
            gr.update(value=headline),
            gr.update(value=type_rows, headers=["type", *cols]),
            tradeoff_figure(metrics),
            gr.update(value=fail_rows),
            [f["line"] for f in fails],
            str(report) if report.is_file() else None,
            '<p class="qa-muted">Click a failure to see its source.</p>',
        )

    @_user_errors
    def on_failure_select(fails: list, evt: gr.SelectData):
        idx = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if not fails or idx is None or not (0 <= int(idx) < len(fails)):
            return '<p class="qa-muted">Click a failure to see its source.</p>'
        line = fails[int(idx)]
        gold = " | ".join(line.get("gold_answers") or []) or "(none: unanswerable)"
        extra = (f'<p><b>Question:</b> {esc(line.get("question"))}<br><b>Gold:</b> {esc(gold)}'
                 + (f'<br><b>Evidence:</b> {esc(line.get("evidence"))}' if line.get("evidence") else "") + "</p>")
        cits = line.get("citations") or []
        if line.get("found") and cits:
            c = cits[0]
            return viewer_html(renderer.doc(c.get("doc_id", "")), int(c.get("char_start", 0)), int(c.get("char_end", 0)),
                               "eval", f"[{c.get('n', 1)}] cited", hidden=False, extra=extra)
        retrieved = line.get("retrieved") or []
        if retrieved:
            chunks = {ch.id: ch for ch in assistant.index.chunks}
            ch = chunks.get(retrieved[0].get("chunk_id", ""))
            if ch is not None:
                return viewer_html(renderer.doc(ch.doc_id), ch.char_start, ch.char_end, "eval",
                                   "top retrieved passage", hidden=False, extra=extra)
        return f'<div class="qa-viewer">{extra}<p class="qa-muted">Nothing was retrieved for this question.</p></div>'

    # -- documents -----------------------------------------------------------------------------
    def doc_rows() -> list[list[Any]]:
        counts: dict[str, int] = {}
        for ch in assistant.index.chunks:
            counts[ch.doc_id] = counts.get(ch.doc_id, 0) + 1
        rows = []
        for d in sorted(assistant.documents(), key=lambda d: d.title.lower()):
            rows.append([d.title, Path(d.path).name, counts.get(d.id, 0), len(d.pages) or "–",
                         len(d.sections), len(d.warnings), len(d.text)])
        return rows

    def doc_details(doc_id: str | None) -> str:
        d = renderer.doc(doc_id or "")
        if d is None:
            return '<p class="qa-muted">Pick a document to see its sections, statistics and the cleaner\'s warnings.</p>'
        warn = "".join(f"<li>{esc(w)}</li>" for w in d.warnings) or "<li>none</li>"
        stats = "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in sorted(d.stats.items())) or "<li>none recorded</li>"
        secs = "".join(f"<li>{esc(s.path)}</li>" for s in d.sections[:300])
        more = f"<li>… and {len(d.sections) - 300} more</li>" if len(d.sections) > 300 else ""
        return (f"<h4>{esc(d.title)}</h4><p class='qa-muted'>{esc(Path(d.path).name)} · sha256 {esc(d.id[:12])}…</p>"
                f"<b>Cleaner warnings</b><ul>{warn}</ul><b>Statistics</b><ul>{stats}</ul>"
                f"<b>Sections ({len(d.sections)})</b><ul style='max-height:300px;overflow:auto'>{secs}{more}</ul>")

    def docs_outputs(status: str):
        choices = doc_choices()
        return (gr.update(value=doc_rows()), gr.update(choices=choices, value=None),
                gr.update(choices=choices, value=None), gr.update(choices=choices, value=[]), status)

    @_user_errors
    def on_upload(upload: Any, progress=gr.Progress()):
        from qa.ingest import LOADERS
        from qa.library import add_documents

        if not upload:
            raise gr.Error("Choose a file to add first.")
        src = Path(upload if isinstance(upload, str) else getattr(upload, "name", ""))
        orig = Path(getattr(upload, "orig_name", None) or src.name).name
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", orig).strip(".-") or "report"
        ext = Path(name).suffix.lower()
        if ext not in LOADERS:
            raise gr.Error(f"Unsupported file type '{ext or '(none)'}'; supported: {', '.join(sorted(LOADERS))}.")
        if not src.is_file():
            raise gr.Error("The upload did not arrive; try again.")
        if src.stat().st_size > MAX_UPLOAD_BYTES:
            raise gr.Error(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        if (Path(assistant.docs_dir) / name).exists():
            raise gr.Error(f"A document named {name} is already there; remove it first to replace it.")
        # qa.library adds all or nothing (parsed first, copies undone on a failed build); it
        # names the document after the file, so the upload is staged under its cleaned name.
        progress(0.2, desc="indexing")
        with tempfile.TemporaryDirectory(prefix="qa-upload-") as tmp:
            staged = Path(tmp) / name
            shutil.copyfile(src, staged)
            with model_lock:
                result = add_documents([staged], assistant.docs_dir, assistant.index_dir, assistant.embedder)
                assistant.refresh()
        progress(1.0, desc="done")
        summary = result.build.summary() if result.build else "already indexed"
        return docs_outputs(f"Added **{esc(name)}**. {esc(summary)}")

    @_user_errors
    def on_remove(doc_id: str | None, progress=gr.Progress()):
        from qa.library import remove_document

        d = renderer.doc(doc_id or "")
        if d is None:
            raise gr.Error("Pick a document to remove.")
        progress(0.2, desc="indexing")
        with model_lock:
            # By id: the library finds the file, refuses the last document or a file outside
            # the documents folder, and restores the file if the build fails.
            target, report = remove_document(d.id, assistant.docs_dir, assistant.index_dir, assistant.embedder)
            assistant.refresh()
        progress(1.0, desc="done")
        return docs_outputs(f"Removed **{esc(Path(target).name)}**. {esc(report.summary())}")

    # -- layout --------------------------------------------------------------------------------
    with gr.Blocks(title="qa — cited answers from the reports") as demo:
        pairs = gr.State([])
        last = gr.State({})
        fails_state = gr.State([])
        with gr.Sidebar(label="Filters", open=True):
            gr.Markdown("### Filters")
            f_docs = gr.Dropdown(choices=doc_choices(), value=[], multiselect=True, label="Documents",
                                 info="Empty: all documents")
            f_section = gr.Textbox(label="Section", placeholder="e.g. Kazakhstan", info="Only passages whose section path contains this")
            f_topk = gr.Slider(1, 10, value=5, step=1, label="Passages")
        gr.Markdown("# qa\nAsk about the reports. Every answer quotes its sources; click **[n]** to read the source.")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5):
                        chatbot = gr.Chatbot(
                            label="Conversation", height=460, buttons=["copy"], feedback_options=None,
                            examples=[{"text": q} for q in EXAMPLES], placeholder="Ask a question about the reports.",
                            elem_id="qa-chatbot",
                        )
                        with gr.Row():
                            question = gr.Textbox(label="Question", placeholder="Ask about the reports…", scale=5,
                                                  elem_id="qa-question", max_length=2000, autofocus=True)
                            ask_btn = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
                        clear_btn = gr.Button("Clear conversation", size="sm", elem_id="qa-clear")
                        with gr.Accordion("Answer as text (copy)", open=False):
                            text_version = gr.Textbox(label="Answer with citations", lines=6, buttons=["copy"],
                                                      interactive=False, elem_id="qa-text")
                    with gr.Column(scale=6):
                        panel = gr.HTML(EMPTY_PANEL, js_on_load=ANSWER_JS, elem_id="qa-panel")
                        with gr.Group():
                            correction = gr.Textbox(label="Correction (optional)", placeholder="The right answer, if you know it",
                                                    elem_id="qa-correction")
                            with gr.Row():
                                fb_good = gr.Button("Helpful", size="sm", elem_id="qa-fb-helpful")
                                fb_bad = gr.Button("Not helpful", size="sm", elem_id="qa-fb-not-helpful")
                                fb_cite = gr.Button("Wrong citation", size="sm", elem_id="qa-fb-wrong-citation")
                        fb_status = gr.Markdown("", elem_id="qa-fb-status")
                        with gr.Accordion("Export feedback", open=False):
                            export_btn = gr.Button("Export feedback as a question set", size="sm", elem_id="qa-export")
                            export_files = gr.File(label="Exports", file_count="multiple", interactive=False)
                            export_status = gr.Markdown("")
            with gr.Tab("Evaluate", id="evaluate"):
                with gr.Row():
                    ev_set = gr.Dropdown(choices=set_choices(), value=None, label="Question set (tests/questions)",
                                         elem_id="qa-eval-set")
                    ev_upload = gr.File(label="…or upload one (JSONL or SQuAD JSON)", file_types=[".jsonl", ".json"],
                                        elem_id="qa-eval-upload")
                with gr.Row():
                    ev_split = gr.Dropdown(choices=["all", "test", "dev", "train"], value="all", label="Split",
                                           allow_custom_value=True)
                    ev_limit = gr.Number(value=0, precision=0, minimum=0, label="At most N questions (0: all)",
                                         elem_id="qa-eval-limit")
                    ev_btn = gr.Button("Run evaluation", variant="primary", elem_id="qa-eval-run")
                ev_summary = gr.Markdown("", elem_id="qa-eval-summary")
                ev_headline = gr.Dataframe(headers=["metric", "this run", "last run", "change"], label="Headline",
                                           interactive=False, elem_id="qa-eval-headline")
                ev_types = gr.Dataframe(label="By question type, then by what qa reads it as asking for", interactive=False, elem_id="qa-eval-types")
                ev_plot = gr.Plot(label="Abstention trade-off", elem_id="qa-eval-plot")
                ev_fails = gr.Dataframe(headers=["kind", "id", "type", "question", "answer", "gold", "confidence"],
                                        label="Failures (click one)", interactive=False, wrap=True, elem_id="qa-eval-fails",
                                        column_widths=["12%", "6%", "8%", "28%", "28%", "12%", "6%"])
                ev_viewer = gr.HTML('<p class="qa-muted">Click a failure to see its source.</p>', elem_id="qa-eval-viewer")
                ev_report = gr.File(label="Full report (HTML)", interactive=False)
            with gr.Tab("Documents", id="documents"):
                docs_table = gr.Dataframe(value=doc_rows(), headers=["title", "file", "chunks", "pages", "sections", "warnings", "characters"],
                                          label="Indexed documents", interactive=False, elem_id="qa-docs")
                with gr.Row():
                    with gr.Column():
                        doc_pick = gr.Dropdown(choices=doc_choices(), value=None, label="Details of")
                        doc_info = gr.HTML(doc_details(None))
                    with gr.Column():
                        from qa.ingest import LOADERS

                        up_file = gr.File(label=f"Add a report ({', '.join(sorted(LOADERS))}; at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB)",
                                          file_types=sorted(LOADERS), elem_id="qa-doc-upload")
                        up_btn = gr.Button("Add and index", variant="primary", elem_id="qa-doc-add")
                        rm_pick = gr.Dropdown(choices=doc_choices(), value=None, label="Remove a document")
                        rm_btn = gr.Button("Remove and re-index", variant="stop", elem_id="qa-doc-remove")
                        docs_status = gr.Markdown("")

        # -- events ------------------------------------------------------------------------------
        ask_inputs = [question, chatbot, pairs, f_docs, f_section, f_topk]
        ask_outputs = [chatbot, pairs, last, panel, text_version, question, fb_status]
        private = {"api_visibility": "private"}
        ask_btn.click(on_ask, ask_inputs, ask_outputs, **private)
        question.submit(on_ask, ask_inputs, ask_outputs, **private)
        chatbot.example_select(on_example, None, question, **private).then(on_ask, ask_inputs, ask_outputs, **private)
        clear_btn.click(on_clear, None, [chatbot, pairs, last, panel, text_version, question, fb_status, correction], **private)
        for btn, rating in ((fb_good, "helpful"), (fb_bad, "not_helpful"), (fb_cite, "wrong_citation")):
            btn.click(functools.partial(on_feedback, rating), [last, correction], [fb_status, correction], **private)
        export_btn.click(on_export, None, [export_files, export_status], **private)
        ev_btn.click(on_eval, [ev_set, ev_upload, ev_split, ev_limit],
                     [ev_summary, ev_headline, ev_types, ev_plot, ev_fails, fails_state, ev_report, ev_viewer],
                     concurrency_limit=1, **private)
        ev_fails.select(on_failure_select, [fails_state], ev_viewer, **private)
        doc_pick.change(doc_details, doc_pick, doc_info, **private)
        docs_out = [docs_table, doc_pick, rm_pick, f_docs, docs_status]
        up_btn.click(on_upload, up_file, docs_out, concurrency_limit=1, concurrency_id="index", **private)
        rm_btn.click(on_remove, rm_pick, docs_out, concurrency_limit=1, concurrency_id="index", **private)
        gr.api(ask_api, api_name="ask")
    return demo


__all__ = ["CSS", "EXAMPLES", "Renderer", "answer_markdown", "answer_text", "build_app", "esc", "tradeoff_figure"]
