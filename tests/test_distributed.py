"""Embedding on a Dask cluster (``qa index --workers``): a local cluster of two single-threaded
worker processes bound to 127.0.0.1. Vectors equal the in-process ones, the index written is
the same, the model is loaded once per worker, nothing listens beyond loopback; the real model
on a sample of the report is ``slow``."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPORT, ROOT

pytest.importorskip("distributed")

from qa.distributed import DistributedEmbedder, parse_workers, worker_models  # noqa: E402
from qa.embed import HashingEmbedder  # noqa: E402
from qa.errors import BadSettings  # noqa: E402
from qa.indexer import build_index  # noqa: E402

LOOPBACK = ("127.0.0.1", "::ffff:127.0.0.1")


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    from distributed import LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                     dashboard_address=None, silence_logs=40)
    try:
        yield c
    finally:
        c.close(timeout=30)


def _texts(n: int) -> list[str]:
    paras = [p.strip() for p in REPORT.read_text(encoding="utf-8").split("\n\n") if len(p.strip()) > 40]
    return paras[:n]


def _in_process(emb, texts: list[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """What the indexer does without --workers: groups of 64, one model batch each."""
    return np.vstack([emb.encode(texts[s : s + 64], batch_size=64) for s in range(0, len(texts), 64)])


def test_nothing_listens_beyond_loopback(cluster) -> None:  # type: ignore[no-untyped-def]
    psutil = pytest.importorskip("psutil")
    procs = [psutil.Process()] + psutil.Process().children(recursive=True)
    listening = [(p.pid, c.laddr) for p in procs for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert len({pid for pid, _ in listening}) >= 3  # the scheduler's process and two workers at least
    assert all(a.ip in LOOPBACK for _, a in listening), listening
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    assert all(addr.startswith("tcp://127.0.0.1:") for addr in cluster.scheduler_info["workers"]), cluster.scheduler_info["workers"]


def test_vectors_equal_in_process_and_model_loaded_once_per_worker(cluster) -> None:  # type: ignore[no-untyped-def]
    emb = HashingEmbedder(64)
    texts = _texts(300)
    with DistributedEmbedder(emb, cluster.scheduler_address) as d:
        assert d.name == "hashing-64" and d.dim == 64
        d.warm_up()  # loads on every worker; the partitions below find it cached
        a = d.encode(texts, batch_size=d.submit_batch)
        b = d.encode(texts[:130])
        assert d.encode([]).shape == (0, 64)
        loads = d.client.run(worker_models)
    assert a.shape == (len(texts), 64) and a.dtype == np.float32
    assert np.allclose(a, _in_process(emb, texts), atol=1e-6)
    assert np.allclose(b, a[:130], atol=1e-6)
    # Both workers took partitions, and each loaded the model exactly once for all of them.
    assert len(loads) == 2 and all(v == {"hashing-64": 1} for v in loads.values()), loads


def _files(index: Path) -> dict[str, str]:
    gen = index / (index / "CURRENT").read_text().strip()
    return {str(p.relative_to(gen)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(gen.rglob("*")) if p.is_file() and not p.name.startswith("manifest")}  # the manifest records the build time


def test_index_built_on_the_cluster_is_the_same(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(REPORT, docs / REPORT.name)
    emb = HashingEmbedder(64)
    build_index(docs, tmp_path / "local", emb)
    with DistributedEmbedder(emb, cluster.scheduler_address) as d:
        report = build_index(docs, tmp_path / "cluster", d)
    assert report.embedded_chunks > 100 and report.embedded_sentences > 400
    assert _files(tmp_path / "cluster") == _files(tmp_path / "local")
    m = json.loads(next((tmp_path / "cluster").glob("gen-*/manifest.json")).read_text())
    assert m["model"] == {"name": "hashing-64", "dim": 64, "max_seq_length": 256}


@pytest.mark.parametrize("bad", ["", "local:0", "local:x", "nowhere"])
def test_bad_worker_addresses_are_refused(bad: str) -> None:
    with pytest.raises(BadSettings):
        parse_workers(bad)
    assert parse_workers("local:3") == 3 and parse_workers("tcp://10.1.2.3:8786") is None


def test_unreachable_scheduler_is_a_clear_error() -> None:
    from procs import free_port

    d = DistributedEmbedder(HashingEmbedder(8), f"tcp://127.0.0.1:{free_port()}", connect_timeout=2)
    with pytest.raises(BadSettings, match="cannot reach the Dask scheduler"):
        d.encode(["a"])
    d.close()


def test_cli_index_with_local_workers(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Gas exports\n\nKazakhstan exported more gas in 2022 than in 2021. Prices rose.\n", encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("QA_STORE", None)
    out = subprocess.run([sys.executable, "-m", "qa", "index", "--docs", str(docs), "--index", str(tmp_path / "i"),
                          "--model", "hashing-32", "--workers", "local:2", "--quiet"],
                         capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "1 added" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "qa", "index", "--docs", str(docs), "--index", str(tmp_path / "j"),
                          "--model", "hashing-32", "--workers", "local:0"], capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    assert bad.returncode == 1 and "local:N with N >= 1" in bad.stderr


@pytest.mark.slow
def test_real_model_vectors_match_in_process(cluster) -> None:  # type: ignore[no-untyped-def]
    from qa.embed import make_embedder

    emb = make_embedder(None)
    texts = _texts(128)  # two partitions of the report's paragraphs, one per worker
    with DistributedEmbedder(emb, cluster.scheduler_address) as d:
        got = d.encode(texts, batch_size=d.submit_batch)
        loads = d.client.run(worker_models)
    want = _in_process(emb, texts)
    assert got.shape == want.shape == (len(texts), 384)
    assert np.allclose(got, want, atol=1e-6), float(np.abs(got - want).max())
    assert sum(v.get(emb.name, 0) for v in loads.values()) >= 1 and all(v.get(emb.name, 0) <= 1 for v in loads.values())


def test_qa_workers_setting_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.distributed import wrap_embedder

    emb = HashingEmbedder(8)
    with wrap_embedder(emb) as e:
        assert e is emb  # no setting: in process
    monkeypatch.setenv("QA_WORKERS", "local:0")
    with pytest.raises(BadSettings, match="local:N"):
        with wrap_embedder(emb):
            pass
