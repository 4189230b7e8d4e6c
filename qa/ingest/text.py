"""Plain-text and Markdown loaders, and ``Outline``, the builder that HTML and DOCX share."""
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


class Outline:
    """Build a ``Document`` from headings and blocks in reading order (Markdown, HTML, DOCX).

    A heading of level N closes the open headings of level N and deeper; each block's section
    is the path of open headings. A document that opens with its only top-level heading (the
    page title) does not repeat it in every section path: it becomes the title.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.items: list[tuple[str, int, int, tuple[tuple[int, str, int], ...]]] = []  # kind, start, end, open headings
        self.stack: list[tuple[int, str, int]] = []  # (level, text, heading id)
        self.headings: list[tuple[int, str]] = []  # (level, text)

    def _emit(self, kind: str, text: str) -> None:
        if self.parts:
            self.parts.append("\n\n")
            self.pos += 2
        self.parts.append(text)
        self.items.append((kind, self.pos, self.pos + len(text), tuple(self.stack)))
        self.pos += len(text)

    def heading(self, text: str, level: int) -> None:
        text = re.sub(r"\s+", " ", text).strip()
        if not text:
            return
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, text, len(self.headings)))
        self.headings.append((level, text))
        self._emit("heading", text)

    def block(self, text: str, kind: str = "paragraph") -> None:
        """A paragraph (or a table, list or code block, whose lines are kept)."""
        text = text.strip("\n")
        if text.strip():
            self._emit(kind, text.rstrip())

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def document(self, path: Path, data: bytes, title: str = "", warnings: list[str] | None = None,
                 stats: dict[str, int] | None = None) -> Document:
        text = self.text
        if not text.strip() or all(k == "heading" for k, *_ in self.items):
            raise UnreadableDocument(str(path), "no text found")
        title_id = None
        if self.items and self.items[0][0] == "heading" and self.headings:
            top = min(lv for lv, _ in self.headings)
            if self.headings[0][0] == top and sum(lv == top for lv, _ in self.headings) == 1:
                title_id = 0
                title = title or self.headings[0][1]
        blocks = [
            Block(kind, s, e, SECTION_SEP.join(h for _, h, hid in open_ if hid != title_id))
            for kind, s, e, open_ in self.items
        ]
        st = {"headings": sum(b.kind == "heading" for b in blocks), "paragraphs": sum(b.kind == "paragraph" for b in blocks)}
        st.update(stats or {})
        return Document(
            id=sha256_bytes(data),
            path=str(path),
            title=title or (self.headings[0][1] if self.headings else "") or title_from_path(path),
            text=text,
            blocks=tuple(blocks),
            sections=tuple(section_spans(blocks, len(text))),
            warnings=tuple(warnings or ()),
            stats=st,
        )


MD_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
MD_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
MD_FENCE = re.compile(r"^ {0,3}(```|~~~)")
MD_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1|(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
MD_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _md_inline(text: str) -> str:
    """Links and images become their text; emphasis markers go; inline code stays."""
    pieces = re.split(r"(`[^`]*`)", text)
    for i in range(0, len(pieces), 2):
        t = MD_LINK.sub(lambda m: m.group(1), pieces[i])
        pieces[i] = MD_EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or "", t)
    return "".join(pieces)


@register(".md", ".markdown")
def load_markdown(path: Path, data: bytes) -> Document:
    """Markdown: headings (``#`` and underlined) become sections; code blocks, tables and
    lists keep their lines; prose paragraphs are unwrapped; links become their text."""
    raw = decode_text(path, data).replace("\r\n", "\n").replace("\r", "\n")
    lines = raw.split("\n")
    # YAML front matter is metadata, not text.
    if lines and lines[0].strip() == "---":
        for j in range(1, min(len(lines), 200)):
            if lines[j].strip() in ("---", "..."):
                lines = lines[j + 1 :]
                break
    out = Outline()
    buf: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if not buf:
            return
        # Tables, lists and quotes keep their lines; prose is unwrapped.
        keep = any(b.lstrip().startswith(("|", ">")) or MD_LIST.match(b) for b in buf)
        if keep:  # a table's |---|:--:| rule is layout, not text
            text = "\n".join(_md_inline(b.rstrip()) for b in buf if not MD_TABLE_RULE.match(b))
        else:
            text = " ".join(_md_inline(b.strip()) for b in buf)
        out.block(text)
        buf.clear()

    for i, line in enumerate(lines):
        m_fence = MD_FENCE.match(line)
        if fence is not None:
            buf.append(line)
            if m_fence and m_fence.group(1) == fence:
                out.block("\n".join(buf))  # code is kept exactly as written
                buf.clear()
                fence = None
            continue
        if m_fence:
            flush()
            fence = m_fence.group(1)
            buf.append(line)
            continue
        m = MD_HEADING.match(line)
        setext = MD_SETEXT.match(line) if len(buf) == 1 and not MD_LIST.match(buf[0]) else None
        if setext and line.strip()[0] == "-" and len(line.strip()) < 2:
            setext = None
        if m or setext:
            if setext:
                heading, level = buf.pop(), 1 if line.strip()[0] == "=" else 2
            else:
                heading, level = m.group(2), len(m.group(1))  # type: ignore[union-attr]
            flush()
            out.heading(_md_inline(heading), level)
            continue
        if not line.strip() or re.match(r"^\s*<!--.*-->\s*$", line):
            flush()
            continue
        buf.append(line)
    if fence is not None:
        out.block("\n".join(buf))  # an unclosed fence: keep what is there
        buf.clear()
    flush()
    try:
        return out.document(path, data)
    except UnreadableDocument as e:
        raise UnreadableDocument(str(path), "no text in Markdown file") from e
