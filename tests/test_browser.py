"""A real browser on the app: Playwright (Python) driving Debian's Chromium, headless.

Asks a question, sees the answer and a citation card, clicks [1] and sees the source viewer
with the quote highlighted, rates the answer, runs the Evaluate tab on a tiny set and adds a
report in the Documents tab. Screenshots go to ``docs/screenshots/``.

The app runs on the real report with the fake ``hashing-256`` embedder (no model load).
Skipped, with the reason, only when Chromium or the ``playwright`` package is missing
(``scripts/install_browser.sh`` installs Chromium).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from test_app import running_app

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "source_docs" / "central-asia-peace-and-security-monitor-2022.txt"
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("QA_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
QUESTION = "How many tons of humanitarian aid arrived in Ukraine's Zakarpatska from Uzbekistan?"
TIMEOUT = 30_000

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")
if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
    pytest.skip(f"Chromium not found at {CHROMIUM}: run scripts/install_browser.sh", allow_module_level=True)
expect = sync_api.expect


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    with running_app(tmp_path_factory.mktemp("browser"), REPORT.read_text(encoding="utf-8"), REPORT.name) as info:
        yield info


@pytest.fixture(scope="module")
def page(app: dict):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
            pg = ctx.new_page()
            pg.set_default_timeout(TIMEOUT)
            errors: list[str] = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(app["url"])
            pg.locator("#qa-question textarea").wait_for()
            pg.js_errors = errors  # type: ignore[attr-defined]
            yield pg
        finally:
            browser.close()


def test_ask_see_citations_open_source(page, app: dict) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#qa-question textarea").fill(QUESTION)
    page.locator("#qa-ask").click()
    answer = page.locator("#qa-panel .qa-answer")
    expect(answer).to_be_visible()
    expect(answer.locator(".qa-cite").first).to_have_text("[1]")
    card = page.locator("#qa-panel .qa-card").first
    expect(card).to_be_visible()
    expect(card.locator("mark")).not_to_have_count(0)
    expect(page.locator("#qa-panel .qa-conf")).to_contain_text("Confidence:")
    expect(page.locator("#qa-chatbot")).to_contain_text("Sources:")
    page.screenshot(path=str(SHOTS / "answer.png"))

    viewer = page.locator("#qa-panel .qa-viewer:visible")
    expect(viewer).to_have_count(0)
    answer.locator(".qa-cite").first.click()
    expect(viewer).to_have_count(1)
    mark = viewer.locator(".qa-viewer-body mark").first
    expect(mark).to_be_visible()
    quote = page.evaluate("() => document.querySelector('#qa-panel .qa-card mark').textContent")
    assert quote.strip() and quote.strip()[:40] in viewer.inner_text()
    viewer.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "source.png"))
    assert not page.js_errors, page.js_errors


def test_feedback_is_recorded(page, app: dict) -> None:
    page.locator("#qa-correction textarea, #qa-correction input").first.fill("USD 10 million")
    page.locator("#qa-fb-wrong-citation").click()
    expect(page.locator("#qa-fb-status")).to_contain_text("wrong citation")
    lines = (app["data"] / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[-1])
    assert rec["rating"] == "wrong_citation" and rec["correction"] == "USD 10 million"
    assert rec["question"] == QUESTION


def test_evaluate_tab_runs_a_small_set(page, app: dict, tmp_path: Path) -> None:
    src = (ROOT / "tests" / "questions" / "report.jsonl").read_text(encoding="utf-8").splitlines()
    small = [line for line in src[:3]] + [next(line for line in src if '"unanswerable"' in line)]
    qs = tmp_path / "tiny.jsonl"
    qs.write_text("\n".join(small) + "\n", encoding="utf-8")
    page.get_by_role("tab", name="Evaluate").click()
    page.locator("#qa-eval-upload input[type=file]").set_input_files(str(qs))
    page.wait_for_timeout(500)
    page.locator("#qa-eval-run").click()
    expect(page.locator("#qa-eval-summary")).to_contain_text("4 question(s)", timeout=60_000)
    expect(page.locator("#qa-eval-types")).to_contain_text("factoid")
    expect(page.locator("#qa-eval-types")).to_contain_text("asks for:")
    expect(page.locator("#qa-eval-plot img, #qa-eval-plot svg, #qa-eval-plot canvas").first).to_be_visible()
    id_cells = page.locator("#qa-eval-fails td:visible", has_text=re.compile(r"^\s*r\d{3}\s*$"))
    if id_cells.count():  # a failure opens its source
        id_cells.first.click()
        expect(page.locator("#qa-eval-viewer")).to_contain_text("Question:")
    page.screenshot(path=str(SHOTS / "evaluate.png"), full_page=True)
    runs = list((app["data"] / "runs").glob("*/metrics.json"))
    assert runs


def test_documents_tab_adds_a_report(page, app: dict, tmp_path: Path) -> None:
    extra = tmp_path / "field-note.txt"
    extra.write_text("Field note\n\nThe Dushanbe water project was finished in 2021 at a cost of 7 million dollars.\n",
                     encoding="utf-8")
    page.get_by_role("tab", name="Documents").click()
    expect(page.locator("#qa-docs")).to_contain_text(REPORT.name)
    page.locator("#qa-doc-upload input[type=file]").set_input_files(str(extra))
    page.wait_for_timeout(500)
    page.locator("#qa-doc-add").click()
    expect(page.locator("#qa-docs")).to_contain_text("field-note.txt", timeout=60_000)
    assert (app["docs"] / "field-note.txt").is_file()
    page.screenshot(path=str(SHOTS / "documents.png"))
