"""Sentences and chunks: offsets, token budgets, no captions."""
from __future__ import annotations

from pathlib import Path

from qa.chunk import ChunkSettings, chunk_document, count_tokens, embed_text
from qa.embed import HashingEmbedder
from qa.ingest import load_document
from qa.sentences import split_sentences, strip_footnotes

from conftest import REPORT


def test_footnotes_do_not_spoil_sentence_splitting() -> None:
    t = "It imposed sharia law.[2] The capture of Kabul followed. It was Iraq.[14]The concern is real. By President Mirziyoyev. [32] This came."
    got = [t[s.start : s.end] for s in split_sentences(t)]
    assert got == [
        "It imposed sharia law.[2]",
        "The capture of Kabul followed.",
        "It was Iraq.[14]",
        "The concern is real.",
        "By President Mirziyoyev. [32]",
        "This came.",
    ]
    assert strip_footnotes("law.[2] The") == "law. The"


def test_chunks_are_verbatim_slices_within_budget() -> None:
    doc = load_document(REPORT)
    settings = ChunkSettings(max_tokens=120)
    chunks = chunk_document(doc, settings)
    assert len(chunks) > 50
    for c in chunks:
        assert doc.text[c.char_start : c.char_end] == c.text
        assert count_tokens(c.text) <= settings.max_tokens
        assert c.sentences[0].start == c.char_start and c.sentences[-1].end == c.char_end
        for s in c.sentences:
            assert c.char_start <= s.start < s.end <= c.char_end
        assert c.section  # every chunk knows its section


def test_captions_and_headings_never_reach_a_chunk() -> None:
    doc = load_document(REPORT)
    captions = [doc.text[b.start : b.end] for b in doc.blocks if b.kind == "caption"]
    chunks = chunk_document(doc)
    for c in chunks:
        for cap in captions:
            assert cap not in c.text


def test_ids_are_content_derived_and_stable() -> None:
    doc = load_document(REPORT)
    a = [c.id for c in chunk_document(doc)]
    b = [c.id for c in chunk_document(load_document(REPORT))]
    assert a == b and len(set(a)) == len(a)


def test_model_limit_is_never_exceeded(tmp_path: Path) -> None:
    long_para = " ".join(f"Sentence number {i} talks about the border between the two states." for i in range(60))
    p = tmp_path / "long.txt"
    p.write_text("Heading One\n\n" + long_para + "\n", encoding="utf-8")
    doc = load_document(p)
    small_model = HashingEmbedder(64, max_tokens=40)
    chunks = chunk_document(doc, ChunkSettings(max_tokens=400), lambda t: small_model.count_tokens(t) <= small_model.max_tokens)
    assert len(chunks) > 5
    for c in chunks:
        assert small_model.count_tokens(embed_text(c)) <= 40


def test_one_sentence_too_long_for_the_model_is_cut(tmp_path: Path) -> None:
    p = tmp_path / "one.txt"
    p.write_text(" ".join(["word"] * 90) + ".\n", encoding="utf-8")
    doc = load_document(p)
    tiny = HashingEmbedder(32, max_tokens=20)
    chunks = chunk_document(doc, ChunkSettings(max_tokens=400), lambda t: tiny.count_tokens(t) <= 20)
    assert len(chunks) > 1
    assert all(tiny.count_tokens(embed_text(c)) <= 20 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == doc.text.replace(" ", "")
