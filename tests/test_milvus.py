"""The Milvus backend on milvus-lite (a local .db folder and a ``milvus-lite server`` on
loopback), with the fake embedder: same hits as FAISS, filters, deletes, incremental updates,
alias swaps, an older replica, clear errors; and (``slow``) parity with FAISS for the real
model on the report and the project's question set."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPORT, ROOT

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from milvus_server import milvus_lite_server  # noqa: E402
from procs import free_port  # noqa: E402

from qa.embed import HashingEmbedder  # noqa: E402
from qa.errors import VectorStoreError  # noqa: E402
from qa.indexer import build_index  # noqa: E402
from qa.milvus_store import (  # noqa: E402
    MilvusHybridRetriever,
    MilvusVectorStore,
    StoreSpec,
    alias_target,
    connect,
    make_retriever,
    mask_filter,
    parse_store,
    sync,
)
from qa.retrieve import Retriever  # noqa: E402
from qa.store import load_index  # noqa: E402

DIM = 64
QUESTIONS = [json.loads(line) for line in (ROOT / "tests/questions/report.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
EXTRA_DOC = """Zanzibar Spice Trade Review

Clove exports

Zanzibar exported 4,200 tonnes of cloves in 2022, most of them to India and Indonesia.
The clove price fell by a fifth after the harvest of 2021.

Shipping

The port of Malindi handled 310 dhows in the first quarter of the year.
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("milvus")
    docs = base / "docs"
    docs.mkdir()
    shutil.copy(REPORT, docs / REPORT.name)
    build_index(docs, base / "index", HashingEmbedder(DIM))
    return docs, base / "index"


@pytest.fixture(scope="module")
def index(corpus):  # type: ignore[no-untyped-def]
    return load_index(corpus[1])


def _spec(tmp_path: Path, **kw: str) -> StoreSpec:
    query = "&".join(f"{k}={v}" for k, v in kw.items())
    spec = parse_store(str(tmp_path / "milvus.db") + (f"?{query}" if query else ""))
    assert spec is not None
    return spec


def _queries(n: int = 25) -> list[str]:
    return [q["question"] for q in QUESTIONS[:n]]


# -- QA_STORE ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "uri", "local"),
    [
        ("milvus://127.0.0.1:19530", "http://127.0.0.1:19530", False),
        ("milvus://milvus.internal", "http://milvus.internal:19530", False),
        ("https://db.example:443", "https://db.example:443", False),
        ("milvus-lite:///tmp/x/milvus.db", "/tmp/x/milvus.db", True),
    ],
)
def test_parse_store_forms(value: str, uri: str, local: bool) -> None:
    spec = parse_store(value)
    assert spec is not None and spec.uri == uri and spec.local is local
    assert (spec.collection, spec.index_type, spec.lexical) == ("qa_chunks", "FLAT", "bm25s")


def test_parse_store_relative_path_and_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = parse_store("./m.db?collection=reports&index=hnsw&lexical=milvus&ranker=weighted&timeout=2")
    assert spec is not None
    assert spec.uri == str(tmp_path / "m.db")
    assert (spec.collection, spec.index_type, spec.lexical, spec.ranker, spec.timeout) == ("reports", "HNSW", "milvus", "weighted", 2.0)
    assert parse_store(None) is None and parse_store("") is None and parse_store("FAISS") is None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("redis://127.0.0.1:6379", "not understood"),
        ("milvus-lite:///tmp/store", "must end in .db"),
        ("milvus://", "no host"),
        ("milvus://h:1?collection=bad-name", "collection"),
        ("milvus://h:1?collection=a__b", "collection"),
        ("milvus://h:1?index=IVF_PQ", "FLAT"),
        ("milvus://h:1?lexical=es", "bm25s"),
        ("milvus://h:1?ranker=max", "rrf"),
        ("milvus://h:1?timeout=soon", "timeout"),
    ],
)
def test_parse_store_rejects_with_a_message(value: str, says: str) -> None:
    with pytest.raises(VectorStoreError, match=says):
        parse_store(value)


def test_faiss_stays_the_default(index) -> None:  # type: ignore[no-untyped-def]
    assert make_retriever(index).vectors.kind == "faiss"


# -- filters -----------------------------------------------------------------------------------
def test_mask_filter_is_exact(index) -> None:  # type: ignore[no-untyped-def]
    r = Retriever(index)
    doc = index.chunks[0].doc_id
    assert mask_filter(index, None) is None
    assert mask_filter(index, r.mask((doc,))) is None  # one document is the whole corpus
    expr = mask_filter(index, r.mask(None, "Tajikistan"))
    assert expr is not None and expr.startswith("section in [") and "doc_id" not in expr
    assert mask_filter(index, np.zeros(len(index.chunks), dtype=bool)) == "false"
    odd = np.zeros(len(index.chunks), dtype=bool)
    odd[[0, 7, 11]] = True  # not a document x section product: falls back to chunk ids
    assert mask_filter(index, odd) == "id in [" + ", ".join(f'"{c}"' for c in sorted(index.chunks[i].id for i in (0, 7, 11))) + "]"


def test_filters_return_exactly_the_allowed_chunks(index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = _spec(tmp_path)
    store = make_retriever(index, spec=spec).vectors
    r = Retriever(index)
    q = HashingEmbedder(DIM).encode(["gas exports"])[0]
    for mask in (r.mask(None, "Tajikistan"), r.mask(None, "Kazakhstan › International"), r.mask(None, "no such section")):
        allowed = set(np.flatnonzero(mask).tolist())
        rows, _ = store.search(q, len(index.chunks), mask)
        assert set(rows.tolist()) == allowed
    odd = np.zeros(len(index.chunks), dtype=bool)
    odd[[3, 50, 99]] = True
    rows, _ = store.search(q, 10, odd)
    assert sorted(rows.tolist()) == [3, 50, 99]


# -- same hits as FAISS ------------------------------------------------------------------------
def _same_hits(index, milvus: Retriever, queries: list[str], **filters: str) -> None:  # type: ignore[no-untyped-def]
    faiss = Retriever(index)
    emb = HashingEmbedder(DIM)
    for q in queries:
        v = emb.encode([q])[0]
        a = faiss.search(q, v, 5, **filters)
        b = milvus.search(q, v, 5, **filters)
        assert [h.chunk.id for h in b] == [h.chunk.id for h in a], q
        assert np.allclose([h.score for h in b], [h.score for h in a], atol=1e-5), q


def test_local_file_gives_the_same_hits_as_faiss(index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = _spec(tmp_path)
    r = make_retriever(index, spec=spec)
    assert r.vectors.kind == "milvus" and isinstance(r.vectors, MilvusVectorStore)
    assert (tmp_path / "milvus.db").is_dir()
    _same_hits(index, r, _queries())
    _same_hits(index, r, _queries(8), section="Kyrgyzstan")
    _same_hits(index, r, _queries(8), section="Uzbekistan › International")


def test_hnsw_with_a_selective_filter_still_returns_k_hits(index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = _spec(tmp_path, index="HNSW")
    store = make_retriever(index, spec=spec).vectors
    r = Retriever(index)
    q = HashingEmbedder(DIM).encode(["refugees crossing the border"])[0]
    mask = r.mask(None, "Tajikistan › Domestic")
    want = min(5, int(mask.sum()))
    rows, scores = store.search(q, 5, mask)
    exact_rows, exact_scores = r.vectors.search(q, 5, mask)
    assert len(rows) == want and rows.tolist() == exact_rows.tolist()
    assert np.allclose(scores, exact_scores, atol=1e-5)


def test_milvus_bm25_hybrid_search_respects_filters(index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = _spec(tmp_path, lexical="milvus")
    r = make_retriever(index, spec=spec)
    assert isinstance(r, MilvusHybridRetriever)
    emb = HashingEmbedder(DIM)
    q = "How much humanitarian aid did Uzbekistan send to Ukraine?"
    hits = r.search(q, emb.encode([q])[0], 5)
    assert len(hits) == 5 and len({h.chunk.id for h in hits}) == 5
    assert any("35 tons" in h.chunk.text for h in hits)  # BM25 finds the exact words the fake embedder cannot
    hits = r.search(q, emb.encode([q])[0], 5, section="Kyrgyzstan")
    assert hits and all("kyrgyzstan" in h.chunk.section.lower() for h in hits)


# -- deletes, incremental updates, alias swaps --------------------------------------------------
def _milvus_ids(spec: StoreSpec) -> set[str]:
    client = connect(spec)
    rows = client.query(spec.collection, filter='id != ""', output_fields=["id"], limit=16384)
    return {r["id"] for r in rows}


def test_incremental_updates_deletes_and_rebuild(tmp_path: Path) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    shutil.copy(REPORT, docs / REPORT.name)
    emb = HashingEmbedder(DIM)
    spec = _spec(tmp_path)
    build_index(docs, index_dir, emb)
    gen1 = load_index(index_dir)
    first = sync(gen1, spec)
    assert first.mode == "full" and first.inserted == len(gen1.chunks)
    assert _milvus_ids(spec) == {c.id for c in gen1.chunks}
    assert sync(gen1, spec).mode == "none"
    physical = alias_target(connect(spec), spec.collection)

    # A new document: only its chunks are inserted, in place.
    (docs / "zanzibar.txt").write_text(EXTRA_DOC, encoding="utf-8")
    build_index(docs, index_dir, emb)
    gen2 = load_index(index_dir)
    new = {c.id for c in gen2.chunks} - {c.id for c in gen1.chunks}
    assert new and all(c.title.startswith("Zanzibar") for c in gen2.chunks if c.id in new)
    rep = sync(gen2, spec)
    assert (rep.mode, rep.inserted, rep.deleted, rep.collection) == ("incremental", len(new), 0, physical)
    assert _milvus_ids(spec) == {c.id for c in gen2.chunks}

    # The document filter reaches the new document's chunks only.
    r = make_retriever(gen2, spec=spec)
    zid = next(c.doc_id for c in gen2.chunks if c.id in new)
    q = "How many tonnes of cloves did Zanzibar export?"
    hits = r.search(q, emb.encode([q])[0], 5, doc_ids=(zid[:12],))
    assert {h.chunk.id for h in hits} == new
    _same_hits(gen2, r, _queries(10))

    # An older replica (still on gen 1) never rolls the collection back, and drops ids it does not know.
    assert sync(gen1, spec).mode == "ahead"
    old_store = MilvusVectorStore(gen1, connect(spec), spec)
    rows, _ = old_store.search(emb.encode([q])[0], 5)
    assert len(rows) == 5 and all(0 <= r < len(gen1.chunks) for r in rows.tolist())

    # Removing the document deletes exactly its chunks.
    (docs / "zanzibar.txt").unlink()
    build_index(docs, index_dir, emb)
    gen3 = load_index(index_dir)
    rep = sync(gen3, spec)
    assert (rep.mode, rep.inserted, rep.deleted) == ("incremental", 0, len(new))
    assert _milvus_ids(spec) == {c.id for c in gen3.chunks}

    # A full rebuild (the nightly job) fills a new collection and moves the alias; the old one
    # stays, released, as the rollback target; the one before it goes on the next rebuild.
    rep = sync(gen3, spec, rebuild=True)
    client = connect(spec)
    assert rep.mode == "full" and rep.collection != physical
    assert alias_target(client, spec.collection) == rep.collection
    assert sorted(n for n in client.list_collections() if n.startswith(spec.collection + "__")) == sorted([rep.collection, physical])
    assert "NotLoad" in str(client.get_load_state(physical)["state"])
    _same_hits(gen3, make_retriever(gen3, spec=spec), _queries(10))
    again = sync(gen3, spec, rebuild=True)
    assert sorted(n for n in client.list_collections() if n.startswith(spec.collection + "__")) == sorted([again.collection, rep.collection])


def test_a_released_collection_is_loaded_again(index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = _spec(tmp_path)
    sync(index, spec)
    client = connect(spec)
    client.release_collection(alias_target(client, spec.collection))  # as a restarted milvus-lite opens it
    assert sync(index, spec).mode == "none"
    _same_hits(index, make_retriever(index, spec=spec), _queries(3))


def test_model_change_rebuilds_the_collection(corpus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs, _ = corpus
    spec = _spec(tmp_path)
    build_index(docs, tmp_path / "i64", HashingEmbedder(DIM))
    a = sync(load_index(tmp_path / "i64"), spec)
    build_index(docs, tmp_path / "i32", HashingEmbedder(32))
    b = sync(load_index(tmp_path / "i32"), spec)
    assert a.mode == b.mode == "full" and a.collection != b.collection
    assert connect(spec).describe_collection(spec.collection)["properties"]["qa.model"] == "hashing-32"


# -- a milvus-lite server, the Assistant and the CLI --------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("milvus-server")
    with milvus_lite_server(base / "data") as (url, proc):
        yield url, proc


def test_server_listens_on_loopback_only(server) -> None:  # type: ignore[no-untyped-def]
    psutil = pytest.importorskip("psutil")
    _, proc = server
    listening = [c.laddr for c in psutil.Process(proc.pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening and all(a.ip in ("127.0.0.1", "::ffff:127.0.0.1") for a in listening), listening


def test_assistant_on_a_server_answers_like_faiss(server, fake_index, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from qa.assistant import Assistant

    url, _ = server
    docs, index_dir = fake_index
    plain = Assistant.load(index_dir, docs, embedder=HashingEmbedder(256))
    monkeypatch.setenv("QA_STORE", url + "?collection=assistant_test")
    on_milvus = Assistant.load(index_dir, docs, embedder=HashingEmbedder(256))
    assert on_milvus.retriever.vectors.kind == "milvus"
    for q in _queries(20):
        a, b = plain.ask(q), on_milvus.ask(q)
        assert (b.found, b.text, b.short) == (a.found, a.text, a.short), q
        assert [c.chunk_id for c in b.citations] == [c.chunk_id for c in a.citations], q
        assert [h.chunk.id for h in b.hits] == [h.chunk.id for h in a.hits], q


def _qa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **env}, cwd=ROOT)


def test_cli_index_syncs_and_ask_uses_the_server(server, corpus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    docs, _ = corpus
    env = {"QA_STORE": url + "?collection=cli_test"}
    idx = str(tmp_path / "index")
    out = _qa("index", "--docs", str(docs), "--index", idx, "--model", f"hashing-{DIM}", "--quiet", env=env)
    assert out.returncode == 0, out.stderr
    assert "milvus collection cli_test__g000001_" in out.stdout and "switched atomically" in out.stdout
    again = _qa("index", "--docs", str(docs), "--index", idx, "--model", f"hashing-{DIM}", "--quiet", env=env)
    assert again.returncode == 0 and "already in step" in again.stdout
    ask = _qa("search", "Karakalpakstan protests", "--docs", str(docs), "--index", idx, "--json", env=env)
    plain = _qa("search", "Karakalpakstan protests", "--docs", str(docs), "--index", idx, "--json", env={"QA_STORE": "faiss"})
    assert ask.returncode == 0 and plain.returncode == 0, ask.stderr + plain.stderr
    assert [h["chunk_id"] for h in json.loads(ask.stdout)] == [h["chunk_id"] for h in json.loads(plain.stdout)]


def test_unreachable_or_bad_store_is_a_one_line_error(corpus) -> None:  # type: ignore[no-untyped-def]
    docs, idx = corpus
    out = _qa("ask", "Who won?", "--docs", str(docs), "--index", str(idx), env={"QA_STORE": f"milvus://127.0.0.1:{free_port()}?timeout=2"})
    assert out.returncode == 1 and "cannot reach Milvus at http://127.0.0.1:" in out.stderr
    assert "Traceback" not in out.stderr
    out = _qa("ask", "Who won?", "--docs", str(docs), "--index", str(idx), env={"QA_STORE": "postgres://x"})
    assert out.returncode == 1 and "QA_STORE='postgres://x' is not understood" in out.stderr


def test_a_collection_squatting_the_alias_name_is_refused(index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = _spec(tmp_path, collection="taken")
    client = connect(spec)
    client.create_collection("taken", dimension=DIM)
    with pytest.raises(VectorStoreError, match="is a collection, not an alias"):
        sync(index, spec)


# -- parity with the real model (slow) -----------------------------------------------------------
class _Memo:
    """An embedder that remembers single-text encodings (the questions)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.name, self._seen = inner, inner.name, {}

    dim = property(lambda self: self.inner.dim)
    max_tokens = property(lambda self: self.inner.max_tokens)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def encode(self, texts: list[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.encode(texts, batch_size=batch_size)
        if texts[0] not in self._seen:
            self._seen[texts[0]] = self.inner.encode(texts)
        return self._seen[texts[0]]


@pytest.mark.slow
def test_parity_with_faiss_on_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real model, the report, every question of the project's set: FAISS and Milvus
    (milvus-lite, FLAT) retrieve the same passages and give the same answers.

    Every question's whole retrieved list (the passages the answer is composed from) is
    compared, ids and scores; the answer is a deterministic function of the question and
    that list, so answers are compared end to end where the lists differ and on every
    fourth question (asking costs far more than retrieving)."""
    from qa.assistant import Assistant
    from qa.embed import make_embedder

    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(REPORT, docs / REPORT.name)
    emb = _Memo(make_embedder(None))  # both assistants embed each question once between them
    build_index(docs, tmp_path / "index", emb)
    faiss = Assistant.load(tmp_path / "index", docs, embedder=emb)
    monkeypatch.setenv("QA_STORE", str(tmp_path / "milvus.db") + "?index=FLAT")
    milvus = Assistant.load(tmp_path / "index", docs, embedder=emb)
    assert milvus.retriever.vectors.kind == "milvus"
    k = max(5, milvus.answer_settings.passages)
    top5, lists, answers, asked = [], 0, [], 0
    for n, q in enumerate(QUESTIONS):
        a, b = faiss.search(q["question"], top_k=k), milvus.search(q["question"], top_k=k)
        ia, ib = [h.chunk.id for h in a], [h.chunk.id for h in b]
        same_list = ia == ib and np.allclose([h.score for h in a], [h.score for h in b], atol=1e-5)
        lists += same_list
        if ia[:5] != ib[:5]:
            top5.append(f"{q['id']} top-5 differs: {[x[:8] for x in ia[:5]]} vs {[x[:8] for x in ib[:5]]}")
        if not same_list or n % 4 == 0:
            asked += 1
            x, y = faiss.ask(q["question"]), milvus.ask(q["question"])
            if (x.found, x.text, x.short, [c.chunk_id for c in x.citations]) != (y.found, y.text, y.short, [c.chunk_id for c in y.citations]):
                answers.append(f"{q['id']} answer differs: {x.short or x.text[:60]!r} vs {y.short or y.text[:60]!r}")
    total = len(QUESTIONS)
    assert total >= 150 and asked >= total // 4
    report = "\n".join([f"{len(top5)}/{total} top-5 and {len(answers)}/{asked} answers differ:", *top5, *answers])
    assert len(top5) <= 0.05 * total, report
    assert len(answers) <= 0.05 * asked, report
    assert lists >= 0.95 * total, report
