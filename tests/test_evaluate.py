"""Tests of the evaluation library: metrics on synthetic predictions, no model."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from qa.errors import QAError
from qa.evaluate import (
    Question,
    check_floors,
    chunk_is_hit,
    compare,
    compute_metrics,
    exact_match,
    f1_score,
    load_question_set,
    metric_max_over_ground_truths,
    normalize_answer,
    read_predictions,
    rescore,
    run_eval,
    score_prediction,
    squad_paragraphs,
    strip_markers,
)

EVIDENCE = "Voters must be at least 18 years old on election day."


def pred(
    answer: str = "",
    found: bool = True,
    short: str = "",
    confidence: float = 0.5,
    retrieved: list[str] | None = None,
    quotes: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A prediction dict shaped like ``Answer.to_json()``."""
    return {
        "question": "q?",
        "found": found,
        "answer": answer,
        "short": short,
        "confidence": confidence,
        "message": "",
        "citations": [{"n": i + 1, "quote": t} for i, t in enumerate(quotes or [])],
        "retrieved": [{"chunk_id": f"c{i}", "text": t, "score": 1.0 - i / 10} for i, t in enumerate(retrieved or [])],
        "timings_ms": {"embed": 2.0, "retrieve": 4.0, "answer": 6.0, "total": 12.0},
        **extra,
    }


Q_AGE = Question(id="q1", question="How old must voters be?", answers=("at least 18", "18"), evidence=EVIDENCE)
Q_NONE = Question(id="q2", question="What is the capital of Mars?", type="unanswerable")


# --------------------------------------------------------------------------- SQuAD metrics


def test_normalize_answer_matches_official_script() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear and THE fig.") == "apple pear and fig"
    assert normalize_answer("Theatre") == "theatre"  # articles only as whole words
    assert normalize_answer("") == ""


def test_exact_match_and_f1_on_squad_examples() -> None:
    # SQuAD v1.1 dev, Super Bowl 50: golds "Denver Broncos" x3
    golds = ["Denver Broncos", "Denver Broncos", "Denver Broncos"]
    assert metric_max_over_ground_truths(exact_match, "the Denver Broncos", golds) == 1.0
    assert metric_max_over_ground_truths(f1_score, "Broncos", golds) == pytest.approx(2 / 3)
    assert f1_score("the cat sat", "cat sat on mat") == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert f1_score("", "anything") == 0.0
    assert f1_score("a", "the") == 0.0  # both empty after normalisation: v1.1 scores 0
    assert not exact_match("Santa Clara", "Levi's Stadium")
    assert metric_max_over_ground_truths(f1_score, "x", []) == 0.0


def test_strip_markers() -> None:
    assert strip_markers("It is 18 [1][2]. Also [3, 4] x.") == "It is 18. Also x."


# --------------------------------------------------------------------------- retrieval


def test_chunk_hit_needs_answer_and_evidence() -> None:
    assert chunk_is_hit("Intro. " + EVIDENCE + " More.", Q_AGE)
    # answer present, evidence absent: a coincidental "18"
    assert not chunk_is_hit("In 18 regions turnout rose.", Q_AGE)
    # evidence cut by a chunk boundary: 60 % of its tokens are enough
    assert chunk_is_hit("must be at least 18 years old on", Q_AGE)
    # evidence without the answer
    assert not chunk_is_hit("Voters must be old on election day.", Q_AGE)
    # "18" inside "180" is not the answer
    assert not chunk_is_hit("Voters must be 180 years old on election day.", Q_AGE)


def test_hit_at_k_and_mrr() -> None:
    miss = "Nothing relevant here."
    good = EVIDENCE
    qs = [Q_AGE, Q_AGE, Q_AGE, Q_NONE]
    ps = [
        pred(retrieved=[good, miss]),  # rank 1
        pred(retrieved=[miss, miss, miss, good]),  # rank 4
        pred(retrieved=[miss] * 10 + [good]),  # rank 11: outside top 10
        pred(found=False, retrieved=[good]),  # unanswerable: excluded
    ]
    ranks = [score_prediction(q, p)["gold_rank"] for q, p in zip(qs, ps)]
    assert ranks == [1, 4, None, None]
    m = compute_metrics(qs, ps)["overall"]
    assert m["hit@1"] == pytest.approx(1 / 3)
    assert m["hit@3"] == pytest.approx(1 / 3)
    assert m["hit@5"] == pytest.approx(2 / 3)
    assert m["hit@10"] == pytest.approx(2 / 3)
    assert m["mrr@10"] == pytest.approx((1 + 0.25 + 0) / 3)


# --------------------------------------------------------------------------- answers


def test_containment_citation_abstention() -> None:
    q_why = Question(id="q3", question="Why?", answers=("turnout fell",), evidence="", type="why")
    qs = [Q_AGE, Q_AGE, Q_AGE, q_why, Q_NONE, Q_NONE]
    ps = [
        pred("Voters must be at least 18 [1].", short="18", quotes=[EVIDENCE]),  # contained, cited, EM
        pred("Voters must be adults [1].", short="adults", quotes=["Something else."]),  # answered, wrong
        pred("", found=False, short="18"),  # false abstention: short ignored
        pred("Because turnout fell sharply [1].", short="turnout fell sharply", quotes=["no"]),
        pred("", found=False),  # correct abstention
        pred("Olympus City [1].", short="Olympus City"),  # answered an unanswerable
    ]
    res = compute_metrics(qs, ps)
    m = res["overall"]
    assert (m["n"], m["n_answerable"], m["n_unanswerable"]) == (6, 4, 2)
    assert m["containment"] == pytest.approx(2 / 4)
    assert m["containment_answered"] == pytest.approx(2 / 3)
    assert m["citation_support"] == pytest.approx(1 / 3)
    assert m["abstention_accuracy"] == pytest.approx(1 / 2)
    assert m["false_abstention_rate"] == pytest.approx(1 / 4)
    f1_why = f1_score("turnout fell sharply", "turnout fell")
    assert m["exact_match"] == pytest.approx(1 / 4)
    assert m["f1"] == pytest.approx((1 + 0 + 0 + f1_why) / 4)
    # words, markers stripped: 5, 4, 4, 2 -> median 4
    assert m["answer_words_median"] == 4.0
    assert res["by_type"]["why"]["containment"] == 1.0
    assert res["by_type"]["unanswerable"]["abstention_accuracy"] == 0.5
    assert res["by_type"]["unanswerable"]["containment"] is None
    assert list(res["by_type"]) == ["factoid", "why", "unanswerable"]
    assert res["latency_ms"]["total"]["p50"] == 12.0


def test_abstention_message_is_not_an_answer() -> None:
    q = Question(id="q", question="Does it answer?", answers=("answer",), evidence="")
    s = score_prediction(q, pred("The reports don't answer this question.", found=False, confidence=0.9))
    assert s["contained"] is False and s["candidate_contained"] is False
    assert s["found_raw"] is False and s["confidence"] == 0.0 and s["answer_words"] is None


def test_tradeoff_curve_and_auc() -> None:
    qs = [Q_AGE, Q_AGE, Q_NONE, Q_NONE]
    ps = [
        pred("at least 18 [1]", confidence=0.9),
        # the engine abstained but kept its candidate: a lower threshold would have answered it
        pred("", found=False, confidence=0.3, candidate="at least 18"),
        pred("", found=False, confidence=0.2, candidate="Olympus"),
        # no candidate at all (the answer text is only the abstention message): confidence counts as 0
        pred("The reports don't answer this question.", found=False, confidence=0.8),
    ]
    tr = compute_metrics(qs, ps)["tradeoff"]
    assert len(tr["thresholds"]) == 51 and tr["thresholds"][-1] == 1.0
    at = dict(zip(tr["thresholds"], zip(tr["answered_correct_rate"], tr["abstained_rate"])))
    assert at[0.0] == (1.0, 0.5)
    assert at[0.3] == (1.0, 1.0)
    assert at[0.5] == (0.5, 1.0)
    assert at[1.0] == (0.0, 1.0)
    # positives 0.9, 0.3 vs negatives 0.2, 0.0: perfectly separated
    assert tr["auc"] == 1.0


# --------------------------------------------------------------------------- running


def _fake_run(tmp_path: Path, name: str, answers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    qs = [Q_AGE, Q_NONE, Question(id="q3", question="Who <b>won</b>?", answers=("Ana",), evidence="Ana won.")]
    by_text = {q.question: answers[q.id] for q in qs}
    return run_eval(qs, lambda text: by_text[text], tmp_path / name, progress=False, meta={"model": "fake"})


def test_run_eval_then_rescore_gives_same_metrics(tmp_path: Path) -> None:
    m1 = _fake_run(
        tmp_path,
        "a",
        {
            "q1": pred("at least 18 [1]", short="18", quotes=[EVIDENCE], retrieved=[EVIDENCE]),
            "q2": pred("", found=False),
            "q3": pred("Bo [1]", short="Bo", retrieved=["x", "Ana won."]),
        },
    )
    out = tmp_path / "a"
    lines = read_predictions(out)
    assert [line["id"] for line in lines] == ["q1", "q2", "q3"]
    assert lines[0]["gold_answers"] == ["at least 18", "18"] and lines[0]["evidence"] == EVIDENCE
    assert json.loads((out / "metrics.json").read_text())["meta"]["model"] == "fake"
    assert (out / "report.html").is_file()
    m2 = rescore(out)
    assert {k: v for k, v in m1.items() if k != "meta"} == {k: v for k, v in m2.items() if k != "meta"}
    assert m2["meta"]["model"] == "fake"  # meta survives a rescore
    assert m1["overall"]["containment"] == 0.5


def test_run_eval_records_engine_refusals(tmp_path: Path) -> None:
    def ask(text: str) -> dict[str, Any]:
        raise QAError("question too long")

    m = run_eval([Q_AGE], ask, tmp_path / "r", progress=False)
    assert m["overall"]["n_errors"] == 1 and m["overall"]["false_abstention_rate"] == 1.0


def test_compare_lists_changed_questions(tmp_path: Path) -> None:
    base = {"q2": pred("", found=False), "q3": pred("Bo", short="Bo")}
    _fake_run(tmp_path, "a", {"q1": pred("", found=False), **base})
    _fake_run(tmp_path, "b", {"q1": pred("at least 18 [1]", retrieved=[EVIDENCE]), **base})
    text = compare(tmp_path / "a", tmp_path / "b")
    assert "containment" in text and "+0.500" in text
    assert "q1 [factoid]: containment no -> yes; abstained -> answered; gold rank – -> 1" in text
    assert "q3 [" not in text
    assert "changed questions: 1" in text


def test_check_floors() -> None:
    metrics = {"overall": {"hit@5": 0.95, "containment": 0.6, "false_abstention_rate": 0.3,
                           "abstention_accuracy": None}}
    floors = {
        "overall.hit@5": 0.9,
        "overall.containment": 0.7,
        "max:overall.false_abstention_rate": 0.2,
        "overall.abstention_accuracy": 0.5,
        "overall.nope": 0.1,
    }
    fails = check_floors(metrics, floors)
    assert len(fails) == 4
    assert any("containment" in f and "below" in f for f in fails)
    assert any("false_abstention_rate" in f and "above" in f for f in fails)
    assert any("abstention_accuracy" in f and "not measured" in f for f in fails)
    assert any("nope" in f for f in fails)
    assert check_floors(metrics, {"overall.hit@5": 0.95, "max:overall.false_abstention_rate": 0.3}) == []


def test_report_escapes_prediction_text(tmp_path: Path) -> None:
    _fake_run(
        tmp_path,
        "x",
        {
            "q1": pred("<script>alert(1)</script>", short="x"),
            "q2": pred("<img src=x onerror=alert(2)>"),
            "q3": pred("", found=False),
        },
    )
    page = (tmp_path / "x" / "report.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page
    assert "Who &lt;b&gt;won&lt;/b&gt;?" in page
    assert page.count("data:image/png;base64,") == 2


# --------------------------------------------------------------------------- loading

SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Super Bowl 50",
            "paragraphs": [
                {
                    "context": "Super Bowl 50 was an American football game. The American Football Conference "
                    "champion Denver Broncos defeated the National Football Conference champion Carolina "
                    "Panthers 24–10 to earn their third Super Bowl title. The game was played in Santa Clara.",
                    "qas": [
                        {"id": "s1", "question": "Which team won Super Bowl 50?",
                         "answers": [{"text": "Denver Broncos", "answer_start": 87},
                                     {"text": "Denver Broncos", "answer_start": 87}]},
                        {"id": "s2", "question": "Who lost Super Bowl 60?", "answers": [],
                         "plausible_answers": [{"text": "Carolina Panthers", "answer_start": 153}],
                         "is_impossible": True},
                    ],
                },
                {
                    "context": "The game was played at Levi's Stadium.",
                    "qas": [{"id": "s3", "question": "Where was it played?",
                             "answers": [{"text": "Levi's Stadium", "answer_start": 999}]}],
                },
            ],
        },
        {
            "title": "Oxygen",
            "paragraphs": [{"context": "Oxygen is a chemical element with symbol O and atomic number 8.",
                            "qas": [{"id": "s4", "question": "What is the atomic number of oxygen?",
                                     "answers": [{"text": "8", "answer_start": 61}]}]}],
        },
    ],
}


def test_load_squad(tmp_path: Path) -> None:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD))
    qs = load_question_set(path)
    assert [q.id for q in qs] == ["s1", "s2", "s3", "s4"]
    s1, s2, s3, s4 = qs
    assert s1.answers == ("Denver Broncos",) and s1.type == "factoid"
    assert s1.evidence.startswith("The American Football Conference") and s1.evidence in SQUAD["data"][0][
        "paragraphs"][0]["context"]
    assert len(s1.evidence) <= 200 and "Denver Broncos" in s1.evidence
    assert s2.answers == () and s2.type == "unanswerable" and s2.extra["plausible_answers"]
    assert s3.evidence == "The game was played at Levi's Stadium."  # bad answer_start: found by text
    assert s4.evidence.endswith("atomic number 8.")
    paras = squad_paragraphs(path)
    assert [n for n, _ in paras] == ["a000-super-bowl-50-p000", "a000-super-bowl-50-p001", "a001-oxygen-p000"]
    with pytest.raises(QAError, match="no questions with split"):
        load_question_set(path, split="test")


def test_load_jsonl_with_split(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    rows = [
        {"id": "a", "question": "One?", "answers": ["1"], "evidence": "one is 1", "type": "factoid", "split": "dev"},
        {"id": "b", "question": "Two?", "answers": [], "split": "test", "note": "kept"},
        {"id": "c", "question": "Three?", "answers": "3"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert [q.id for q in load_question_set(path)] == ["a", "b", "c"]
    (b,) = load_question_set(path, split="test")
    assert b.type == "unanswerable" and b.extra == {"note": "kept"} and not b.answerable
    assert load_question_set(path)[2].answers == ("3",)
    with pytest.raises(QAError, match="splits present: dev, test"):
        load_question_set(path, split="train")
    path.write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[0]) + "\n")
    with pytest.raises(QAError, match="duplicate"):
        load_question_set(path)
    path.write_text('{"id": "x"}\n')
    with pytest.raises(QAError, match="question"):
        load_question_set(path)


# --------------------------------------------------------------------------- end to end


def test_evaluate_squad_with_hashing_embedder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("qa.assistant")
    pytest.importorskip("qa.indexer")
    from qa.embed import make_embedder
    from qa.evaluate import evaluate_squad, format_headline

    data = {"data": [SQUAD["data"][0], SQUAD["data"][1]]}
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # to check the temp index is removed
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data))
    out = tmp_path / "run"
    m = evaluate_squad(path, out, embedder=make_embedder("hashing-256"), top_k=10, progress=False)
    assert m["overall"]["n"] == 4 and m["overall"]["n_unanswerable"] == 1
    assert m["meta"]["n_paragraphs"] == 3
    assert (out / "predictions.jsonl").is_file() and (out / "report.html").is_file()
    # with three paragraphs every gold paragraph is in the top 10
    assert m["overall"]["hit@10"] == 1.0
    assert m["overall"]["paragraph_hit@10"] == 1.0
    assert not list(scratch.glob("qa-squad-*"))
    assert "hit@5" in format_headline(m) and "paragraph_hit@5" in format_headline(m)
    # Rescoring from predictions alone keeps the gold paragraph.
    assert rescore(out)["overall"]["paragraph_hit@10"] == 1.0


def test_paragraph_hit_counts_any_chunk_of_the_gold_paragraph() -> None:
    """SQuAD's retrieval target: the gold paragraph in the top k, whichever chunk came back."""
    from qa.evaluate import compute_metrics, format_headline, question_from_dict

    q = question_from_dict({"id": "p", "question": "Where was it played?", "answers": ["Levi's Stadium"],
                            "evidence": "The game was played at Levi's Stadium.", "paragraph": "a000-super-bowl-50-p001"})
    other = {"title": "A001 oxygen p000", "text": "Oxygen is a chemical element."}
    gold_half = {"title": "A000 super bowl 50 p001", "text": "The crowd was large."}  # the chunk without the answer
    pred = {"found": False, "answer": "", "retrieved": [other, other, gold_half]}
    o = compute_metrics([q], [pred])["overall"]
    assert o["hit@10"] == 0.0  # no retrieved chunk holds the answer
    assert o["paragraph_hit@1"] == 0.0 and o["paragraph_hit@3"] == 1.0
    plain = question_from_dict({"id": "j", "question": "?", "answers": ["x"]})
    o2 = compute_metrics([plain], [{"found": False, "answer": "", "retrieved": []}])["overall"]
    assert "paragraph_hit@5" not in o2 and "paragraph_hit@5" not in format_headline({"overall": o2})


def test_matching_ignores_curly_quotes_and_footnote_markers() -> None:
    """The report quotes with curly quotes and glues footnote markers to words: both are noise."""
    from qa.evaluate import chunk_is_hit, contains_gold, question_from_dict

    q = question_from_dict({"id": "x", "question": "?", "answers": ["tanks, artillery and rocket launchers"],
                            "evidence": "involving tanks, artillery and rocket launchers."})
    assert chunk_is_hit("fighting on Friday involving tanks, artillery and rocket launchers.’[23] Around", q)
    assert contains_gold("stripped of his “national leader” status[12]", ["national leader"])
    assert not contains_gold("in 2018[3]", ["18"])


def test_squad_halves_by_position(tmp_path: Path) -> None:
    """A SQuAD file has no splits; even/odd keep every other question (the training halves)."""
    import json as _json

    qas = [{"id": f"q{i}", "question": f"Question {i}?", "answers": [{"text": "x", "answer_start": 0}]} for i in range(5)]
    path = tmp_path / "s.json"
    path.write_text(_json.dumps({"data": [{"title": "T", "paragraphs": [{"context": "x y z", "qas": qas}]}]}))
    assert [q.id for q in load_question_set(path, split="even")] == ["q0", "q2", "q4"]
    assert [q.id for q in load_question_set(path, split="odd")] == ["q1", "q3"]
    assert len(load_question_set(path)) == 5
    with pytest.raises(QAError):
        load_question_set(path, split="test")


def test_metrics_by_what_the_engine_reads_the_question_as_asking() -> None:
    """The same questions grouped by the answer type qa reads from their wording: the table
    that shows where false abstentions gather."""
    q_count = Question(id="c1", question="How many people were detained?", answers=("300",), evidence="", type="factoid")
    q_who = Question(id="p1", question="Who chairs the commission?", answers=("Ms Smith",), evidence="", type="factoid")
    q_why = Question(id="w1", question="Why did the talks fail?", answers=("mistrust",), evidence="", type="why")
    qs = [q_count, q_count, q_who, q_why]
    ps = [pred("Police detained 300 people [1].", short="300"), pred("", found=False),
          pred("Ms Smith chairs it [1].", short="Ms Smith"), pred("Out of mistrust [1].")]
    by = compute_metrics(qs, ps)["by_asked"]
    assert list(by) == ["count", "person", "reason"]  # the commonest first
    assert by["count"]["n"] == 2 and by["count"]["false_abstention_rate"] == pytest.approx(1 / 2)
    assert by["person"]["containment"] == 1.0 and by["reason"]["containment"] == 1.0
