"""Property tests (hypothesis) of ``Assistant.ask`` and ``search`` on the real report indexed
with the fake embedder: arbitrary unicode, huge, empty, control characters, lone surrogates,
only punctuation, other scripts, arbitrary follow-up history and filters.

The contract checked on every example:
- the only exception that escapes is ``BadQuestion`` (a ``QAError``: the CLI and the web app
  turn it into its message); anything else is a bug;
- every citation quote is ``document.text[char_start:char_end]``, and a found answer has one;
- the prediction object is JSON that encodes as UTF-8 (what the HTTP API sends);
- confidence is within [0, 1]; at most ``top_k`` passages come back.

``make test`` runs 150 examples per property; ``make soak`` (``QA_SOAK=1``) runs 3,000.
"""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa.errors import BadQuestion

settings.register_profile("quick", max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("soak", max_examples=3000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
PROFILE = "soak" if os.environ.get("QA_SOAK") == "1" else "quick"

REAL = [
    "How much humanitarian aid did Uzbekistan send to Ukraine?",
    "Who is the UN Special Rapporteur on minority issues?",
    "How many people were killed in the Karakalpakstan protests?",
    "And Tajikistan?",
    "Why did Huawei move staff out of Russia?",
]
SCRIPTS = [(0x0400, 0x04FF), (0x0600, 0x06FF), (0x0900, 0x097F), (0x4E00, 0x9FFF), (0x0E00, 0x0E7F),
           (0x1F300, 0x1FAFF), (0x0300, 0x036F), (0xAC00, 0xD7A3)]


def _script(lo_hi: tuple[int, int]) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=lo_hi[0], max_codepoint=lo_hi[1]), min_size=1, max_size=40)


questions = st.one_of(
    st.text(),  # any unicode (no surrogates)
    st.text(st.characters(codec=None, exclude_categories=()), max_size=60),  # with lone surrogates
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=30),  # control, format, spaces only
    st.text(st.characters(categories=["Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"]), min_size=1, max_size=50),
    st.one_of(*[_script(s) for s in SCRIPTS]),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=12), st.integers(80, 3000)),  # huge
    st.builds(lambda q, noise, i: q[:i] + noise + q[i:], st.sampled_from(REAL), st.text(max_size=20), st.integers(0, 60)),
    st.sampled_from(["", " ", "\x00", "?", "???", "\u200b", "\ufeff", "\u202e", "<script>alert(1)</script>", "' OR 1=1 --",
                     "{{7*7}}", "${jndi:ldap://x}", "../../etc/passwd", "\ud800", "a" * 1000, "a" * 1001]),
)
json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
histories = st.one_of(
    st.none(),
    st.lists(st.tuples(st.text(max_size=80), st.text(max_size=80)), max_size=4),
    st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", ""]), "content": json_like}), max_size=4),
    json_like,  # what an HTTP client may send as history
)


@pytest.fixture(scope="module")
def assistant(fake_index):  # type: ignore[no-untyped-def]
    from qa.assistant import Assistant
    from qa.embed import HashingEmbedder

    docs, index = fake_index
    return Assistant.load(index, docs, embedder=HashingEmbedder(256))


def _check(assistant, ans, top_k: int) -> None:  # type: ignore[no-untyped-def]
    assert 0.0 <= ans.confidence <= 1.0
    assert len(ans.hits) <= top_k
    if ans.found:
        assert ans.citations and ans.text
    for c in ans.citations:
        doc = assistant.document(c.doc_id)
        assert doc.text[c.char_start : c.char_end] == c.quote
    json.dumps(ans.to_json(), ensure_ascii=False).encode("utf-8")  # the API's response body


@settings(settings.get_profile(PROFILE))
@given(question=questions, history=histories, top_k=st.integers(1, 12))
@example(question="0", history=True, top_k=1)  # found by this test: a non-list history raised TypeError
@example(question="And Tajikistan?", history=[{"role": "user", "content": None}, [1, 2, 3], "x"], top_k=3)
def test_ask_never_raises_anything_but_bad_question(assistant, question, history, top_k) -> None:  # type: ignore[no-untyped-def]
    try:
        ans = assistant.ask(question, history=history, top_k=top_k)
    except BadQuestion as e:
        assert str(e) and "Traceback" not in str(e)
        return
    _check(assistant, ans, top_k)


@settings(settings.get_profile(PROFILE))
@given(question=st.one_of(st.sampled_from(REAL), questions), section=st.none() | st.text(max_size=30),
       doc_ids=st.none() | st.lists(st.text(max_size=70), max_size=3), top_k=st.integers(1, 12))
def test_filters_never_break_ask_or_search(assistant, question, section, doc_ids, top_k) -> None:  # type: ignore[no-untyped-def]
    try:
        ans = assistant.ask(question, top_k=top_k, doc_ids=doc_ids, section=section)
        hits = assistant.search(question, top_k=top_k, doc_ids=doc_ids, section=section)
    except BadQuestion:
        return
    _check(assistant, ans, top_k)
    assert len(hits) <= top_k
    for h in hits:
        doc = assistant.document(h.chunk.doc_id)
        assert doc.text[h.chunk.char_start : h.chunk.char_end] == h.chunk.text
