"""The Milvus backend of the vector-store seam, and the ``QA_STORE`` setting that picks it.

``QA_STORE`` unset (or ``faiss``) keeps the embedded FAISS default. Otherwise it names a Milvus:

    QA_STORE=milvus://127.0.0.1:19530             a Milvus server (or ``milvus-lite server``)
    QA_STORE=./milvus.db                          a milvus-lite folder, served in-process
    QA_STORE=milvus-lite:///abs/path/milvus.db    the same, spelled as a URL

Options ride along as a query string: ``?collection=qa_chunks`` (the alias the replicas
read), ``&index=FLAT|HNSW`` (FLAT is exact; the default), ``&lexical=bm25s|milvus``
(``milvus`` stores BM25 terms in Milvus and answers with ``hybrid_search``; see README for
the measurement that made ``bm25s`` the default) and ``&ranker=rrf|weighted``.

The generation files in ``index/`` stay the source of truth for documents, chunks, sentences
and BM25; Milvus holds the chunk vectors for dense search. One collection per build holds one
row per chunk: ``id`` (the content-derived ``Chunk.id``, primary key), ``doc_id``,
``section``, ``vector`` (and ``terms``/``sparse`` for Milvus BM25). Readers address it only
through an alias, so a full rebuild (``qa index --rebuild``, the nightly job) fills a new
collection and then moves the alias in one call: a reader sees the old collection or the new
one, never half of one. Small changes are applied in place by chunk id (new ids upserted,
removed ids deleted), and the collection records the generation it mirrors.

Chunk rows are not stored: they shift whenever a chunk before them is added or removed, so
storing them would rewrite every later row on each update. Rows are recovered from the chunk
ids through the loaded generation, which also drops ids a newer generation added while this
replica still serves an older one.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from qa.errors import VectorStoreError
from qa.retrieve import RetrievalSettings, Retriever
from qa.store import GEN_RE, LoadedIndex
from qa.types import Hit
from qa.vectorstore import EMPTY_IDS, EMPTY_SCORES

SCHEMA_VERSION = "1"
MAX_TOPK = 16384  # Milvus refuses a larger limit
INSERT_BATCH = 2000
EXACT_BELOW = 20000  # HNSW: a filter allowing at most this many chunks is scored exactly
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
PROP_PREFIX = "qa."


@dataclass(frozen=True)
class StoreSpec:
    """A parsed ``QA_STORE``: where Milvus is and how the collection is laid out."""

    uri: str  # what MilvusClient takes: http://host:port, or a local path ending in .db
    collection: str = "qa_chunks"  # the alias that readers use
    index_type: str = "FLAT"  # FLAT (exact) | HNSW
    lexical: str = "bm25s"  # bm25s (ours, beside Milvus) | milvus (BM25 function + hybrid_search)
    ranker: str = "rrf"  # for lexical=milvus: rrf | weighted
    hnsw_m: int = 16
    hnsw_ef_construction: int = 200
    timeout: float = 10.0  # seconds to wait for the server when connecting
    options: dict[str, str] = field(default_factory=dict)

    @property
    def local(self) -> bool:
        """True for a milvus-lite folder served inside this process."""
        return not self.uri.startswith(("http://", "https://"))

    def layout(self) -> dict[str, str]:
        """What a collection must match to be updated in place (else: a full rebuild)."""
        return {"schema": SCHEMA_VERSION, "index": self.index_type, "lexical": self.lexical}


def parse_store(value: str | None) -> StoreSpec | None:
    """``QA_STORE`` to a :class:`StoreSpec`; None for the FAISS default.

    Raises ``VectorStoreError`` with the accepted forms for anything else.
    """
    value = (value or "").strip()
    if not value or value.lower() == "faiss":
        return None
    base, _, query = value.partition("?")
    opts = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    lower = base.lower()
    if lower.startswith(("milvus://", "http://", "https://")):
        parts = urlsplit(base)
        if not parts.hostname:
            raise VectorStoreError(f"QA_STORE={value!r}: no host; use milvus://HOST:19530")
        port = parts.port or 19530
        scheme = "https" if lower.startswith("https://") else "http"
        uri = f"{scheme}://{parts.hostname}:{port}"
    elif lower.startswith("milvus-lite://") or lower.endswith(".db"):
        path = base[len("milvus-lite://"):] if lower.startswith("milvus-lite://") else base
        if not path.endswith(".db"):
            raise VectorStoreError(f"QA_STORE={value!r}: a milvus-lite path must end in .db (e.g. ./milvus.db)")
        uri = str(Path(path).expanduser().resolve())
    else:
        raise VectorStoreError(
            f"QA_STORE={value!r} is not understood; use faiss (the default), milvus://HOST:PORT, "
            "a milvus-lite path ending in .db, or milvus-lite:///PATH.db"
        )
    spec = StoreSpec(
        uri=uri,
        collection=opts.get("collection", "qa_chunks"),
        index_type=opts.get("index", "FLAT").upper(),
        lexical=opts.get("lexical", "bm25s").lower(),
        ranker=opts.get("ranker", "rrf").lower(),
        timeout=_number(opts.get("timeout", "10"), "timeout"),
        options=opts,
    )
    if not NAME_RE.match(spec.collection) or "__" in spec.collection:
        raise VectorStoreError(f"QA_STORE collection {spec.collection!r}: letters, digits and single underscores only")
    if spec.index_type not in ("FLAT", "HNSW"):
        raise VectorStoreError(f"QA_STORE index {spec.index_type!r}: use FLAT (exact) or HNSW")
    if spec.lexical not in ("bm25s", "milvus"):
        raise VectorStoreError(f"QA_STORE lexical {spec.lexical!r}: use bm25s or milvus")
    if spec.ranker not in ("rrf", "weighted"):
        raise VectorStoreError(f"QA_STORE ranker {spec.ranker!r}: use rrf or weighted")
    return spec


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise VectorStoreError(f"QA_STORE {what} {text!r}: a positive number of seconds")
    return value


def store_from_env() -> StoreSpec | None:
    """The store named by ``QA_STORE`` (None: FAISS)."""
    return parse_store(os.environ.get("QA_STORE"))


# -- connection --------------------------------------------------------------------------------
_CLIENTS: dict[str, Any] = {}


def connect(spec: StoreSpec) -> Any:
    """A ``MilvusClient`` for ``spec.uri`` (one per process and URI)."""
    client = _CLIENTS.get(spec.uri)
    if client is not None:
        return client
    try:
        from pymilvus import MilvusClient
    except ImportError as e:
        raise VectorStoreError(
            "QA_STORE names Milvus but pymilvus is not installed; "
            "install the extra with `pip install -e '.[milvus]'`"
        ) from e
    if spec.local:
        Path(spec.uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        client = MilvusClient(uri=spec.uri, timeout=spec.timeout)
        client.list_collections()
    except Exception as e:  # pymilvus raises its own and gRPC's errors
        raise VectorStoreError(f"cannot reach Milvus at {spec.uri} ({type(e).__name__}: {e}); is the server running?") from e
    _CLIENTS[spec.uri] = client
    return client


def disconnect(spec: StoreSpec) -> None:
    """Close and forget the client of ``spec.uri`` (tests, and servers that went away)."""
    client = _CLIENTS.pop(spec.uri, None)
    if client is not None:
        try:
            client.close()
        except Exception:  # pragma: no cover - closing a dead connection
            pass


# -- filters -----------------------------------------------------------------------------------
def quote(s: str) -> str:
    """A Milvus string literal (C-style escapes)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def _in(field_name: str, values: set[str] | list[str]) -> str:
    return f"{field_name} in [" + ", ".join(quote(v) for v in sorted(values)) + "]"


def mask_filter(index: LoadedIndex, mask: np.ndarray | None) -> str | None:
    """A Milvus filter expression selecting exactly the chunks of ``mask``.

    ``Retriever.mask`` is a document condition AND a section condition, so the allowed
    (document, section) pairs form a product: ``doc_id in [...] and section in [...]``, with
    each clause left out when it allows everything. A mask of another shape (checked by
    counting) falls back to the chunk ids themselves. Returns None for "no filter" and
    ``"false"`` when nothing is allowed.
    """
    if mask is None:
        return None
    chunks = index.chunks
    rows = np.flatnonzero(mask)
    if len(rows) == len(chunks):
        return None
    if len(rows) == 0:
        return "false"
    docs = {chunks[i].doc_id for i in rows}
    secs = {chunks[i].section for i in rows}
    covered = sum(1 for c in chunks if c.doc_id in docs and c.section in secs)
    if covered != len(rows):
        return _in("id", [chunks[i].id for i in rows])
    clauses = []
    if docs != {c.doc_id for c in chunks}:
        clauses.append(_in("doc_id", docs))
    if secs != {c.section for c in chunks}:
        clauses.append(_in("section", secs))
    return " and ".join(clauses)


# -- the store ---------------------------------------------------------------------------------
class MilvusVectorStore:
    """Dense search in a Milvus collection, answered in the chunk rows of one loaded generation."""

    kind = "milvus"

    def __init__(self, index: LoadedIndex, client: Any, spec: StoreSpec) -> None:
        self.index = index
        self.client = client
        self.spec = spec
        self.collection = spec.collection
        self.rows = {c.id: i for i, c in enumerate(index.chunks)}
        self._filters: dict[int, tuple[np.ndarray, str | None, int]] = {}

    def _filter(self, mask: np.ndarray | None) -> tuple[str | None, int]:
        """(expression, number of allowed chunks), cached per mask object (the retriever caches masks)."""
        if mask is None:
            return None, len(self.index.chunks)
        hit = self._filters.get(id(mask))
        if hit is not None and hit[0] is mask:
            return hit[1], hit[2]
        expr, n = mask_filter(self.index, mask), int(mask.sum())
        if len(self._filters) > 256:
            self._filters.clear()
        self._filters[id(mask)] = (mask, expr, n)
        return expr, n

    def _search_params(self, limit: int) -> dict[str, Any]:
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.spec.index_type == "HNSW":
            params["params"] = {"ef": max(64, limit)}
        return params

    def _ann(self, qvec: np.ndarray, limit: int, expr: str | None) -> list[tuple[str, float]]:
        kwargs: dict[str, Any] = {"filter": expr} if expr else {}
        try:
            res = self.client.search(
                self.collection,
                data=[np.asarray(qvec, dtype=np.float32).tolist()],
                anns_field="vector",
                limit=limit,
                search_params=self._search_params(limit),
                output_fields=["id"],
                **kwargs,
            )
        except Exception as e:
            raise VectorStoreError(f"Milvus search in '{self.collection}' failed ({type(e).__name__}: {e})") from e
        return [(str(h["id"]), float(h["distance"])) for h in res[0]]

    def search(self, qvec: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        expr, allowed = self._filter(mask)
        want = min(k, allowed)
        if want <= 0 or expr == "false":
            return EMPTY_IDS, EMPTY_SCORES
        if mask is not None and self.spec.index_type != "FLAT" and allowed <= EXACT_BELOW:
            # A graph index under a selective filter misses or drops neighbours; Milvus itself
            # switches to brute force there. The allowed rows are few: score them exactly.
            return self._exact(qvec, np.flatnonzero(mask), want)
        limit = want
        while True:
            raw = self._ann(qvec, min(limit, MAX_TOPK), expr)
            found = [(self.rows[cid], s) for cid, s in raw if cid in self.rows]
            # Ids of a newer generation (this replica has not switched yet) are dropped; ask for
            # more until ``want`` known chunks come back or the collection has no more.
            if len(found) >= want or len(raw) < limit or limit >= MAX_TOPK:
                break
            limit *= 4
        if len(found) < want and self.spec.index_type != "FLAT":
            # HNSW under a filter can return fewer hits than exist: score the allowed rows
            # exactly from the generation's vectors instead (what FLAT would have returned).
            return self._exact(qvec, np.flatnonzero(mask) if mask is not None else np.arange(len(self.rows)), want)
        found = found[:want]
        return np.array([r for r, _ in found], dtype=np.int64), np.array([s for _, s in found], dtype=np.float32)

    def _exact(self, qvec: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        s = self.scores(qvec, rows)
        top = np.argsort(-s, kind="stable")[:k]
        return rows[top].astype(np.int64), s[top]

    def scores(self, qvec: np.ndarray, rows: np.ndarray) -> np.ndarray:
        # The generation's own vectors (loaded with it) give the exact cosine without a round trip.
        if len(rows) == 0:
            return EMPTY_SCORES
        return (self.index.chunk_vectors[rows] @ qvec).astype(np.float32)


class MilvusHybridRetriever(Retriever):
    """Both retrievers inside Milvus: its BM25 function and ``hybrid_search`` with its ranker.

    The BM25 input is our own stemmed content terms (``qa.lexical.content_terms``), so the two
    lexical sides see the same words and differ only in scoring and fusion. Milvus does not
    say which retriever found a hit, so ``dense_rank``/``lexical_rank`` stay None.
    """

    def __init__(self, index: LoadedIndex, settings: RetrievalSettings, vectors: MilvusVectorStore) -> None:
        super().__init__(index, settings, vectors)
        self.milvus = vectors

    def search(
        self,
        query: str,
        qvec: np.ndarray,
        k: int = 5,
        doc_ids: tuple[str, ...] | None = None,
        section: str | None = None,
    ) -> list[Hit]:
        from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

        from qa.lexical import content_terms

        st = self.settings
        mask = self.mask(doc_ids, section)
        expr, allowed = self.milvus._filter(mask)
        if expr == "false" or allowed == 0:
            return []
        n_cand = min(max(st.candidates, k), MAX_TOPK)
        kwargs: dict[str, Any] = {"expr": expr} if expr else {}
        reqs = [AnnSearchRequest([np.asarray(qvec, dtype=np.float32).tolist()], "vector",
                                 self.milvus._search_params(n_cand), n_cand, **kwargs)]
        terms = " ".join(content_terms(query))
        if terms:
            reqs.append(AnnSearchRequest([terms], "sparse", {"metric_type": "BM25"}, n_cand, **kwargs))
        ranker = RRFRanker(st.rrf_k) if self.milvus.spec.ranker == "rrf" else WeightedRanker(st.dense_weight, 1 - st.dense_weight)
        try:
            res = self.milvus.client.hybrid_search(self.milvus.collection, reqs, ranker, limit=min(k, allowed), output_fields=["id"])
        except Exception as e:
            raise VectorStoreError(f"Milvus hybrid search in '{self.milvus.collection}' failed ({type(e).__name__}: {e})") from e
        rows = [(self.milvus.rows[str(h["id"])], float(h["distance"])) for h in res[0] if str(h["id"]) in self.milvus.rows]
        dense = self.vectors.scores(qvec, np.array([r for r, _ in rows], dtype=np.int64))
        return [
            Hit(chunk=self.index.chunks[r], score=s, dense_score=float(d))
            for (r, s), d in zip(rows, dense)
        ]


# -- keeping Milvus in step with the generation files ------------------------------------------
@dataclass
class SyncReport:
    """What a sync did."""

    collection: str = ""  # the physical collection behind the alias afterwards
    mode: str = "none"  # none | full | incremental | ahead
    inserted: int = 0
    deleted: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        what = {
            "none": "already in step",
            "ahead": "holds a newer generation; left alone",
            "full": f"filled with {self.inserted} chunks and switched atomically (the previous one kept, released)",
            "incremental": f"{self.inserted} chunks inserted, {self.deleted} deleted",
        }[self.mode]
        return f"milvus collection {self.collection}: {what} in {self.seconds:.1f} s"


def _gen_number(name: str | None) -> int:
    m = GEN_RE.match(name or "")
    return int(m.group(1)) if m else -1


def _properties(client: Any, name: str) -> dict[str, str]:
    props = client.describe_collection(name).get("properties", {}) or {}
    return {k[len(PROP_PREFIX):]: str(v) for k, v in props.items() if str(k).startswith(PROP_PREFIX)}


def alias_target(client: Any, alias: str) -> str | None:
    """The collection behind ``alias``, or None when there is none yet."""
    if not client.has_collection(alias):
        return None
    target = client.describe_collection(alias).get("collection_name", alias)
    if target == alias:
        raise VectorStoreError(
            f"'{alias}' is a collection, not an alias; qa reads through an alias. "
            "Drop it or choose another name with ?collection=NAME"
        )
    return str(target)


def _schema(client: Any, spec: StoreSpec, dim: int) -> Any:
    from pymilvus import DataType, Function, FunctionType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False, description="qa chunk vectors")
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    s.add_field("doc_id", DataType.VARCHAR, max_length=64)
    s.add_field("section", DataType.VARCHAR, max_length=65535)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    if spec.lexical == "milvus":
        # Our stemmed terms, split on spaces by the standard tokenizer: the same words as bm25s.
        s.add_field("terms", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params={"tokenizer": "standard"})
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]))
    return s


def _index_params(client: Any, spec: StoreSpec) -> Any:
    ip = client.prepare_index_params()
    if spec.index_type == "HNSW":
        ip.add_index(field_name="vector", index_type="HNSW", metric_type="IP",
                     params={"M": spec.hnsw_m, "efConstruction": spec.hnsw_ef_construction})
    else:
        ip.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    if spec.lexical == "milvus":
        ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return ip


def _rows(index: LoadedIndex, spec: StoreSpec, which: list[int]) -> list[dict[str, Any]]:
    from qa.chunk import embed_text
    from qa.lexical import content_terms

    out = []
    for i in which:
        c = index.chunks[i]
        row: dict[str, Any] = {"id": c.id, "doc_id": c.doc_id, "section": c.section, "vector": index.chunk_vectors[i].tolist()}
        if spec.lexical == "milvus":
            row["terms"] = " ".join(content_terms(embed_text(c)) or ["_empty_"])
        out.append(row)
    return out


def _write(client: Any, name: str, index: LoadedIndex, spec: StoreSpec, which: list[int]) -> None:
    for s in range(0, len(which), INSERT_BATCH):
        client.upsert(name, _rows(index, spec, which[s : s + INSERT_BATCH]))


def _all_ids(client: Any, name: str) -> set[str]:
    it = client.query_iterator(name, batch_size=4096, output_fields=["id"])
    ids: set[str] = set()
    try:
        while batch := it.next():
            ids.update(str(r["id"]) for r in batch)
    finally:
        it.close()
    return ids


def _previous_ids(index: LoadedIndex, generation: str) -> set[str] | None:
    """Chunk ids of an older generation still on disk (cheaper than listing the collection)."""
    path = index.path.parent / generation / "chunks.jsonl"
    try:
        with open(path, encoding="utf-8") as f:
            return {json.loads(line)["id"] for line in f if line.strip()}
    except (OSError, ValueError, KeyError):
        return None


def _full(client: Any, index: LoadedIndex, spec: StoreSpec, old: str | None, report: SyncReport) -> None:
    """Fill a new collection, then move the alias to it in one call; release the old one
    (the rollback target) and drop any older."""
    name = f"{spec.collection}__g{_gen_number(index.generation):06d}_{secrets.token_hex(3)}"
    props = {PROP_PREFIX + k: v for k, v in {**spec.layout(), "model": index.model_name,
             "dim": str(index.chunk_vectors.shape[1]), "generation": index.generation}.items()}
    client.create_collection(name, schema=_schema(client, spec, int(index.chunk_vectors.shape[1])),
                             index_params=_index_params(client, spec), properties=props)
    try:
        _write(client, name, index, spec, list(range(len(index.chunks))))
        client.flush(name)
        client.load_collection(name)  # reload after inserting, before anyone searches it
        if old is None:
            client.create_alias(name, spec.collection)
        else:
            client.alter_alias(name, spec.collection)
    except BaseException:
        client.drop_collection(name)
        raise
    report.inserted = len(index.chunks)
    report.collection = name
    if old is not None:
        # Kept on disk (released: no memory) as the rollback target, like the previous
        # generation folder; a query already running against it is not cut off.
        client.release_collection(old)
    for other in client.list_collections():
        # Older targets, and leftovers of crashed builds of older generations (never a
        # concurrent build of a newer one).
        if other.startswith(spec.collection + "__") and other not in (name, old):
            m = re.match(r".*__g(\d+)_", other)
            if m and int(m.group(1)) <= _gen_number(index.generation):
                client.drop_collection(other)


def sync(index: LoadedIndex, spec: StoreSpec, rebuild: bool = False) -> SyncReport:
    """Bring the Milvus collection of ``spec`` in step with the loaded generation ``index``.

    In place by chunk id when the collection has the same model and layout and an older
    generation; a fresh collection and an alias swap when there is none, the layout or model
    differs, or ``rebuild`` (the nightly job). A collection already holding a newer generation
    is left alone: an older replica must not roll it back.
    """
    t0 = time.perf_counter()
    client = connect(spec)
    report = SyncReport()
    try:
        old = alias_target(client, spec.collection)
        props = _properties(client, old) if old else {}
        same = bool(old) and all(props.get(k) == v for k, v in spec.layout().items()) and props.get("model") == index.model_name \
            and props.get("dim") == str(index.chunk_vectors.shape[1])
        if rebuild or not same or old is None:  # (`same` already implies `old`; the test narrows its type)
            _full(client, index, spec, old, report)
            report.mode = "full"
        else:
            report.collection = old
            have_gen = props.get("generation")
            if have_gen == index.generation:
                report.mode = "none"
            elif _gen_number(have_gen) > _gen_number(index.generation):
                report.mode = "ahead"
            else:
                before = _previous_ids(index, have_gen or "") if have_gen else None
                if before is None:
                    before = _all_ids(client, old)
                now = {c.id: i for i, c in enumerate(index.chunks)}
                new_rows = sorted(i for cid, i in now.items() if cid not in before)
                gone = sorted(before - now.keys())
                # Insert before deleting: a reader between the two sees extra ids (dropped) rather than holes.
                _write(client, old, index, spec, new_rows)
                for s in range(0, len(gone), INSERT_BATCH):
                    client.delete(old, ids=gone[s : s + INSERT_BATCH])
                client.flush(old)
                client.load_collection(old)
                client.alter_collection_properties(old, properties={PROP_PREFIX + "generation": index.generation})
                report.mode, report.inserted, report.deleted = "incremental", len(new_rows), len(gone)
    except VectorStoreError:
        raise
    except Exception as e:
        raise VectorStoreError(f"syncing Milvus collection '{spec.collection}' failed ({type(e).__name__}: {e})") from e
    report.seconds = time.perf_counter() - t0
    return report


def open_store(index: LoadedIndex, spec: StoreSpec, auto_sync: bool = True) -> MilvusVectorStore:
    """A :class:`MilvusVectorStore` for ``index``, syncing the collection first when it lags."""
    if auto_sync:
        sync(index, spec)
    client = connect(spec)
    ensure_loaded(client, spec.collection)
    return MilvusVectorStore(index, client, spec)


def ensure_loaded(client: Any, name: str) -> None:
    """Load the collection behind ``name`` if it is released (a restarted milvus-lite opens
    collections released; Milvus after a release): searching a released one fails."""
    try:
        state = client.get_load_state(name).get("state")
        if "NotLoad" in str(state):
            client.load_collection(name)
    except Exception as e:
        raise VectorStoreError(f"cannot load Milvus collection '{name}' ({type(e).__name__}: {e})") from e


def make_retriever(index: LoadedIndex, settings: RetrievalSettings = RetrievalSettings(), spec: StoreSpec | None = None) -> Retriever:
    """The retriever for ``index`` on the store ``QA_STORE`` names (FAISS when unset)."""
    spec = spec if spec is not None else store_from_env()
    if spec is None:
        return Retriever(index, settings)
    store = open_store(index, spec)
    if spec.lexical == "milvus":
        return MilvusHybridRetriever(index, settings, store)
    return Retriever(index, settings, vectors=store)


def sync_index_dir(index_dir: Path | str, spec: StoreSpec, rebuild: bool = False) -> SyncReport:
    """Sync the live generation of ``index_dir`` (what ``qa index`` calls after a build)."""
    from qa.store import load_index

    # The generation was verified when it was written; skip re-hashing every file.
    return sync(load_index(Path(index_dir), verify=False), spec, rebuild=rebuild)
