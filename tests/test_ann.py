"""The dense index by collection size (qa/ann.py): choice, override, manifest record, recall."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.ann import IndexSettings, build_vector_index, spec_of
from qa.errors import BadSettings, IndexCorrupt
from qa.vectorstore import FaissVectorStore

SMALL = IndexSettings(exact_below=200)


def _clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 topics: structured like text embeddings, unlike uniform noise."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((40, dim)).astype(np.float32)
    x = centers[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_kind_is_chosen_by_collection_size() -> None:
    assert SMALL.choose(199) == "flat"
    assert SMALL.choose(200) == "ivf-sq8"
    assert SMALL.choose(10**7) == "ivf-sq8"
    assert IndexSettings(exact_below=200, large="ivf-pq").choose(300) == "ivf-pq"
    assert IndexSettings().choose(165) == "flat"  # the real report stays exact
    index, spec = build_vector_index(_clustered(300), 64, SMALL)
    assert spec["kind"] == "ivf-sq8" and spec["chosen_by"] == "auto"


def test_setting_overrides_the_size_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    assert IndexSettings(kind="hnsw", exact_below=5).choose(10) == "hnsw"
    assert IndexSettings(kind="flat").choose(10_000_000) == "flat"
    monkeypatch.setenv("QA_VECTOR_INDEX", "HNSW")
    assert IndexSettings.from_env().kind == "hnsw"
    assert IndexSettings.from_env("flat").kind == "flat"  # an explicit flag beats the environment
    monkeypatch.delenv("QA_VECTOR_INDEX")
    assert IndexSettings.from_env().kind == "auto"


@pytest.mark.parametrize("bad", [{"kind": "annoy"}, {"large": "auto"}, {"nprobe": 0}, {"exact_below": -5}, {"rescore": 1.5}])
def test_bad_settings_are_refused(bad: dict) -> None:
    with pytest.raises(BadSettings):
        IndexSettings(**bad)


def test_pq_m_must_divide_the_dimension() -> None:
    with pytest.raises(BadSettings, match="pq_m"):
        build_vector_index(_clustered(300), 64, IndexSettings(kind="ivf-pq", pq_m=7))


@pytest.mark.parametrize("kind", ["hnsw", "ivf-sq8", "ivf-pq"])
def test_ann_kinds_find_the_exact_neighbours(kind: str) -> None:
    x = _clustered(4_000)
    queries = _clustered(50, seed=1)
    index, spec = build_vector_index(x, 64, IndexSettings(kind=kind, pq_m=16, nprobe=16, rescore=8))
    assert spec["kind"] == kind and spec["count"] == 4_000 and spec["chosen_by"] == "setting"
    store = FaissVectorStore(index, x, spec)
    recall = []
    for q in queries:
        exact = set(np.argsort(-(x @ q))[:10].tolist())
        ids, scores = store.search(q, 10)
        recall.append(len(exact & set(ids.tolist())) / 10)
        # Approximate candidates are re-scored: what leaves the store is the true cosine, best first.
        np.testing.assert_allclose(scores, x[ids] @ q, rtol=1e-5, atol=1e-5)
        assert list(scores) == sorted(scores, reverse=True)
    assert np.mean(recall) >= 0.9, (kind, np.mean(recall))


def test_flat_is_exact_and_tiny_collections_stay_flat() -> None:
    x = _clustered(50)
    index, spec = build_vector_index(x, 64, IndexSettings(kind="ivf-pq"))
    assert spec["kind"] == "flat"  # IVF cannot train on 50 vectors
    index, spec = build_vector_index(_clustered(300), 64, IndexSettings(kind="auto"))
    assert spec == {"kind": "flat", "params": {}, "chosen_by": "auto", "count": 300}


def test_search_params_are_applied_on_load(monkeypatch: pytest.MonkeyPatch) -> None:
    import faiss

    x = _clustered(1_000)
    index, spec = build_vector_index(x, 64, IndexSettings(kind="hnsw", ef_search=40))
    loaded = faiss.deserialize_index(faiss.serialize_index(index))
    FaissVectorStore(loaded, x, dict(spec, params=dict(spec["params"], efSearch=99)))
    assert faiss.downcast_index(loaded).hnsw.efSearch == 99
    monkeypatch.setenv("QA_EF_SEARCH", "123")
    assert FaissVectorStore(loaded, x, spec).params["efSearch"] == 123
    index, spec = build_vector_index(x, 64, IndexSettings(kind="ivf-sq8", nprobe=3))
    monkeypatch.setenv("QA_NPROBE", "5")
    FaissVectorStore(index, x, spec)
    assert faiss.extract_index_ivf(index).nprobe == 5


def test_manifest_records_the_index_and_old_manifests_mean_flat(docs_dir: Path, tmp_path: Path, fake_embedder) -> None:
    from qa.assistant import Assistant
    from qa.indexer import build_index
    from qa.store import load_generation, load_index

    index_dir = tmp_path / "index"
    build_index(docs_dir, index_dir, fake_embedder)
    flat = load_index(index_dir)
    assert flat.manifest["vector_index"]["kind"] == "flat"
    assert isinstance(flat.chunk_vectors, np.memmap)  # vectors stay on disk, mapped
    q = "How much humanitarian aid did Uzbekistan send to Ukraine?"
    flat_ans = Assistant.load(index_dir, docs_dir, embedder=fake_embedder).ask(q)

    # Same corpus, another kind: a new generation, nothing embedded again.
    r = build_index(docs_dir, index_dir, fake_embedder, vector_index=IndexSettings(kind="hnsw"))
    assert r.generation is not None and r.embedded_chunks == 0 and r.embedded_sentences == 0
    hnsw = load_index(index_dir)
    assert hnsw.manifest["vector_index"]["kind"] == "hnsw"
    assert hnsw.manifest["vector_index"]["params"]["efSearch"] == IndexSettings().ef_search
    ans = Assistant.load(index_dir, docs_dir, embedder=fake_embedder).ask(q)
    assert ans.text == flat_ans.text  # 165 chunks: HNSW finds the same passages

    # Unchanged corpus and kind: nothing is written.
    assert build_index(docs_dir, index_dir, fake_embedder, vector_index=IndexSettings(kind="hnsw")).generation is None

    # A manifest written before qa/ann.py has no record: it is a flat index and still loads.
    build_index(docs_dir, index_dir, fake_embedder, vector_index=IndexSettings(kind="flat"))
    gen = index_dir / (index_dir / "CURRENT").read_text().strip()
    m = json.loads((gen / "manifest.json").read_text())
    del m["vector_index"]
    _rewrite_manifest(gen, m)
    old = load_index(index_dir)
    assert old.path == gen
    assert spec_of(old.manifest)["kind"] == "flat"
    assert Assistant.load(index_dir, docs_dir, embedder=fake_embedder).ask(q).text == flat_ans.text

    # A manifest that claims another kind than the file holds is refused.
    m["vector_index"] = {"kind": "hnsw", "params": {}}
    _rewrite_manifest(gen, m)
    with pytest.raises(IndexCorrupt, match="vectors.faiss"):
        load_generation(gen)


def _rewrite_manifest(gen: Path, manifest: dict) -> None:
    """Edit a manifest the way an older qa would have written it (its checksum file updated, if any)."""
    from qa import store

    (gen / "manifest.json").write_text(json.dumps(manifest))
    sums = gen / getattr(store, "MANIFEST_SUM", "manifest.sha256")
    if sums.exists():
        digest = store.file_sha256(gen / "manifest.json")
        try:
            json.loads(sums.read_text())
            sums.write_text(json.dumps({"manifest.json": digest}) + "\n", encoding="ascii")
        except ValueError:
            sums.write_text(f"{digest}  manifest.json\n", encoding="ascii")
