"""Turn PDF-extracted (or any hard-wrapped) plain text into clean paragraphs, headings and captions.

The rules, in the order they run (each one is tested on real lines of the report):

1. Normalise characters: ligatures, non-breaking spaces, control characters, tabs.
2. Drop page furniture: lone page numbers, running headers (an all-caps line of several
   words, or a short line repeated on three or more pages), editor marks such as ``[AM20]``.
3. Split lines into blocks at blank lines and at page starts (a line that pdftotext indents by
   one space when a new page begins).
4. A block of at most four lines that ends in a parenthesised source (``(Kremlin.ru, 2022)``)
   or in ``via Source`` is a photo caption: kept in the text for the reader, never indexed,
   never glued into a body sentence.
5. Hard-wrapped lines are joined with one space; a line-end hyphen is kept when the result is
   a compound (``Mazar-i-`` + ``Sharif``, ``anti-`` + ``Taliban``) and dropped only when the
   joined word is attested elsewhere in the document (``govern-`` + ``ment``).
6. A paragraph broken by a page break (it ends mid-sentence and the next body block starts
   in lower case, with only captions or furniture between) is mended into one paragraph.
7. A short block with no closing punctuation whose last line is short is a heading.
8. Bulleted or list-like lines (a line ending a sentence well short of the column width,
   followed by a capitalised line) start new paragraphs.

Footnote markers such as ``[12]`` stay in the text verbatim; the sentence splitter and the
matchers know to look past them.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"}
SPACES = {"\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ", "\u200b": ""}

PAGE_NUMBER_RE = re.compile(r"^\s*(?:page\s+)?\d{1,4}\s*$", re.IGNORECASE)
EDITOR_MARK_RE = re.compile(r"\[(?:AM|ED|CM)\d+\]\s?")
CAPTION_SOURCE_RE = re.compile(r"\([^()\[\]]{2,160}\)\.?\s*$")
CAPTION_VIA_RE = re.compile(r"\bvia [A-Z][\w.&-]*(?: [A-Z][\w.&-]*){0,3}\s*$")
CAPTION_MAX_WORDS = 45
CREDIT_LINK_WORDS = frozenset({"of", "and", "the", "for", "via", "in", "on", "at", "by", "from"})
SENTENCE_END_RE = re.compile(r"[a-z\d)][.!?]\s+(?=[A-Z“\"])")
ACRONYM_END_RE = re.compile(r"\w\s\([A-Z]{2,6}\)\.\s*$")
FOOTNOTE_RE = re.compile(r"\[\d{1,3}\]")
BULLET_RE = re.compile(r"^\s*[·•▪‣◦●\-–*]\s+")
TERMINAL = ".!?"
# A block ending in one of these was cut mid-sentence, whatever its length.
HEADING_NEVER_ENDS = {"the", "a", "an", "of", "to", "in", "on", "for", "by", "with", "that", "which", "as", "at", "from", "than", "its", "their", "his", "her", "is", "are", "was", "were", "not", "and", "or"}
CLOSERS = "”\"’')]"

# Compound prefixes whose hyphen survives a line break even when the joined word is unknown.
HYPHEN_PREFIXES = {
    "anti", "non", "pro", "pre", "post", "re", "co", "self", "ex", "semi", "quasi", "cross", "inter",
    "multi", "counter", "well", "long", "short", "one", "two", "three", "four", "five", "seven",
    "mid", "ill", "so", "case", "north", "south", "east", "west", "power", "oil", "sub", "over",
}


@dataclass
class Cleaned:
    """The cleaner's output: text plus typed blocks with offsets into it."""

    text: str
    blocks: list[tuple[str, int, int]]  # (kind, start, end) with kind paragraph | heading | caption
    page_starts: list[int] = field(default_factory=list)  # offsets where a new page began
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    # (offset, page index) wherever the source page changes in the cleaned text; the page
    # index counts the form feeds before the line (0 for text without form feeds).
    page_marks: list[tuple[int, int]] = field(default_factory=list)


def normalise_chars(raw: str) -> str:
    """Ligatures to letters, exotic spaces to spaces, control characters removed, NFC."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    for a, b in {**LIGATURES, **SPACES}.items():
        text = text.replace(a, b)
    # Keep newlines and form feeds (page breaks); drop other control characters.
    text = "".join(ch for ch in text if ch in "\n\f" or unicodedata.category(ch)[0] != "C")
    return unicodedata.normalize("NFC", text)


def _is_running_header(line: str, repeats: int) -> bool:
    s = line.strip()
    if not s or len(s) > 80:
        return False
    letters = [c for c in s if c.isalpha()]
    words = s.split()
    all_caps = bool(letters) and all(c.isupper() for c in letters)
    if all_caps and len(words) >= 3 and len(s) >= 12:
        return True
    # A short line repeated on many pages is a running header; headings such as "Domestic"
    # repeat once per chapter, so the bar is high.
    return repeats >= 8 and len(words) <= 8 and not s.endswith((".", ","))


@dataclass
class _Line:
    text: str  # stripped of trailing spaces
    page_start: bool
    page: int = 0  # form feeds seen before this line


def _lines_to_blocks(text: str, stats: dict[str, int], furniture: bool = True) -> list[list[_Line]]:
    """Split into blocks of lines, dropping furniture; a page start opens a new block."""
    raw_lines = text.split("\n")
    counts: dict[str, int] = {}
    for ln in raw_lines:
        key = ln.strip()
        if key:
            counts[key] = counts.get(key, 0) + 1
    blocks: list[list[_Line]] = []
    cur: list[_Line] = []
    page_break_pending = False
    page = 0
    for ln in raw_lines:
        if "\f" in ln:
            page_break_pending = True
            page += ln.count("\f")
            ln = ln.replace("\f", "")
        stripped = ln.strip()
        if not stripped:
            if cur:
                blocks.append(cur)
                cur = []
            continue
        if furniture and PAGE_NUMBER_RE.match(stripped):
            stats["page_numbers_removed"] = stats.get("page_numbers_removed", 0) + 1
            if cur:
                blocks.append(cur)
                cur = []
            continue
        if furniture and _is_running_header(stripped, counts.get(stripped, 0)):
            stats["headers_removed"] = stats.get("headers_removed", 0) + 1
            if cur:
                blocks.append(cur)
                cur = []
            continue
        marks = len(EDITOR_MARK_RE.findall(ln))
        if marks:
            stats["editor_marks_removed"] = stats.get("editor_marks_removed", 0) + marks
            ln = EDITOR_MARK_RE.sub("", ln)
        # pdftotext indents the first line of a new page by one space.
        page_start = page_break_pending or (ln.startswith(" ") and not ln.startswith("  "))
        page_break_pending = False
        line = _Line(re.sub(r" {2,}", " ", ln.strip()), page_start, page)
        if page_start and cur:
            blocks.append(cur)
            cur = []
        cur.append(line)
    if cur:
        blocks.append(cur)
    return blocks


def _join_text(lines: list[str]) -> str:
    return re.sub(r"\s+", " ", " ".join(lines)).strip()


def _is_caption(lines: list[str]) -> bool:
    if len(lines) > 4:
        return False
    joined = _join_text(lines)
    if FOOTNOTE_RE.search(joined) or not joined[:1].isupper() and joined[:1] not in "“\"‘":
        return False
    # A caption is a line or two under a photo: a paragraph of several sentences that happens
    # to end in a parenthesis ("... the Polish United Workers' Party (PZPR).") is body text,
    # and so is one sentence closing on an acronym.
    if len(joined.split()) > CAPTION_MAX_WORDS or len(SENTENCE_END_RE.findall(joined)) > 1:
        return False
    if ACRONYM_END_RE.search(joined):
        return False
    source = CAPTION_SOURCE_RE.search(joined)
    if source and _is_credit(source.group(0)):
        return True
    return bool(CAPTION_VIA_RE.search(joined))


def _is_credit(paren: str) -> bool:
    """Whether a closing parenthesis reads like a photo credit ("(Reuters, January 6)",
    "(Uzbek government handout via Eurasianet 25 May 2022)"), not an aside in running text
    ("(although Edison did receive one of 38 possible bids in 1915 ...)")."""
    words = re.findall(r"[^\W\d_][\w’'./-]*", paren)
    plain = [w for w in words if w[:1].islower() and w not in CREDIT_LINK_WORDS]
    return len(words) <= 12 and len(plain) <= 2


# Words a title leaves in lower case.
TITLE_SMALL_WORDS = frozenset("a an the and or but nor of in on at to for by with from as vs via into than".split())


def _is_heading(lines: list[str], column: int) -> bool:
    joined = _join_text(lines)
    words = joined.split()
    if not words or len(lines) > 3 or len(words) > 14:
        return False
    if joined[-1] in TERMINAL + ",;:-" or FOOTNOTE_RE.search(joined):
        return False
    if words[-1].strip("“”\"‘’").lower() in HEADING_NEVER_ENDS or joined[-1] in "“‘(":
        return False
    first = joined.lstrip("“\"‘")
    if not first[:1].isupper():
        return False
    # A wrapped heading ends in a short line; running text cut by a page break ends full,
    # unless it is written in title case ("Many Kyrgyz in Russian have Two / Passports: Kyrgyz
    # and Russian"), which running text is not.
    if len(lines) > 1 and len(lines[-1]) >= 0.6 * column and not _title_case(words):
        return False
    return True


def _title_case(words: list[str]) -> bool:
    """Whether most words (short function words aside) are capitalised, as in a title."""
    content = [w for w in words if w.lower() not in TITLE_SMALL_WORDS]
    return len(content) >= 3 and sum(w[:1].isupper() for w in content) >= 0.75 * len(content)


def _vocabulary(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", text)}


def _join_hyphen(left: str, right: str, vocab: set[str]) -> str:
    """Join ``left`` (ending in '-') with ``right``; keep the hyphen for compounds."""
    m1 = re.search(r"([A-Za-z]+)-$", left)
    m2 = re.match(r"([A-Za-z]+)", right)
    if m1 and m2:
        a, b = m1.group(1), m2.group(1)
        joined = (a + b).lower()
        hyphenated = f"{a}-{b}".lower()
        if b[0].islower() and a.lower() not in HYPHEN_PREFIXES and joined in vocab and hyphenated not in vocab:
            return left[:-1] + right
    return left + right


def _join_lines(lines: list[str], vocab: set[str]) -> str:
    return _join_lines_at(lines, vocab)[0]


def _join_lines_at(lines: list[str], vocab: set[str]) -> tuple[str, list[int]]:
    """Join hard-wrapped lines; also return where each line starts in the result."""
    out = ""
    starts: list[int] = []
    for ln in lines:
        if not out:
            starts.append(0)
            out = ln
        elif out.endswith("-") and not out.endswith(" -") and ln[:1].isalpha():
            joined = _join_hyphen(out, ln, vocab)
            starts.append(len(joined) - len(ln))
            out = joined
        else:
            starts.append(len(out) + 1)
            out = out + " " + ln
    if "  " in out or out != out.strip():  # lines arrive stripped, so this is rare; offsets then approximate
        out = re.sub(r" {2,}", " ", out).strip()
        starts = [min(s, max(len(out) - 1, 0)) for s in starts]
    return out, starts


def _split_list_lines(lines: list[str], column: int) -> list[list[str]]:
    """Break a block into paragraphs at bullets and at sentence ends well short of the column."""
    groups: list[list[str]] = [[]]
    for i, ln in enumerate(lines):
        bullet = BULLET_RE.match(ln)
        if bullet and i > 0:
            # "motivated by government – later abandoned / – plans to curtail": a dash that
            # continues an unfinished sentence with a lowercase word is punctuation, not a bullet.
            prev_open = lines[i - 1].rstrip(CLOSERS + " ")[-1:] not in TERMINAL + ":" and not BULLET_RE.match(lines[i - 1])
            if prev_open and ln[bullet.end() :][:1].islower():
                bullet = None
        if bullet and groups[-1]:
            groups.append([])
        groups[-1].append(BULLET_RE.sub("", ln) if bullet else ln)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        ends_sentence = ln.rstrip(CLOSERS + " ")[-1:] in TERMINAL or re.search(r"[.!?][”\"’)]?(\[\d+\])+$", ln)
        if nxt and ends_sentence and len(ln) < 0.72 * column and nxt.lstrip("“\"‘")[:1].isupper():
            groups.append([])
    return [g for g in groups if g]


def clean_text(raw: str, furniture: bool = True) -> Cleaned:
    """Clean hard-wrapped text into paragraphs, headings and captions with offsets.

    ``furniture=False`` keeps lone numbers and all-caps lines: for sources whose loader
    already removed headers, footers and page numbers by their position on the page (PDF).
    """
    stats: dict[str, int] = {}
    text = normalise_chars(raw)
    line_blocks = _lines_to_blocks(text, stats, furniture)
    lengths = sorted(len(ln.text) for b in line_blocks for ln in b if len(ln.text) > 20)
    # The body column width: the line length most wrapped lines reach.
    column = lengths[int(0.75 * (len(lengths) - 1))] if lengths else 80
    vocab = _vocabulary(text)

    # Classify blocks.
    typed: list[tuple[str, list[str], bool]] = []  # (kind, lines, starts_page)
    line_pages: dict[int, list[int]] = {}  # id(lines) -> the page of each line, carried through merges
    for b in line_blocks:
        lines = [ln.text for ln in b]
        line_pages[id(lines)] = [ln.page for ln in b]
        if _is_caption(lines):
            kind = "caption"
        elif _is_heading(lines, column):
            kind = "heading"
        else:
            kind = "paragraph"
        typed.append((kind, lines, b[0].page_start))

    # Mend paragraphs broken by a page break or a caption placed mid-column.
    merged: list[tuple[str, list[str], bool]] = []
    for kind, lines, starts_page in typed:
        last_idx = _last_paragraph(merged) if kind == "paragraph" else None
        if last_idx is not None:
            lk, llines, lsp = merged[last_idx]
            tail = llines[-1].rstrip()
            head = lines[0].lstrip("“\"‘(")
            core = tail.rstrip(CLOSERS)
            open_end = bool(core) and core[-1] not in TERMINAL + ":" and not FOOTNOTE_RE.search(tail[-5:])
            if open_end and head[:1].islower():
                joined_lines = llines + lines
                line_pages[id(joined_lines)] = line_pages[id(llines)] + line_pages[id(lines)]
                merged[last_idx] = (lk, joined_lines, lsp)
                stats["page_breaks_mended"] = stats.get("page_breaks_mended", 0) + 1
                continue
        merged.append((kind, lines, starts_page))

    # Emit text with offsets.
    parts: list[str] = []
    blocks: list[tuple[str, int, int]] = []
    page_starts: list[int] = []
    page_marks: list[tuple[int, int]] = []
    pos = 0
    for kind, lines, starts_page in merged:
        pages = line_pages[id(lines)]
        groups = [lines] if kind != "paragraph" else _split_list_lines(lines, column)
        first_line = 0  # groups keep every line once, in order: index of g[0] in ``lines``
        for g in groups:
            g_pages = pages[first_line : first_line + len(g)]
            first_line += len(g)
            if kind == "paragraph":
                para, line_starts = _join_lines_at(g, vocab)
            else:
                para = _join_text(g)
                line_starts = [0] * len(g)  # headings and captions are short: their first line's page
            if not para:
                continue
            if parts:
                parts.append("\n\n")
                pos += 2
            if starts_page:
                page_starts.append(pos)
                starts_page = False
            for pg, ls in zip(g_pages, line_starts):
                if not page_marks or page_marks[-1][1] != pg:
                    if page_marks and page_marks[-1][0] == pos + ls:
                        page_marks[-1] = (pos + ls, pg)
                    else:
                        page_marks.append((pos + ls, pg))
            parts.append(para)
            blocks.append((kind, pos, pos + len(para)))
            pos += len(para)
            stats[kind + "s"] = stats.get(kind + "s", 0) + 1
    cleaned = "".join(parts)
    warnings = []
    if not cleaned.strip():
        warnings.append("no text after cleaning")
    return Cleaned(cleaned, blocks, page_starts, warnings, stats, page_marks)


def _last_paragraph(merged: list[tuple[str, list[str], bool]]) -> int | None:
    """The last paragraph, if only captions follow it (a heading in between ends the search)."""
    for i in range(len(merged) - 1, -1, -1):
        if merged[i][0] == "paragraph":
            return i
        if merged[i][0] == "heading":
            return None
    return None
