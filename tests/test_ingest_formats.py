"""HTML, DOCX and Markdown loaders on generated files: main content, sections, tables, code."""
from __future__ import annotations

from pathlib import Path

import pytest

import docgen
from qa.chunk import chunk_document
from qa.errors import UnreadableDocument
from qa.ingest import ISOLATED, load_document
from qa.ingest.docx import load_docx
from qa.ingest.html import load_html
from qa.ingest.text import load_markdown


def _sections(doc) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """First words of each paragraph -> its section path."""
    return {doc.text[b.start : b.end][:30]: b.section for b in doc.blocks if b.kind == "paragraph"}


def test_html_main_content_only_with_sections(tmp_path: Path) -> None:
    p = docgen.small_html(tmp_path / "grid.html")
    doc = load_html(p, p.read_bytes())
    for junk in ("SCRIPT-TEXT-MUST-NOT-APPEAR", "FOOTER-TEXT-MUST-NOT-APPEAR", "Celebrity chef", "Markets", "About us", ".x{"):
        assert junk not in doc.text, junk
    assert doc.title == "Grid Report 2024"
    secs = _sections(doc)
    assert secs["Wind farms supplied 31 percent"] == "Wind"
    assert secs["The largest offshore site, Dog"] == "Wind › Offshore"
    assert secs["Wholesale prices fell by a fif"] == "Prices"
    assert "Source | Share\nWind | 31%\nGas | 29%" in doc.text  # a table as rows of text
    assert {c.section for c in chunk_document(doc)} >= {"Wind", "Wind › Offshore", "Prices"}


def test_short_page_still_loses_its_boilerplate(tmp_path: Path) -> None:
    p = tmp_path / "tiny.html"
    p.write_text("<html><head><title>Note</title></head><body><nav>Menu</nav><h2>Memo</h2><p>Ship the parts on Monday.</p>"
                 "<script>alert(1)</script></body></html>", encoding="utf-8")
    doc = load_html(p, p.read_bytes())
    assert "Ship the parts on Monday." in doc.text
    assert "alert" not in doc.text and "Menu" not in doc.text


def test_fallback_walk_drops_boilerplate_and_keeps_headings(tmp_path: Path) -> None:
    from qa.ingest.html import _fallback
    from qa.ingest.text import Outline

    out = Outline()
    title = _fallback(docgen.small_html(tmp_path / "grid.html").read_text(encoding="utf-8"), out)
    doc = out.document(tmp_path / "grid.html", b"x", title=title)
    assert "MUST-NOT-APPEAR" not in doc.text and "Celebrity chef" not in doc.text and "Markets" not in doc.text
    assert _sections(doc)["The largest offshore site, Dog"] == "Wind › Offshore"
    assert "Wind | 31%" in doc.text


def test_html_in_another_encoding_is_decoded(tmp_path: Path) -> None:
    p = tmp_path / "latin.html"
    body = "<p>" + "Le caf\u00e9 de la gare a rouvert ses portes apr\u00e8s deux ans de travaux. " * 3 + "</p>"
    p.write_bytes(f"<html><head><meta charset='windows-1252'></head><body><article>{body}</article></body></html>".encode("cp1252"))
    assert "caf\u00e9 de la gare" in load_html(p, p.read_bytes()).text


def test_docx_headings_lists_and_tables(tmp_path: Path) -> None:
    p = docgen.small_docx(tmp_path / "harbour.docx")
    doc = load_docx(p, p.read_bytes())
    assert doc.title == "Harbour Survey 2023"
    secs = _sections(doc)
    assert secs["The harbour handled 1,240 ship"] == "Traffic"
    assert secs["Cruise calls doubled to 86 aft"] == "Traffic › Cruise ships"
    assert secs["Grain exports rose because the"] == "Cargo"
    assert "- Passengers mostly came from Germany.\n- Many stayed one night in the old town." in doc.text
    assert "Cargo | 2022 | 2023\nContainers | 410,000 | 455,000\nGrain | 1.2 Mt | 1.4 Mt" in doc.text
    assert doc.stats["tables"] == 1 and not doc.pages


MARKDOWN = """---
title: front matter is metadata
---
# Field Notes

Water levels were low
in the northern [reservoir](https://example.org/r) during **August**.

## Data

| site | level |
|------|------:|
| North | 12 m |

Setup
-----

```python
def level(site):

    return LEVELS[site]  # kept *as written*
```
"""


def test_markdown_sections_code_and_tables(tmp_path: Path) -> None:
    p = tmp_path / "notes.md"
    p.write_text(MARKDOWN, encoding="utf-8")
    doc = load_markdown(p, p.read_bytes())
    assert doc.title == "Field Notes" and "front matter" not in doc.text
    assert "Water levels were low in the northern reservoir during August." in doc.text  # unwrapped, link text only
    assert "| site | level |\n| North | 12 m |" in doc.text
    assert "def level(site):\n\n    return LEVELS[site]  # kept *as written*" in doc.text
    secs = {doc.text[b.start : b.end][:12]: b.section for b in doc.blocks}
    assert secs["| site | lev"] == "Data" and secs["```python\nde"] == "Setup"
    assert secs["Water levels"] == ""  # the title heading is not repeated in every path


def test_rich_formats_are_parsed_in_a_child_process(tmp_path: Path) -> None:
    assert {".pdf", ".html", ".htm", ".docx"} <= ISOLATED and ".txt" not in ISOLATED
    p = docgen.small_docx(tmp_path / "harbour.docx")
    assert load_document(p) == load_docx(p, p.read_bytes())


def test_isolated_parse_timeout_and_memory_cap(tmp_path: Path) -> None:
    from qa.ingest.isolate import parse_isolated

    p = docgen.small_docx(tmp_path / "harbour.docx")
    with pytest.raises(UnreadableDocument, match="timed out after"):
        parse_isolated(p, p.read_bytes(), timeout=0.01)
    # Under a 40 MiB address-space cap the parser cannot even load (the reason depends on where
    # the allocation fails); without the cap the same file parses.
    with pytest.raises(UnreadableDocument):
        parse_isolated(p, p.read_bytes(), memory_mb=40)
