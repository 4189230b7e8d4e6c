"""The parse report: what ingestion found and repaired in each document (``qa docs --report``).

Built from ``Document.stats`` and ``Document.warnings`` alone, so it works on any index
without parsing again. The same rows feed the CLI and can feed the web UI's Documents tab.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from qa.types import Document

# stats key -> label, in the order they are printed; the rest follow as "other repairs".
REPAIRS = {
    "headers_removed": "headers removed",
    "footers_removed": "footers removed",
    "page_numbers_removed": "page numbers removed",
    "captions": "captions found",
    "page_breaks_mended": "paragraphs mended across page/column breaks",
    "two_column_pages": "two-column pages reordered",
    "ligatures_replaced": "ligatures replaced",
    "editor_marks_removed": "editor marks removed",
    "tables": "tables",
}
COUNTS = {"paragraphs", "headings", "pages", "empty_pages"}


def _fmt(n: int) -> str:
    return f"{n:,}"


def document_report(doc: Document, chunks: int | None = None) -> dict[str, Any]:
    """One document's parse report as a plain dict (JSON-ready)."""
    st = doc.stats or {}
    pages = st.get("pages") or len({p.number for p in doc.pages}) or None
    return {
        "id": doc.id[:12],
        "title": doc.title,
        "file": Path(doc.path).name,
        "format": Path(doc.path).suffix.lower().lstrip(".") or "?",
        "pages": pages,
        "characters": len(doc.text),
        "words": len(re.findall(r"\w+", doc.text)),
        "chunks": chunks,
        "sections": len({s.path for s in doc.sections if s.path}),
        "headings": st.get("headings", 0),
        "paragraphs": st.get("paragraphs", 0),
        "headers_removed": st.get("headers_removed", 0),
        "footers_removed": st.get("footers_removed", 0),
        "page_numbers_removed": st.get("page_numbers_removed", 0),
        "captions": st.get("captions", 0),
        "empty_pages": st.get("empty_pages", 0) if pages else None,
        "repairs": {k: v for k, v in st.items() if k not in COUNTS and v},
        "warnings": list(doc.warnings),
    }


def format_report(rows: list[dict[str, Any]]) -> str:
    """The human form of ``document_report`` rows, one block per document."""
    out: list[str] = []
    for r in rows:
        out.append(f"{r['id']}  {r['title']}  ({r['file']}, {r['format'].upper()})")
        pages = f"{_fmt(r['pages'])} pages" if r["pages"] else "no pages (flowing text)"
        empty = f", {r['empty_pages']} empty" if r.get("empty_pages") else ""
        chunks = f", {_fmt(r['chunks'])} chunks" if r.get("chunks") is not None else ""
        out.append(f"    {pages}{empty}, {_fmt(r['characters'])} characters, {_fmt(r['words'])} words, "
                   f"{r['sections']} sections{chunks}")
        out.append(f"    headers removed {r['headers_removed']}, footers removed {r['footers_removed']}, "
                   f"page numbers removed {r['page_numbers_removed']}, captions found {r['captions']}")
        other = {k: v for k, v in r["repairs"].items()
                 if k not in ("headers_removed", "footers_removed", "page_numbers_removed", "captions")}
        if other:
            out.append("    also: " + ", ".join(f"{REPAIRS.get(k, k.replace('_', ' '))} {v}" for k, v in other.items()))
        for w in r["warnings"]:
            out.append(f"    warning: {w}")
        if not r["warnings"]:
            out.append("    warnings: none")
    return "\n".join(out)
