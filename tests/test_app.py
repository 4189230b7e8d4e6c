"""The web app: its API through gradio_client against a real launch on loopback, the
rendering (escaping), and the feedback store.

The app runs in a subprocess on a small report written here, indexed with the fake
``hashing-256`` embedder, so no real model loads. The server is always killed.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from procs import free_port, stop

ROOT = Path(__file__).resolve().parents[1]

REPORT = """Annual Security Report

Kazakhstan

In March the government of Kazakhstan sent 40 tonnes of humanitarian aid to Ukraine. The aid included medicine and food.

Border incidents

A leaflet found at the border read <script>alert(1)</script> and printed a link [click](javascript:alert(2)) under it.

Uzbekistan

Uzbekistan held a referendum on the new constitution in April 2023. Turnout was 84 percent according to the election commission.
"""
AID_QUESTION = "How much humanitarian aid did Kazakhstan send to Ukraine?"
LEAFLET_QUESTION = "What did the leaflet found at the border read?"




@contextlib.contextmanager
def running_app(base: Path, report: str = REPORT, name: str = "security-report.txt") -> Iterator[dict]:
    """Write a docs folder, launch ``app.py`` on a free loopback port, yield its URL; kill it after."""
    docs, index, data = base / "docs", base / "index", base / "data"
    docs.mkdir(parents=True, exist_ok=True)
    (docs / name).write_text(report, encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADIO_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    log = open(base / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--docs", str(docs), "--index", str(index),
         "--data", str(data), "--model", "hashing-256"],
        cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("app.py exited early:\n" + (base / "server.log").read_text())
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("app.py did not start in 60 s:\n" + (base / "server.log").read_text())
            time.sleep(0.3)
        yield {"url": url, "docs": docs, "index": index, "data": data, "log": base / "server.log", "proc": proc}
    finally:
        stop(proc, timeout=10)
        log.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with running_app(tmp_path_factory.mktemp("app")) as info:
        yield info


@pytest.fixture(scope="module")
def client(app: dict):
    gradio_client = pytest.importorskip("gradio_client")
    return gradio_client.Client(app["url"], verbose=False)


# ------------------------------------------------------------------------------ API
def test_ask_returns_answer_with_citations(client, app: dict) -> None:
    pred = client.predict(AID_QUESTION, api_name="/ask")
    assert pred["found"] is True
    assert "40 tonnes" in pred["answer"]
    assert "[1]" in pred["answer"]
    assert pred["citations"], pred
    c = pred["citations"][0]
    text = (app["docs"] / "security-report.txt").read_text(encoding="utf-8")
    assert c["quote"] in text
    assert c["title"] and c["section"] == "Kazakhstan"
    assert pred["retrieved"]


def test_ask_takes_history(client) -> None:
    history = [["When did Uzbekistan hold the referendum on the new constitution?", "April 2023 [1]"]]
    pred = client.predict("And the turnout?", history, api_name="/ask")
    # the follow-up was resolved against the conversation, and answered from it
    assert pred["resolved_question"] != pred["question"] == "And the turnout?"
    assert "referendum" in pred["resolved_question"] and "turnout" in pred["resolved_question"]
    # Answered from the referendum passage; whether the fake model's confidence clears the
    # threshold is not what this test is about, so the candidate counts as well.
    answer = pred["answer"] if pred["found"] else pred["candidate"]
    assert "Uzbekistan" in answer and "Turnout was 84 percent" in answer


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_gets_a_clear_message(client, app: dict, question: str) -> None:
    with pytest.raises(Exception) as err:
        client.predict(question, api_name="/ask")
    msg = str(err.value)
    assert "Please type a question" in msg
    assert "Traceback" not in msg and 'File "' not in msg


def test_index_and_docs_are_not_served(app: dict) -> None:
    for path in (app["index"] / "CURRENT", app["docs"] / "security-report.txt"):
        url = f"{app['url']}gradio_api/file={path}"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url, timeout=5)
        assert err.value.code in (403, 404)


def test_binds_loopback_only(app: dict) -> None:
    assert app["url"].startswith("http://127.0.0.1:")
    assert "http://127.0.0.1:" in app["log"].read_text()
    assert "gradio.live" not in app["log"].read_text()


# ------------------------------------------------------------------------------ rendering
@pytest.fixture(scope="module")
def assistant(app: dict):
    from qa.assistant import Assistant
    from qa.embed import make_embedder

    return Assistant.load(app["index"], app["docs"], embedder=make_embedder("hashing-256"))


def test_rendering_escapes_document_markup(assistant) -> None:
    from qa.ui import Renderer, answer_markdown, answer_text

    ans = assistant.ask(LEAFLET_QUESTION)
    assert ans.found and "<script>" in ans.text  # the engine quotes verbatim ...
    html = Renderer(assistant).answer_html(ans)
    md = answer_markdown(ans)
    for out in (html, md):  # ... the UI shows it as text
        assert "<script>" not in out
        assert "&lt;script&gt;" in out
        assert "](javascript:" not in out
    assert 'href="javascript' not in html
    assert "<script>" in answer_text(ans)  # the clipboard text is plain text


def test_answer_panel_has_markers_cards_and_viewer(assistant) -> None:
    from qa.ui import Renderer

    ans = assistant.ask(AID_QUESTION)
    html = Renderer(assistant).answer_html(ans)
    assert '<mark class="qa-short">40 tonnes</mark>' in html
    assert 'class="qa-cite" data-cite="1"' in html
    assert 'class="qa-card" data-cite="1"' in html
    assert 'class="qa-viewer" data-n="1" hidden' in html
    assert "Confidence:" in html and f"({ans.confidence:.2f})" in html
    # the viewer shows surrounding paragraphs, the quote marked
    viewer = html[html.index('class="qa-viewer"'):]
    assert "<mark>In March the government of Kazakhstan" in viewer
    assert "Annual Security Report" in viewer and "leaflet" in viewer


def test_abstention_reads_as_one(assistant) -> None:
    from qa.ui import NOT_ANSWERED, Renderer, answer_markdown

    ans = assistant.ask("Who won the football world cup in 1966?")
    assert not ans.found
    html = Renderer(assistant).answer_html(ans)
    assert NOT_ANSWERED in html and "Nearest passages" in html
    assert "qa-answer" not in html and "Cited passages" not in html
    assert NOT_ANSWERED in answer_markdown(ans)


# ------------------------------------------------------------------------------ feedback
def _prediction(question: str = "How much aid?", short: str = "40 tonnes", found: bool = True) -> dict:
    return {"question": question, "answer": f"It sent {short} [1]", "short": short, "found": found, "confidence": 0.8,
            "citations": [{"n": 1, "doc_id": "d", "title": "T", "section": "S", "page": None,
                           "char_start": 0, "char_end": 10, "quote": f"It sent {short}."}]}


def test_feedback_appends_and_exports_a_question_set(tmp_path: Path) -> None:
    from qa.evaluate import load_question_set
    from qa.feedback import FeedbackStore

    store = FeedbackStore(tmp_path / "data")
    store.add("helpful", _prediction())
    store.add("not_helpful", _prediction("Who?", "Bob"))  # no correction: no gold, skipped
    store.add("wrong_citation", _prediction("When?", "March"), correction="April 2023")
    store.add("helpful", _prediction("Who won the cup?", "", found=False))  # a right abstention
    lines = (tmp_path / "data" / "feedback.jsonl").read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[2])["correction"] == "April 2023"
    path = store.export_question_set()
    qs = load_question_set(path)
    by_q = {q.question: q for q in qs}
    assert set(by_q) == {"How much aid?", "When?", "Who won the cup?"}
    assert by_q["How much aid?"].answers == ("40 tonnes",)
    assert by_q["When?"].answers == ("April 2023",)
    assert by_q["Who won the cup?"].answers == () and by_q["Who won the cup?"].type == "unanswerable"


def test_feedback_refuses_bad_input_and_index_folder(tmp_path: Path) -> None:
    from qa.errors import QAError
    from qa.feedback import FeedbackStore

    with pytest.raises(QAError):
        FeedbackStore(tmp_path / "index" / "data", index_dir=tmp_path / "index")
    store = FeedbackStore(tmp_path / "data")
    with pytest.raises(QAError):
        store.add("great", _prediction())
    with pytest.raises(QAError):
        store.add("helpful", {})


def test_exports_neutralise_formulas(tmp_path: Path) -> None:
    from qa.feedback import FeedbackStore

    store = FeedbackStore(tmp_path)
    store.add("helpful", _prediction("=HYPERLINK(\"http://x\")", "+1"), correction="@SUM(A1)")
    rows = list(csv.DictReader(io.StringIO(store.export_csv().read_text())))
    assert rows[0]["question"].startswith("'=")
    assert rows[0]["short"] == "'+1" and rows[0]["correction"] == "'@SUM(A1)"
    dumped = json.loads(store.export_json().read_text())
    assert dumped[0]["question"].startswith("'=")
    case = json.loads(store.export_question_set().read_text().splitlines()[0])
    assert case["question"].startswith("'=") and case["answers"] == ["'@SUM(A1)"]
