"""Give every block a section path: chapter › part › heading.

Reports such as the Central Asia monitor have one chapter per country and print no chapter
titles in their extracted text. A chapter is recognised by its "Key takeaways" heading: it
starts at the page holding the takeaways (the summary comes first in reading order) and runs
to the next one. Its title is the place the chapter is about, found by counting mentions of
the places in ``qa.places.GAZETTEER`` (names, adjectives, capitals and leaders). Because PDF extraction
sometimes emits a chapter's first page before its summary page, a page at the end of the
previous chapter that is plainly about the next chapter's place moves with it.

Headings named in ``PART_HEADINGS`` ("Domestic", "International", "Conclusion", ...) open a
part; any other heading is a topic inside the current part.
"""
from __future__ import annotations

import re
from collections import Counter

from qa.places import place_votes
from qa.types import SECTION_SEP, Block, SectionSpan

PART_HEADINGS = {
    "foreword", "preface", "introduction", "key takeaways", "key findings", "summary", "executive summary",
    "domestic", "international", "conclusion", "conclusions", "recommendations", "references", "annex",
    "background", "methodology",
}
CHAPTER_ANCHORS = {"key takeaways", "key findings"}



def _norm_heading(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().lower()


def _chapter_titles(texts: list[str]) -> list[str]:
    """Name each chapter after the place that dominates it.

    When two places are close (a chapter on Kyrgyz migrants in Russia), the one that clearly
    heads another chapter wins: the report is organised by those places.
    """
    tops = []
    for t in texts:
        ranked = place_votes(t).most_common(2) + [("", 0), ("", 0)]
        tops.append((ranked[0], ranked[1]))
    confident = {a for (a, n1), (_, n2) in tops if n1 >= 5 and n1 >= 1.3 * n2}
    titles = []
    for (a, n1), (b, n2) in tops:
        if n1 >= 5 and n1 >= 1.3 * n2:
            titles.append(a)
        elif n1 >= 5 and (a in confident) != (b in confident):
            titles.append(a if a in confident else b)
        else:
            titles.append("")
    return titles


def assign_sections(
    text: str, raw_blocks: list[tuple[str, int, int]], page_starts: list[int]
) -> tuple[list[Block], list[SectionSpan]]:
    """Section paths for ``raw_blocks`` (kind, start, end) of the cleaned ``text``."""
    anchors = [
        i for i, (k, s, e) in enumerate(raw_blocks) if k == "heading" and _norm_heading(text[s:e]) in CHAPTER_ANCHORS
    ]
    # Block index at which each chapter starts: the page start before its anchor.
    starts_set = set(page_starts)
    chapter_starts: list[int] = []
    for a in anchors:
        j = a
        lo = chapter_starts[-1] + 1 if chapter_starts else 0
        while j > lo and raw_blocks[j][1] not in starts_set:
            j -= 1
        chapter_starts.append(j if raw_blocks[j][1] in starts_set else a)

    ends = chapter_starts[1:] + [len(raw_blocks)]
    titles = _chapter_titles([text[raw_blocks[s][1] : raw_blocks[e - 1][2]] for s, e in zip(chapter_starts, ends)])

    # Pull back pages that extraction emitted before their chapter's summary page.
    block_page_starts = [i for i, b in enumerate(raw_blocks) if b[1] in starts_set]
    for c in range(1, len(chapter_starts)):
        while True:
            earlier = [i for i in block_page_starts if chapter_starts[c - 1] < i < chapter_starts[c]]
            if not earlier or not titles[c]:
                break
            p = earlier[-1]
            page_text = text[raw_blocks[p][1] : raw_blocks[chapter_starts[c] - 1][2]]
            votes = place_votes(page_text)
            if titles[c] != titles[c - 1] and votes[titles[c]] >= 2 and votes[titles[c]] > votes[titles[c - 1]]:
                chapter_starts[c] = p
            else:
                break

    chapter_of = [-1] * len(raw_blocks)
    for c, (s, e) in enumerate(zip(chapter_starts, chapter_starts[1:] + [len(raw_blocks)])):
        for i in range(s, e):
            chapter_of[i] = c
    # Disambiguate chapters about the same place ("Kyrgyzstan", "Kyrgyzstan (2)").
    seen: Counter[str] = Counter()
    names = []
    for t in titles:
        seen[t] += 1
        names.append(t if not t or seen[t] == 1 else f"{t} ({seen[t]})")

    blocks: list[Block] = []
    part = topic = ""
    current_chapter = -2
    for i, (kind, s, e) in enumerate(raw_blocks):
        c = chapter_of[i]
        if c != current_chapter:
            current_chapter = c
            part = topic = ""
            # The summary before the chapter's anchor heading belongs to the takeaways.
            if c >= 0:
                part = text[raw_blocks[anchors[c]][1] : raw_blocks[anchors[c]][2]].strip()
        if kind == "heading":
            h = re.sub(r"\s+", " ", text[s:e]).strip()
            if _norm_heading(h) in PART_HEADINGS:
                part, topic = h, ""
            else:
                if _norm_heading(part) in CHAPTER_ANCHORS:
                    part = ""  # takeaways are a summary; topics after them stand on their own
                topic = h
        chapter = names[c] if c >= 0 else ""
        path = SECTION_SEP.join(x for x in (chapter, part, topic) if x)
        blocks.append(Block(kind, s, e, path))

    return blocks, section_spans(blocks, len(text))


def section_spans(blocks: list[Block], text_len: int) -> list[SectionSpan]:
    """Runs of blocks with one section path, each span reaching to the next (every loader uses this)."""
    sections: list[SectionSpan] = []
    for b in blocks:
        if sections and sections[-1].path == b.section:
            sections[-1] = SectionSpan(b.section, sections[-1].start, b.end)
        else:
            if sections:  # close the previous span where this one starts
                sections[-1] = SectionSpan(sections[-1].path, sections[-1].start, b.start)
            sections.append(SectionSpan(b.section, b.start, b.end))
    if sections:
        sections[-1] = SectionSpan(sections[-1].path, sections[-1].start, text_len)
    return sections
