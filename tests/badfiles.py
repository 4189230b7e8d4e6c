"""Generators of bad input files, one function each: ``write_X(folder) -> Path``.

Each writes one file into ``folder`` (which stands for ``source_docs/``) that ingestion must
skip with a clear reason, without losing any other file. ``BAD_FILES`` maps a name to its
generator and to a fragment of the reason ``qa index`` reports. Importable by any test
(``from badfiles import BAD_FILES``; ``tests/`` is on ``sys.path`` under pytest).
"""
from __future__ import annotations

import io
import os
import random
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path


def write_malformed_pdf(folder: Path) -> Path:
    """A PDF header followed by a broken object and noise: no cross-reference table, no pages."""
    rnd = random.Random(5)
    noise = bytes(rnd.randrange(256) for _ in range(4000))
    p = folder / "malformed.pdf"
    p.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\nstream\n" + noise + b"\n%%EOF\n")
    return p


def write_truncated_pdf(folder: Path) -> Path:
    """The first 300 bytes of a real PDF (the download that stopped)."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 700, "This report was cut short by a failed download.")
    c.showPage()
    c.save()
    p = folder / "truncated.pdf"
    p.write_bytes(buf.getvalue()[:300])
    return p


def write_encrypted_pdf(folder: Path) -> Path:
    """A PDF that needs a user password to open."""
    from reportlab.pdfgen import canvas

    p = folder / "encrypted.pdf"
    c = canvas.Canvas(str(p), encrypt="secret-password")
    c.drawString(72, 700, "Confidential numbers that must not be readable without the password.")
    c.showPage()
    c.save()
    return p


def write_bomb_pdf(folder: Path, decoded_mb: int = 96) -> Path:
    """A one-page PDF whose content stream is ~100 KB of Flate data inflating to ``decoded_mb`` MB."""
    comp = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    stream = b"".join(comp.compress(block) for _ in range(decoded_mb)) + comp.flush()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n" + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    p = folder / "bomb.pdf"
    p.write_bytes(out.getvalue())
    return p


def write_bomb_docx(folder: Path) -> Path:
    """A .docx (zip) whose document.xml inflates from ~30 KB to 32 MB."""
    p = folder / "bomb.docx"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<" + b" " * (32 * 1024 * 1024) + b"/>")
    return p


def write_not_a_docx(folder: Path) -> Path:
    """Plain text saved under a .docx name."""
    p = folder / "notes.docx"
    p.write_text("These are plain notes, not a Word document.\n", encoding="utf-8")
    return p


def write_binary_txt(folder: Path) -> Path:
    """Binary bytes (with NULs) under a .txt name."""
    rnd = random.Random(7)
    p = folder / "image-export.txt"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rnd.randrange(256) for _ in range(2048)))
    return p


def write_binary_html(folder: Path) -> Path:
    """Binary bytes under an .html name."""
    rnd = random.Random(8)
    p = folder / "page.html"
    p.write_bytes(b"\x00\x01\x02" + bytes(rnd.randrange(256) for _ in range(2048)))
    return p


def write_non_utf8_txt(folder: Path) -> Path:
    """Windows-1252 text (é, ’ as single bytes): not UTF-8."""
    p = folder / "latin1-notes.txt"
    p.write_bytes("Caf\u00e9 owners\u2019 survey: the r\u00e9sum\u00e9 of results.\n".encode("cp1252"))
    return p


def write_empty_pdf(folder: Path) -> Path:
    """A zero-byte file named .pdf."""
    p = folder / "empty.pdf"
    p.write_bytes(b"")
    return p


def write_symlink_out(folder: Path) -> Path:
    """A symlink inside the folder pointing at a text file outside it."""
    outside = folder.parent / "outside-secret.txt"
    outside.write_text("A private file outside the documents folder.\n", encoding="utf-8")
    p = folder / "linked.txt"
    if p.is_symlink() or p.exists():
        p.unlink()
    os.symlink(outside, p)
    return p


# name -> (generator, fragment of the skip reason)
BAD_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "malformed_pdf": (write_malformed_pdf, "malformed PDF"),
    "truncated_pdf": (write_truncated_pdf, "malformed PDF"),
    "encrypted_pdf": (write_encrypted_pdf, "encrypted PDF"),
    "bomb_pdf": (write_bomb_pdf, "decompression bomb"),
    "bomb_docx": (write_bomb_docx, "decompression bomb"),
    "not_a_docx": (write_not_a_docx, "not a DOCX"),
    "binary_txt": (write_binary_txt, "binary file"),
    "binary_html": (write_binary_html, "binary file"),
    "non_utf8_txt": (write_non_utf8_txt, "not UTF-8"),
    "empty_pdf": (write_empty_pdf, "empty file"),
    "symlink_out": (write_symlink_out, "outside the documents folder"),
}
