"""Build or update the index from a documents folder, incrementally.

Unchanged files (same path, same sha256) are neither parsed nor embedded again; vectors are
reused by the hash of the exact text embedded, so only new text costs model time. When
nothing changed, no generation is written at all.
"""
from __future__ import annotations

import fcntl
import hashlib
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.ann import IndexSettings, spec_of
from qa.chunk import ChunkSettings, chunk_document, embed_text
from qa.embed import Embedder, make_embedder
from qa.errors import IndexBusy, IndexCorrupt, IndexMismatch, IndexMissing, NoDocuments, UnreadableDocument
from qa.ingest import iter_source_files, load_document, read_source, sha256_bytes, supported
from qa.sentences import strip_footnotes
from qa.store import LoadedIndex, load_index, write_generation
from qa.types import Chunk, Document


@dataclass
class BuildReport:
    """What a build did, for the CLI and the app to show."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks: int = 0
    embedded_chunks: int = 0
    embedded_sentences: int = 0
    generation: str | None = None
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        state = f"generation {self.generation}" if self.generation else "index up to date, nothing written"
        return (
            f"{state}: {len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped; {self.chunks} chunks "
            f"({self.embedded_chunks} chunks and {self.embedded_sentences} sentences embedded) in {self.seconds:.1f} s"
        )


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """One builder at a time per index folder (readers never need the lock)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise IndexBusy(f"another process is building the index in {index_dir}; try again when it is done") from e
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _previous(index_dir: Path, model: str, rebuild: bool) -> LoadedIndex | None:
    if rebuild:
        return None
    try:
        return load_index(index_dir, expected_model=model)
    except (IndexMissing, IndexMismatch):
        return None
    except IndexCorrupt:
        return None  # rebuild from the sources; the broken generation is replaced


def _progress(iterable, total: int, desc: str, show: bool):  # type: ignore[no-untyped-def]
    if not show:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="doc")


def _embed_missing(
    embedder: Embedder, texts: list[str], keys: list[str], cache: dict[str, np.ndarray], desc: str, show: bool
) -> tuple[np.ndarray, int]:
    todo_idx = [i for i, k in enumerate(keys) if k not in cache]
    # Deduplicate: the same text is embedded once.
    uniq: dict[str, int] = {}
    for i in todo_idx:
        uniq.setdefault(keys[i], i)
    if uniq:
        # Longest first, so each batch holds texts of similar length: a batch is padded to its
        # longest text, and mixed batches cost ~1.5x the model time (measured, BENCHMARKS.md).
        order = sorted(uniq.values(), key=lambda i: -len(texts[i]))
        batch = getattr(embedder, "submit_batch", 64)  # a DistributedEmbedder takes everything at once
        it = range(0, len(order), batch)
        if show:
            from tqdm import tqdm

            it = tqdm(it, total=(len(order) + batch - 1) // batch, desc=desc, unit="batch")
        for s in it:
            part = order[s : s + batch]
            vecs = embedder.encode([texts[i] for i in part], batch_size=batch)
            for i, v in zip(part, vecs):
                cache[keys[i]] = v
    dim = embedder.dim
    out = np.zeros((len(keys), dim), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = cache[k]
    return out, len(uniq)


def build_index(
    docs_dir: Path | str = "source_docs",
    index_dir: Path | str = "index",
    embedder: Embedder | None = None,
    settings: ChunkSettings = ChunkSettings(),
    progress: bool = False,
    rebuild: bool = False,
    vector_index: IndexSettings | None = None,
) -> BuildReport:
    """Bring ``index_dir`` up to date with the files in ``docs_dir``.

    ``vector_index`` chooses the FAISS index (default: ``QA_VECTOR_INDEX``, else by size).
    """
    t0 = time.perf_counter()
    vector_index = vector_index or IndexSettings.from_env()
    docs_dir, index_dir = Path(docs_dir), Path(index_dir)
    embedder = embedder or make_embedder()
    report = BuildReport()
    if not docs_dir.is_dir():
        raise UnreadableDocument(str(docs_dir), "documents folder does not exist")
    with index_lock(index_dir):
        prev = _previous(index_dir, embedder.name, rebuild)
        prev_docs_by_path = {}
        if prev is not None and prev.manifest.get("chunker") == settings.to_json():
            prev_docs_by_path = {d.path: d for d in prev.documents.values()}
        prev_chunks_by_doc: dict[str, list[Chunk]] = {}
        if prev is not None:
            for c in prev.chunks:
                prev_chunks_by_doc.setdefault(c.doc_id, []).append(c)

        files = [p for p in iter_source_files(docs_dir) if p.name.lower() != "readme.md" or p.parent != docs_dir]
        documents: list[Document] = []
        seen_paths = set()
        for path in _progress(files, len(files), "reading documents", progress):
            rel = str(path)
            if not supported(path):
                report.skipped.append((rel, f"unsupported file type '{path.suffix or '(none)'}'"))
                continue
            try:
                data = read_source(path, docs_dir)
                sha = sha256_bytes(data)
                old = prev_docs_by_path.get(rel)
                if old is not None and old.id == sha:
                    documents.append(old)
                    report.unchanged.append(rel)
                else:
                    doc = load_document(path, docs_dir, data)
                    documents.append(doc)
                    (report.updated if old is not None else report.added).append(rel)
                seen_paths.add(rel)
            except UnreadableDocument as e:
                report.skipped.append((rel, e.reason))
        # The same bytes under two names are indexed once.
        unique: dict[str, Document] = {}
        for d in documents:
            if d.id in unique:
                report.skipped.append((d.path, f"same content as {unique[d.id].path}"))
                for lst in (report.added, report.updated, report.unchanged):
                    if d.path in lst:
                        lst.remove(d.path)
                continue
            unique[d.id] = d
        documents = list(unique.values())
        report.removed = sorted(p for p in prev_docs_by_path if p not in seen_paths)

        same_settings = prev is not None and prev.manifest.get("chunker") == settings.to_json()
        same_vectors = prev is not None and vector_index.choose(len(prev.chunks)) == spec_of(prev.manifest)["kind"]
        # A damaged live generation (prev is the older one serving meanwhile) is repaired even when nothing changed.
        repair = prev is not None and prev.warning is not None
        if same_settings and same_vectors and not repair and not report.changed and prev is not None and len(prev.documents) == len(documents):
            report.chunks = len(prev.chunks)
            report.seconds = time.perf_counter() - t0
            return report

        fits = None
        limit = embedder.max_tokens
        if limit:
            fits = lambda text: embedder.count_tokens(text) <= limit  # noqa: E731
        chunks: list[Chunk] = []
        for d in documents:
            reuse = prev_chunks_by_doc.get(d.id) if same_settings else None
            chunks.extend(reuse if reuse is not None else chunk_document(d, settings, fits))

        if not chunks:
            # Nothing to search: say so, and leave any existing index as it is.
            why = f" ({len(report.skipped)} file(s) skipped: " + "; ".join(f"{p}: {r}" for p, r in report.skipped[:3]) + ")" if report.skipped else ""
            raise NoDocuments(f"no readable text in {docs_dir}{why}; add reports (txt, md, pdf, html, docx) and run `qa index` again")

        # Vector caches from the previous generation, by text hash.
        chunk_cache: dict[str, np.ndarray] = {}
        sent_cache: dict[str, np.ndarray] = {}
        if prev is not None:
            chunk_cache = dict(zip(prev.chunk_keys, prev.chunk_vectors))
            sent_cache = dict(zip(prev.sentence_keys, prev.sentence_vectors))
        ctexts = [embed_text(c) for c in chunks]
        ckeys = [text_key(t) for t in ctexts]
        stexts = [strip_footnotes(c.sentence_text(s)) for c in chunks for s in c.sentences]
        skeys = [text_key(t) for t in stexts]
        cvecs, report.embedded_chunks = _embed_missing(embedder, ctexts, ckeys, chunk_cache, "embedding chunks", progress)
        svecs, report.embedded_sentences = _embed_missing(embedder, stexts, skeys, sent_cache, "embedding sentences", progress)

        manifest: dict[str, Any] = {
            "model": {"name": embedder.name, "dim": embedder.dim, "max_seq_length": embedder.max_tokens},
            "chunker": settings.to_json(),
            "documents": [
                {"id": d.id, "path": d.path, "title": d.title, "sha256": d.id, "chunks": sum(c.doc_id == d.id for c in chunks), "warnings": list(d.warnings)}
                for d in documents
            ],
            "counts": {"documents": len(documents), "chunks": len(chunks), "sentences": len(stexts)},
            "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
            "libraries": _library_versions(),
        }
        gen = write_generation(
            index_dir,
            documents=documents,
            chunks=chunks,
            chunk_vectors=cvecs,
            chunk_keys=ckeys,
            sentence_vectors=svecs,
            sentence_keys=skeys,
            manifest=manifest,
            vector_index=vector_index,
        )
        report.generation = gen.name
        report.chunks = len(chunks)
        report.seconds = time.perf_counter() - t0
        return report


def index_is_stale(docs_dir: Path | str, index_dir: Path | str, model: str | None = None) -> bool:
    """True when ``qa index`` would change something (cheap: hashes files, embeds nothing)."""
    from qa.store import read_manifest

    try:
        manifest = read_manifest(Path(index_dir))
    except IndexCorrupt:
        return True
    if manifest is None:
        return True
    if model is not None and manifest.get("model", {}).get("name") != model:
        return True
    known = {d["path"]: d["sha256"] for d in manifest.get("documents", [])}
    skipped = {s["path"] for s in manifest.get("skipped", [])}
    current = {}
    for p in iter_source_files(Path(docs_dir)):
        if not supported(p):
            continue
        try:
            current[str(p)] = sha256_bytes(p.read_bytes())
        except OSError:
            continue
    return any(known.get(p) != h and p not in skipped for p, h in current.items()) or any(p not in current for p in known)


def _library_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("sentence-transformers", "faiss-cpu", "bm25s", "syntok", "tiktoken", "torch"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out
