"""Plain-text and Markdown loaders."""
from __future__ import annotations

import re
from pathlib import Path

from qa.errors import UnreadableDocument
from qa.ingest import register, sha256_bytes, title_from_path
from qa.ingest.clean import clean_text
from qa.ingest.structure import assign_sections, section_spans
from qa.types import SECTION_SEP, Block, Document


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 (with or without BOM) or a clear reason why not."""
    if b"\x00" in data[:8192]:
        raise UnreadableDocument(str(path), "binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnreadableDocument(
            str(path), f"not UTF-8 text (invalid byte at offset {e.start}); convert it to UTF-8 first"
        ) from e


@register(".txt", ".text")
def load_text(path: Path, data: bytes) -> Document:
    """Hard-wrapped text such as PDF extractions: cleaned, then given sections."""
    raw = decode_text(path, data)
    cleaned = clean_text(raw)
    if not cleaned.text.strip():
        raise UnreadableDocument(str(path), "no text left after cleaning")
    blocks, sections = assign_sections(cleaned.text, cleaned.blocks, cleaned.page_starts)
    return Document(
        id=sha256_bytes(data),
        path=str(path),
        title=title_from_path(path),
        text=cleaned.text,
        blocks=tuple(blocks),
        pages=(),
        sections=tuple(sections),
        warnings=tuple(cleaned.warnings),
        stats=cleaned.stats,
    )


MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@register(".md", ".markdown")
def load_markdown(path: Path, data: bytes) -> Document:
    """Markdown: '#' headings become sections; fenced code and tables are kept as written."""
    raw = decode_text(path, data).replace("\r\n", "\n")
    parts: list[str] = []
    blocks: list[Block] = []
    stack: list[str] = []
    pos = 0
    title = ""

    def emit(kind: str, text: str) -> None:
        nonlocal pos
        text = text.strip("\n")
        if not text.strip():
            return
        if parts:
            parts.append("\n\n")
            pos += 2
        parts.append(text)
        blocks.append(Block(kind, pos, pos + len(text), SECTION_SEP.join(stack)))
        pos += len(text)

    buf: list[str] = []
    in_code = False
    for line in raw.split("\n"):
        if line.strip().startswith("```"):
            buf.append(line)
            in_code = not in_code
            if not in_code:
                emit("paragraph", "\n".join(buf))
                buf = []
            continue
        if in_code:
            buf.append(line)
            continue
        m = MD_HEADING.match(line)
        if m or not line.strip():
            if buf:
                # Tables and lists keep their lines; prose is unwrapped.
                keep_lines = any(b.lstrip().startswith(("|", "-", "*", "+")) or re.match(r"\s*\d+\.", b) for b in buf)
                emit("paragraph", "\n".join(buf) if keep_lines else " ".join(b.strip() for b in buf))
                buf = []
            if m:
                level, heading = len(m.group(1)), m.group(2).strip()
                title = title or heading
                del stack[level - 1 :]  # a heading at level N closes levels N and deeper
                stack.append(heading)
                emit("heading", heading)
            continue
        buf.append(line)
    if buf:
        emit("paragraph", "\n".join(buf))
    text = "".join(parts)
    if not text.strip():
        raise UnreadableDocument(str(path), "no text in Markdown file")
    sections = section_spans(blocks, len(text))
    return Document(
        id=sha256_bytes(data),
        path=str(path),
        title=title or title_from_path(path),
        text=text,
        blocks=tuple(blocks),
        sections=tuple(sections),
        stats={"headings": sum(b.kind == "heading" for b in blocks), "paragraphs": sum(b.kind == "paragraph" for b in blocks)},
    )
