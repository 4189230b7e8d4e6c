"""The real model on the real report: answers a person would check by hand.

Marked ``slow`` (it loads the default model, all-MiniLM-L6-v2 with qa's tuned layers, and
indexes the report once, ~15 s on 2 cores);
``make test`` runs it, ``make test-fast`` skips it.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPORT, ROOT

pytestmark = pytest.mark.slow

# (question in our own words, a string the cited sentences must contain)
ANSWERABLE = [
    ("How much humanitarian aid did Uzbekistan send to Ukraine?", "35 tons"),
    ("Why did Huawei move staff out of Russia?", "fears of Western sanctions"),
    ("How many people were killed in the Karakalpakstan protests?", "at least 18"),
    ("Who is the UN Special Rapporteur on minority issues?", "Fernand de Varenne"),
    ("When was the constitutional referendum in Kazakhstan held?", "5 June"),
    ("What share of Kyrgyzstan's GDP did remittances make up in 2020?", "31.3"),
    ("How much did the EBRD invest in Uzbekistan in 2021?", "$690 million"),
    ("In which city did Iran open a drone factory?", "Dushanbe"),
    ("How many Kyrgyzstani people live and work in Russia?", "1 million"),
    ("Who replaced Abdulaziz Komilov as foreign minister?", "Vladimir Norov"),
    ("How many Afghan refugees had Tajikistan expelled since mid-August?", "80 Afghan refugees"),
    ("What percentage of Afghanistan's population are ethnic Tajiks?", "27 per cent"),
    ("By how much are remittances to Kyrgyzstan expected to fall?", "33%"),
    ("What was the capital of Kazakhstan renamed to?", "Astana"),
    ("What orders did Tokayev give against the demonstrators?", "shoot to kill"),
    ("How many men did Shoigu say would be mobilized?", "300 000"),
]
UNANSWERABLE = [
    "Who won the 2018 football world cup?",
    "What is the boiling point of water at sea level?",
    "Which company makes the iPhone?",
]


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from qa.assistant import Assistant
    from qa.embed import make_embedder
    from qa.indexer import build_index

    base = tmp_path_factory.mktemp("real")
    docs = base / "docs"
    docs.mkdir()
    shutil.copy(REPORT, docs / REPORT.name)
    emb = make_embedder(None)
    build_index(docs, base / "index", emb)
    return Assistant.load(base / "index", docs, embedder=emb), docs, base / "index"


@pytest.mark.parametrize("question,expected", ANSWERABLE)
def test_cited_sentence_holds_the_answer(real, question: str, expected: str) -> None:  # noqa: ANN001
    a = real[0]
    ans = a.ask(question)
    assert ans.found, (question, ans.candidate)
    quotes = " ".join(c.quote for c in ans.citations)
    assert expected in quotes, (question, quotes)
    for c in ans.citations:
        assert a.document(c.doc_id).text[c.char_start : c.char_end] == c.quote


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_abstains_when_the_report_does_not_say(real, question: str) -> None:  # noqa: ANN001
    ans = real[0].ask(question)
    assert not ans.found and not ans.citations
    assert "don't answer" in ans.text
    assert ans.hits  # the nearest passages are still offered


def test_short_answers(real) -> None:  # noqa: ANN001
    a = real[0]
    assert a.ask("How much humanitarian aid did Uzbekistan send to Ukraine?").short == "35 tons"
    assert a.ask("Who is the UN Special Rapporteur on minority issues?").short == "Fernand de Varenne"
    assert a.ask("When was the constitutional referendum in Kazakhstan held?").short == "5 June"


def test_follow_up_in_conversation(real) -> None:  # noqa: ANN001
    a = real[0]
    first = "How much humanitarian aid did Uzbekistan send to Ukraine?"
    ans = a.ask(first)
    follow = a.ask("Where did it arrive?", history=[(first, ans.text)])
    assert "Zakarpatska" in " ".join(c.quote for c in follow.citations)


def test_cli_json_done_when(real) -> None:  # noqa: ANN001
    _, docs, index = real
    r = subprocess.run(
        [sys.executable, "-m", "qa", "ask", "How much humanitarian aid did Uzbekistan send to Ukraine?", "--json", "--docs", str(docs), "--index", str(index)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["found"] is True and "35 tons" in out["answer"] and out["short"] == "35 tons"
    c = out["citations"][0]
    doc_text = json.loads((index / (index / "CURRENT").read_text().strip() / "documents.jsonl").read_text().splitlines()[0])["text"]
    assert doc_text[c["char_start"] : c["char_end"]] == c["quote"]


def test_question_path_embeds_like_batch_encode(real) -> None:  # noqa: ANN001
    """The lean one-question path gives the vectors sentence-transformers' encode gives."""
    import numpy as np

    from qa.embed import SMALL_BATCH

    emb = real[0].embedder
    texts = ["How much humanitarian aid did Uzbekistan send to Ukraine?", "word " * 400] + ["filler text"] * SMALL_BATCH
    batch = emb.encode(texts)  # more than SMALL_BATCH texts: sentence-transformers' encode
    one_by_one = np.vstack([emb.encode([t]) for t in texts[:2]])
    assert np.allclose(batch[:2], one_by_one, atol=1e-6)


def test_the_default_model_is_the_tuned_one(real) -> None:  # noqa: ANN001
    """The index records the tuned model, whose vectors are not the plain model's; both load offline."""
    import numpy as np

    from qa.embed import BASE_MODEL, make_embedder, tuned_name

    a = real[0]
    assert a.index.model_name == tuned_name()  # all-MiniLM-L6-v2-qa@<fingerprint of the shipped layers>
    text = ["Why did Huawei move staff out of Russia?"]
    tuned, plain = a.embedder.encode(text), make_embedder(BASE_MODEL).encode(text)
    assert tuned.shape == plain.shape
    assert float(tuned[0] @ plain[0]) < 0.999  # the tuned layers were applied
    assert float(tuned[0] @ plain[0]) > 0.5  # ... over the same base model, not instead of it


def test_a_comparison_cites_both_sides(real) -> None:  # noqa: ANN001
    """'Which came first: A or B?' quotes the sentence about each (with its date), and the
    highlighted short answer lies inside the quoted text."""
    a = real[0]
    ans = a.ask("Which Uzbek warning about joining Russia's war came first: the embassy statement in Moscow "
                "or the Prosecutor-General's Office warning to labour migrants?")
    text = ans.text if ans.found else ans.candidate
    assert "10 August" in text and "21 September" in text
    for q in ("Which Uzbek warning about joining Russia's war came first: the embassy statement in Moscow or the "
              "Prosecutor-General's Office warning to labour migrants?",
              "How much humanitarian aid did Uzbekistan send to Ukraine?",
              "Which came first: the Tashkent investment forum or the protests in Karakalpakstan?"):
        got = a.ask(q)
        assert not got.short or got.short in (got.text if got.found else got.candidate)
