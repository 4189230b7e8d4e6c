"""Feedback on answers: an append-only JSONL file in a data folder, and its exports.

The data folder is ``data/`` unless ``QA_DATA_DIR`` (or the caller) says otherwise; it is
never inside an index folder (a rebuild must not touch it, and the app blocks ``index/``).
Each rating is one line of ``feedback.jsonl``:
``{"ts", "rating", "question", "resolved_question", "answer", "short", "found",
"confidence", "citations", "correction", "note"}``.

Exports:
- :func:`export_question_set`: the ratings that carry a gold answer become test cases for
  ``qa eval`` (DESIGN.md's question-set format; ``split: "feedback"``).
- :func:`export_csv` / :func:`export_json`: everything, for a spreadsheet.

Every export neutralises spreadsheet formulas: a string cell that starts with ``=``, ``+``,
``-``, ``@`` (or a tab / carriage return) gets a leading ``'``. SQuAD normalisation drops
punctuation, so a neutralised gold answer still scores the same in ``qa eval``.
"""
from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from qa.errors import QAError

RATINGS = ("helpful", "not_helpful", "wrong_citation")
FEEDBACK_FILE = "feedback.jsonl"
MAX_CORRECTION_CHARS = 2000
MAX_NOTE_CHARS = 2000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_lock = threading.Lock()


def default_data_dir() -> Path:
    return Path(os.environ.get("QA_DATA_DIR") or "data")


def neutralise(value: Any) -> Any:
    """``'=1+1`` for ``=1+1``: a spreadsheet shows the text instead of evaluating it."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _neutralise_deep(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, Mapping):
        return {k: _neutralise_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_neutralise_deep(v) for v in value]
    return value


def _inside(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


class FeedbackStore:
    """Append and read ratings in ``data_dir/feedback.jsonl`` (thread-safe, line-atomic)."""

    def __init__(self, data_dir: Path | str | None = None, index_dir: Path | str | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        if index_dir is not None and _inside(self.data_dir, Path(index_dir)):
            raise QAError(f"the data folder {self.data_dir} must not be inside the index folder {index_dir}")
        self.path = self.data_dir / FEEDBACK_FILE

    def add(
        self,
        rating: str,
        prediction: Mapping[str, Any],
        correction: str = "",
        note: str = "",
    ) -> dict[str, Any]:
        """Record one rating of one answer (``prediction`` is ``Answer.to_json()``)."""
        if rating not in RATINGS:
            raise QAError(f"unknown rating {rating!r}; use one of {', '.join(RATINGS)}")
        question = str(prediction.get("question") or "").strip()
        if not question:
            raise QAError("there is no answer to rate yet: ask a question first")
        correction = (correction or "").strip()[:MAX_CORRECTION_CHARS]
        record = {
            "ts": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
            "rating": rating,
            "question": question,
            "resolved_question": prediction.get("resolved_question") or question,
            "answer": prediction.get("answer") or "",
            "short": prediction.get("short") or "",
            "found": bool(prediction.get("found")),
            "confidence": prediction.get("confidence"),
            "citations": [
                {k: c.get(k) for k in ("n", "doc_id", "title", "section", "page", "char_start", "char_end", "quote")}
                for c in prediction.get("citations") or []
                if isinstance(c, Mapping)
            ],
            "correction": correction,
            "note": (note or "").strip()[:MAX_NOTE_CHARS],
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with _lock:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        return record

    def records(self) -> list[dict[str, Any]]:
        """All ratings, oldest first (a damaged line is skipped, not fatal)."""
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    # -- exports -------------------------------------------------------------------------------
    def export_question_set(self, path: Path | str | None = None) -> Path:
        path = Path(path) if path is not None else self.data_dir / "feedback-questions.jsonl"
        return _write(path, "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in question_set(self.records())))

    def export_csv(self, path: Path | str | None = None) -> Path:
        path = Path(path) if path is not None else self.data_dir / "feedback.csv"
        return _write(path, to_csv(self.records()))

    def export_json(self, path: Path | str | None = None) -> Path:
        path = Path(path) if path is not None else self.data_dir / "feedback.json"
        return _write(path, json.dumps(_neutralise_deep(self.records()), ensure_ascii=False, indent=2) + "\n")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _case_id(question: str, answers: Iterable[str]) -> str:
    h = hashlib.sha256(question.encode("utf-8"))
    for a in answers:
        h.update(b"\x00" + a.encode("utf-8"))
    return "fb-" + h.hexdigest()[:10]


def to_case(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """A feedback record as a ``qa eval`` test case, or None when it carries no gold answer.

    - a correction is the gold answer, whatever the rating;
    - "helpful" on an answer: its short answer (else its first quote) is the gold, the first
      quote is the evidence;
    - "helpful" on an abstention: an unanswerable case (``answers: []``);
    - "not helpful" or "wrong citation" without a correction: no gold, skipped.
    """
    question = str(record.get("question") or "").strip()
    if not question:
        return None
    citations = [c for c in record.get("citations") or [] if isinstance(c, Mapping)]
    first_quote = str(citations[0].get("quote") or "") if citations else ""
    correction = str(record.get("correction") or "").strip()
    rating = record.get("rating")
    if correction:
        answers, evidence = [correction], (first_quote if rating == "helpful" else "")
    elif rating == "helpful" and record.get("found"):
        gold = str(record.get("short") or "").strip() or first_quote
        if not gold:
            return None
        answers, evidence = [gold], first_quote
    elif rating == "helpful" and not record.get("found"):
        answers, evidence = [], ""
    else:
        return None
    case = {
        "id": _case_id(question, answers),
        "question": question,
        "answers": answers,
        "evidence": evidence,
        "type": "factoid" if answers else "unanswerable",
        "split": "feedback",
        "rating": rating,
        "ts": record.get("ts"),
    }
    return _neutralise_deep(case)


def question_set(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The test cases of the records, the latest rating of a question winning."""
    by_question: dict[str, dict[str, Any]] = {}
    for r in records:
        case = to_case(r)
        if case is not None:
            by_question[case["question"]] = case
    return list(by_question.values())


CSV_FIELDS = ("ts", "rating", "question", "short", "answer", "found", "confidence", "correction", "note", "citations")


def to_csv(records: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_FIELDS)
    for r in records:
        row = []
        for k in CSV_FIELDS:
            v = r.get(k)
            if k == "citations":
                v = " | ".join(
                    f"[{c.get('n')}] {c.get('title')} › {c.get('section')}: {c.get('quote')}"
                    for c in v or []
                    if isinstance(c, Mapping)
                )
            row.append(neutralise("" if v is None else str(v)))
        w.writerow(row)
    return buf.getvalue()


__all__ = ["FeedbackStore", "RATINGS", "default_data_dir", "neutralise", "question_set", "to_case", "to_csv"]
