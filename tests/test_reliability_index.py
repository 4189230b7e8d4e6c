"""Index integrity, Lucene-style (TestAllFilesDetectTruncation / TestAllFilesDetectBitFlips):
every file of a generation truncated, bit-flipped or deleted is detected with an
``IndexCorrupt`` naming the file, and the previous generation keeps serving:

- a fresh load (``load_index``, ``Assistant.load``) falls back to the newest older generation
  that verifies, with ``.warning`` saying which file is damaged and what to run;
- an ``Assistant`` already serving keeps its loaded generation when the new one is broken,
  and reports it in ``.warning``;
- ``qa index`` repairs: it writes a fresh generation even when the sources did not change.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.embed import make_embedder
from qa.errors import IndexCorrupt, IndexMismatch
from qa.indexer import build_index, index_is_stale
from qa.store import current_generation, load_generation, load_index
from reliability.common import CORPUS_A, CORPUS_B, MODEL, QUESTIONS_B, write_corpus

DAMAGES = ("truncate", "flip-first", "flip-middle", "flip-last", "delete")


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "delete":
        path.unlink()
    else:
        i = {"flip-first": 0, "flip-middle": len(data) // 2, "flip-last": len(data) - 1}[how]
        data[i] ^= 0x01
        path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def two_generations(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, str]:
    """(docs, index, old generation, new generation): corpus A, then A + B."""
    base = tmp_path_factory.mktemp("gens")
    docs, index = base / "docs", base / "index"
    emb = make_embedder(MODEL)
    write_corpus(docs, CORPUS_A)
    old = build_index(docs, index, emb).generation
    write_corpus(docs, CORPUS_B)
    new = build_index(docs, index, emb).generation
    assert old and new and old != new
    return docs, index, old, new


def _files_of(gen: Path) -> list[str]:
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    return sorted(manifest["files"]) + ["manifest.json", "manifest.sha256.json"]


def test_every_file_is_covered(two_generations) -> None:
    _, index, _, new = two_generations
    on_disk = sorted(str(p.relative_to(index / new)) for p in (index / new).rglob("*") if p.is_file())
    assert on_disk == sorted(_files_of(index / new))  # nothing in a generation escapes the checks below


def test_every_damaged_file_is_detected_and_the_previous_generation_serves(two_generations, tmp_path: Path) -> None:
    docs, index, old, new = two_generations
    cases = 0
    for rel in _files_of(index / new):
        for how in DAMAGES:
            work = tmp_path / f"case{cases}"
            shutil.copytree(index, work)
            _damage(work / new / rel, how)
            with pytest.raises(IndexCorrupt) as err:
                load_generation(work / new)
            assert Path(rel).name in str(err.value), (rel, how, str(err.value))
            pair = {"manifest.json", "manifest.sha256.json"}  # the manifest and its checksum: either may be the damaged one
            assert err.value.path and (Path(rel).name in err.value.path or {rel, Path(err.value.path).name} <= pair)
            assert "qa index" in str(err.value)
            # the previous generation keeps serving, and says why
            loaded = load_index(work, expected_model=MODEL)
            assert loaded.generation == old, (rel, how)
            assert loaded.warning and Path(rel).name in loaded.warning and old in loaded.warning
            with pytest.raises(IndexCorrupt):
                load_index(work, expected_model=MODEL, fallback=False)
            shutil.rmtree(work)
            cases += 1
    assert cases == len(_files_of(index / new)) * len(DAMAGES) >= 50


@pytest.mark.parametrize("content", ["", "gen-0", "garbage\n", "gen-999999\n", "../../etc\n"])
def test_a_damaged_current_pointer_falls_back(two_generations, tmp_path: Path, content: str) -> None:
    _, index, _old, new = two_generations
    work = tmp_path / "idx"
    shutil.copytree(index, work)
    (work / "CURRENT").write_text(content, encoding="utf-8")
    loaded = load_index(work, expected_model=MODEL)
    assert loaded.generation == new and loaded.warning and "CURRENT" in loaded.warning


def test_no_verified_generation_is_refused(two_generations, tmp_path: Path) -> None:
    _, index, old, new = two_generations
    work = tmp_path / "idx"
    shutil.copytree(index, work)
    _damage(work / new / "chunks.jsonl", "flip-middle")
    _damage(work / old / "chunks.jsonl", "truncate")
    with pytest.raises(IndexCorrupt, match="chunks.jsonl") as err:
        load_index(work, expected_model=MODEL)
    assert new in str(err.value) and "qa index" in str(err.value)


def test_another_model_or_format_never_falls_back(two_generations, tmp_path: Path) -> None:
    _, index, _old, new = two_generations
    work = tmp_path / "idx"
    shutil.copytree(index, work)
    with pytest.raises(IndexMismatch, match=r"--model hashing-64 --rebuild|ask with `--model hashing-64`"):
        load_index(work, expected_model="hashing-32")
    m = work / new / "manifest.json"
    data = json.loads(m.read_text(encoding="utf-8"))
    data["format_version"] = 99
    m.write_text(json.dumps(data), encoding="utf-8")  # a newer qa's index: not damage, refused with instructions
    with pytest.raises(IndexMismatch, match=r"format 99.*qa index --rebuild"):
        load_index(work, expected_model=MODEL)


def test_assistant_load_falls_back_and_qa_index_repairs(two_generations, tmp_path: Path) -> None:
    docs, index, old, new = two_generations
    work = tmp_path / "idx"
    shutil.copytree(index, work)
    _damage(work / new / "vectors.faiss", "flip-middle")
    emb = make_embedder(MODEL)
    a = Assistant.load(work, docs, embedder=emb)
    assert a.index.generation == old and a.warning and "vectors.faiss" in a.warning
    assert a.ask("How much wheat did the Astana ministry ship to Ukraine?").found
    report = build_index(docs, work, emb)  # same sources: still writes a fresh, verified generation
    assert report.generation and report.generation not in (old, new)
    fresh = load_index(work, expected_model=MODEL, fallback=False)
    assert fresh.warning is None and len(fresh.documents) == len(CORPUS_A) + len(CORPUS_B)
    assert a.ask(QUESTIONS_B[0]).found and a.index.generation == report.generation and a.warning is None


def test_a_serving_assistant_keeps_its_generation_when_the_new_one_is_broken(tmp_path: Path, monkeypatch) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    emb = make_embedder(MODEL)
    write_corpus(docs, CORPUS_A)
    build_index(docs, index, emb)
    a = Assistant.load(index, docs, embedder=emb)
    serving = a.index.generation
    write_corpus(docs, CORPUS_B)
    import qa.store

    real_write = qa.store.write_generation

    def write_then_rot(*args, **kwargs):  # noqa: ANN002, ANN003
        gen = real_write(*args, **kwargs)
        _damage(gen / "sentence_vectors.npy", "flip-middle")  # bit rot right after the commit
        return gen

    monkeypatch.setattr("qa.indexer.write_generation", write_then_rot)
    broken = build_index(docs, index, emb).generation
    ans = a.ask("How much wheat did the Astana ministry ship to Ukraine?")  # no exception escapes
    assert ans.found and a.index.generation == serving
    assert a.warning and "sentence_vectors.npy" in a.warning and serving in a.warning
    assert a.search(QUESTIONS_B[0])  # asked again: still the old generation, no reload storm
    assert a.index.generation == serving
    monkeypatch.undo()
    assert broken
    # repaired by the next build: the assistant switches and the warning clears
    fixed = build_index(docs, index, emb).generation
    assert fixed != broken
    assert a.ask(QUESTIONS_B[0]).found and a.index.generation == fixed and a.warning is None


def test_a_serving_assistant_ignores_a_generation_of_another_model(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    write_corpus(docs, CORPUS_A)
    build_index(docs, index, make_embedder(MODEL))
    a = Assistant.load(index, docs, embedder=make_embedder(MODEL))
    serving = a.index.generation
    build_index(docs, index, make_embedder("hashing-32"), rebuild=True)  # someone rebuilt with another model
    assert a.ask("When was the Naryn treaty signed?").found
    assert a.index.generation == serving and a.warning and "hashing-32" in a.warning


def test_legacy_generation_without_manifest_checksum_is_stale(two_generations, tmp_path: Path) -> None:
    docs, index, _old, new = two_generations
    work = tmp_path / "idx"
    shutil.copytree(index, work)
    (work / new / "manifest.sha256.json").unlink()
    assert index_is_stale(docs, work, MODEL)  # so `make run` rebuilds it


def test_qa_index_repairs_even_when_the_fallback_has_the_same_documents(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    emb = make_embedder(MODEL)
    write_corpus(docs, CORPUS_A)
    build_index(docs, index, emb)
    damaged = build_index(docs, index, emb, rebuild=True).generation  # two generations, same documents
    _damage(index / damaged / "chunks.jsonl", "flip-middle")
    report = build_index(docs, index, emb)
    assert report.generation and report.generation != damaged
    assert load_index(index, expected_model=MODEL, fallback=False).warning is None
