"""The dense index of a collection: exact for small ones, approximate (ANN) for large ones.

Which FAISS index serves a generation is chosen by the number of chunks (measured on this
machine, see BENCHMARKS.md) unless a setting names one:

| kind      | FAISS index                          | RAM per chunk (384-d) | ``auto`` picks it               |
|-----------|--------------------------------------|-----------------------|---------------------------------|
| ``flat``  | ``IndexFlatIP`` (exact)              | 1,536 B               | below ``exact_below`` chunks    |
| ``ivf-sq8`` | ``IndexIVFScalarQuantizer`` 8-bit  | ~400 B                | from ``exact_below`` chunks     |
| ``hnsw``  | ``IndexHNSWFlat`` (graph + vectors)  | ~1,800 B              | never (an override)             |
| ``ivf-pq``  | ``IndexIVFPQ`` (``pq_m`` bytes)    | ~``pq_m`` + 8 B       | never (an override, for RAM)    |

Approximate kinds are searched for ``rescore`` × k candidates, which are then scored exactly
against ``chunk_vectors.npy`` (:class:`qa.vectorstore.FaissVectorStore`): the scores that reach
fusion are always true cosines, and the recall lost to quantisation is won back.

The chosen kind and its parameters are recorded in the manifest (``manifest["vector_index"]``);
a manifest without that record is a flat index (every generation written before this module).
Search-time parameters (``efSearch``, ``nprobe``) are applied when a generation is loaded and
may be overridden by ``QA_EF_SEARCH`` / ``QA_NPROBE`` without a rebuild.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from qa.errors import BadSettings

KINDS = ("flat", "hnsw", "ivf-sq8", "ivf-pq")
ENV_KIND = "QA_VECTOR_INDEX"


@dataclass(frozen=True)
class IndexSettings:
    """How the dense index is built. ``kind="auto"`` picks by collection size.

    Chosen by measurement on 2 cores (``benchmarks/``, BENCHMARKS.md): exact search costs
    ~0.05–0.09 ms per 1,000 chunks, so it stays exact (answers identical to brute force) below
    ``exact_below`` chunks. Above, IVF with 8-bit scalar quantisation had the best recall for
    its cost: recall@10 ≥ 0.99 with exact re-scoring, ~400 B per chunk (~0.4 GB at 1M chunks),
    seconds to build; HNSW was as fast but 4× the RAM and 5× the build time, IVF-PQ the
    smallest but slow to train and below 0.95 recall at the same probe count.
    """

    kind: str = "auto"
    exact_below: int = 50_000
    large: str = "ivf-sq8"
    hnsw_m: int = 32
    ef_construction: int = 64
    ef_search: int = 128
    nlist: int | None = None  # None: ~2·sqrt(n), bounded by the training sample
    nprobe: int = 32
    pq_m: int = 64  # bytes per vector for ivf-pq (must divide the dimension)
    rescore: int = 4  # approximate kinds: re-score rescore × k candidates exactly

    def __post_init__(self) -> None:
        if self.kind != "auto" and self.kind not in KINDS:
            raise BadSettings(f"unknown vector index kind {self.kind!r}; choose auto, {', '.join(KINDS)}")
        if self.large not in KINDS:
            raise BadSettings(f"unknown vector index kind {self.large!r} for large collections; choose {', '.join(KINDS)}")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name not in ("kind", "large") and v is not None and (not isinstance(v, int) or v < 1):
                raise BadSettings(f"vector index setting {f.name} must be a positive integer, not {v!r}")

    @classmethod
    def from_env(cls, kind: str | None = None) -> "IndexSettings":
        """Settings from an explicit ``kind`` (e.g. ``qa index --vector-index``), else ``QA_VECTOR_INDEX``, else auto."""
        return cls(kind=(kind or os.environ.get(ENV_KIND) or "auto").strip().lower())

    def choose(self, n: int) -> str:
        """The kind for a collection of ``n`` chunks."""
        if self.kind != "auto":
            return self.kind
        return self.large if n >= self.exact_below else "flat"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _nlist(n: int, settings: IndexSettings) -> int:
    # ~2·sqrt(n) lists (2,000 at 1M: a list scan stays short while training stays cheap on
    # 2 cores), but at least ~39 training points per list (FAISS's own advice).
    want = settings.nlist or int(2 * math.sqrt(max(n, 1)))
    return max(1, min(want, n // 39 or 1))


def _pq_bits(n: int) -> int:
    # 8-bit codebooks need 256 centroids per sub-quantiser; tiny collections get fewer.
    return 8 if n >= 256 * 39 else max(4, min(8, int(math.log2(max(n // 39, 16)))))


def _train_sample(vectors: np.ndarray, count: int) -> np.ndarray:
    if len(vectors) <= count:
        return vectors
    rows = np.sort(np.random.default_rng(0).choice(len(vectors), size=count, replace=False))
    return np.ascontiguousarray(vectors[rows])


def build_vector_index(vectors: np.ndarray, dim: int, settings: IndexSettings | None = None) -> tuple[Any, dict[str, Any]]:
    """Build the FAISS index for ``vectors`` (normalised float32 rows) and its manifest record.

    Returns ``(faiss_index, spec)`` with ``spec = {"kind", "params", "chosen_by", "count"}``.
    """
    import faiss

    settings = settings or IndexSettings()
    vecs = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
    n = len(vecs)
    kind = settings.choose(n)
    # An approximate index over a handful of vectors is pointless (and IVF cannot train): exact.
    if kind != "flat" and n < 64:
        kind = "flat"
    params: dict[str, Any] = {}
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.ef_construction
        index.hnsw.efSearch = settings.ef_search
        params = {"M": settings.hnsw_m, "efConstruction": settings.ef_construction, "efSearch": settings.ef_search}
    else:
        nlist = _nlist(n, settings)
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivf-sq8":
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
            params = {"nlist": nlist}
        else:
            if dim % settings.pq_m:
                raise BadSettings(f"pq_m={settings.pq_m} must divide the vector dimension {dim}")
            bits = _pq_bits(n)
            index = faiss.IndexIVFPQ(quantizer, dim, nlist, settings.pq_m, bits, faiss.METRIC_INNER_PRODUCT)
            params = {"nlist": nlist, "pq_m": settings.pq_m, "pq_bits": bits}
        index.cp.niter = 10  # k-means iterations: more barely moves recall, costs build time
        index.train(_train_sample(vecs, max(50 * nlist, 256 * 50)))
        index.nprobe = min(settings.nprobe, nlist)
        params["nprobe"] = int(index.nprobe)
    if n:
        index.add(vecs)
    if kind != "flat":
        params["rescore"] = settings.rescore
    spec = {"kind": kind, "params": params, "chosen_by": "auto" if settings.kind == "auto" else "setting", "count": n}
    return index, spec


FLAT_SPEC: dict[str, Any] = {"kind": "flat", "params": {}}


def spec_of(manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``vector_index`` record of a manifest; flat when absent (generations before ANN)."""
    spec = manifest.get("vector_index")
    return dict(spec) if isinstance(spec, dict) and spec.get("kind") in KINDS else dict(FLAT_SPEC)


def apply_search_params(index: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """Set ``efSearch`` / ``nprobe`` on a loaded FAISS index (env overrides win); returns the values used."""
    import faiss

    params = dict(spec.get("params") or {})
    kind = spec.get("kind", "flat")
    if kind == "hnsw":
        ef = int(os.environ.get("QA_EF_SEARCH") or params.get("efSearch") or IndexSettings.ef_search)
        faiss.downcast_index(index).hnsw.efSearch = ef
        params["efSearch"] = ef
    elif kind in ("ivf-sq8", "ivf-pq"):
        ivf = faiss.extract_index_ivf(index)
        nprobe = int(os.environ.get("QA_NPROBE") or params.get("nprobe") or IndexSettings.nprobe)
        ivf.nprobe = min(nprobe, ivf.nlist)
        params["nprobe"] = int(ivf.nprobe)
    return params


def kind_of(index: Any) -> str:
    """The kind of a FAISS object built by :func:`build_vector_index` (``flat`` for anything else)."""
    import faiss

    real = faiss.downcast_index(index)
    if isinstance(real, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(real, faiss.IndexIVFScalarQuantizer):
        return "ivf-sq8"
    if isinstance(real, faiss.IndexIVFPQ):
        return "ivf-pq"
    return "flat"


def check_matches(index: Any, spec: dict[str, Any]) -> bool:
    """Whether the FAISS object is of the kind the manifest records."""
    return kind_of(index) == spec.get("kind", "flat")


def with_overrides(settings: IndexSettings, **changes: Any) -> IndexSettings:
    """A copy of ``settings`` with some fields changed (validated)."""
    return replace(settings, **changes)
