"""``qa add``, ``qa remove`` and ``qa docs --report`` over a small mixed collection."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import docgen
from qa.cli import main
from qa.errors import DocumentNotFound
from qa.library import find_document
from qa.store import load_index


@pytest.fixture
def coll(tmp_path: Path) -> tuple[list[str], Path, Path]:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "harbour.txt").write_text("Harbour notes\n\nThe harbour handled 1,240 ship calls in 2023.\n", encoding="utf-8")
    assert main(["index", "--docs", str(docs), "--index", str(index), "--model", "hashing-64", "--quiet"]) == 0
    return ["--docs", str(docs), "--index", str(index), "--quiet"], docs, index


def _paths(index: Path) -> list[str]:
    return sorted(Path(d.path).name for d in load_index(index, verify=False).documents.values())


def test_add_copies_and_indexes_incrementally(coll, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    args, docs, index = coll
    src = tmp_path / "in"
    src.mkdir()
    pdf, html = docgen.layout_pdf(src / "northwind.pdf"), docgen.small_html(src / "grid.html")
    assert main(["add", str(pdf), str(html), *args]) == 0  # the index's model (hashing-64) is used
    out = capsys.readouterr().out
    assert "added northwind.pdf: 5 pages" in out and "added grid.html" in out and "2 added" in out and "1 unchanged" in out
    assert (docs / "northwind.pdf").read_bytes() == pdf.read_bytes()
    assert _paths(index) == ["grid.html", "harbour.txt", "northwind.pdf"]
    # The same file again changes nothing.
    gen = load_index(index, verify=False).generation
    assert main(["add", str(pdf), *args]) == 0
    assert "already there, unchanged" in capsys.readouterr().out
    assert load_index(index, verify=False).generation == gen


def test_add_refuses_a_different_file_of_the_same_name_unless_forced(coll, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    args, docs, index = coll
    other = tmp_path / "harbour.txt"
    other.write_text("Harbour notes, revised\n\nThe harbour handled 1,300 ship calls in 2023.\n", encoding="utf-8")
    assert main(["add", str(other), *args]) == 1
    assert "already exists with different content; use --force" in capsys.readouterr().err
    assert "1,240" in (docs / "harbour.txt").read_text()
    assert main(["add", str(other), "--force", *args]) == 0
    assert "1,300" in (docs / "harbour.txt").read_text()
    (doc,) = load_index(index, verify=False).documents.values()
    assert "1,300" in doc.text
    # The same content under another name is refused: it would be indexed once anyway.
    twin = tmp_path / "copy-of-harbour.txt"
    twin.write_bytes(other.read_bytes())
    assert main(["add", str(twin), *args]) == 1
    assert "same content is already in the collection" in capsys.readouterr().err


def test_remove_by_file_name_title_or_id(coll, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    args, docs, index = coll
    src = tmp_path / "in"
    src.mkdir()
    files = [docgen.small_html(src / "grid.html"), docgen.small_docx(src / "survey.docx"), docgen.layout_pdf(src / "nw.pdf")]
    assert main(["add", *map(str, files), *args]) == 0
    docs_by_name = {Path(d.path).name: d for d in load_index(index, verify=False).documents.values()}
    assert main(["remove", "grid.html", *args]) == 0
    assert main(["remove", "Harbour Survey 2023", *args]) == 0  # the DOCX's title
    assert main(["remove", docs_by_name["nw.pdf"].id[:8], *args]) == 0
    assert _paths(index) == ["harbour.txt"] and sorted(p.name for p in docs.iterdir()) == ["harbour.txt"]
    capsys.readouterr()
    assert main(["remove", "harbour.txt", *args]) == 1  # the last document stays
    assert main(["remove", "no-such-report", *args]) == 1
    assert "no document 'no-such-report'" in capsys.readouterr().err


def test_find_document_is_unambiguous(fake_index) -> None:  # type: ignore[no-untyped-def]
    docs = list(load_index(fake_index[1], verify=False).documents.values())
    d = docs[0]
    assert find_document(Path(d.path).name, docs) is d and find_document(d.title.upper(), docs) is d
    with pytest.raises(DocumentNotFound):
        find_document("abc", docs)  # an id prefix needs 4 characters


def test_docs_report_shows_what_was_repaired(coll, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    args, docs, index = coll
    pdf = docgen.layout_pdf(tmp_path / "northwind.pdf")
    docx = docgen.small_docx(tmp_path / "survey.docx")
    assert main(["add", str(pdf), str(docx), *args]) == 0
    capsys.readouterr()
    assert main(["docs", "--report", *args[:4]]) == 0
    out = capsys.readouterr().out
    block = out[out.index("Northwind Energy Review 2024") :].split("\n\n")[0]
    assert "5 pages, 1 empty" in block and "characters" in block and "words" in block
    assert "headers removed 4, footers removed 4" in block and "captions found 1" in block
    assert "two-column pages reordered" in block and "warning: 1 page(s) are images" in block
    assert "no pages (flowing text)" in out and "tables 1" in out
    assert main(["docs", "--json", *args[:4]]) == 0
    rows = {r["file"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["northwind.pdf"]["pages"] == 5 and rows["northwind.pdf"]["headers_removed"] == 4
    assert rows["northwind.pdf"]["chunks"] > 0 and rows["survey.docx"]["pages"] is None
