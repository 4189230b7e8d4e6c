"""Embedding on a Dask cluster: ``qa index --workers ADDRESS`` (or ``QA_WORKERS``).

:class:`DistributedEmbedder` implements the :class:`qa.embed.Embedder` protocol, so the indexer
does not know where its vectors come from. ``encode`` cuts the texts into partitions and maps
:func:`embed_partition` over them on the cluster (Ray Data's ``map_batches``, in Dask): each
worker process loads the model once (:data:`_WORKER_EMBEDDERS`, keyed by model name) and keeps
it for every later partition. Token counting (for chunking), ``dim`` and ``max_tokens`` stay
local: they need the tokenizer, not the model's compute.

Partitions are as large as the indexer's in-process groups (64 texts, one model batch), so a
worker pads and batches the same texts together as the in-process path and its vectors match
to ``allclose(atol=1e-6)`` (tested); the index written is the same.

``ADDRESS`` is a running scheduler (``tcp://10.0.0.5:8786``) or ``local[:N]`` for a cluster of
``N`` single-threaded worker processes on this machine, bound to 127.0.0.1 (nothing listens
beyond loopback, no dashboard).

Why Dask and not Ray Data: both map a function over partitions with the model cached per
worker; Dask installs in about 10 s and 70 MB here against Ray's 41 s and 617 MB, its local
cluster binds where it is told (Ray's processes listen on every interface even when told
127.0.0.1), and embedding is a plain map over text partitions that needs none of Ray Data's
streaming or GPU scheduling (see DEPLOY.md for the measured throughput).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from qa.embed import Embedder, make_embedder
from qa.errors import BadSettings

PARTITION = 64  # texts per task: the indexer's in-process group, so batches are padded alike

# Worker-level cache: one model per worker process and model name, loaded by the first task.
_WORKER_EMBEDDERS: dict[str, Embedder] = {}
_WORKER_LOADS: dict[str, int] = {}  # how often each model was loaded here (tests: once)
_WORKER_LOCK = threading.Lock()


def _worker_embedder(model: str) -> Embedder:
    with _WORKER_LOCK:
        emb = _WORKER_EMBEDDERS.get(model)
        if emb is None:
            try:
                from distributed import get_worker

                threads = int(get_worker().state.nthreads)
            except (ImportError, ValueError, AttributeError):
                threads = 0
            if threads > 0:
                try:
                    import torch

                    # One worker thread, one torch thread: N workers on N cores, not N x N threads.
                    torch.set_num_threads(threads)
                except ImportError:  # the fake embedder needs no torch
                    pass
            emb = make_embedder(model)
            if hasattr(emb, "warm_up"):
                emb.warm_up()  # load now, under the lock, not inside the first encode
            _WORKER_EMBEDDERS[model] = emb
            _WORKER_LOADS[model] = _WORKER_LOADS.get(model, 0) + 1
        return emb


def embed_partition(texts: list[str], model: str, encode_batch: int) -> np.ndarray:
    """Vectors of one partition, on a worker (the model is loaded once per worker)."""
    return _worker_embedder(model).encode(texts, batch_size=encode_batch)


def _load_on_worker(model: str) -> int:
    """Load ``model`` into this worker's cache; returns how often it was loaded (picklable)."""
    _worker_embedder(model)
    return _WORKER_LOADS[model]


def worker_models() -> dict[str, int]:
    """Models loaded in this worker process and how many times each was loaded
    (``client.run(worker_models)`` checks the per-worker cache)."""
    return dict(_WORKER_LOADS)


class DistributedEmbedder:
    """An :class:`~qa.embed.Embedder` whose ``encode`` runs on a Dask cluster.

    Use as a context manager (or call :meth:`close`): a ``local`` cluster is started on first
    use and stopped on close; a remote scheduler is only disconnected from.
    """

    # The indexer hands over all missing texts in one call, so every worker has work at once.
    submit_batch = 1 << 30

    def __init__(self, local: Embedder | str | None, address: str, partition: int = PARTITION, connect_timeout: float = 30.0) -> None:
        self.local: Embedder = local if local is not None and not isinstance(local, str) else make_embedder(local)
        self.name = self.local.name
        self.address = address.strip()
        self.partition = partition
        self.connect_timeout = connect_timeout
        self._client: Any = None
        self._cluster: Any = None
        parse_workers(self.address)  # fail early on a malformed address

    # -- the cluster ---------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The Dask client (connects, or starts the local cluster, on first use)."""
        if self._client is None:
            try:
                from distributed import Client, LocalCluster
            except ImportError as e:
                raise BadSettings("--workers needs Dask; install the extra with `pip install -e '.[distributed]'`") from e
            n = parse_workers(self.address)
            try:
                if n is not None:
                    self._cluster = LocalCluster(
                        n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None, silence_logs=40,
                    )
                    self._client = Client(self._cluster)
                else:
                    self._client = Client(self.address, timeout=self.connect_timeout)
            except (OSError, TimeoutError) as e:
                self.close()
                raise BadSettings(f"cannot reach the Dask scheduler at {self.address} ({type(e).__name__}: {e})") from e
        return self._client

    def close(self) -> None:
        """Disconnect; stop the local cluster if this embedder started it."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> "DistributedEmbedder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the Embedder protocol -------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.local.dim

    @property
    def max_tokens(self) -> int:
        return self.local.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.local.count_tokens(text)

    def warm_up(self) -> None:
        """Connect and load the model on every worker (optional; the first partition does it too)."""
        self.client.run(_load_on_worker, self.name)

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        step = self.partition
        parts = [texts[s : s + step] for s in range(0, len(texts), step)]
        futures = self.client.map(embed_partition, parts, model=self.name, encode_batch=min(batch_size, step), pure=False)
        if show_progress:
            from distributed import as_completed
            from tqdm import tqdm

            for _ in tqdm(as_completed(futures), total=len(futures), desc="embedding on the cluster", unit="part"):
                pass
        out = self.client.gather(futures)
        return np.ascontiguousarray(np.vstack(out), dtype=np.float32)


def parse_workers(address: str) -> int | None:
    """``local``/``local:N`` -> N local workers (default: the cores); a scheduler address -> None."""
    a = address.strip()
    if a == "local":
        return max(1, os.cpu_count() or 1)
    if a.startswith("local:"):
        n = a[len("local:"):]
        if not n.isdigit() or int(n) < 1:
            raise BadSettings(f"--workers {address!r}: use local:N with N >= 1")
        return int(n)
    if not a or "://" not in a and ":" not in a:
        raise BadSettings(f"--workers {address!r}: give a scheduler address (tcp://HOST:8786) or local[:N]")
    return None


def workers_from_env() -> str | None:
    """``QA_WORKERS``: where ``qa index`` embeds (None: in this process)."""
    return os.environ.get("QA_WORKERS") or None



@contextmanager
def wrap_embedder(embedder: Embedder, address: str | None = None) -> Iterator[Embedder]:
    """``embedder`` itself, or a :class:`DistributedEmbedder` around it when ``address`` (or
    ``QA_WORKERS``) names a cluster; a local cluster started here is stopped on exit."""
    address = address or workers_from_env()
    if not address:
        yield embedder
        return
    dist = DistributedEmbedder(embedder, address)
    try:
        yield dist
    finally:
        dist.close()
