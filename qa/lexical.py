"""Words for matching: one tokenizer for BM25, answer features and follow-up handling, plus
the BM25 index (bm25s, saved as numpy + JSON files, pickle off)."""
from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from qa.sentences import FOOTNOTE_RE

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves did does say said
    says tell according report reports""".split()
)
WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


@functools.lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def words(text: str) -> list[str]:
    """Lower-cased words, footnote markers removed, possessives dropped."""
    text = FOOTNOTE_RE.sub(" ", text).lower()
    # endswith, not a regex per word: this runs for every sentence of every answer (profiled).
    return [w[:-2] if w.endswith(("'s", "’s")) else w for w in WORD_RE.findall(text)]


@functools.lru_cache(maxsize=32768)
def _content_terms(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit()))


def content_terms(text: str) -> list[str]:
    """Stemmed content words (stopwords out): the unit of lexical matching.

    Cached by text: the answer step scores the sentences of the top passages for every
    question, and the same passages come back for many questions.
    """
    return list(_content_terms(text))


class BM25Index:
    """bm25s over ``content_terms``; ``search`` honours a document/section mask."""

    def __init__(self, retriever, vocab: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
        self._r = retriever
        self._vocab = vocab
        self.size = int(retriever.scores["num_docs"]) if hasattr(retriever, "scores") else 0

    @classmethod
    def build(cls, texts: list[str]) -> "BM25Index":
        import bm25s

        corpus = [content_terms(t) or ["_empty_"] for t in texts]
        r = bm25s.BM25()
        r.index(corpus, show_progress=False)
        return cls(r, r.vocab_dict)

    def save(self, folder: Path) -> None:
        self._r.save(str(folder), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "BM25Index":
        import bm25s

        r = bm25s.BM25.load(str(folder), allow_pickle=False, show_progress=False, mmap=False)
        return cls(r, r.vocab_dict)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(indices, scores) of the best ``k`` chunks with a positive score."""
        terms = [t for t in content_terms(query) if t in self._vocab]
        if not terms or self.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids = [self._vocab[t] for t in terms]
        scores = self._r.get_scores(ids) if hasattr(self._r, "get_scores") else None
        scores = np.asarray(scores, dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return top.astype(np.int64), scores[top]
