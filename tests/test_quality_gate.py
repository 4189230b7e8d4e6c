"""Regression gate: `qa eval` on the TEST half of the project's questions, real model.

Fails when a headline metric falls below the floor in tests/questions/floors.json. Raise the
floors when the numbers rise (README, "Answer quality").
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import REPORT, ROOT

pytestmark = pytest.mark.slow


def test_test_half_meets_the_floors(tmp_path: Path) -> None:
    from qa.assistant import Assistant
    from qa.embed import make_embedder
    from qa.evaluate import check_floors, load_question_set, run_eval
    from qa.indexer import build_index

    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(REPORT, docs / REPORT.name)
    emb = make_embedder(None)
    build_index(docs, tmp_path / "index", emb)
    a = Assistant.load(tmp_path / "index", docs, embedder=emb)
    questions = load_question_set(ROOT / "tests/questions/report.jsonl", split="test")
    metrics = run_eval(questions, lambda q: a.ask(q, top_k=10).to_json(), tmp_path / "run", progress=False)
    floors = json.loads((ROOT / "tests/questions/floors.json").read_text())
    failures = check_floors(metrics, floors)
    assert not failures, failures
    assert (tmp_path / "run" / "report.html").stat().st_size > 1000
    # The highlighted short answer is a span of the quoted answer, never of a sentence left out.
    preds = [json.loads(line) for line in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    outside = [p["question"] for p in preds if p["found"] and p["short"] and p["short"] not in p["answer"]]
    assert not outside, outside
