"""Documents that change or are bad while the indexer runs.

- A file rewritten while it is indexed (between hashing and parsing, or by a writer racing
  the builds): the index records a consistent version, its ``id`` (sha256) always that of
  the bytes whose text was parsed, and the next run indexes the file as it is at rest.
  A writer that rewrites in place can be caught half-way: that half is indexed as it is
  (consistent with its own sha256) and replaced on the next run, as ``qa index`` sees the
  file's sha256 change. Writers that replace files atomically (write + rename) never show one.
- The bad-file suite of the documents issue (``tests/badfiles.py``, ``BAD_FILES``), all in one
  folder with good reports: one build skips each with its reason and loses no good document.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from qa.embed import make_embedder
from qa.indexer import build_index, index_is_stale
from qa.ingest import load_document
from qa.store import load_index
from reliability.common import CORPUS_A, MODEL, write_corpus

V1 = b"Harvest Notes\n\nKazakhstan\n\nThe Kostanay harvest reached 14 million tonnes of wheat in 2022.\n"
V2 = (b"Harvest Notes\n\nKazakhstan\n\nThe Kostanay harvest fell to 9 million tonnes after the drought. "
      b"Exports were cut by a third.\n\nOutlook\n\nThe ministry expects a recovery next year.\n")


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _parsed(path: Path, data: bytes) -> str:
    return load_document(path, path.parent, data).text


def _check_consistent(index: Path, path: Path, versions: list[bytes]) -> bytes | None:
    """The indexed document for ``path`` is one of ``versions``, id and text from the same bytes."""
    loaded = load_index(index, expected_model=MODEL)
    docs = [d for d in loaded.documents.values() if Path(d.path).name == path.name]
    if not docs:
        return None  # skipped (e.g. caught empty): allowed, with a reason in the report
    (doc,) = docs
    by_sha = {_sha(v): v for v in versions}
    assert doc.id in by_sha, "the recorded sha256 is of no version the file ever had"
    assert doc.text == _parsed(path, by_sha[doc.id]), "the recorded sha256 does not match the parsed text"
    listed = {d["path"]: d["sha256"] for d in loaded.manifest["documents"]}
    assert listed[doc.path] == doc.id
    return by_sha[doc.id]


@pytest.mark.parametrize("stage", ["after hashing", "before parsing"])
def test_a_file_rewritten_between_hashing_and_parsing(tmp_path: Path, monkeypatch, stage: str) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    write_corpus(docs, CORPUS_A)
    target = docs / "harvest.txt"
    target.write_bytes(V1)
    import qa.indexer

    def rewrite() -> None:
        target.write_bytes(V2)

    if stage == "after hashing":
        real = qa.indexer.read_source

        def read_then_change(path, *a, **k):  # noqa: ANN001, ANN002, ANN003
            data = real(path, *a, **k)
            if Path(path).name == target.name:
                rewrite()
            return data

        monkeypatch.setattr(qa.indexer, "read_source", read_then_change)
    else:
        real_load = qa.indexer.load_document

        def change_then_load(path, *a, **k):  # noqa: ANN001, ANN002, ANN003
            if Path(path).name == target.name:
                rewrite()
            return real_load(path, *a, **k)

        monkeypatch.setattr(qa.indexer, "load_document", change_then_load)
    build_index(docs, index, make_embedder(MODEL))
    assert _check_consistent(index, target, [V1, V2]) == V1  # the bytes that were hashed are the ones parsed
    monkeypatch.undo()
    assert index_is_stale(docs, index, MODEL)  # the file at rest differs from what was indexed ...
    report = build_index(docs, index, make_embedder(MODEL))
    assert str(target) in report.updated
    assert _check_consistent(index, target, [V1, V2]) == V2  # ... and the next run catches up


def test_a_file_rewritten_while_builds_run(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    write_corpus(docs, CORPUS_A)
    target = docs / "harvest.txt"
    target.write_bytes(V1)
    half = V2[: len(V2) // 2]
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            if i % 2:  # atomic replacement
                tmp = docs / ".harvest.tmp"
                tmp.write_bytes(V1 if i % 4 == 1 else V2)
                os.replace(tmp, target)
            else:  # in place, slowly: a reader may see the first half only
                with open(target, "wb") as f:
                    f.write(half)
                    f.flush()
                    time.sleep(0.003)
                    f.write(V2[len(half):])
            time.sleep(0.002)

    t = threading.Thread(target=writer)
    t.start()
    seen = set()
    try:
        for _ in range(10):
            report = build_index(docs, index, make_embedder(MODEL))
            got = _check_consistent(index, target, [V1, V2, half, b""])
            seen.add(got)
            skipped = dict(report.skipped)
            if got is None:
                assert str(target) in skipped, "the file vanished from the index without a reason"
            assert {Path(d.path).name for d in load_index(index).documents.values()} >= set(CORPUS_A)  # nothing else lost
    finally:
        stop.set()
        t.join(timeout=10)
    final = target.read_bytes()
    build_index(docs, index, make_embedder(MODEL))
    assert _check_consistent(index, target, [final]) == final  # at rest: indexed as it is


def test_all_bad_files_in_one_folder_lose_no_good_document(tmp_path: Path) -> None:
    badfiles = pytest.importorskip("badfiles", reason="tests/badfiles.py (documents issue) is not there")
    docs, index = tmp_path / "docs", tmp_path / "index"
    write_corpus(docs, CORPUS_A)
    made = {}
    for name, (make, reason) in badfiles.BAD_FILES.items():
        try:
            made[name] = (make(docs), reason)
        except ImportError as e:  # a generator needing a test-only library that is absent
            pytest.skip(f"{name}: {e}")
    report = build_index(docs, index, make_embedder(MODEL))
    skipped = {Path(p).name: r for p, r in report.skipped}
    for name, (path, reason) in made.items():
        assert path.name in skipped, f"{name} was not skipped"
        assert reason.lower() in skipped[path.name].lower(), (name, skipped[path.name])
    loaded = load_index(index, expected_model=MODEL)
    assert {Path(d.path).name for d in loaded.documents.values()} == set(CORPUS_A)
    assert build_index(docs, index, make_embedder(MODEL)).generation is None  # stable: nothing re-parsed, nothing written
