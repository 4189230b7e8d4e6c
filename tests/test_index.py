"""The on-disk index: round trip, incremental updates, refusal of mismatches, integrity."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.embed import HashingEmbedder
from qa.errors import IndexCorrupt, IndexMismatch, IndexMissing
from qa.indexer import build_index, index_is_stale
from qa.store import current_generation, load_index


def _write(d: Path, name: str, text: str) -> Path:
    p = d / name
    p.write_text(text, encoding="utf-8")
    return p


REPORT_B = "Energy Policy\n\nThe Zeravshan ministry plans to raise gas output by 4% this year. It also\nsigned a deal with a neighbour.\n"


def test_round_trip(docs_dir: Path, tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    idx = tmp_path / "index"
    report = build_index(docs_dir, idx, fake_embedder)
    assert report.generation and report.added and report.chunks > 50
    loaded = load_index(idx)
    assert len(loaded.chunks) == report.chunks == loaded.faiss_index.ntotal
    assert loaded.manifest["model"]["name"] == "hashing-256"
    doc = next(iter(loaded.documents.values()))
    for c in loaded.chunks:
        assert doc.text[c.char_start : c.char_end] == c.text
    # Plain files only: JSON, JSONL, .npy, FAISS bytes, bm25s numpy/json.
    for p in current_generation(idx).rglob("*"):
        if p.is_file():
            assert p.suffix in {".json", ".jsonl", ".npy", ".faiss"}, p
            assert b"pickle" not in p.read_bytes()[:64]


def test_unchanged_corpus_embeds_nothing(docs_dir: Path, tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    idx = tmp_path / "index"
    first = build_index(docs_dir, idx, fake_embedder)
    again = build_index(docs_dir, idx, fake_embedder)
    assert again.generation is None and not again.changed
    assert again.embedded_chunks == 0 and again.embedded_sentences == 0
    assert current_generation(idx).name == first.generation
    assert not index_is_stale(docs_dir, idx, fake_embedder.name)


def test_adding_one_report_embeds_only_its_text(docs_dir: Path, tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    idx = tmp_path / "index"
    first = build_index(docs_dir, idx, fake_embedder)
    _write(docs_dir, "energy.txt", REPORT_B)
    assert index_is_stale(docs_dir, idx, fake_embedder.name)
    second = build_index(docs_dir, idx, fake_embedder)
    assert second.added == [str(docs_dir / "energy.txt")]
    assert second.unchanged == [str(docs_dir / "central-asia-peace-and-security-monitor-2022.txt")]
    new_chunks = second.chunks - first.chunks
    assert 0 < second.embedded_chunks == new_chunks
    assert second.embedded_sentences <= 3


def test_changed_and_deleted_files(docs_dir: Path, tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    idx = tmp_path / "index"
    p = _write(docs_dir, "energy.txt", REPORT_B)
    build_index(docs_dir, idx, fake_embedder)
    p.write_text(REPORT_B.replace("4%", "7%"), encoding="utf-8")
    r = build_index(docs_dir, idx, fake_embedder)
    assert r.updated == [str(p)]
    assert any("7%" in c.text for c in load_index(idx).chunks)
    assert not any("output by 4%" in c.text for c in load_index(idx).chunks)
    p.unlink()
    r = build_index(docs_dir, idx, fake_embedder)
    assert r.removed == [str(p)]
    assert len(load_index(idx).documents) == 1


def test_bad_files_are_skipped_with_reasons(docs_dir: Path, tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    (docs_dir / "empty.txt").write_text("   \n", encoding="utf-8")
    (docs_dir / "latin1.txt").write_bytes("Caf\xe9 au lait, na\xefve".encode("latin-1"))
    (docs_dir / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 50)
    (docs_dir / "slides.pptx").write_bytes(b"PK")
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret", encoding="utf-8")
    (docs_dir / "link.txt").symlink_to(outside)
    r = build_index(docs_dir, tmp_path / "index", fake_embedder)
    reasons = {Path(p).name: why for p, why in r.skipped}
    assert reasons["empty.txt"] == "empty file"
    assert "not UTF-8" in reasons["latin1.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "unsupported" in reasons["slides.pptx"]
    assert "outside" in reasons["link.txt"]
    assert len(load_index(tmp_path / "index").documents) == 1  # the report is still indexed


def test_model_mismatch_is_refused(docs_dir: Path, tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    idx = tmp_path / "index"
    build_index(docs_dir, idx, fake_embedder)
    with pytest.raises(IndexMismatch, match="rebuild"):
        load_index(idx, expected_model="all-MiniLM-L6-v2")
    from qa.assistant import Assistant

    with pytest.raises(IndexMismatch):
        Assistant.load(idx, docs_dir, embedder=HashingEmbedder(128))


def test_format_version_mismatch_is_refused(docs_dir: Path, tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    idx = tmp_path / "index"
    build_index(docs_dir, idx, fake_embedder)
    m = current_generation(idx) / "manifest.json"
    data = json.loads(m.read_text())
    data["format_version"] = 99
    m.write_text(json.dumps(data))
    with pytest.raises(IndexMismatch, match="format"):
        load_index(idx)


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="qa index"):
        load_index(tmp_path / "nothing")


@pytest.mark.parametrize("victim", ["chunks.jsonl", "vectors.faiss", "sentence_vectors.npy", "documents.jsonl"])
def test_truncation_and_bit_flips_are_detected(docs_dir: Path, tmp_path: Path, fake_embedder: HashingEmbedder, victim: str) -> None:
    idx = tmp_path / "index"
    build_index(docs_dir, idx, fake_embedder)
    f = current_generation(idx) / victim
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt) as e:
        load_index(idx)
    assert victim in str(e.value)
    f.write_bytes(bytes(data[: len(data) // 3]))
    with pytest.raises(IndexCorrupt, match="size"):
        load_index(idx)


def test_crash_during_build_keeps_the_old_generation(docs_dir: Path, tmp_path: Path, fake_embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    idx = tmp_path / "index"
    first = build_index(docs_dir, idx, fake_embedder)
    _write(docs_dir, "energy.txt", REPORT_B)
    import qa.store

    def boom(*a, **k):  # noqa: ANN002, ANN003
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(qa.store.BM25Index, "save", boom)
    with pytest.raises(OSError):
        build_index(docs_dir, idx, fake_embedder)
    monkeypatch.undo()
    assert current_generation(idx).name == first.generation
    assert len(load_index(idx).documents) == 1
    assert not list(idx.glob(".tmp-gen-*"))
    r = build_index(docs_dir, idx, fake_embedder)  # the re-run completes the work
    assert r.added and len(load_index(idx).documents) == 2


def test_generations_are_pruned(docs_dir: Path, tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    idx = tmp_path / "index"
    for i in range(4):
        _write(docs_dir, f"extra{i}.txt", REPORT_B.replace("4%", f"{i + 10}%"))
        build_index(docs_dir, idx, fake_embedder)
    gens = sorted(p.name for p in idx.glob("gen-*"))
    assert len(gens) == 2 and current_generation(idx).name == gens[-1]


def test_assistant_picks_up_a_new_generation(docs_dir: Path, tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    from qa.assistant import Assistant

    idx = tmp_path / "index"
    build_index(docs_dir, idx, fake_embedder)
    a = Assistant.load(idx, docs_dir, embedder=fake_embedder)
    _write(docs_dir, "energy.txt", "Gas\n\nThe Zeravshan ministry plans to raise gas output by 4% this year.\n")
    build_index(docs_dir, idx, fake_embedder)
    hits = a.search("Zeravshan ministry gas output")
    assert "Zeravshan" in hits[0].chunk.text


def test_empty_documents_folder_is_a_clear_error_and_keeps_the_index(tmp_path: Path) -> None:
    from qa.errors import NoDocuments
    from qa.indexer import build_index

    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(NoDocuments, match="no readable text"):
        build_index(docs, index, HashingEmbedder(64))
    assert not (index / "CURRENT").exists()
