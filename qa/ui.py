"""The web chat (Gradio): a thin edge over ``Assistant``.

``build_app(assistant)`` returns the Blocks; ``app.py`` launches it with safe defaults.
Document text is HTML-escaped before it is rendered, and errors reach the user as messages,
never as tracebacks. Besides the chat, the endpoint ``/ask`` answers scripts:
``gradio_client.Client(url).predict("question", api_name="/ask")`` returns the prediction
object (answer, short answer, citations) as JSON.
"""
from __future__ import annotations

import html
import re
from typing import Any

from qa.assistant import Assistant
from qa.errors import QAError
from qa.types import Answer

EXAMPLES = [
    "How much humanitarian aid did Uzbekistan send to Ukraine?",
    "Why did Huawei move staff out of Russia?",
    "How many people were killed in the Karakalpakstan protests?",
    "Who is the UN Special Rapporteur on minority issues?",
]


def confidence_words(c: float) -> str:
    return "high" if c >= 0.85 else "medium" if c >= 0.65 else "low"


def render_answer(ans: Answer) -> str:
    """Markdown for the chat: escaped text, the short answer in bold, cited passages below."""
    esc = lambda s: html.escape(s, quote=False).replace("[", "&#91;").replace("]", "&#93;")  # noqa: E731
    if not ans.found:
        lines = [f"**The reports don't answer this.** (confidence {ans.confidence:.2f}, {confidence_words(ans.confidence)})", "", "Nearest passages:"]
        for i, h in enumerate(ans.hits[:3], 1):
            lines.append(f"{i}. *{esc(h.chunk.title)} › {esc(h.chunk.section)}*: {esc(h.chunk.text[:300])}…")
        return "\n".join(lines)
    body = esc(ans.text)
    # Citation markers were escaped with the rest; show them as [n] again.
    body = re.sub(r"&#91;(\d+)&#93;", r"**[\1]**", body)
    if ans.short:
        s = esc(ans.short)
        body = body.replace(s, f"<mark>{s}</mark>", 1)
    lines = [body, "", f"*Confidence: {confidence_words(ans.confidence)} ({ans.confidence:.2f})*", ""]
    for c in ans.citations:
        page = f", page {c.page}" if c.page else ""
        lines.append(f"**[{c.n}]** {esc(c.title)} › {esc(c.section)}{page}, characters {c.char_start}–{c.char_end}")
    return "\n".join(lines)


def build_app(assistant: Assistant):  # type: ignore[no-untyped-def]
    import gradio as gr

    def chat(message: str, history: list[dict[str, Any]]) -> str:
        try:
            ans = assistant.ask(message, history=history)
        except QAError as e:
            raise gr.Error(str(e)) from None
        return render_answer(ans)

    def ask_api(question: str, history: list | None = None) -> dict[str, Any]:
        try:
            return assistant.ask(question, history=history).to_json()
        except QAError as e:
            raise gr.Error(str(e)) from None

    with gr.Blocks(title="qa — cited answers from the reports") as demo:
        gr.Markdown("# qa\nAsk about the reports in `source_docs/`. Every answer quotes the source and cites it.")
        gr.ChatInterface(chat, examples=EXAMPLES, api_name="chat", cache_examples=False)
        gr.api(ask_api, api_name="ask")
    return demo
