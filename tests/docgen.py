"""Generators of well-formed PDF, HTML and DOCX fixtures (no binary blobs in the repository).

``layout_pdf`` writes a small report with everything PDF extraction breaks: a running header
and footer, page numbers, two columns (one page drawn row by row across both columns, so the
content stream is not in reading order), a hyphenated line break, a ligature, a caption, a
fact that is only on page 3 and a page that is only an image. ``report_pdf``, ``report_html``
and ``report_docx`` write the same report (a cleaned ``Document``) in each format.
Fonts: Bitstream Vera, shipped inside reportlab (it has the ``ﬁ`` ligature glyph).
"""
from __future__ import annotations

import html
from pathlib import Path

from qa.types import SECTION_SEP, Document

HEADER = "NORTHWIND ENERGY REVIEW 2024"
FOOTER = "Northwind Institute · Annual review"
PAGE3_FACT = "The Kestrel wind farm produced 412 gigawatt hours of electricity in 2024."
HYPHEN_LINE = "Analysts expected the regional govern-"  # the next line starts with "ment"
LIGATURE_WORD = "\ufb01nancial"  # "financial" drawn with the fi ligature glyph

# Page 2, drawn column by column; page 3, drawn row by row across both columns.
LEFT_2 = [
    "The first column of page two opens the section on policy and it runs down the left side of the page",
    "before the reader moves across to the right column. Every sentence here belongs to the left column.",
]
RIGHT_2 = [
    "The second column of page two continues the discussion of policy and it must be read after the left one.",
    "Its last sentence closes the page and leads to the next section on production.",
]
LEFT_3 = [
    "Production rose across the region during the year, led by new turbines on the northern coast.",
    PAGE3_FACT + " That output was a record for the site.",
]
RIGHT_3 = [
    "Storage remained the weak point of the system, because batteries were scarce and expensive.",
    "Grid operators asked for more interconnectors to move power between the valleys.",
]


def _fonts() -> tuple[str, str]:
    import os

    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", os.path.join(folder, "Vera.ttf")))
        pdfmetrics.registerFont(TTFont("VeraBd", os.path.join(folder, "VeraBd.ttf")))
    return "Vera", "VeraBd"


def wrap(text: str, width: float, font: str, size: float) -> list[str]:
    """Greedy word wrap to ``width`` points; a newline in ``text`` forces a break."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    for part in text.split("\n"):
        cur = ""
        for word in part.split():
            trial = f"{cur} {word}".strip()
            if cur and stringWidth(trial, font, size) > width:
                lines.append(cur)
                cur = word
            else:
                cur = trial
        if cur:
            lines.append(cur)
    return lines


def layout_pdf(path: Path) -> Path:
    """A five-page, two-column report with the usual PDF damage (see the module docstring)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    font, bold = _fonts()
    W, H = A4
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle("Northwind Energy Review 2024")
    margin, gutter = 60.0, 24.0
    col_w = (W - 2 * margin - gutter) / 2
    xl, xr = margin, margin + col_w + gutter
    size, lead = 10.0, 13.0

    def furniture(n: int) -> None:
        c.setFont(font, 8)
        c.drawString(margin, H - 36, HEADER)
        c.drawRightString(W - margin, 30, FOOTER)
        c.drawCentredString(W / 2, 30, str(n))

    def column(paras: list[str], x: float, y: float) -> float:
        c.setFont(font, size)
        for para in paras:
            for ln in wrap(para, col_w, font, size):
                c.drawString(x, y, ln)
                y -= lead
            y -= lead * 0.8
        return y

    # Page 1: title and a full-width introduction, then two columns.
    furniture(1)
    c.setFont(bold, 20)
    c.drawString(margin, H - 90, "Northwind Energy Review")
    c.setFont(font, size)
    y = H - 125
    intro = (f"This review describes the {LIGATURE_WORD} state of the Northwind region and the work of its government "
             "during the year. The government published the figures in March.")
    for ln in wrap(intro, W - 2 * margin, font, size):
        c.drawString(margin, y, ln)
        y -= lead
    y -= lead
    c.setFont(bold, 12)
    c.drawString(xl, y, "Overview")
    y -= lead * 1.6
    top = y
    column([HYPHEN_LINE + "\nment to publish its energy plan in spring, and it did so in April after a long delay."], xl, top)
    column(["Investors welcomed the plan because it set clear targets for wind and solar power until 2030."], xr, top)
    c.showPage()

    # Page 2: two columns drawn one after the other, with a captioned figure.
    furniture(2)
    c.setFont(bold, 12)
    c.drawString(margin, H - 80, "Policy")
    y0 = H - 105
    column(LEFT_2, xl, y0)
    yb = column(RIGHT_2, xr, y0)
    c.rect(xr, yb - 80, col_w, 70)
    c.setFont(font, 8)
    c.drawString(xr, yb - 92, "Turbines at Kestrel in May (Northwind Institute, 2024)")
    c.showPage()

    # Page 3: two columns drawn row by row (left line, right line, ...): stream order != reading order.
    furniture(3)
    c.setFont(bold, 12)
    c.drawString(margin, H - 80, "Production")
    c.setFont(font, size)
    left = [ln for p in LEFT_3 for ln in wrap(p, col_w, font, size) + [""]]
    right = [ln for p in RIGHT_3 for ln in wrap(p, col_w, font, size) + [""]]
    y = H - 105
    for i in range(max(len(left), len(right))):
        if i < len(left) and left[i]:
            c.drawString(xl, y, left[i])
        if i < len(right) and right[i]:
            c.drawString(xr, y, right[i])
        y -= lead
    c.showPage()

    # Page 4: only an image (a scanned page): no text layer.
    from reportlab.lib.utils import ImageReader
    from PIL import Image

    img = Image.new("L", (200, 280), 200)
    furniture_free = ImageReader(img)
    c.drawImage(furniture_free, 60, 100, width=W - 120, height=H - 200)
    c.showPage()

    # Page 5: a conclusion in one column.
    furniture(5)
    c.setFont(bold, 12)
    c.drawString(margin, H - 80, "Conclusion")
    c.setFont(font, size)
    y = H - 105
    for ln in wrap("The government will review the plan next year. Wind power is expected to grow again.", W - 2 * margin, font, size):
        c.drawString(margin, y, ln)
        y -= lead
    c.showPage()
    c.save()
    return path


# -- the same report in three formats ---------------------------------------------------------


def report_items(doc: Document) -> list[tuple[str, str, int]]:
    """The report as (kind, text, level): headings from section paths (level 1 = chapter),
    paragraphs as cleaned. Headings of the text are carried by the paths."""
    items: list[tuple[str, str, int]] = []
    current: list[str] = []
    for b in doc.blocks:
        if b.kind == "heading":
            continue
        path = [p for p in b.section.split(SECTION_SEP) if p] if b.section else []
        k = 0
        while k < min(len(path), len(current)) and path[k] == current[k]:
            k += 1
        for level in range(k, len(path)):
            items.append(("heading", path[level], level + 1))
        current = path
        items.append((b.kind, doc.text[b.start : b.end], 0))
    return items


def report_pdf(path: Path, doc: Document, header: str = "CENTRAL ASIA PEACE AND SECURITY MONITOR") -> Path:
    """The report as a two-column PDF (platypus frames) with a running header and page numbers."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

    font, bold = _fonts()
    W, H = A4
    margin, gutter = 54.0, 20.0
    col_w = (W - 2 * margin - gutter) / 2
    frames = [Frame(margin, 60, col_w, H - 130, id="left"), Frame(margin + col_w + gutter, 60, col_w, H - 130, id="right")]

    def on_page(canvas, d) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(margin, H - 40, header)
        canvas.drawCentredString(W / 2, 32, str(d.page))
        canvas.restoreState()

    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=12, spaceAfter=6)
    caption = ParagraphStyle("caption", parent=body, fontSize=8, leading=10)
    heads = {lv: ParagraphStyle(f"h{lv}", fontName=bold, fontSize=size, leading=size * 1.25, spaceBefore=8, spaceAfter=5)
             for lv, size in ((1, 15), (2, 12.5), (3, 11))}
    story = []
    for kind, text, level in report_items(doc):
        style = heads[min(level, 3)] if kind == "heading" else caption if kind == "caption" else body
        story.append(Paragraph(html.escape(text).replace("\n", "<br/>"), style))
    tmpl = BaseDocTemplate(str(path), pagesize=A4, title=doc.title)
    tmpl.addPageTemplates([PageTemplate(id="two", frames=frames, onPage=on_page)])
    tmpl.build(story)
    return path


def report_html(path: Path, doc: Document) -> Path:
    """The report as a web page with navigation, a cookie banner, scripts and a footer."""
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(doc.title)} | Monitor</title><script>window.dataLayer=[];</script>",
        "<style>body{font-family:sans-serif}</style></head><body>",
        "<nav><ul><li><a href='/'>Home</a></li><li><a href='/reports'>Reports</a></li>"
        "<li><a href='/about'>About the monitor</a></li><li><a href='/contact'>Contact us</a></li></ul></nav>",
        "<div class='cookie'>We use cookies to improve your experience. <a href='/privacy'>Privacy policy</a></div>",
        f"<main><article><h1>{html.escape(doc.title)}</h1>",
    ]
    for kind, text, level in report_items(doc):
        if kind == "heading":
            out.append(f"<h{level + 1}>{html.escape(text)}</h{level + 1}>")
        else:
            out.append(f"<p>{html.escape(text)}</p>")
    out += [
        "</article></main>",
        "<footer><p>© 2022 The Monitor. All rights reserved.</p><ul><li><a href='/terms'>Terms of use</a></li>"
        "<li><a href='/privacy'>Privacy</a></li></ul></footer>",
        "<script>console.log('analytics');</script></body></html>",
    ]
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def report_docx(path: Path, doc: Document) -> Path:
    """The report as a Word file: a Title, Heading 1-3 for the section levels, body paragraphs."""
    import docx

    d = docx.Document()
    d.core_properties.title = doc.title
    d.add_paragraph(doc.title, style="Title")
    for kind, text, level in report_items(doc):
        if kind == "heading":
            d.add_heading(text, level=min(level, 3))
        else:
            d.add_paragraph(text)
    d.save(str(path))
    return path


def small_html(path: Path) -> Path:
    """A page with navigation, a header, a sidebar, scripts and a footer around an article."""
    path.write_text(
        """<!doctype html><html><head><meta charset="utf-8"><title>Grid Report 2024 - Energy News</title>
<script>var tracking = "SCRIPT-TEXT-MUST-NOT-APPEAR";</script><style>.x{color:red}</style></head>
<body><header><div class="logo">Energy News</div></header>
<nav><ul><li><a href="/">Home</a></li><li><a href="/markets">Markets</a></li><li><a href="/about">About us</a></li></ul></nav>
<main><article><h1>Grid Report 2024</h1>
<p>The national grid carried more renewable power than ever before, according to the operator's annual report.</p>
<h2>Wind</h2>
<p>Wind farms supplied 31 percent of all electricity, up from 26 percent a year earlier, as new offshore sites opened.</p>
<h3>Offshore</h3>
<p>The largest offshore site, Dogger Reach, reached full output in June after two years of construction work.</p>
<h2>Prices</h2>
<p>Wholesale prices fell by a fifth because gas became cheaper and demand stayed flat through the winter months.</p>
<table><tr><th>Source</th><th>Share</th></tr><tr><td>Wind</td><td>31%</td></tr><tr><td>Gas</td><td>29%</td></tr></table>
</article></main>
<aside><h3>Most read</h3><ul><li><a href="/a">Celebrity chef opens restaurant</a></li><li><a href="/b">Ten tips for gardens</a></li></ul></aside>
<footer><p>Copyright 2024 Energy News Ltd. FOOTER-TEXT-MUST-NOT-APPEAR. All rights reserved.</p></footer>
<script>console.log("SCRIPT-TEXT-MUST-NOT-APPEAR")</script></body></html>""",
        encoding="utf-8",
    )
    return path


def small_docx(path: Path) -> Path:
    """A Word file with a title, two heading levels, a bulleted list and a table."""
    import docx

    d = docx.Document()
    d.add_paragraph("Harbour Survey 2023", style="Title")
    d.add_heading("Traffic", level=1)
    d.add_paragraph("The harbour handled 1,240 ship calls in 2023, most of them container vessels from Asia.")
    d.add_heading("Cruise ships", level=2)
    d.add_paragraph("Cruise calls doubled to 86 after the new passenger terminal opened in May.")
    d.add_paragraph("Passengers mostly came from Germany.", style="List Bullet")
    d.add_paragraph("Many stayed one night in the old town.", style="List Bullet")
    d.add_heading("Cargo", level=1)
    d.add_paragraph("Cargo volumes by type are shown in the table below.")
    t = d.add_table(rows=3, cols=3)
    for r, row in enumerate([("Cargo", "2022", "2023"), ("Containers", "410,000", "455,000"), ("Grain", "1.2 Mt", "1.4 Mt")]):
        for col, val in enumerate(row):
            t.cell(r, col).text = val
    d.add_paragraph("Grain exports rose because the harvest was good.")
    d.save(str(path))
    return path
