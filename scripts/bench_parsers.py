"""Measure PDF parsers on the same generated files: pages per second and reading order.

    .venv/bin/pip install -e ".[test,pdfbench]"     # reportlab, python-docx, pypdf, pdfplumber
    .venv/bin/python scripts/bench_parsers.py [--repeat 3] [--out runs/bench_parsers.json]

Files (generated into a temporary folder, nothing is downloaded):
  report-2col.pdf   the project's report (source_docs/*.txt) typeset in two columns with a
                    running header and page numbers (reportlab platypus)
  layout.pdf        5 pages with a header, footer, two columns (page 3 drawn row by row
                    across both columns), a hyphenated line break and a scanned page

Parsers: pypdfium2 (plain text per page, and with qa's layout repair: runs with positions,
columns, furniture; and the whole qa loader with cleaning), pypdf ``extract_text``,
pdfplumber ``extract_text``. Pages per second is the best of ``--repeat`` runs in this
process (files already in the OS cache). "order ok" says whether the page-3 sentence that
is drawn row by row across two columns comes out whole.
Timings on a shared machine are noisy: rerun on a quiet one for the README table.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def pdfium_plain(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    out = []
    for i in range(len(pdf)):
        page = pdf[i]
        tp = page.get_textpage()
        out.append(tp.get_text_range())
        tp.close()
        page.close()
    pdf.close()
    return out


def pdfium_layout(data: bytes) -> list[str]:
    from qa.ingest import pdf as qpdf

    pages, _ = qpdf.extract_pages(Path("bench.pdf"), data)
    qpdf.remove_furniture(pages)
    return [qpdf.page_text(p) for p in pages]


def qa_loader(data: bytes) -> list[str]:
    from qa.ingest.pdf import load_pdf

    d = load_pdf(Path("bench.pdf"), data)
    return [d.text[p.start : p.end] for p in d.pages]


def pypdf_text(data: bytes) -> list[str]:
    import io

    from pypdf import PdfReader

    r = PdfReader(io.BytesIO(data))
    return [p.extract_text() or "" for p in r.pages]


def pdfplumber_text(data: bytes) -> list[str]:
    import io

    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [p.extract_text() or "" for p in pdf.pages]


PARSERS: dict[str, tuple[Callable[[bytes], list[str]], str]] = {
    "pypdfium2 (plain text)": (pdfium_plain, "pypdfium2"),
    "pypdfium2 + qa layout repair": (pdfium_layout, "pypdfium2"),
    "qa load_pdf (layout + cleaning)": (qa_loader, "pypdfium2"),
    "pypdf extract_text": (pypdf_text, "pypdf"),
    "pdfplumber extract_text": (pdfplumber_text, "pdfplumber"),
}


def make_files(folder: Path) -> dict[str, Path]:
    import docgen

    from qa.ingest.text import load_text

    src = ROOT / "source_docs" / "central-asia-peace-and-security-monitor-2022.txt"
    doc = load_text(src, src.read_bytes())
    return {
        "report-2col.pdf": docgen.report_pdf(folder / "report-2col.pdf", doc),
        "layout.pdf": docgen.layout_pdf(folder / "layout.pdf"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=None, help="also write the results as JSON")
    args = ap.parse_args()
    from importlib import metadata

    import docgen

    with tempfile.TemporaryDirectory() as tmp:
        files = make_files(Path(tmp))
        datas = {k: v.read_bytes() for k, v in files.items()}
        results = []
        for name, (fn, pkg) in PARSERS.items():
            try:
                version = metadata.version(pkg)
            except metadata.PackageNotFoundError:
                print(f"{name}: not installed (pip install -e '.[pdfbench]')")
                continue
            row: dict[str, object] = {"parser": name, "package": f"{pkg} {version}"}
            for fname, data in datas.items():
                best = float("inf")
                pages: list[str] = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    pages = fn(data)
                    best = min(best, time.perf_counter() - t0)
                row[f"{fname} pages"] = len(pages)
                row[f"{fname} pages/s"] = round(len(pages) / best, 1)
                if fname == "layout.pdf":
                    text = _norm(" ".join(pages))
                    row["order ok"] = _norm(docgen.PAGE3_FACT) in text
                    row["header left in"] = docgen.HEADER in text
            results.append(row)
    cols = ["parser", "package", "report-2col.pdf pages", "report-2col.pdf pages/s", "layout.pdf pages/s", "order ok", "header left in"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in results:
        print("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
