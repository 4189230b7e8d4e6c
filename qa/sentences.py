"""Sentence splitting with offsets (syntok), aware of footnote markers.

syntok does not split ``law.[2] The`` or ``Iraq.[14]The``; we split after the markers so
that each footnote stays with the sentence it annotates, and a sentence never starts with one.
"""
from __future__ import annotations

import re

import syntok.segmenter as segmenter

from qa.types import Span

FOOTNOTE_RE = re.compile(r"\[\d{1,3}\]")
# End of sentence, optional closing quote, one or more footnote markers, then a new sentence.
_SPLIT_AFTER_MARKERS = re.compile(r"[.!?][”\"’)]?\s?(?:\[\d{1,3}\])+(?=\s*[“\"‘(]?[A-Z])")
_LEADING_MARKERS = re.compile(r"^(?:\[\d{1,3}\]\s*)+")


def strip_footnotes(text: str) -> str:
    """Text without ``[12]`` markers, for matching and embedding (never for quoting)."""
    return re.sub(r"\s{2,}", " ", FOOTNOTE_RE.sub("", text)).strip()


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans (absolute offsets) of ``text[start:end]``, one paragraph or more."""
    end = len(text) if end is None else end
    piece = text[start:end]
    spans: list[tuple[int, int]] = []
    for paragraph in segmenter.analyze(piece):
        for sentence in paragraph:
            toks = [t for t in sentence]
            if not toks:
                continue
            s = toks[0].offset
            e = toks[-1].offset + len(toks[-1].value)
            spans.extend(_split_markers(piece, s, e))
    # A sentence that starts with footnote markers gives them to the sentence before.
    fixed: list[tuple[int, int]] = []
    for s, e in spans:
        m = _LEADING_MARKERS.match(piece[s:e])
        if m and fixed and "\n\n" not in piece[fixed[-1][1] : s]:
            fixed[-1] = (fixed[-1][0], s + len(m.group(0).rstrip()))
            s += len(m.group(0))
            if s >= e:
                continue
        fixed.append((s, e))
    return [Span(start + s, start + e) for s, e in fixed if piece[s:e].strip()]


def _split_markers(piece: str, s: int, e: int) -> list[tuple[int, int]]:
    out = []
    cur = s
    for m in _SPLIT_AFTER_MARKERS.finditer(piece, s, e):
        cut = m.end()
        if cut >= e:
            break
        out.append((cur, cut))
        cur = cut
        while cur < e and piece[cur].isspace():
            cur += 1
    out.append((cur, e))
    return [(a, b) for a, b in out if b > a]
