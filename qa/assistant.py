"""The Python API: ``Assistant.load().ask("...")``.

One question flows: validate and resolve follow-ups (question.py) -> embed (embed.py) ->
hybrid retrieval (retrieve.py) -> sentence selection and citations (answer.py).
The assistant notices a new index generation (``index/CURRENT`` changed) and switches to it
between questions, so a running app picks up ``qa index`` without a restart.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer import AnswerSelector, AnswerSettings
from qa.embed import DEFAULT_MODEL, Embedder, make_embedder
from qa.errors import QAError
from qa.lexical import content_terms
from qa.milvus_store import make_retriever
from qa.question import Question, prepare_question, resolve_follow_up, sanitize
from qa.retrieve import RetrievalSettings, Retriever
from qa.store import LoadedIndex, load_index
from qa.types import Answer, Document, Hit

log = logging.getLogger("qa")


class Assistant:
    """Answers questions from one index. Thread-safe; cheap to call ``ask`` repeatedly."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        index_dir: Path,
        docs_dir: Path,
        retrieval: RetrievalSettings = RetrievalSettings(),
        answering: AnswerSettings = AnswerSettings(),
    ) -> None:
        self.index_dir = index_dir
        self.docs_dir = docs_dir
        self.embedder = embedder
        self.retrieval_settings = retrieval
        self.answer_settings = answering
        self._lock = threading.RLock()
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._refresh_error: str | None = None
        self._install(index)

    def _install(self, index: LoadedIndex) -> None:
        self.index = index
        # QA_STORE picks the dense backend (FAISS files when unset; Milvus synced to this generation).
        self.retriever: Retriever = make_retriever(index, self.retrieval_settings)
        self.selector = AnswerSelector(index, self.answer_settings)
        self._current_mtime = self._current_stamp()

    @classmethod
    def load(
        cls,
        index_dir: Path | str = "index",
        docs_dir: Path | str = "source_docs",
        model: str | None = None,
        embedder: Embedder | None = None,
        retrieval: RetrievalSettings = RetrievalSettings(),
        answering: AnswerSettings = AnswerSettings(),
    ) -> "Assistant":
        """Load the live index of ``index_dir`` and the model it was built with.

        Raises ``IndexMissing`` (build it with ``qa index``), ``IndexCorrupt``, or
        ``IndexMismatch`` when ``model`` differs from the index's model.
        """
        index_dir, docs_dir = Path(index_dir), Path(docs_dir)
        if embedder is None:
            index = load_index(index_dir, expected_model=model)
            embedder = make_embedder(model or index.model_name)
        else:
            index = load_index(index_dir, expected_model=embedder.name)
        return cls(index, embedder, index_dir, docs_dir, retrieval, answering)

    @property
    def calibration_note(self) -> str | None:
        """A line for people when the answer selector was fitted with another model than the
        index's: its confidences are then not calibrated."""
        sel = self.selector
        if sel.calibrated:
            return None
        fitted = (sel.selector.get("trained_on") or {}).get("model")
        return (f"the answer selector was fitted with {fitted}, the index uses {self.index.model_name}: confidences are "
                f"not calibrated and qa answers from {sel.threshold:.2f} (scripts/train_selector.py fits it to this model)")

    @property
    def threshold(self) -> float:
        """The confidence below which ``ask`` abstains (calibrated on the dev questions)."""
        return self.selector.threshold  # the selector reads answer_settings.threshold first

    # -- generations ---------------------------------------------------------------------------
    def _current_stamp(self) -> tuple[float, str]:
        cur = self.index_dir / "CURRENT"
        try:
            return (cur.stat().st_mtime, cur.read_text(encoding="utf-8").strip())
        except OSError:
            return (0.0, "")

    @property
    def warning(self) -> str | None:
        """Why the generation serving is not the one ``CURRENT`` names (damaged, another model), or None."""
        return self._refresh_error or self.index.warning

    def refresh(self) -> bool:
        """Switch to a newer generation if ``qa index`` wrote one. Returns True if it switched.

        A new generation that does not load (damaged, or built with another model) never
        replaces the one serving: the assistant keeps answering from it and says why in
        :attr:`warning`; it tries again when ``CURRENT`` changes.
        """
        stamp = self._current_stamp()
        if stamp == self._current_mtime or not stamp[1] or stamp[1] == self.index.generation:
            self._current_mtime = stamp
            return False
        try:
            new = load_index(self.index_dir, expected_model=self.embedder.name, fallback=False)
        except QAError as e:
            with self._lock:
                self._current_mtime = stamp  # not again on every question: the next commit changes CURRENT
                self._refresh_error = f"{e} Meanwhile generation {self.index.generation} serves."
            log.warning("qa: %s", self._refresh_error)
            return False
        with self._lock:
            self._install(new)
            self._refresh_error = None
        return True

    def _live(self) -> tuple[Retriever, AnswerSelector]:
        """Retriever and selector of one generation, read together (a switch may happen between questions)."""
        with self._lock:
            return self.retriever, self.selector

    # -- asking --------------------------------------------------------------------------------
    def embed_query(self, text: str) -> np.ndarray:
        """The query vector, cached for repeated questions."""
        with self._lock:
            v = self._qcache.get(text)
            if v is not None:
                self._qcache.move_to_end(text)
                return v
        v = self.embedder.encode([text])[0]
        with self._lock:
            self._qcache[text] = v
            if len(self._qcache) > 1024:
                self._qcache.popitem(last=False)
        return v

    def prepare(self, question: str, history: Any = None) -> Question:
        """Validate (``BadQuestion``) and resolve a follow-up."""
        text = sanitize(question)
        query = resolve_follow_up(text, history)
        return prepare_question(text, query)

    def search(
        self,
        question: str,
        top_k: int = 10,
        doc_ids: tuple[str, ...] | list[str] | None = None,
        section: str | None = None,
        history: Any = None,
    ) -> list[Hit]:
        """Passages only, best first."""
        self.refresh()
        retriever, _ = self._live()
        q = self.prepare(question, history)
        qvec = self.embed_query(q.query)
        return retriever.search(q.query, qvec, top_k, tuple(doc_ids) if doc_ids else None, section)

    def ask(
        self,
        question: str,
        history: Any = None,
        top_k: int = 5,
        doc_ids: tuple[str, ...] | list[str] | None = None,
        section: str | None = None,
        threshold: float | None = None,
    ) -> Answer:
        """Answer ``question`` from the reports, with citations, or say they don't answer it.

        ``history`` is the conversation so far (``[(question, answer), ...]`` or chat messages
        ``[{"role": "user", "content": ...}, ...]``) for follow-ups such as "And Tajikistan?".
        Raises ``BadQuestion`` for an empty, over-long or wordless question.
        """
        t0 = time.perf_counter()
        self.refresh()
        retriever, selector = self._live()
        q = self.prepare(question, history)
        t1 = time.perf_counter()
        qvec = self.embed_query(q.query)
        t2 = time.perf_counter()
        k = max(top_k, self.answer_settings.passages)
        hits = retriever.search(q.query, qvec, k, tuple(doc_ids) if doc_ids else None, section)
        t3 = time.perf_counter()
        ans = selector.answer(q, qvec, hits, threshold)
        t4 = time.perf_counter()
        timings = {
            "prepare": (t1 - t0) * 1000,
            "embed": (t2 - t1) * 1000,
            "retrieve": (t3 - t2) * 1000,
            "answer": (t4 - t3) * 1000,
            "total": (t4 - t0) * 1000,
        }
        return Answer(
            question=ans.question,
            text=ans.text,
            short=ans.short,
            found=ans.found,
            confidence=ans.confidence,
            citations=ans.citations,
            hits=tuple(hits[:top_k]),
            timings_ms=timings,
            resolved_question=ans.resolved_question,
            message=ans.message,
            candidate=ans.candidate,
        )

    # -- documents -----------------------------------------------------------------------------
    def documents(self) -> list[Document]:
        return list(self.index.documents.values())

    def document(self, doc_id: str) -> Document:
        return self.index.documents[doc_id]


__all__ = ["Assistant", "DEFAULT_MODEL"]
