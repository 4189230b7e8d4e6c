"""The small frozen records that flow between the stages of the pipeline.

Every span is a pair of character offsets into ``Document.text`` (the cleaned text), so a
citation can always be checked: ``document.text[c.char_start:c.char_end] == c.quote``.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

SECTION_SEP = " › "


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` in a document's cleaned text."""

    start: int
    end: int


@dataclass(frozen=True)
class PageSpan:
    """Where page ``number`` (1-based, as printed or as counted) lies in the cleaned text."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class SectionSpan:
    """A heading path (``"Kazakhstan › International › ..."``) and the text it governs."""

    path: str
    start: int
    end: int


@dataclass(frozen=True)
class Block:
    """One unit of cleaned text: a body paragraph, a heading or a caption."""

    kind: str  # "paragraph" | "heading" | "caption"
    start: int
    end: int
    section: str
    page: int | None = None


@dataclass(frozen=True)
class Document:
    """A source file turned into clean text with its structure.

    ``id`` is the sha256 of the file's bytes, so it changes exactly when the file does.
    Captions stay in ``text`` (so the source viewer shows them) but are not indexed.
    """

    id: str
    path: str
    title: str
    text: str
    blocks: tuple[Block, ...]
    pages: tuple[PageSpan, ...] = ()
    sections: tuple[SectionSpan, ...] = ()
    warnings: tuple[str, ...] = ()
    stats: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def section_at(self, offset: int) -> str:
        """The section path governing ``offset`` ('' before the first heading)."""
        for s in self.sections:
            if s.start <= offset < s.end:
                return s.path
        return ""

    def page_at(self, offset: int) -> int | None:
        """The page holding ``offset``, when the source has pages."""
        for p in self.pages:
            if p.start <= offset < p.end:
                return p.number
        return None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["blocks"] = [[b.kind, b.start, b.end, b.section, b.page] for b in self.blocks]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Document":
        return cls(
            id=d["id"],
            path=d["path"],
            title=d["title"],
            text=d["text"],
            blocks=tuple(Block(k, s, e, sec, p) for k, s, e, sec, p in d["blocks"]),
            pages=tuple(PageSpan(**p) for p in d.get("pages", [])),
            sections=tuple(SectionSpan(**s) for s in d.get("sections", [])),
            warnings=tuple(d.get("warnings", [])),
            stats=dict(d.get("stats", {})),
        )


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """Content-derived chunk id: stable across rebuilds while the text is unchanged."""
    h = hashlib.sha256()
    for part in (doc_id, str(start), str(end), text):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(frozen=True)
class Chunk:
    """A retrieval unit: whole sentences of one or more paragraphs of one section.

    ``sentences`` are absolute spans in the document text; ``text`` is
    ``document.text[char_start:char_end]`` verbatim.
    """

    id: str
    doc_id: str
    title: str
    section: str
    page: int | None
    char_start: int
    char_end: int
    text: str
    sentences: tuple[Span, ...]

    def sentence_text(self, span: Span) -> str:
        """The text of one of this chunk's sentences (its span is absolute in the document)."""
        return self.text[span.start - self.char_start : span.end - self.char_start]

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["sentences"] = [[s.start, s.end] for s in self.sentences]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Chunk":
        return cls(
            id=d["id"],
            doc_id=d["doc_id"],
            title=d["title"],
            section=d["section"],
            page=d["page"],
            char_start=d["char_start"],
            char_end=d["char_end"],
            text=d["text"],
            sentences=tuple(Span(s, e) for s, e in d["sentences"]),
        )


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and its rank in each retriever (None: not found there)."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None
    dense_score: float = 0.0
    lexical_score: float = 0.0


@dataclass(frozen=True)
class Citation:
    """A verbatim quote of a source: ``quote == document.text[char_start:char_end]``."""

    n: int
    doc_id: str
    title: str
    section: str
    page: int | None
    char_start: int
    char_end: int
    quote: str
    chunk_id: str = ""


@dataclass(frozen=True)
class Answer:
    """What ``Assistant.ask`` returns.

    ``text`` is composed of source sentences with ``[n]`` markers; ``short`` is the exact
    answer span (a number, a date, a name) when the question type allows, else ''.
    ``found`` is False when the evidence is too weak: ``text`` then says so, and
    ``hits`` still lists the nearest passages.
    """

    question: str
    text: str
    short: str
    found: bool
    confidence: float
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
    resolved_question: str = ""
    message: str = ""
    candidate: str = ""  # the best answer found, also when it was too weak to give (for evaluation)

    def to_json(self) -> dict[str, Any]:
        """The prediction object of DESIGN.md (the contract of ``qa ask --json`` and ``qa eval``)."""
        return {
            "question": self.question,
            "resolved_question": self.resolved_question or self.question,
            "found": self.found,
            "answer": self.text,
            "short": self.short,
            "confidence": round(self.confidence, 4),
            "message": self.message,
            "candidate": self.candidate,
            "citations": [asdict(c) for c in self.citations],
            "retrieved": [
                {
                    "chunk_id": h.chunk.id,
                    "doc_id": h.chunk.doc_id,
                    "title": h.chunk.title,
                    "section": h.chunk.section,
                    "page": h.chunk.page,
                    "text": h.chunk.text,
                    "score": round(h.score, 6),
                }
                for h in self.hits
            ],
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }
