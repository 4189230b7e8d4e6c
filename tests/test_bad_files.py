"""Every bad file is skipped with a clear reason, every good file is indexed, and a failed
``qa add`` leaves the documents folder and the index exactly as they were."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import docgen
from badfiles import BAD_FILES
from qa.cli import main
from qa.embed import HashingEmbedder
from qa.indexer import build_index

GOOD_TEXT = "Harbour notes\n\nThe harbour handled 1,240 ship calls in 2023, most of them container vessels.\n"


def _index_state(index: Path) -> dict[str, str]:
    """Every file of the index folder and its sha256 (the lock file aside)."""
    return {str(p.relative_to(index)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(index.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture
def mixed_folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A documents folder with every bad file (name -> file name) and four good ones."""
    docs = tmp_path / "docs"
    docs.mkdir()
    names = {name: gen(docs).name for name, (gen, _) in BAD_FILES.items()}
    (docs / "harbour.txt").write_text(GOOD_TEXT, encoding="utf-8")
    docgen.layout_pdf(docs / "northwind.pdf")
    docgen.small_html(docs / "grid.html")
    docgen.small_docx(docs / "survey.docx")
    return docs, names


def test_each_bad_file_is_skipped_with_its_reason_and_the_rest_indexed(mixed_folder: tuple[Path, dict[str, str]],
                                                                      tmp_path: Path) -> None:
    docs, names = mixed_folder
    report = build_index(docs, tmp_path / "index", HashingEmbedder(64))
    skipped = {Path(p).name: reason for p, reason in report.skipped}
    for name, (_, fragment) in BAD_FILES.items():
        assert names[name] in skipped, f"{name} was not skipped"
        assert fragment in skipped[names[name]], f"{name}: {skipped[names[name]]}"
    assert sorted(Path(p).name for p in report.added) == ["grid.html", "harbour.txt", "northwind.pdf", "survey.docx"]
    assert len(skipped) == len(BAD_FILES)


def test_qa_index_reports_every_skip(mixed_folder: tuple[Path, dict[str, str]], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--docs", str(mixed_folder[0]), "--index", str(tmp_path / "i"), "--model", "hashing-64", "--quiet"]) == 0
    err = capsys.readouterr().err
    for name, (_, fragment) in BAD_FILES.items():
        assert any(fragment in line for line in err.splitlines() if line.startswith("skipped")), name
    assert err.count("skipped ") == len(BAD_FILES)


@pytest.fixture
def small_collection(tmp_path: Path) -> tuple[Path, Path]:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "harbour.txt").write_text(GOOD_TEXT, encoding="utf-8")
    assert main(["index", "--docs", str(docs), "--index", str(index), "--model", "hashing-64", "--quiet"]) == 0
    return docs, index


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_failed_add_changes_nothing(name: str, small_collection: tuple[Path, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    docs, index = small_collection
    before_index, before_docs = _index_state(index), sorted(p.name for p in docs.iterdir())
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    gen, fragment = BAD_FILES[name]
    bad = gen(incoming)
    rc = main(["add", str(bad), "--docs", str(docs), "--index", str(index), "--quiet"])
    err = capsys.readouterr().err
    if name == "symlink_out":
        # Outside source_docs/ a link is just a way to name a file: its target is copied in.
        assert rc == 0 and (docs / bad.name).is_file() and not (docs / bad.name).is_symlink()
        return
    assert rc == 1 and err.startswith("qa add:")
    assert sorted(p.name for p in docs.iterdir()) == before_docs
    assert _index_state(index) == before_index


def test_one_bad_file_among_good_ones_adds_nothing(small_collection: tuple[Path, Path], tmp_path: Path) -> None:
    docs, index = small_collection
    before = _index_state(index)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = docgen.small_docx(incoming / "survey.docx")
    bad = BAD_FILES["encrypted_pdf"][0](incoming)
    assert main(["add", str(good), str(bad), "--docs", str(docs), "--index", str(index), "--quiet"]) == 1
    assert not (docs / "survey.docx").exists() and _index_state(index) == before


def test_a_build_that_fails_after_copying_is_undone(small_collection: tuple[Path, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import qa.library

    docs, index = small_collection
    before = _index_state(index)
    new = docgen.small_docx(tmp_path / "survey.docx")

    def broken_build(*a, **k):  # type: ignore[no-untyped-def]
        assert (docs / "survey.docx").exists()  # the copy is in place while the build runs
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(qa.library, "build_index", broken_build)
    assert main(["add", str(new), "--docs", str(docs), "--index", str(index), "--quiet"]) == 1
    assert not (docs / "survey.docx").exists() and _index_state(index) == before
