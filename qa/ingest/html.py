"""HTML loader: the main content only, headings as sections.

trafilatura (Apache-2.0) finds the main content and drops navigation, headers, footers,
scripts, styles, forms and link lists; its XML output keeps headings (``<head rend="h2">``),
paragraphs, lists, tables and code in reading order, which ``Outline`` turns into text with
section paths. When trafilatura finds no main content (a very short page), a plain walk
over the page's block elements with the same boilerplate tags removed is used instead.
Nothing is fetched: the page is parsed from its bytes (its encoding from the BOM, the
``<meta charset>`` or a guess).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from qa.errors import UnreadableDocument
from qa.ingest import MAX_FILE_BYTES, register
from qa.ingest.text import Outline
from qa.types import Document

BOILERPLATE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template", "svg",
                    "iframe", "button", "select", "menu")
BLOCK_TAGS = {"p", "li", "pre", "blockquote", "td", "th", "dd", "dt", "figcaption", "caption"}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _table_rows(table: Any, row_tag: str, cell_tags: tuple[str, ...]) -> str:
    rows = []
    for row in table.iter(row_tag):
        cells = [_norm("".join(c.itertext())) for c in row if c.tag in cell_tags]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _from_trafilatura_xml(xml: str, out: Outline) -> str:
    """Fill ``out`` from trafilatura's XML; return the page title it found."""
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    main = root.find("main")
    if main is None:
        main = root

    def walk(el: Any) -> None:
        for child in el:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag == "head":
                m = re.match(r"h(\d)", child.get("rend", "") or "")
                out.heading("".join(child.itertext()), int(m.group(1)) if m else 2)
            elif tag == "p" or tag == "quote":
                out.block(_norm("".join(child.itertext())))
            elif tag == "list":
                items = [_norm("".join(i.itertext())) for i in child.iter("item")]
                out.block("\n".join(f"- {i}" for i in items if i))
            elif tag == "table":
                out.block(_table_rows(child, "row", ("cell",)))
            elif tag == "code":
                out.block("".join(child.itertext()))
            elif tag in ("div", "main", "section"):
                walk(child)
            elif tag not in ("graphic", "comments", "lb"):
                text = _norm("".join(child.itertext()))
                if text:
                    out.block(text)

    walk(main)
    return root.get("title") or ""


def _fallback(html_text: str, out: Outline) -> str:
    """Block elements of the page in order, boilerplate tags removed (no trafilatura result)."""
    import lxml.html

    doc = lxml.html.document_fromstring(html_text)
    for tag in BOILERPLATE_TAGS:
        for el in doc.iter(tag):
            el.drop_tree() if el.getparent() is not None else None
    title = _norm(doc.findtext(".//title") or "")
    body = doc.find("body")
    if body is None:
        body = doc

    def walk(el: Any) -> None:
        for child in el:
            tag = child.tag if isinstance(child.tag, str) else ""
            if re.fullmatch(r"h[1-6]", tag):
                out.heading(child.text_content(), int(tag[1]))
            elif tag == "table":
                out.block(_table_rows(child, "tr", ("td", "th")))
            elif tag == "pre":
                out.block(child.text_content())
            elif tag in ("ul", "ol"):
                items = [_norm(li.text_content()) for li in child.iter("li")]
                out.block("\n".join(f"- {i}" for i in items if i))
            elif tag in BLOCK_TAGS:
                out.block(_norm(child.text_content()))
            elif tag:
                # Text directly inside a container counts as a paragraph of its own.
                if child.text and child.text.strip() and not any(isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in child):
                    out.block(_norm(child.text_content()))
                    continue
                walk(child)

    walk(body)
    return title


def decode_html(path: Path, data: bytes) -> str:
    """The page as text: BOM, then ``<meta charset>``, then UTF-8, then Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise UnreadableDocument(str(path), "binary file (NUL bytes), not HTML")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    m = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_-]+)", data[:4096], re.IGNORECASE)
    encodings = ([m.group(1).decode("ascii")] if m else []) + ["utf-8"]
    for enc in encodings:
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", "replace")


@register(".html", ".htm", ".xhtml", isolate=True)
def load_html(path: Path, data: bytes) -> Document:
    """HTML to a ``Document``: main content, headings as sections, tables as rows."""
    html_text = decode_html(path, data)
    if "<" not in html_text[:65536]:
        raise UnreadableDocument(str(path), "not HTML (no tags)")
    warnings: list[str] = []
    out = Outline()
    title = ""
    try:
        import trafilatura
        from trafilatura.settings import use_config

        config = use_config()
        # Short pages too get main-content extraction (below 250 characters trafilatura would
        # return the whole page text, navigation included); our own caps and timeout apply.
        config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
        config.set("DEFAULT", "MAX_FILE_SIZE", str(MAX_FILE_BYTES))
        config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
        xml = trafilatura.extract(
            html_text, output_format="xml", include_tables=True, include_comments=False, include_images=False,
            include_links=False, with_metadata=True, favor_recall=True, deduplicate=False, config=config,
        )
    except ImportError:  # pragma: no cover - trafilatura is a core dependency
        xml = None
        warnings.append("trafilatura is not installed: boilerplate removal is basic")
    if xml:
        title = _from_trafilatura_xml(xml, out)
    if not out.items or all(k == "heading" for k, *_ in out.items):
        out = Outline()
        title = _fallback(html_text, out) or title
        if out.items:
            warnings.append("no main content found by trafilatura; used every block of the page")
    try:
        return out.document(path, data, title=_norm(title), warnings=warnings)
    except UnreadableDocument as e:
        raise UnreadableDocument(str(path), "no text found in the HTML page") from e
