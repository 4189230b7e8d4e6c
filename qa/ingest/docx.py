"""DOCX loader (python-docx): paragraphs, headings as sections, tables as rows of text.

Body paragraphs and tables are read in document order. A paragraph styled ``Title`` or
``Heading N`` (or given an outline level) is a heading; list paragraphs keep a ``- ``
marker; a table becomes one block whose lines are its rows, cells separated by `` | ``
(a merged cell is written once). Page headers, footers and comments are not body text and
are left out. A .docx is a zip file: its members' sizes are checked before anything is
inflated, so a zip bomb is refused. Word has no fixed pages, so citations name sections.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

from qa.errors import UnreadableDocument
from qa.ingest import register
from qa.ingest.text import Outline
from qa.types import Document

MAX_UNZIPPED = 512 * 1024 * 1024
MAX_MEMBER_RATIO = 200  # a member over 16 MiB inflating more than this is a bomb
MAX_MEMBERS = 10_000


def check_zip(path: Path, data: bytes) -> None:
    """Refuse files that are not zip archives, or whose members would inflate too far."""
    if data[:2] == b"\xd0\xcf":
        raise UnreadableDocument(str(path), "encrypted or legacy Word file (OLE container); save it as an unprotected .docx")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise UnreadableDocument(str(path), "not a DOCX file (not a zip archive)") from e
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise UnreadableDocument(str(path), f"zip has too many members ({len(infos):,})")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED:
        raise UnreadableDocument(str(path), f"decompression bomb: members inflate to {total / 2**20:,.0f} MiB")
    for i in infos:
        if i.file_size > 16 * 1024 * 1024 and i.file_size > MAX_MEMBER_RATIO * max(i.compress_size, 1):
            raise UnreadableDocument(str(path), f"decompression bomb: {i.filename} inflates {i.file_size // max(i.compress_size, 1):,}-fold")
    if "word/document.xml" not in {i.filename for i in infos}:
        raise UnreadableDocument(str(path), "not a Word document (no word/document.xml)")


def _heading_level(par: Any) -> int | None:
    name = (par.style.name if par.style is not None else "") or ""
    if name == "Title":
        return 1
    m = re.match(r"Heading (\d)", name)
    if m:
        return int(m.group(1)) + 1  # "Title" sits above "Heading 1"
    ppr = par._p.pPr
    if ppr is not None:
        lvl = ppr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl")
        if lvl is not None:
            val = lvl.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val")
            if val is not None and val.isdigit() and int(val) < 9:
                return int(val) + 2
    return None


def _is_list(par: Any) -> bool:
    name = (par.style.name if par.style is not None else "") or ""
    if name.startswith("List"):
        return True
    ppr = par._p.pPr
    return ppr is not None and ppr.numPr is not None


def _table_text(table: Any) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is repeated by python-docx
                continue
            seen.add(id(cell._tc))
            cells.append(re.sub(r"\s+", " ", cell.text).strip())
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


@register(".docx", isolate=True)
def load_docx(path: Path, data: bytes) -> Document:
    """DOCX to a ``Document``: headings as sections, lists and tables kept readable."""
    check_zip(path, data)
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as e:  # pragma: no cover - python-docx is a core dependency
        raise UnreadableDocument(str(path), "DOCX support needs python-docx (pip install -e .)") from e
    try:
        d = docx.Document(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - python-docx raises many kinds on broken packages
        raise UnreadableDocument(str(path), f"malformed DOCX ({type(e).__name__}: {str(e)[:120]})") from e
    out = Outline()
    tables = 0
    items: list[str] = []  # consecutive list items form one block

    def flush_list() -> None:
        if items:
            out.block("\n".join(items))
            items.clear()

    for item in d.iter_inner_content():
        if isinstance(item, Table):
            flush_list()
            out.block(_table_text(item))
            tables += 1
            continue
        if not isinstance(item, Paragraph):
            continue
        text = re.sub(r"[ \t\u00a0]+", " ", item.text).strip()
        if not text:
            flush_list()
            continue
        level = _heading_level(item)
        if level is not None and len(text) <= 200:
            flush_list()
            out.heading(text, level)
        elif _is_list(item):
            items.append(f"- {text}")
        else:
            flush_list()
            out.block(text)
    flush_list()
    title = (d.core_properties.title or "").strip()
    try:
        return out.document(path, data, title=title, stats={"tables": tables})
    except UnreadableDocument as e:
        raise UnreadableDocument(str(path), "no text in the DOCX file") from e
