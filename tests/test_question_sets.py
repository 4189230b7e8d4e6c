"""Validate the evaluation question sets in tests/questions/.

Checks both report.jsonl (dev/test) and fresh.jsonl (held-out, all test) so
that the gold answers and evidence cannot silently drift away from the report
text. Stdlib + pytest only.
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
QUESTIONS_DIR = REPO_ROOT / "tests" / "questions"
REPORT_NAME = "central-asia-peace-and-security-monitor-2022.txt"
REPORT_CANDIDATES = [
    REPO_ROOT / "source_docs" / REPORT_NAME,
    Path("/work/shared/reports") / REPORT_NAME,
]

SET_FILES = {
    "report": QUESTIONS_DIR / "report.jsonl",
    "fresh": QUESTIONS_DIR / "fresh.jsonl",
    "fresh2": QUESTIONS_DIR / "fresh2.jsonl",
    "fresh3": QUESTIONS_DIR / "fresh3.jsonl",
}
ID_PREFIX = {"report": "r", "fresh": "f", "fresh2": "g", "fresh3": "h"}

ALLOWED_TYPES = {"factoid", "list", "why", "compare", "unanswerable"}
ALLOWED_SPLITS = {"dev", "test"}
REQUIRED_FIELDS = {
    "id": str,
    "question": str,
    "answers": list,
    "evidence": str,
    "type": str,
    "split": str,
}

MIN_REPORT_QUESTIONS = 120
MIN_REPORT_UNANSWERABLE = 20
MIN_FRESH_QUESTIONS = 40
MIN_FRESH_UNANSWERABLE = 7
EVIDENCE_MIN_WORDS = 8
EVIDENCE_MAX_WORDS = 40
MAX_ANSWERS = 3


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


@pytest.fixture(scope="module")
def report_variants():
    for path in REPORT_CANDIDATES:
        if path.exists():
            r1 = norm(path.read_text(encoding="utf-8"))
            r2 = re.sub(r"(\w)- (\w)", r"\1-\2", r1)  # line-end hyphen joined, kept
            r3 = re.sub(r"(\w)- (\w)", r"\1\2", r1)  # line-end hyphen removed
            return (r1, r2, r3)
    pytest.fail(
        "report text not found; looked in: "
        + ", ".join(str(p) for p in REPORT_CANDIDATES)
    )


def in_report(text, variants):
    x = norm(text)
    return any(x in r for r in variants)


def load_jsonl(path):
    """Return list of (line_no, record); fail on invalid JSON."""
    assert path.exists(), f"missing question file {path}"
    records = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                pytest.fail(f"{path.name}:{line_no}: invalid JSON: {exc}")
            assert isinstance(rec, dict), f"{path.name}:{line_no}: not a JSON object"
            records.append((line_no, rec))
    return records


@pytest.fixture(scope="module")
def sets():
    return {name: load_jsonl(path) for name, path in SET_FILES.items()}


@pytest.mark.parametrize("name", sorted(SET_FILES))
def test_fields_and_types(sets, name):
    errors = []
    for line_no, rec in sets[name]:
        where = f"{name}:{line_no}"
        field_errors = []
        for field, typ in REQUIRED_FIELDS.items():
            if field not in rec:
                field_errors.append(f"{where}: missing field {field!r}")
            elif not isinstance(rec[field], typ):
                field_errors.append(f"{where}: field {field!r} should be {typ.__name__}")
        if field_errors:
            errors.extend(field_errors)
            continue
        if not rec["id"].startswith(ID_PREFIX[name]):
            errors.append(f"{where}: id {rec['id']!r} should start with {ID_PREFIX[name]!r}")
        if not rec["question"].strip():
            errors.append(f"{where}: empty question")
        if rec["type"] not in ALLOWED_TYPES:
            errors.append(f"{where}: bad type {rec['type']!r}")
        if rec["split"] not in ALLOWED_SPLITS:
            errors.append(f"{where}: bad split {rec['split']!r}")
        if name == "fresh" and rec["split"] != "test":
            errors.append(f"{where}: fresh questions must all be split 'test'")
        answers = rec["answers"]
        if not all(isinstance(a, str) and a.strip() for a in answers):
            errors.append(f"{where}: answers must be non-empty strings")
        if len(answers) > MAX_ANSWERS:
            errors.append(f"{where}: more than {MAX_ANSWERS} answers")
        if rec["type"] == "unanswerable":
            if answers:
                errors.append(f"{where}: unanswerable question has answers")
            if rec["evidence"] != "":
                errors.append(f"{where}: unanswerable question has evidence")
        elif not answers:
            errors.append(f"{where}: answerable question has no answers")
    assert not errors, "\n".join(errors)


def test_ids_unique_across_files(sets):
    ids = [rec.get("id") for name in sets for _, rec in sets[name]]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"duplicate ids: {dupes}"


def test_questions_unique_across_files(sets):
    qs = [norm(rec.get("question", "")).lower() for name in sets for _, rec in sets[name]]
    dupes = [q for q, n in Counter(qs).items() if n > 1]
    assert not dupes, f"duplicate questions: {dupes}"


def test_no_dev_question_is_a_near_copy_of_a_held_out_one(sets):
    """Tuning on a near-copy of a held-out question would flatter the held-out numbers.
    Questions about one report converge on its salient facts even when written apart, so
    the sets were checked (token overlap) and dev lost its near-copies."""
    def words(q):
        return set(re.findall(r"\w+", q.lower()))

    dev = [rec for _, rec in sets["report"] if rec["split"] == "dev"]
    held = [(rec["id"], words(rec["question"])) for name in sets if name != "report" for _, rec in sets[name]]
    close = []
    for d in dev:
        a = words(d["question"])
        for hid, b in held:
            if len(a & b) / len(a | b) >= 0.75:
                close.append((d["id"], hid))
    assert not close, f"dev questions too close to held-out ones: {close}"


@pytest.mark.parametrize("name", sorted(SET_FILES))
def test_answers_and_evidence_in_report(sets, report_variants, name):
    errors = []
    for line_no, rec in sets[name]:
        where = f"{name}:{line_no} ({rec.get('id')})"
        if rec.get("type") == "unanswerable":
            continue
        answers = rec.get("answers") or []
        evidence = rec.get("evidence", "")
        for a in answers:
            if not in_report(a, report_variants):
                errors.append(f"{where}: answer not found in report: {a!r}")
        if not in_report(evidence, report_variants):
            errors.append(f"{where}: evidence not found in report: {evidence!r}")
        n_words = len(norm(evidence).split())
        if not EVIDENCE_MIN_WORDS <= n_words <= EVIDENCE_MAX_WORDS:
            errors.append(f"{where}: evidence has {n_words} words")
        if answers and norm(answers[0]) not in norm(evidence):
            errors.append(f"{where}: first answer {answers[0]!r} not inside evidence")
    assert not errors, "\n".join(errors)


def test_report_set_size_and_balance(sets):
    recs = [rec for _, rec in sets["report"]]
    types = Counter(r.get("type") for r in recs)
    assert len(recs) >= MIN_REPORT_QUESTIONS, f"only {len(recs)} questions"
    assert types["unanswerable"] >= MIN_REPORT_UNANSWERABLE, types
    missing = []
    for t in sorted(ALLOWED_TYPES):
        splits = {r.get("split") for r in recs if r.get("type") == t}
        if splits != ALLOWED_SPLITS:
            missing.append(f"type {t!r} has splits {sorted(splits)}")
    assert not missing, "; ".join(missing)


def test_fresh_set_size(sets):
    recs = [rec for _, rec in sets["fresh"]]
    types = Counter(r.get("type") for r in recs)
    assert len(recs) >= MIN_FRESH_QUESTIONS, f"only {len(recs)} questions"
    assert types["unanswerable"] >= MIN_FRESH_UNANSWERABLE, types
