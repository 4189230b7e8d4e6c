"""Small corpora and checks shared by the reliability tests.

Two corpora whose texts share no content words: every chunk, hit and citation can be told
apart by the corpus it came from, so "a result from one generation only" is checkable.
"""
from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = "hashing-64"  # the fake embedder: deterministic, no model load

CORPUS_A = {
    "alpha-grain.txt": (
        "Grain Exports\n\nKazakhstan\n\nIn March the Astana ministry shipped 40 tonnes of wheat to Ukraine. "
        "The shipment left from Aktobe by rail.\n\nPrices\n\nWheat prices rose by 12 percent in the spring. "
        "Farmers in Kostanay reported a late harvest.\n"
    ),
    "alpha-water.txt": (
        "Water Report\n\nKyrgyzstan\n\nThe Toktogul reservoir held 14 cubic kilometres of water in June. "
        "Engineers in Bishkek warned of a dry summer.\n\nAgreements\n\nA treaty on the Naryn river was signed "
        "in Tashkent in April. It sets quotas for irrigation.\n"
    ),
}
CORPUS_B = {
    "beta-energy.txt": (
        "Energy Outlook\n\nTurkmenistan\n\nThe Galkynysh field produced 35 billion cubic metres of gas last year. "
        "Pipelines to China carried most of it.\n\nPower\n\nA new turbine plant opened near Mary in October. "
        "It supplies electricity to Afghanistan.\n"
    ),
    "beta-roads.txt": (
        "Transport Survey\n\nTajikistan\n\nThe Dushanbe bypass cost 90 million dollars and opened in May. "
        "Lorries now avoid the old centre.\n\nTunnels\n\nThe Anzob tunnel was repaired by a Chinese contractor. "
        "Traffic resumed after eight months.\n"
    ),
}
QUESTIONS_A = ["How much wheat did the Astana ministry ship to Ukraine?", "When was the Naryn treaty signed?"]
QUESTIONS_B = ["How much gas did the Galkynysh field produce?", "How much did the Dushanbe bypass cost?"]


def write_corpus(docs: Path, corpus: dict[str, str], clear: bool = False) -> None:
    """Write ``corpus`` into ``docs`` (removing other files first when ``clear``)."""
    docs.mkdir(parents=True, exist_ok=True)
    if clear:
        for p in docs.iterdir():
            p.unlink() if p.is_file() else shutil.rmtree(p)
    for name, text in corpus.items():
        (docs / name).write_text(text, encoding="utf-8")


def corpus_of(doc_path: str) -> str:
    """'A' or 'B' from a document path of the corpora above."""
    name = Path(doc_path).name
    if name in CORPUS_A:
        return "A"
    if name in CORPUS_B:
        return "B"
    raise AssertionError(f"{doc_path} belongs to no test corpus")


def check_citations(assistant, answer) -> None:  # type: ignore[no-untyped-def]
    """Every citation quote is the document's text at its offsets (raises AssertionError)."""
    for c in answer.citations:
        doc = assistant.document(c.doc_id)
        if doc.text[c.char_start : c.char_end] != c.quote:
            raise AssertionError(f"citation [{c.n}] quote differs from {doc.path}[{c.char_start}:{c.char_end}]")


def soak(fn):  # type: ignore[no-untyped-def]
    """Mark a slow reliability test: skipped unless ``QA_SOAK=1`` (``make soak`` sets it and runs ``-m soak``)."""
    import os

    import pytest

    skip = pytest.mark.skipif(os.environ.get("QA_SOAK") != "1", reason="soak test: run with `make soak`")
    return pytest.mark.soak(skip(fn))
