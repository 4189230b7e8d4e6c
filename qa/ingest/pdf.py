"""PDF loader: PDFium's text with positions, layout repair, then the shared cleaner.

The parser is pypdfium2 (Apache-2.0/BSD, PDFium's C++ engine): it was the fastest of the
parsers measured on the same files (``scripts/bench_parsers.py``, README) and gives each run
of text with its box, which is what the repairs below need.

Repairs, in order:

1. **Lines** are rebuilt from PDFium's text runs by their baselines, so a line drawn in
   pieces (a bold word, a link) comes out whole.
2. **Running headers and footers**: a line in the top or bottom band of the page whose text
   (digits ignored) recurs there on many pages is dropped, and so is a lone page number
   (``7``, ``Page 7``, ``7 of 20``, ``- 7 -``, roman numerals) in those bands.
3. **Two columns**: a page whose runs leave a vertical gutter in the middle third, with
   lines of text on both sides, is read left column first, then right column; lines that
   cross the gutter (titles, full-width figures' captions) separate bands read in turn.
   PDFs that draw text row by row across both columns come out in reading order too.
4. **Paragraphs** start at a vertical gap larger than the line pitch, at a change of font
   size, and at a column or page change (the cleaner mends a sentence cut by a column or
   page break when the next part starts in lower case).
5. **Hyphenation**: PDFium marks a line-end hyphen; the cleaner joins ``govern-`` + ``ment``
   when the whole word is used elsewhere in the document and keeps compounds. Soft hyphens
   (U+00AD) always join. **Ligatures** (``ﬁ``, ``ﬂ``...) become letters.
6. The cleaner then finds captions, headings and paragraphs (``qa/ingest/clean.py``), and
   sections come from the headings (``qa/ingest/structure.py``).

Every page keeps its number (the physical page, 1-based) as a ``PageSpan`` of the cleaned
text. Pages without any text (scanned images) are reported as warnings; there is no OCR.
Limits: at most ``MAX_PAGES`` pages; streams whose decoded size marks a decompression bomb
are refused before PDFium sees them; encrypted files that need a password are refused.
"""
from __future__ import annotations

import bisect
import ctypes
import re
import statistics
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.errors import UnreadableDocument
from qa.ingest import register, sha256_bytes, title_from_path
from qa.ingest.clean import LIGATURES, clean_text
from qa.ingest.structure import assign_sections
from qa.types import Document, PageSpan

MAX_PAGES = 2_000
MAX_TEXT_CHARS = 20_000_000  # extracted characters; a 2,000-page report has ~6 M
# Decompression bombs: one stream inflating past MAX_STREAM_DECODED at a ratio above
# BOMB_RATIO, or all non-image streams together past MAX_TOTAL_DECODED. Page content
# compresses ~3-10x; a bomb of zeros ~1000x.
MAX_STREAM_DECODED = 64 * 1024 * 1024
BOMB_RATIO = 200
MAX_TOTAL_DECODED = 512 * 1024 * 1024

FURNITURE_BAND = 0.12  # top and bottom share of the page height where headers/footers live
PAGE_NUMBER_RE = re.compile(
    r"^(?:(?:page|p\.|seite|pág\.?)\s*)?[-–—\s]*(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:of|/|de|von)\s*\d{1,4})?[-–—\s]*$",
    re.IGNORECASE,
)
GENERIC_TITLES = {"untitled", "title", "document", "microsoft word", "presentation", "slide 1"}


@dataclass
class Run:
    """A run of text on one line with its box in PDF points (origin bottom left)."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    base: float = 0.0  # baseline (the origin of its first character)
    size: float = 0.0  # font size of its first character

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1.0)

    @property
    def mid(self) -> float:
        return (self.y0 + self.y1) / 2


class Line:
    """Runs on one baseline, left to right once finished; geometry kept up to date on ``add``."""

    __slots__ = ("runs", "text", "x0", "y0", "x1", "y1", "height", "base", "size")

    def __init__(self, run: Run) -> None:
        self.runs = [run]
        self.text = ""
        self.x0, self.y0, self.x1, self.y1 = run.x0, run.y0, run.x1, run.y1
        self.height, self.base, self.size = run.height, run.base, run.size

    def add(self, run: Run) -> None:
        self.runs.append(run)
        self.x0, self.x1 = min(self.x0, run.x0), max(self.x1, run.x1)
        self.y0, self.y1 = min(self.y0, run.y0), max(self.y1, run.y1)
        if run.size > self.size:  # the line's baseline and size are those of its main text
            self.base, self.size, self.height = run.base, run.size, run.height


@dataclass
class PageText:
    number: int
    width: float
    height: float
    runs: list[Run]
    images: int = 0
    two_columns: bool = False
    removed: Counter[str] = field(default_factory=Counter)


# -- safety checks before PDFium sees the file ------------------------------------------------


def check_streams(path: Path, data: bytes) -> int:
    """Inflate every Flate stream that is not an image with bounded buffers; refuse bombs.

    Images are skipped: text extraction never decodes them, and a white scanned page can
    legitimately compress a hundredfold. Memory stays bounded whatever the file. Returns the
    total decoded size of the streams checked.
    """
    step = 1024 * 1024
    total = 0
    for m in re.finditer(rb"(?<!end)stream\r?\n", data):
        start = m.end()
        head = data[max(0, m.start() - 2048) : m.start()]
        head = head[head.rfind(b" obj") + 1 :] if b" obj" in head else head
        if re.search(rb"/Subtype\s*/Image", head):
            continue
        d = zlib.decompressobj()
        decoded = 0
        inp, pos = data[start : start + step], start + step
        try:
            while True:
                decoded += len(d.decompress(inp, step))
                if d.eof or decoded > MAX_STREAM_DECODED:
                    break
                if d.unconsumed_tail:
                    inp = d.unconsumed_tail
                    continue
                if pos >= len(data):
                    break
                inp, pos = data[pos : pos + step], pos + step
        except zlib.error:
            continue  # not Flate (or filtered otherwise): PDFium decides
        consumed = max(1, min(pos, len(data)) - start - len(d.unconsumed_tail) - len(d.unused_data))
        if decoded > MAX_STREAM_DECODED and decoded / consumed > BOMB_RATIO:
            raise UnreadableDocument(
                str(path),
                f"decompression bomb: a {consumed:,}-byte stream inflates past {MAX_STREAM_DECODED // 2**20} MB",
            )
        total += decoded
        if total > MAX_TOTAL_DECODED:
            raise UnreadableDocument(str(path), f"decompression bomb: streams inflate past {MAX_TOTAL_DECODED // 2**20} MB")
    return total


def open_pdf(path: Path, data: bytes):  # type: ignore[no-untyped-def]
    """A ``pypdfium2.PdfDocument`` or ``UnreadableDocument`` with the reason."""
    try:
        import pypdfium2 as pdfium
    except ImportError as e:  # pragma: no cover - pypdfium2 is a core dependency
        raise UnreadableDocument(str(path), "PDF support needs pypdfium2 (pip install -e .)") from e
    if not data.lstrip()[:5] == b"%PDF-" and b"%PDF-" not in data[:1024]:
        raise UnreadableDocument(str(path), "not a PDF file (no %PDF header)")
    check_streams(path, data)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        msg = str(e)
        if "password" in msg.lower():
            raise UnreadableDocument(str(path), "encrypted PDF (a password is needed to open it)") from e
        raise UnreadableDocument(str(path), f"malformed PDF ({msg.split('(PDFium: ')[-1].rstrip(').') or msg})") from e
    n = len(pdf)
    if n == 0:
        raise UnreadableDocument(str(path), "PDF has no pages")
    if n > MAX_PAGES:
        raise UnreadableDocument(str(path), f"too many pages ({n:,} > {MAX_PAGES:,})")
    return pdf


# -- text runs --------------------------------------------------------------------------------


def _clean_run_text(t: str) -> str:
    # PDFium marks a line-end hyphen as \x02 (and U+FFFE in some paths); a soft hyphen stays.
    t = t.replace("\x00", "").replace("\x02", "-").replace("\ufffe", "-").replace("\r", " ").replace("\n", " ")
    return t


def page_runs(pdf, index: int) -> PageText:  # type: ignore[no-untyped-def]
    """The text runs of one page (PDFium's rectangles and the text inside each)."""
    import pypdfium2.raw as pdfium_c

    page = pdf[index]
    try:
        width, height = page.get_size()
        textpage = page.get_textpage()
        runs: list[Run] = []
        bufsize = 4096
        buf = (ctypes.c_ushort * bufsize)()
        try:
            for i in range(textpage.count_rects()):
                x0, y0, x1, y1 = textpage.get_rect(i)
                # One call into PDFium with a reused buffer (the wrapper makes two and copies).
                n = pdfium_c.FPDFText_GetBoundedText(textpage.raw, x0, y1, x1, y0, buf, bufsize)
                if n >= bufsize - 1:
                    raw_text = textpage.get_text_bounded(x0, y0, x1, y1)
                else:
                    raw_text = bytes(memoryview(buf).cast("B")[: 2 * n]).decode("utf-16-le", "replace")
                text = _clean_run_text(raw_text)
                if not text.strip():
                    continue
                # The first character's baseline and font size (the box's height varies with
                # ascenders and descenders, so it cannot tell paragraphs or headings apart).
                idx = pdfium_c.FPDFText_GetCharIndexAtPos(textpage.raw, x0 + 0.5, (y0 + y1) / 2, 1.0, max((y1 - y0) / 2, 1.0))
                base, size = y0, y1 - y0
                if idx >= 0:
                    ox, oy = ctypes.c_double(), ctypes.c_double()
                    if pdfium_c.FPDFText_GetCharOrigin(textpage.raw, idx, ctypes.byref(ox), ctypes.byref(oy)):
                        base = oy.value
                    size = pdfium_c.FPDFText_GetFontSize(textpage.raw, idx) or size
                runs.append(Run(x0, y0, x1, y1, text, base, size))
        finally:
            textpage.close()
        images = 0
        if not runs:
            images = sum(1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
    finally:
        page.close()
    return PageText(index + 1, width, height, runs, images)


def group_lines(runs: list[Run]) -> list[Line]:
    """Runs on one baseline become one line (top to bottom, runs left to right)."""
    lines: list[Line] = []
    for r in sorted(runs, key=lambda r: (-r.mid, r.x0)):
        for ln in reversed(lines[-3:]):
            lo, hi = max(ln.y0, r.y0), min(ln.y1, r.y1)
            if hi - lo >= 0.5 * min(ln.height, r.height):
                ln.add(r)
                break
        else:
            lines.append(Line(r))
    for ln in lines:
        ln.runs.sort(key=lambda r: r.x0)
        parts: list[str] = []
        prev: Run | None = None
        for r in ln.runs:
            t = r.text
            if prev is not None:
                # PDFium puts the word spaces it sees into the runs' text; runs split inside a word
                # (at an apostrophe, a kerned pair, a change of font) sit closer than ~1/3 em.
                gap = r.x0 - prev.x1
                em = max(prev.size, r.size, 1.0)
                if gap > 0.35 * em and not parts[-1].endswith(" ") and not t.startswith(" "):
                    parts.append(" ")
            parts.append(t)
            prev = r
        ln.text = re.sub(r"\s+", " ", "".join(parts)).strip()
    lines.sort(key=lambda ln: -ln.y1)
    return lines


# -- running headers, footers and page numbers ------------------------------------------------


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", text.strip().lower()))


def _band_lines(page: PageText, lines: list[Line]) -> tuple[list[Line], list[Line]]:
    """Up to two lines in the top band and two in the bottom band of the page."""
    top = [ln for ln in lines[:2] if ln.y0 >= page.height * (1 - FURNITURE_BAND)]
    bottom = [ln for ln in lines[-2:] if ln.y1 <= page.height * FURNITURE_BAND and ln not in top]
    return top, bottom


def remove_furniture(pages: list[PageText]) -> None:
    """Drop running headers/footers and page numbers from every page's runs (counted per page)."""
    lines_of = {p.number: group_lines(p.runs) for p in pages}
    seen: Counter[tuple[str, str]] = Counter()
    for p in pages:
        top, bottom = _band_lines(p, lines_of[p.number])
        for zone, band in (("top", top), ("bottom", bottom)):
            for key in {_furniture_key(ln.text) for ln in band}:
                seen[(zone, key)] += 1
    with_text = sum(1 for p in pages if p.runs)
    # A header on alternate pages (book style) recurs on about half of them.
    repeat_min = max(3, int(0.3 * with_text + 0.999))
    for p in pages:
        top, bottom = _band_lines(p, lines_of[p.number])
        drop: set[int] = set()
        for zone, band in (("top", top), ("bottom", bottom)):
            for ln in band:
                if PAGE_NUMBER_RE.match(ln.text):
                    p.removed["page_numbers_removed"] += 1
                elif with_text >= 3 and seen[(zone, _furniture_key(ln.text))] >= repeat_min:
                    p.removed["headers_removed" if zone == "top" else "footers_removed"] += 1
                else:
                    continue
                drop.update(id(r) for r in ln.runs)
        if drop:
            p.runs = [r for r in p.runs if id(r) not in drop]


# -- reading order ----------------------------------------------------------------------------


def find_gutter(page: PageText) -> float | None:
    """The x of a vertical gutter between two columns of text lines, or None (one column)."""
    runs = page.runs
    if len(runs) < 6:
        return None
    w = page.width
    x = 0.3 * w
    run_start = 0.0
    xs: list[tuple[float, int]] = []
    starts = sorted(r.x0 for r in runs)
    ends = sorted(r.x1 for r in runs)
    while x <= 0.7 * w:
        # Runs crossing x: those starting left of it, less those that also end by it.
        xs.append((x, bisect.bisect_left(starts, x) - bisect.bisect_right(ends, x)))
        x += 2.0
    min_cross = min(c for _, c in xs)
    # Lines that cross the gutter (a title, a full-width paragraph) are allowed: they separate
    # bands of columns. On a one-column page nearly every line crosses the middle.
    if min_cross > 0.4 * len(runs):
        return None
    # The widest stretch of x with the fewest crossings: its middle is the gutter.
    best_len, best_mid, cur_len = 0.0, None, 0.0
    for x, c in xs:
        if c == min_cross:
            run_start = x if cur_len == 0 else run_start
            cur_len += 2.0
            if cur_len > best_len:
                best_len, best_mid = cur_len, (run_start + x) / 2
        else:
            cur_len = 0.0
    if best_mid is None:
        return None
    g = best_mid
    left = [r for r in runs if r.x1 <= g]
    right = [r for r in runs if r.x0 >= g]
    left_lines, right_lines = group_lines(left), group_lines(right)
    if len(left_lines) < 3 or len(right_lines) < 3:
        return None
    # Columns of prose, not a table: lines on each side are wide, and the sides run side by side.
    if statistics.median(ln.x1 - ln.x0 for ln in left_lines) < 0.2 * w:
        return None
    if statistics.median(ln.x1 - ln.x0 for ln in right_lines) < 0.2 * w:
        return None
    overlap = min(left_lines[0].y1, right_lines[0].y1) - max(left_lines[-1].y0, right_lines[-1].y0)
    shorter = min(left_lines[0].y1 - left_lines[-1].y0, right_lines[0].y1 - right_lines[-1].y0)
    if shorter <= 0 or overlap < 0.5 * shorter:
        return None
    return g


def reading_order(page: PageText) -> list[list[Line]]:
    """The page's lines in reading order, as runs of lines that belong to one column or band."""
    g = find_gutter(page)
    if g is None:
        return [group_lines(page.runs)]
    page.two_columns = True
    spanning = sorted((r for r in page.runs if r.x0 < g < r.x1), key=lambda r: -r.mid)
    span_lines = group_lines(spanning)
    cuts = [ln.y0 for ln in span_lines]  # a spanning line ends the band above it

    def band(r: Run) -> int:
        return sum(1 for c in cuts if r.mid < c)

    out: list[list[Line]] = []
    for b in range(len(cuts) + 1):
        left = [r for r in page.runs if r.x1 <= g and band(r) == b]
        right = [r for r in page.runs if r.x0 >= g and band(r) == b]
        for col in (left, right):
            if col:
                out.append(group_lines(col))
        if b < len(span_lines):
            out.append([span_lines[b]])
    return out


def page_text(page: PageText) -> str:
    """Lines of the page in reading order; a blank line between paragraphs."""
    out: list[str] = []
    for group in reading_order(page):
        # The usual distance between baselines of lines of one size is the line pitch.
        pitches = [a.base - b.base for a, b in zip(group, group[1:]) if a.base - b.base > 0 and abs(a.size - b.size) < 0.5]
        pitch = statistics.median(pitches) if pitches else None
        if out:
            out.append("")
        for i, ln in enumerate(group):
            if i:
                prev = group[i - 1]
                gap = prev.base - ln.base
                size_change = abs(ln.size - prev.size) > 0.1 * max(prev.size, 1.0)
                if (pitch and gap > 1.3 * pitch) or gap < 0 or size_change:
                    out.append("")
            t = ln.text
            if t.endswith("\u00ad") and i + 1 < len(group):
                t = t[:-1] + "-"  # a soft hyphen always joins; the cleaner sees a plain one
            out.append(t)
    return "\n".join(out)


# -- the loader -------------------------------------------------------------------------------


def _title(pdf, path: Path) -> str:  # type: ignore[no-untyped-def]
    try:
        t = (pdf.get_metadata_dict().get("Title") or "").strip()
    except Exception:  # noqa: BLE001 - metadata is optional
        t = ""
    low = t.lower()
    if not t or low in GENERIC_TITLES or low.startswith("microsoft word") or re.search(r"\.(docx?|pdf|indd|tex)$", low):
        return title_from_path(path)
    return t


def extract_pages(path: Path, data: bytes) -> tuple[list[PageText], str]:
    """Every page's runs (furniture not yet removed) and the document title."""
    pdf = open_pdf(path, data)
    try:
        pages = []
        chars = 0
        for i in range(len(pdf)):
            p = page_runs(pdf, i)
            chars += sum(len(r.text) for r in p.runs)
            if chars > MAX_TEXT_CHARS:
                raise UnreadableDocument(str(path), f"too much text (over {MAX_TEXT_CHARS:,} characters)")
            pages.append(p)
        return pages, _title(pdf, path)
    finally:
        pdf.close()


@register(".pdf", isolate=True)
def load_pdf(path: Path, data: bytes) -> Document:
    """PDF to a ``Document`` with pages, sections and the repairs listed in the module doc."""
    pages, title = extract_pages(path, data)
    ligatures = sum(r.text.count(lig) for p in pages for r in p.runs for lig in LIGATURES)
    remove_furniture(pages)
    texts = [page_text(p) for p in pages]
    raw = "\n\f".join(texts)
    cleaned = clean_text(raw, furniture=False)
    if not cleaned.text.strip():
        raise UnreadableDocument(str(path), "no text in the PDF (scanned images only? OCR is not supported)")
    blocks, sections = assign_sections(cleaned.text, cleaned.blocks, cleaned.page_starts)

    # Page spans from the cleaner's page marks (page index = form feeds before the line).
    spans: list[PageSpan] = []
    marks = cleaned.page_marks
    for (start, idx), nxt in zip(marks, marks[1:] + [(len(cleaned.text), -1)]):
        if nxt[0] > start:
            spans.append(PageSpan(idx + 1, start, nxt[0]))
    doc_pages = tuple(spans)

    def page_of(offset: int) -> int | None:
        for s in doc_pages:
            if s.start <= offset < s.end:
                return s.number
        return None

    blocks = [replace(b, page=page_of(b.start)) for b in blocks]
    stats: Counter[str] = Counter()
    for p in pages:
        stats.update(p.removed)
    stats.update(cleaned.stats)
    with_text = {s.number for s in doc_pages}
    no_text = [p.number for p in pages if not p.runs]
    stats["pages"] = len(pages)
    stats["empty_pages"] = len([p for p in pages if p.number not in with_text])
    stats["two_column_pages"] = sum(p.two_columns for p in pages)
    if ligatures:  # PDFium usually decomposes ligatures itself; the cleaner catches the rest
        stats["ligatures_replaced"] = ligatures
    stats["captions"] = stats.pop("captions", 0)
    warnings = list(cleaned.warnings)
    scanned = [p.number for p in pages if not p.runs and p.images]
    if scanned:
        warnings.append(f"{len(scanned)} page(s) are images without a text layer (scanned?), not indexed: pages {_ranges(scanned)}")
    blank = [n for n in no_text if n not in scanned]
    if blank:
        warnings.append(f"{len(blank)} page(s) have no text: pages {_ranges(blank)}")
    return Document(
        id=sha256_bytes(data),
        path=str(path),
        title=title,
        text=cleaned.text,
        blocks=tuple(blocks),
        pages=doc_pages,
        sections=tuple(sections),
        warnings=tuple(warnings),
        stats={k: int(v) for k, v in stats.items()},
    )


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``'1-3, 7'``."""
    out: list[str] = []
    for n in sorted(numbers):
        if out and "-" not in out[-1].split(",")[-1] and int(out[-1].split("-")[-1]) == n - 1:
            out[-1] = out[-1] + f"-{n}"
        elif out and "-" in out[-1] and int(out[-1].split("-")[-1]) == n - 1:
            out[-1] = out[-1].rsplit("-", 1)[0] + f"-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)
