"""PDF ingestion on a generated report: furniture, columns, hyphenation, captions, pages."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("reportlab")
import docgen  # noqa: E402

from qa.chunk import chunk_document  # noqa: E402
from qa.ingest import load_document  # noqa: E402
from qa.ingest.pdf import PAGE_NUMBER_RE, _ranges, check_streams, load_pdf  # noqa: E402
from qa.types import Document  # noqa: E402


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Document]:
    p = docgen.layout_pdf(tmp_path_factory.mktemp("pdf") / "northwind.pdf")
    return p, load_pdf(p, p.read_bytes())


def _squash(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def test_running_header_footer_and_page_numbers_never_reach_a_chunk(layout: tuple[Path, Document]) -> None:
    _, doc = layout
    chunks = chunk_document(doc)
    assert chunks
    for c in chunks:
        assert docgen.HEADER not in c.text and "NORTHWIND ENERGY" not in c.text
        assert "Northwind Institute ·" not in c.text
    assert docgen.HEADER not in doc.text and "Annual review" not in doc.text
    assert doc.stats["headers_removed"] == 4 and doc.stats["footers_removed"] == 4  # pages 1, 2, 3, 5
    assert not re.search(r"(?m)^\d+$", doc.text)  # no lone page number survives


def test_two_columns_come_out_in_reading_order(layout: tuple[Path, Document]) -> None:
    _, doc = layout
    text = _squash(doc.text)
    # Page 2 is drawn column by column, page 3 row by row across both columns.
    for left, right in ((docgen.LEFT_2, docgen.RIGHT_2), (docgen.LEFT_3, docgen.RIGHT_3)):
        for para in left + right:
            assert _squash(para) in text, para  # every paragraph whole: no line of the other column inside
        assert text.index(_squash(left[-1])) < text.index(_squash(right[0]))
    assert doc.stats["two_column_pages"] >= 2


def test_hyphenated_line_break_is_joined_and_ligature_expanded(layout: tuple[Path, Document]) -> None:
    _, doc = layout
    assert "the regional government to publish its energy plan" in _squash(doc.text)
    assert "govern-" not in doc.text and "govern- ment" not in doc.text
    assert "financial state" in doc.text and "\ufb01" not in doc.text


def test_caption_is_kept_but_not_indexed(layout: tuple[Path, Document]) -> None:
    _, doc = layout
    caps = [b for b in doc.blocks if b.kind == "caption"]
    assert [doc.text[b.start : b.end] for b in caps] == ["Turbines at Kestrel in May (Northwind Institute, 2024)"]
    assert doc.stats["captions"] == 1
    assert all("Turbines at Kestrel" not in c.text for c in chunk_document(doc))


def test_pages_sections_and_scanned_page_warning(layout: tuple[Path, Document]) -> None:
    _, doc = layout
    assert [p.number for p in doc.pages] == [1, 2, 3, 5]
    assert doc.stats["pages"] == 5 and doc.stats["empty_pages"] == 1
    assert any("pages 4" in w and "scanned" in w for w in doc.warnings)
    fact = doc.text.index("The Kestrel wind farm produced")
    assert doc.page_at(fact) == 3
    assert doc.page_at(doc.text.index("The government will review")) == 5
    assert doc.section_at(fact) == "Production"
    assert doc.title == "Northwind Energy Review 2024"
    (chunk,) = [c for c in chunk_document(doc) if "412 gigawatt" in c.text]
    assert chunk.page == 3 and chunk.section == "Production"
    assert all(b.page is not None for b in doc.blocks)


def test_isolated_load_gives_the_same_document(layout: tuple[Path, Document]) -> None:
    path, doc = layout
    isolated = load_document(path)  # parsed in a child process, returned as JSON
    assert isolated == doc and isolated.pages == doc.pages and isolated.stats == doc.stats


def test_question_about_page_3_cites_page_3(layout: tuple[Path, Document], tmp_path: Path) -> None:
    from qa.assistant import Assistant
    from qa.embed import HashingEmbedder
    from qa.indexer import build_index

    path, _ = layout
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / path.name).write_bytes(path.read_bytes())
    build_index(docs, tmp_path / "index", HashingEmbedder(256))
    a = Assistant.load(tmp_path / "index", docs, embedder=HashingEmbedder(256))
    ans = a.ask("How many gigawatt hours of electricity did the Kestrel wind farm produce in 2024?")
    assert ans.found and ans.citations
    c = ans.citations[0]
    assert c.page == 3 and "412 gigawatt hours" in c.quote
    assert a.document(c.doc_id).text[c.char_start : c.char_end] == c.quote


def test_page_number_patterns_and_ranges() -> None:
    for s in ("7", "Page 7", "page 7 of 20", "- 7 -", "xii", "7 / 20"):
        assert PAGE_NUMBER_RE.match(s), s
    for s in ("2024 budget", "Chapter 7", "Seven"):
        assert not PAGE_NUMBER_RE.match(s), s
    assert _ranges([1, 2, 3, 7, 9, 10]) == "1-3, 7, 9-10"


def test_stream_check_passes_real_pdfs(layout: tuple[Path, Document]) -> None:
    path, _ = layout
    assert 0 < check_streams(path, path.read_bytes()) < 10_000_000
