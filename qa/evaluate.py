"""Evaluation: ask a question set, save the predictions, score them, report.

The contract is in DESIGN.md ("Question sets and predictions"): a question set is JSONL
(``id, question, answers, evidence, type, split``) or SQuAD JSON; a run writes
``predictions.jsonl`` (each line carries its gold fields, so a run can be re-scored with no
other file), ``metrics.json`` and ``report.html``.

Answer matching follows the official SQuAD v1.1 script / DrQA (``normalize_answer``,
``exact_match``, ``f1_score``, max over the gold answers), so numbers are comparable with
the literature. On top of that we measure retrieval (hit@k, MRR@10), answer containment,
citation support, abstention, answer length, latency and the confidence/abstention trade-off.

Nothing here loads a model or an index except :func:`evaluate_squad`, and that only through
the engine's public entry points (``build_index``, ``Assistant``).
"""
from __future__ import annotations

import datetime as _dt
import inspect
import json
import os
import re
import statistics
import string
import unicodedata
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.question import answer_type

# Question types named in DESIGN.md; other values are accepted (and reported) as given.
QUESTION_TYPES = ("factoid", "list", "why", "compare", "unanswerable")

RETRIEVAL_KS = (1, 3, 5, 10)
MRR_K = 10
# Share of the evidence's tokens that must appear in a chunk when the evidence quote is not
# contained verbatim (a chunk boundary can cut a quote in two).
EVIDENCE_TOKEN_SHARE = 0.6
THRESHOLD_STEP = 0.02

# The metrics `compare` and the report put first; all are keys of metrics["overall"].
HEADLINE_METRICS = (
    "hit@1",
    "hit@5",
    "hit@10",
    "mrr@10",
    "containment",
    "containment_answered",
    "exact_match",
    "f1",
    "citation_support",
    "abstention_accuracy",
    "false_abstention_rate",
    "answer_words_median",
)


def headline_keys(*overall: Mapping[str, Any]) -> tuple[str, ...]:
    """HEADLINE_METRICS, with the gold-paragraph hit after MRR where a run measured it (SQuAD)."""
    keys = list(HEADLINE_METRICS)
    if any("paragraph_hit@5" in o for o in overall):
        keys.insert(keys.index("mrr@10") + 1, "paragraph_hit@5")
    return tuple(keys)


PREDICTIONS_FILE = "predictions.jsonl"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"

_GOLD_KEYS = ("id", "type", "split", "gold_answers", "evidence")


# --------------------------------------------------------------------------- questions


@dataclass(frozen=True)
class Question:
    """One question of a set. ``answers`` empty means the right output is an abstention."""

    id: str
    question: str
    answers: tuple[str, ...] = ()
    evidence: str = ""
    type: str = "factoid"
    split: str | None = None
    # Unknown fields of the source line, kept so nothing the author wrote is lost.
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def answerable(self) -> bool:
        """True when the documents answer it (at least one gold answer)."""
        return bool(self.answers)


def _as_answers(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise QAError(f"{where}: 'answers' must be a list of strings")
    # Keep order (the first answer is the one shown), drop blanks and duplicates.
    out: list[str] = []
    for a in value:
        a = a.strip()
        if a and a not in out:
            out.append(a)
    return tuple(out)


def question_from_dict(obj: Mapping[str, Any], where: str = "question") -> Question:
    """Build a :class:`Question` from one JSONL object of DESIGN.md's format.

    Also accepts a predictions line (``gold_answers`` instead of ``answers``), which is how
    :func:`rescore` recovers the gold data.
    """
    if not isinstance(obj, Mapping):
        raise QAError(f"{where}: expected a JSON object")
    text = obj.get("question")
    if not isinstance(text, str) or not text.strip():
        raise QAError(f"{where}: 'question' must be a non-empty string")
    qid = obj.get("id")
    if qid is None or (isinstance(qid, str) and not qid.strip()):
        raise QAError(f"{where}: missing 'id'")
    answers = _as_answers(obj["gold_answers"] if "gold_answers" in obj else obj.get("answers"), where)
    qtype = obj.get("type") or ("factoid" if answers else "unanswerable")
    split = obj.get("split")
    evidence = obj.get("evidence") or ""
    if not isinstance(evidence, str):
        raise QAError(f"{where}: 'evidence' must be a string")
    known = {"id", "question", "answers", "gold_answers", "evidence", "type", "split"}
    extra = {k: v for k, v in obj.items() if k not in known}
    return Question(
        id=str(qid),
        question=text.strip(),
        answers=answers,
        evidence=evidence,
        type=str(qtype),
        split=None if split is None else str(split),
        extra=extra,
    )


def _is_squad(text: str) -> Any | None:
    """The parsed document when ``text`` is one SQuAD-format JSON object, else None."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None  # several objects: JSONL
    if isinstance(obj, dict) and isinstance(obj.get("data"), list):
        return obj
    return None


def _load_jsonl(path: Path, text: str) -> list[Question]:
    out: list[Question] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise QAError(f"{where}: not valid JSON ({e.msg})") from e
        out.append(question_from_dict(obj, where))
    return out


def _evidence_around(context: str, start: int, end: int, width: int = 200) -> str:
    """The sentence holding ``context[start:end]``, cut to about ``width`` characters.

    Always an exact substring of ``context`` (so it can be found in the indexed chunk) and
    never cuts a word in two (so its tokens match the chunk's).
    """
    s = 0
    for m in re.finditer(r"[.!?][\"')\]]*\s+", context[:start]):
        s = m.end()
    m = re.search(r"[.!?](?=[\"')\]]*(\s|$))", context[end:])
    e = end + m.end() if m else len(context)
    if e - s > width:
        half = max(0, (width - (end - start)) // 2)
        s2, e2 = max(s, start - half), min(e, end + half)
        while s2 < start and s2 > s and not context[s2 - 1].isspace():
            s2 += 1
        while e2 > end and e2 < e and not context[e2].isspace():
            e2 -= 1
        s, e = s2, e2
    return context[s:e].strip()


def _squad_articles(obj: Any, path: Path) -> list[dict[str, Any]]:
    data = obj.get("data")
    if not isinstance(data, list):
        raise QAError(f"{path}: not a SQuAD file (no 'data' list)")
    return [a for a in data if isinstance(a, dict)]


def _load_squad(path: Path, obj: Any) -> list[Question]:
    out: list[Question] = []
    seen: set[str] = set()
    for ai, article in enumerate(_squad_articles(obj, path)):
        title = _slug(str(article.get("title") or ""))
        for pi, para in enumerate(article.get("paragraphs") or []):
            context = para.get("context") or ""
            for qi, qa in enumerate(para.get("qas") or []):
                qid = str(qa.get("id") or f"a{ai}-p{pi}-q{qi}")
                if qid in seen:
                    raise QAError(f"{path}: duplicate question id {qid!r}")
                seen.add(qid)
                impossible = bool(qa.get("is_impossible"))
                golds = [] if impossible else list(qa.get("answers") or [])
                answers = _as_answers([g.get("text", "") for g in golds if isinstance(g, dict)], f"{path}:{qid}")
                evidence = ""
                if answers:
                    first = golds[0]
                    text = first.get("text", "")
                    start = first.get("answer_start")
                    if not (isinstance(start, int) and context[start : start + len(text)] == text):
                        start = context.find(text)  # bad offset in the file: trust the text
                    evidence = _evidence_around(context, start, start + len(text)) if start >= 0 else text
                extra = {k: v for k, v in qa.items() if k not in {"id", "question", "answers", "is_impossible"}}
                extra["title"] = article.get("title", "")
                # The document its paragraph becomes in open mode (see squad_paragraphs).
                extra["paragraph"] = _paragraph_name(ai, title, pi)
                out.append(
                    Question(
                        id=qid,
                        question=str(qa.get("question", "")).strip(),
                        answers=answers,
                        evidence=evidence,
                        type="factoid" if answers else "unanswerable",
                        split=None,
                        extra=extra,
                    )
                )
    return out


def load_question_set(path: Path, split: str | None = None) -> list[Question]:
    """Read a question set: DESIGN.md's JSONL or SQuAD-format JSON (sniffed by content).

    ``split`` keeps the questions whose ``split`` field equals it; questions without a split
    are kept only when ``split`` is None. A SQuAD file has no splits: there ``even`` and
    ``odd`` keep every other question, the halves qa's training scripts use (they train on
    the even positions; the odd ones are held out). Raises :class:`QAError` on a malformed line, a
    duplicate id, or when nothing is left (naming the splits present), because an empty run
    would otherwise "pass" every gate.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise QAError(f"cannot read question set {path}: {e.strerror or e}") from e
    squad = _is_squad(text)
    questions = _load_squad(path, squad) if squad is not None else _load_jsonl(path, text)
    ids = Counter(q.id for q in questions)
    dups = [i for i, c in ids.items() if c > 1]
    if dups:
        raise QAError(f"{path}: duplicate question ids: {', '.join(sorted(dups)[:5])}")
    if split is not None:
        if squad is not None and split in ("even", "odd"):
            kept = questions[0 if split == "even" else 1 :: 2]
        else:
            kept = [q for q in questions if q.split == split]
        if not kept:
            present = sorted({q.split for q in questions if q.split is not None})
            raise QAError(
                f"{path}: no questions with split {split!r}"
                + (f" (splits present: {', '.join(present)})" if present else " (the file has no splits)")
            )
        questions = kept
    if not questions:
        raise QAError(f"{path}: no questions")
    return questions


def _dashed(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _slug(text: str, limit: int = 40) -> str:
    return _dashed(text)[:limit].strip("-") or "article"


def _paragraph_name(article: int, title_slug: str, paragraph: int) -> str:
    return f"a{article:03d}-{title_slug}-p{paragraph:03d}"


def _same_document(title: str, name: str) -> bool:
    """Whether a retrieved passage's document title is the one made from file ``name``
    ("A001 warsaw p004" from ``a001-warsaw-p004.txt``)."""
    return _dashed(title) == name


def squad_paragraphs(path: Path) -> list[tuple[str, str]]:
    """(document name, paragraph text) for every paragraph of a SQuAD file, in file order.

    Names are unique, filesystem-safe and sortable: ``a003-some-title-p012``.
    """
    path = Path(path)
    obj = _is_squad(path.read_text(encoding="utf-8"))
    if obj is None:
        raise QAError(f"{path}: not a SQuAD-format JSON file")
    out: list[tuple[str, str]] = []
    for ai, article in enumerate(_squad_articles(obj, path)):
        title = _slug(str(article.get("title") or ""))
        for pi, para in enumerate(article.get("paragraphs") or []):
            context = para.get("context") or ""
            if context.strip():
                out.append((_paragraph_name(ai, title, pi), context))
    return out


# --------------------------------------------------------------------------- SQuAD metrics


_PUNCT = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (official SQuAD v1.1).

    One extension: punctuation is every Unicode punctuation character, not only ASCII, because
    the reports quote with curly quotes (“national leader”) that SQuAD's rule would glue to words.
    """

    def remove_articles(text: str) -> str:
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        return "".join(ch for ch in text if ch not in _PUNCT and not unicodedata.category(ch).startswith("P"))

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def exact_match(prediction: str, ground_truth: str) -> bool:
    """True when both normalise to the same string (official ``exact_match_score``)."""
    return normalize_answer(prediction) == normalize_answer(ground_truth)


exact_match_score = exact_match  # the name the official script and DrQA use


def f1_score(prediction: str, ground_truth: str) -> float:
    """Token-overlap F1 of the normalised strings (official SQuAD v1.1: 0 when nothing overlaps)."""
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def metric_max_over_ground_truths(
    metric_fn: Callable[[str, str], float | bool], prediction: str, ground_truths: Iterable[str]
) -> float:
    """The best score of ``prediction`` against any gold answer (0 with no golds)."""
    scores = [float(metric_fn(prediction, gt)) for gt in ground_truths]
    return max(scores) if scores else 0.0


# --------------------------------------------------------------------------- per question

_MARKER_RE = re.compile(r"\s*\[\d+(?:\s*[,;–-]\s*\d+)*\]")


def strip_markers(text: str) -> str:
    """``"It is 18 [1][2]."`` -> ``"It is 18."``: citation markers are not part of the answer."""
    return _MARKER_RE.sub("", text or "")


def _contains(haystack_norm: str, needle: str) -> bool:
    """Whether normalised ``needle`` occurs in ``haystack_norm`` on word boundaries.

    Word boundaries so that gold "18" is not "found" inside "180" or "2018".
    """
    n = normalize_answer(needle)
    return bool(n) and f" {n} " in f" {haystack_norm} "


def _normalised(text: str) -> str:
    """``text`` with citation markers removed, then SQuAD-normalised."""
    return normalize_answer(_MARKER_RE.sub(" ", text or ""))


def contains_gold(text: str, golds: Iterable[str]) -> bool:
    """Whether ``text`` (markers stripped, normalised) contains any gold answer."""
    t = _normalised(text)
    return any(_contains(t, g) for g in golds)


def chunk_is_hit(chunk_text: str, q: Question) -> bool:
    """A retrieved chunk supports ``q`` when it holds a gold answer and the evidence.

    Both, because a common answer ("2021") turns up in many chunks; the evidence is matched
    verbatim or, when a chunk boundary cut it, by 60 % of its tokens.
    """
    t = _normalised(chunk_text)
    if not any(_contains(t, g) for g in q.answers):
        return False
    ev = normalize_answer(q.evidence)
    if not ev or f" {ev} " in f" {t} ":
        return True
    ev_tokens = ev.split()
    chunk_tokens = set(t.split())
    share = sum(1 for w in ev_tokens if w in chunk_tokens) / len(ev_tokens)
    return share >= EVIDENCE_TOKEN_SHARE


def _candidate_text(pred: Mapping[str, Any]) -> str:
    """The engine's best answer, also when it was too weak to give.

    Where the engine abstained, ``answer`` holds the abstention message ("The reports don't
    answer this question."), not a candidate, so it is only used when ``found`` is true.
    """
    return pred.get("candidate") or (pred.get("answer") or "" if pred.get("found") else "")


def _found_raw(pred: Mapping[str, Any]) -> bool:
    """Whether the engine had any answer candidate, whatever its final decision."""
    return bool(pred.get("found") or _candidate_text(pred).strip() or pred.get("citations"))


def _confidence(pred: Mapping[str, Any]) -> float:
    try:
        c = float(pred.get("confidence") or 0.0)
    except (TypeError, ValueError):
        c = 0.0
    # No candidate at all: nothing a lower threshold could have let through.
    return c if _found_raw(pred) else 0.0


def asked_kind(question: str) -> str:
    """What the engine reads ``question`` as asking for ("count", "date", "person", ...,
    "other"): the answer type of :mod:`qa.question`, lower-cased. Read from the text, so old
    predictions are grouped the same way on ``--rescore``."""
    return answer_type(question).lower()


def score_prediction(q: Question, pred: Mapping[str, Any]) -> dict[str, Any]:
    """Score one prediction against its question; every field a metric needs, and no more.

    Fields that do not apply are None (e.g. ``contained`` for an unanswerable question), so
    the aggregates can tell "wrong" from "not measured".
    """
    found = bool(pred.get("found"))
    answer = pred.get("answer") or ""
    answerable = q.answerable
    row: dict[str, Any] = {
        "id": q.id,
        "type": q.type,
        "asked": asked_kind(str(pred.get("resolved_question") or q.question)),
        "answerable": answerable,
        "found": found,
        "error": bool(pred.get("error")),
        "confidence": _confidence(pred),
        "found_raw": _found_raw(pred),
        "gold_rank": None,
        "rr": None,
        "contained": None,
        "candidate_contained": None,
        "exact_match": None,
        "f1": None,
        "cited": None,
        "answer_words": len(strip_markers(answer).split()) if found else None,
        "paragraph_rank": None,
    }
    if not answerable:
        return row
    paragraph = q.extra.get("paragraph")
    if isinstance(paragraph, str) and paragraph:
        # SQuAD in open mode: the retrieval target is the gold paragraph in the top k,
        # whichever of its chunks came back (a chunk-level hit also needs the evidence).
        row["paragraph_rank"] = 0
        for i, hit in enumerate((pred.get("retrieved") or [])[:MRR_K], 1):
            if _same_document(str((hit or {}).get("title") or ""), paragraph):
                row["paragraph_rank"] = i
                break
    rank = None
    for i, hit in enumerate((pred.get("retrieved") or [])[:MRR_K], 1):
        if chunk_is_hit((hit or {}).get("text") or "", q):
            rank = i
            break
    row["gold_rank"] = rank
    row["rr"] = 1.0 / rank if rank else 0.0
    # An abstention contains nothing, whatever text came with it.
    row["contained"] = found and contains_gold(answer, q.answers)
    row["candidate_contained"] = contains_gold(_candidate_text(pred), q.answers)
    short = (pred.get("short") or "") if found else ""
    row["exact_match"] = metric_max_over_ground_truths(exact_match, short, q.answers)
    row["f1"] = metric_max_over_ground_truths(f1_score, short, q.answers)
    if found:
        row["cited"] = any(
            contains_gold((c or {}).get("quote") or "", q.answers) for c in pred.get("citations") or []
        )
    return row


# --------------------------------------------------------------------------- aggregates


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    xs = sorted(values)
    if len(xs) == 1:
        return float(xs[0])
    k = (len(xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (k - lo))


def _aggregate(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The flat metric dict of a group of scored questions."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    answered_ans = [r for r in ans if r["found"]]
    m: dict[str, Any] = {
        "n": len(rows),
        "n_answerable": len(ans),
        "n_unanswerable": len(una),
        "n_answered": sum(1 for r in rows if r["found"]),
        "n_errors": sum(1 for r in rows if r["error"]),
    }
    for k in RETRIEVAL_KS:
        m[f"hit@{k}"] = _rate(sum(1 for r in ans if r["gold_rank"] and r["gold_rank"] <= k), len(ans))
    m[f"mrr@{MRR_K}"] = _mean([r["rr"] for r in ans])
    with_para = [r for r in ans if r.get("paragraph_rank") is not None]
    if with_para:
        for k in RETRIEVAL_KS:
            m[f"paragraph_hit@{k}"] = _rate(sum(1 for r in with_para if 0 < r["paragraph_rank"] <= k), len(with_para))
    m["containment"] = _rate(sum(1 for r in ans if r["contained"]), len(ans))
    m["containment_answered"] = _rate(sum(1 for r in answered_ans if r["contained"]), len(answered_ans))
    m["exact_match"] = _mean([r["exact_match"] for r in ans])
    m["f1"] = _mean([r["f1"] for r in ans])
    m["citation_support"] = _rate(sum(1 for r in answered_ans if r["cited"]), len(answered_ans))
    m["abstention_accuracy"] = _rate(sum(1 for r in una if not r["found"]), len(una))
    m["false_abstention_rate"] = _rate(sum(1 for r in ans if not r["found"]), len(ans))
    words = [r["answer_words"] for r in rows if r["answer_words"] is not None]
    m["answer_words_median"] = float(statistics.median(words)) if words else None
    return m


def _auc(pos: Sequence[float], neg: Sequence[float]) -> float | None:
    """P(score of a random positive > a random negative), ties count half (Mann-Whitney U)."""
    if not pos or not neg:
        return None
    # Rank-based: sort all scores once, give tied scores their average rank.
    scores = sorted([(s, 1) for s in pos] + [(s, 0) for s in neg])
    rank_sum_pos = 0.0
    i = 0
    while i < len(scores):
        j = i
        while j < len(scores) and scores[j][0] == scores[i][0]:
            j += 1
        avg_rank = (i + 1 + j) / 2.0  # ranks i+1..j
        rank_sum_pos += avg_rank * sum(1 for _, lab in scores[i:j] if lab)
        i = j
    n_pos, n_neg = len(pos), len(neg)
    return (rank_sum_pos - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def _tradeoff(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What answering only at ``confidence >= t`` would give, for t in 0..1.

    Uses the best candidate even where the engine abstained, so the curve shows what a
    lower threshold would have let through, not only a higher one.
    """
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    n_steps = int(round(1 / THRESHOLD_STEP))
    thresholds = [round(i * THRESHOLD_STEP, 4) for i in range(n_steps + 1)]
    correct, abstained = [], []
    for t in thresholds:
        correct.append(
            _rate(sum(1 for r in ans if r["found_raw"] and r["confidence"] >= t and r["candidate_contained"]), len(ans))
        )
        abstained.append(_rate(sum(1 for r in una if not (r["found_raw"] and r["confidence"] >= t)), len(una)))
    auc = _auc([r["confidence"] for r in ans if r["candidate_contained"]], [r["confidence"] for r in una])
    return {"thresholds": thresholds, "answered_correct_rate": correct, "abstained_rate": abstained, "auc": auc}


def _latency(preds: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    values: dict[str, list[float]] = {}
    for p in preds:
        for k, v in (p.get("timings_ms") or {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                values.setdefault(k, []).append(float(v))
    return {k: {"p50": _percentile(v, 50), "p95": _percentile(v, 95), "n": len(v)} for k, v in values.items()}


def _type_order(types: Iterable[str]) -> list[str]:
    known = [t for t in QUESTION_TYPES if t in types]
    return known + sorted(t for t in set(types) if t not in QUESTION_TYPES)


def compute_metrics(questions: Sequence[Question], predictions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """All metrics of a run, from the questions and their predictions (paired by position).

    Returns ``{"overall": {...}, "by_type": {type: {...}}, "by_asked": {answer type the engine
    read: {...}}, "latency_ms": {stage: {p50, p95, n}},
    "tradeoff": {thresholds, answered_correct_rate, abstained_rate, auc}}``; rates with an
    empty denominator are None. ``overall.confidence_auc`` repeats the trade-off AUC so a
    floor can be set on it.
    """
    if len(questions) != len(predictions):
        raise ValueError(f"{len(questions)} questions but {len(predictions)} predictions")
    rows = [score_prediction(q, p) for q, p in zip(questions, predictions)]
    tradeoff = _tradeoff(rows)
    overall = _aggregate(rows)
    overall["confidence_auc"] = tradeoff["auc"]
    by_type = {t: _aggregate([r for r in rows if r["type"] == t]) for t in _type_order({r["type"] for r in rows})}
    # The same questions grouped by what the engine reads them as asking for: where its
    # false abstentions gather (typed questions whose answer it cannot place) and where not.
    asked = Counter(r["asked"] for r in rows)
    by_asked = {k: _aggregate([r for r in rows if r["asked"] == k]) for k, _ in asked.most_common()}
    return {"overall": overall, "by_type": by_type, "by_asked": by_asked, "latency_ms": _latency(predictions),
            "tradeoff": tradeoff}


# --------------------------------------------------------------------------- running


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temp file + rename so a crash never leaves a half-written metrics file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _prediction_line(q: Question, pred: Mapping[str, Any]) -> dict[str, Any]:
    line = dict(pred)
    # The gold fields travel with the prediction: rescore and compare need no other file.
    # "question" is the set's text (the engine's rewrite, if any, is in resolved_question).
    line.update(id=q.id, question=q.question, type=q.type, split=q.split, gold_answers=list(q.answers),
                evidence=q.evidence)
    if q.extra.get("paragraph"):
        line["paragraph"] = q.extra["paragraph"]  # SQuAD: the gold paragraph's document
    return line


def read_predictions(out_dir: Path) -> list[dict[str, Any]]:
    """The lines of ``out_dir/predictions.jsonl``."""
    path = Path(out_dir) / PREDICTIONS_FILE
    if not path.is_file():
        raise QAError(f"no {PREDICTIONS_FILE} in {out_dir}: run `qa eval` first")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise QAError(f"{path}:{n}: not valid JSON ({e.msg})") from e
    return out


def _write_outputs(out_dir: Path, metrics: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    from qa.eval_report import write_report  # late: matplotlib is only needed here

    _write_atomic(out_dir / METRICS_FILE, json.dumps(metrics, indent=2, ensure_ascii=False, default=str) + "\n")
    write_report(metrics, lines, out_dir / REPORT_FILE)


def run_eval(
    questions: Sequence[Question],
    ask: Callable[[str], dict[str, Any]],
    out_dir: Path,
    progress: bool = True,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Ask every question, save ``predictions.jsonl``, ``metrics.json`` and ``report.html``.

    ``ask`` maps a question to a prediction dict (``Answer.to_json()`` plus ``candidate``).
    Predictions are written line by line as they come, so an interrupted run keeps what it
    did. A :class:`QAError` from ``ask`` (e.g. a question the engine refuses) is recorded as
    an abstention with an ``error`` field and counted in ``n_errors``; any other exception is
    a bug and propagates. Returns the metrics (with ``meta``).
    """
    from tqdm import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = _dt.datetime.now(_dt.timezone.utc)
    lines: list[dict[str, Any]] = []
    with open(out_dir / PREDICTIONS_FILE, "w", encoding="utf-8") as f:
        for q in tqdm(questions, desc="eval", unit="q", disable=not progress):
            try:
                pred = dict(ask(q.question))
            except QAError as e:
                pred = {"question": q.question, "found": False, "answer": "", "short": "", "confidence": 0.0,
                        "message": str(e), "citations": [], "retrieved": [], "timings_ms": {},
                        "error": f"{type(e).__name__}: {e}"}
            line = _prediction_line(q, pred)
            lines.append(line)
            f.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
            f.flush()
    metrics = compute_metrics(questions, lines)
    metrics["meta"] = {
        **(meta or {}),
        "date": started.replace(microsecond=0).isoformat(),
        "duration_s": round((_dt.datetime.now(_dt.timezone.utc) - started).total_seconds(), 2),
        "n_questions": len(questions),
    }
    _write_outputs(out_dir, metrics, lines)
    return metrics


def rescore(out_dir: Path) -> dict[str, Any]:
    """Recompute ``metrics.json`` and ``report.html`` from ``predictions.jsonl`` alone.

    Keeps the run's meta (set, model, date) from the old metrics.json when there is one.
    """
    out_dir = Path(out_dir)
    lines = read_predictions(out_dir)
    questions = [question_from_dict(line, f"{out_dir / PREDICTIONS_FILE}:{i}") for i, line in enumerate(lines, 1)]
    metrics = compute_metrics(questions, lines)
    meta: dict[str, Any] = {}
    old = out_dir / METRICS_FILE
    if old.is_file():
        try:
            meta = dict(json.loads(old.read_text(encoding="utf-8")).get("meta") or {})
        except (json.JSONDecodeError, AttributeError):
            meta = {}
    meta["rescored_at"] = _now()
    metrics["meta"] = meta
    _write_outputs(out_dir, metrics, lines)
    return metrics


# --------------------------------------------------------------------------- compare


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _delta(a: Any, b: Any) -> str:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return ""
    d = b - a
    return "0" if abs(d) < 1e-12 else f"{d:+.3f}"


def _shorten(text: str, limit: int = 100) -> str:
    t = " ".join(strip_markers(text).split())
    return t if len(t) <= limit else t[: limit - 1].rstrip() + "…"


def _scored(out_dir: Path) -> tuple[dict[str, Any], dict[str, tuple[dict[str, Any], dict[str, Any]]]]:
    lines = read_predictions(out_dir)
    questions = [question_from_dict(line, f"{out_dir}:{i}") for i, line in enumerate(lines, 1)]
    metrics = compute_metrics(questions, lines)
    by_id = {q.id: (line, score_prediction(q, line)) for q, line in zip(questions, lines)}
    return metrics, by_id


def compare(dir_a: Path, dir_b: Path) -> str:
    """A plain-text diff of two runs: metric deltas (overall, per type) and changed questions.

    Both runs are re-scored from their predictions, so a change in the scoring code cannot
    masquerade as a change in the engine.
    """
    dir_a, dir_b = Path(dir_a), Path(dir_b)
    ma, qa_ = _scored(dir_a)
    mb, qb = _scored(dir_b)
    out: list[str] = [f"A: {dir_a}", f"B: {dir_b}", ""]

    def table(title: str, a: Mapping[str, Any], b: Mapping[str, Any], keys: Sequence[str]) -> None:
        out.append(f"{title} (A n={a.get('n', 0)}, B n={b.get('n', 0)})")
        out.append(f"  {'metric':<24}{'A':>9}{'B':>9}{'delta':>9}")
        for k in keys:
            out.append(f"  {k:<24}{_fmt(a.get(k)):>9}{_fmt(b.get(k)):>9}{_delta(a.get(k), b.get(k)):>9}")
        out.append("")

    table("overall", ma["overall"], mb["overall"], (*headline_keys(ma["overall"], mb["overall"]), "confidence_auc"))
    for t in _type_order(set(ma["by_type"]) | set(mb["by_type"])):
        table(f"type {t}", ma["by_type"].get(t, {}), mb["by_type"].get(t, {}), HEADLINE_METRICS)

    changed: list[str] = []
    for qid in [i for i in qa_ if i in qb]:
        (la, sa), (lb, sb) = qa_[qid], qb[qid]
        what = []
        if sa["answerable"] and sa["contained"] != sb["contained"]:
            what.append(f"containment {'yes' if sa['contained'] else 'no'} -> {'yes' if sb['contained'] else 'no'}")
        if sa["found"] != sb["found"]:
            what.append(f"{'answered' if sa['found'] else 'abstained'} -> {'answered' if sb['found'] else 'abstained'}")
        if sa["answerable"] and sa["gold_rank"] != sb["gold_rank"]:
            what.append(f"gold rank {_fmt(sa['gold_rank'])} -> {_fmt(sb['gold_rank'])}")
        if what:
            changed.append(f"{qid} [{sa['type']}]: {'; '.join(what)}")
            changed.append(f"    Q: {_shorten(la.get('question') or '', 120)}")
            changed.append(f"    A: {_shorten(la.get('answer') or '') or '(abstained)'}")
            changed.append(f"    B: {_shorten(lb.get('answer') or '') or '(abstained)'}")
    only_a = sorted(set(qa_) - set(qb))
    only_b = sorted(set(qb) - set(qa_))
    n_changed = sum(1 for c in changed if not c.startswith("    "))
    out.append(f"changed questions: {n_changed}")
    out.extend(changed)
    if only_a:
        out.append(f"only in A: {', '.join(only_a)}")
    if only_b:
        out.append(f"only in B: {', '.join(only_b)}")
    return "\n".join(out) + "\n"


def format_headline(metrics: Mapping[str, Any]) -> str:
    """A few lines for the terminal: counts and the headline metrics of the run."""
    o = metrics.get("overall") or {}
    lines = [f"n={o.get('n', 0)} (answerable {o.get('n_answerable', 0)}, unanswerable {o.get('n_unanswerable', 0)}"
             + (f", errors {o['n_errors']}" if o.get("n_errors") else "") + ")"]
    keys = (*headline_keys(o), "confidence_auc")
    width = max(len(k) for k in keys)
    lines += [f"  {k:<{width}}  {_fmt(o.get(k))}" for k in keys]
    lat = (metrics.get("latency_ms") or {}).get("total")
    if lat:
        lines.append(f"  {'latency total':<{width}}  p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms")
    return "\n".join(lines)


# --------------------------------------------------------------------------- gate


def _lookup(metrics: Mapping[str, Any], dotted: str) -> Any:
    """``"by_type.factoid.hit@5"`` -> metrics["by_type"]["factoid"]["hit@5"] (KeyError if absent)."""
    node: Any = metrics
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def check_floors(metrics: Mapping[str, Any], floors: Mapping[str, float]) -> list[str]:
    """The failed gates of a CI regression check, as messages (empty list: all pass).

    ``floors`` maps a dotted metric path to a minimum (``"overall.hit@5": 0.9``), or with a
    ``max:`` prefix to a maximum (``"max:overall.false_abstention_rate": 0.2``). A metric
    that is missing or not measured (None) fails: a gate that silently passes on an empty
    group would hide a broken question set.
    """
    failures: list[str] = []
    for key, bound in floors.items():
        is_max = key.startswith("max:")
        path = key[4:] if is_max else key
        if path.startswith("min:"):
            path = path[4:]
        try:
            value = _lookup(metrics, path)
        except KeyError:
            failures.append(f"{path}: no such metric")
            continue
        if value is None:
            failures.append(f"{path}: not measured (no questions of that kind)")
            continue
        if not isinstance(value, (int, float)):
            failures.append(f"{path}: not a number ({value!r})")
            continue
        if is_max and value > bound:
            failures.append(f"{path} = {value:.3f} is above the ceiling {bound:.3f}")
        elif not is_max and value < bound:
            failures.append(f"{path} = {value:.3f} is below the floor {bound:.3f}")
    return failures


# --------------------------------------------------------------------------- SQuAD end to end


def _operating_threshold(assistant: Any) -> float | None:
    """The engine's abstention threshold, when it exposes one (best effort: only for the report)."""
    selector = getattr(assistant, "selector", None)
    settings = getattr(selector, "settings", None)
    for value in (
        getattr(settings, "threshold", None),
        getattr(selector, "threshold", None),
        getattr(assistant, "threshold", None),
    ):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def evaluate_squad(
    path: Path,
    out_dir: Path,
    embedder: Any = None,
    top_k: int = 10,
    progress: bool = True,
    split: str | None = None,
) -> dict[str, Any]:
    """Evaluate the engine on a SQuAD file in open mode (retrieval over all its paragraphs).

    Each paragraph becomes one .txt file in a temporary folder, indexed into a temporary
    index (the project's ``index/`` is never touched); both are removed afterwards. ``split``
    ``even``/``odd`` asks every other question (all paragraphs are indexed either way).
    """
    from qa.assistant import Assistant
    from qa.indexer import build_index

    path = Path(path)
    questions = load_question_set(path, split=split)
    paragraphs = squad_paragraphs(path)
    with tempfile.TemporaryDirectory(prefix="qa-squad-", ignore_cleanup_errors=True) as tmp:
        docs_dir, index_dir = Path(tmp) / "docs", Path(tmp) / "index"
        docs_dir.mkdir()
        for name, text in paragraphs:
            (docs_dir / f"{name}.txt").write_text(text.strip() + "\n", encoding="utf-8")
        build_index(docs_dir, index_dir, embedder=embedder, progress=progress)
        # Pass the embedder on when Assistant.load takes one: an index built with a test
        # embedder cannot be queried with the default model.
        load_kwargs: dict[str, Any] = {"index_dir": index_dir, "docs_dir": docs_dir}
        if embedder is not None and "embedder" in inspect.signature(Assistant.load).parameters:
            load_kwargs["embedder"] = embedder
        assistant = Assistant.load(**load_kwargs)
        try:
            meta = {
                "set": str(path),
                "split": split,
                "mode": "open",
                "model": getattr(embedder, "name", None) or os.environ.get("QA_MODEL") or "default",
                "n_paragraphs": len(paragraphs),
                "top_k": top_k,
            }
            threshold = _operating_threshold(assistant)
            if threshold is not None:
                meta["threshold"] = threshold  # marked on the report's trade-off chart
            return run_eval(
                questions,
                lambda text: assistant.ask(text, top_k=top_k).to_json(),
                Path(out_dir),
                progress=progress,
                meta=meta,
            )
        finally:
            close = getattr(assistant, "close", None)
            if callable(close):
                close()
