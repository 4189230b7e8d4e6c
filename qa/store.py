"""The on-disk index: generations of plain files, switched atomically, verified on load.

```
index/CURRENT            name of the live generation, replaced with os.replace
index/gen-000007/
  manifest.json          format, model, chunker settings, documents, sha256 + size of every file
  manifest.sha256.json   {"manifest.json": sha256}: the manifest is checked too, byte for byte
  documents.jsonl        one Document per line (cleaned text, blocks, sections)
  chunks.jsonl           one Chunk per line, in vector order
  vectors.faiss          faiss.serialize_index bytes (inner product; flat, HNSW or IVF by size: qa/ann.py)
  chunk_vectors.npy      the same vectors, reused by text hash on the next build
  sentence_vectors.npy   one row per chunk sentence, in chunk order
  sentence_keys.json     text hash of each sentence row (reuse without re-embedding)
  chunk_keys.json        text hash of each chunk's embedded text
  lexical/               bm25s files (numpy + JSON)
```
A build writes a new generation beside the live one, fsyncs it, loads it back to verify,
then replaces ``CURRENT``; a crash at any point leaves the previous generation serving.
When the live generation is damaged later (a file truncated, altered or missing), a fresh load
falls back to the newest older generation that verifies, with a warning (``LoadedIndex.warning``).
Nothing is ever pickled.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexCorrupt, IndexMismatch, IndexMissing
from qa.lexical import BM25Index
from qa.types import Chunk, Document

FORMAT_VERSION = 1
KEEP_GENERATIONS = 2
GEN_RE = re.compile(r"^gen-(\d{6})$")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass
class LoadedIndex:
    """One generation in memory, ready for retrieval."""

    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: list[Chunk]
    faiss_index: Any
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    sentence_keys: list[str]
    chunk_keys: list[str]
    sentence_offsets: np.ndarray  # row of the first sentence of chunk i (len = chunks + 1)
    bm25: BM25Index
    warning: str | None = None  # set when the live generation was damaged and an older one serves

    @property
    def model_name(self) -> str:
        return str(self.manifest["model"]["name"])

    @property
    def generation(self) -> str:
        return self.path.name


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when there is no index yet."""
    cur = index_dir / "CURRENT"
    if not cur.exists():
        return None
    name = cur.read_text(encoding="utf-8").strip()
    if not GEN_RE.match(name):
        raise IndexCorrupt(f"{cur} does not name a generation ({name!r}); rebuild with `qa index`", str(cur))
    return index_dir / name


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The live generation's manifest, checked against ``manifest.sha256`` (cheap: no data file is read)."""
    gen = current_generation(index_dir)
    if gen is None or not (gen / "manifest.json").exists():
        return None
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexCorrupt(f"{gen / 'manifest.json'} is unreadable ({e}); rebuild with `qa index`", str(gen / "manifest.json")) from e
    if manifest.get("format_version") == FORMAT_VERSION:
        _verify_manifest(gen)
    return manifest


MANIFEST_SUM = "manifest.sha256.json"


def _verify_manifest(gen: Path) -> None:
    """The manifest holds every other file's checksum; its own is in ``manifest.sha256``."""
    sums = gen / MANIFEST_SUM
    try:
        line = sums.read_bytes()
    except FileNotFoundError:
        raise IndexCorrupt(f"index file {sums} is missing (an index from an older qa, or damaged); rebuild with `qa index`", str(sums)) from None
    except OSError as e:
        raise IndexCorrupt(f"index file {sums} is unreadable ({e}); rebuild with `qa index`", str(sums)) from None
    m = re.fullmatch(rb'\{"manifest\.json": "([0-9a-f]{64})"\}\n', line)  # exactly what was written: any flipped byte shows
    if m is None:
        raise IndexCorrupt(f"index file {sums} is damaged; rebuild with `qa index`", str(sums))
    recorded = m.group(1).decode("ascii")
    if file_sha256(gen / "manifest.json") != recorded:
        raise IndexCorrupt(f"index files {gen / 'manifest.json'} and {sums} disagree (one is damaged); rebuild with `qa index`", str(gen / "manifest.json"))


def write_generation(
    index_dir: Path,
    *,
    documents: list[Document],
    chunks: list[Chunk],
    chunk_vectors: np.ndarray,
    chunk_keys: list[str],
    sentence_vectors: np.ndarray,
    sentence_keys: list[str],
    manifest: dict[str, Any],
    vector_index: Any = None,
) -> Path:
    """Write, verify and switch to a new generation; returns its folder.

    ``vector_index`` (a :class:`qa.ann.IndexSettings`, default auto) chooses the FAISS index;
    what was built is recorded as ``manifest["vector_index"]``.
    """
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    existing = [int(m.group(1)) for p in index_dir.iterdir() if (m := GEN_RE.match(p.name))]
    number = max(existing, default=0) + 1
    final = index_dir / f"gen-{number:06d}"
    tmp = index_dir / f".tmp-gen-{number:06d}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        _write_jsonl(tmp / "documents.jsonl", [d.to_json() for d in documents])
        _write_jsonl(tmp / "chunks.jsonl", [c.to_json() for c in chunks])
        vecs = np.ascontiguousarray(chunk_vectors, dtype=np.float32)
        np.save(tmp / "chunk_vectors.npy", vecs, allow_pickle=False)
        np.save(tmp / "sentence_vectors.npy", np.ascontiguousarray(sentence_vectors, dtype=np.float32), allow_pickle=False)
        (tmp / "chunk_keys.json").write_text(json.dumps(chunk_keys), encoding="utf-8")
        (tmp / "sentence_keys.json").write_text(json.dumps(sentence_keys), encoding="utf-8")
        from qa.ann import build_vector_index

        index, vector_spec = build_vector_index(vecs, int(manifest["model"]["dim"]), vector_index)
        manifest = dict(manifest, vector_index=vector_spec)
        (tmp / "vectors.faiss").write_bytes(faiss.serialize_index(index).tobytes())
        del index  # an ANN index of a large collection is big: not kept while the rest is written
        lex = tmp / "lexical"
        lex.mkdir()
        from qa.chunk import embed_text

        BM25Index.build([embed_text(c) for c in chunks]).save(lex)

        files = {}
        for p in sorted(tmp.rglob("*")):
            if p.is_file():
                _fsync_file(p)
                files[str(p.relative_to(tmp))] = {"sha256": file_sha256(p), "size": p.stat().st_size}
        manifest = dict(manifest, format_version=FORMAT_VERSION, files=files, built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        _fsync_file(tmp / "manifest.json")
        (tmp / MANIFEST_SUM).write_text(json.dumps({"manifest.json": file_sha256(tmp / "manifest.json")}) + "\n", encoding="ascii")
        _fsync_file(tmp / MANIFEST_SUM)
        _fsync_dir(tmp)
        try:
            previous = current_generation(index_dir)
        except IndexCorrupt:
            previous = None
        os.rename(tmp, final)
        _fsync_dir(index_dir)
        load_generation(final, expected_model=None)  # verify before anyone can see it
        cur_tmp = index_dir / f".CURRENT.{os.getpid()}"
        cur_tmp.write_text(final.name + "\n", encoding="utf-8")
        _fsync_file(cur_tmp)
        os.replace(cur_tmp, index_dir / "CURRENT")
        _fsync_dir(index_dir)
    except BaseException:
        # A failed build (disk full, EIO, interrupted) leaves nothing behind but the live index.
        shutil.rmtree(tmp, ignore_errors=True)
        (index_dir / f".CURRENT.{os.getpid()}").unlink(missing_ok=True)
        if final.exists() and _current_name(index_dir) != final.name:
            shutil.rmtree(final, ignore_errors=True)
        raise
    try:
        _prune(index_dir, keep=final.name, previous=previous.name if previous else None)
    except OSError:
        pass  # the new generation is live; leftovers are removed by the next build
    return final


def _current_name(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None


def _prune(index_dir: Path, keep: str, previous: str | None = None) -> None:
    """Keep the new generation and the one it replaced; remove older ones and leftovers of
    crashed builds (a generation never made current, a temporary folder or pointer of a dead pid)."""
    gens = sorted((p for p in index_dir.iterdir() if GEN_RE.match(p.name)), key=lambda p: p.name)
    others = [p.name for p in gens if p.name != keep]
    if previous in others:
        survivors = {previous}
    else:  # no valid previous pointer: keep the newest others
        survivors = set(others[len(others) - (KEEP_GENERATIONS - 1):]) if KEEP_GENERATIONS > 1 else set()
    for p in gens:
        if p.name != keep and p.name not in survivors:
            shutil.rmtree(p, ignore_errors=True)
    for pattern, sep in ((".tmp-gen-*", "-"), (".CURRENT.*", ".")):
        for p in index_dir.glob(pattern):
            pid = p.name.rsplit(sep, 1)[-1]
            if not pid.isdigit() or not _pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True


def check_model(manifest: dict[str, Any], expected_model: str | None, where: Path) -> None:
    """Refuse an index built with another model or format."""
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(
            f"the index in {where} has format {manifest.get('format_version')}, this qa reads format {FORMAT_VERSION}; "
            "rebuild it with `qa index --rebuild`"
        )
    built = manifest.get("model", {}).get("name")
    if expected_model is not None and built != expected_model:
        raise IndexMismatch(
            f"the index in {where} was built with model '{built}', not '{expected_model}'; "
            f"rebuild it with `qa index --model {expected_model} --rebuild`, or ask with `--model {built}`"
        )


def load_generation(gen: Path, expected_model: str | None = None, verify: bool = True) -> LoadedIndex:
    """Load and (by default) verify every file of one generation against its manifest."""
    import faiss

    mpath = gen / "manifest.json"
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise IndexCorrupt(f"{mpath} is missing; rebuild with `qa index`", str(mpath)) from e
    except (OSError, ValueError) as e:
        raise IndexCorrupt(f"{mpath} is unreadable ({e}); rebuild with `qa index`", str(mpath)) from e
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"{mpath} is not a manifest; rebuild with `qa index`", str(mpath))
    # Another format first: its integrity rules are not ours to check (refused with instructions).
    if manifest.get("format_version") != FORMAT_VERSION:
        check_model(manifest, None, gen)
    _verify_manifest(gen)
    check_model(manifest, expected_model, gen)
    files = manifest.get("files", {})
    for rel, meta in files.items():
        p = gen / rel
        if not p.exists():
            raise IndexCorrupt(f"index file {p} is missing; rebuild with `qa index`", str(p))
        if p.stat().st_size != meta["size"]:
            raise IndexCorrupt(f"index file {p} has the wrong size (truncated?); rebuild with `qa index`", str(p))
        if verify and file_sha256(p) != meta["sha256"]:
            raise IndexCorrupt(f"index file {p} does not match its checksum; rebuild with `qa index`", str(p))
    try:
        documents = {d["id"]: Document.from_json(d) for d in _read_jsonl(gen / "documents.jsonl")}
        chunks = [Chunk.from_json(c) for c in _read_jsonl(gen / "chunks.jsonl")]
        # Memory-mapped, read-only: a query touches a few rows, so a large collection's vectors
        # stay on disk (page cache) instead of in the process; the sha256 check above read them.
        chunk_vectors = np.load(gen / "chunk_vectors.npy", allow_pickle=False, mmap_mode="r")
        sentence_vectors = np.load(gen / "sentence_vectors.npy", allow_pickle=False, mmap_mode="r")
        chunk_keys = json.loads((gen / "chunk_keys.json").read_text(encoding="utf-8"))
        sentence_keys = json.loads((gen / "sentence_keys.json").read_text(encoding="utf-8"))
        index = faiss.deserialize_index(np.frombuffer((gen / "vectors.faiss").read_bytes(), dtype=np.uint8))
        bm25 = BM25Index.load(gen / "lexical")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        raise IndexCorrupt(f"the index in {gen} cannot be read ({type(e).__name__}: {e}); rebuild with `qa index`", str(gen)) from e
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c.sentences) for c in chunks])
    if (
        index.ntotal != len(chunks)
        or len(chunk_vectors) != len(chunks)
        or len(sentence_vectors) != offsets[-1]
        or len(chunk_keys) != len(chunks)
        or len(sentence_keys) != offsets[-1]
    ):
        raise IndexCorrupt(f"the files of {gen} disagree on the number of chunks; rebuild with `qa index`", str(gen))
    from qa.ann import check_matches, spec_of

    if not check_matches(index, spec_of(manifest)):
        raise IndexCorrupt(f"{gen / 'vectors.faiss'} is not the {spec_of(manifest)['kind']} index its manifest records; rebuild with `qa index`", str(gen))
    return LoadedIndex(gen, manifest, documents, chunks, index, chunk_vectors, sentence_vectors, sentence_keys, chunk_keys, offsets, bm25)


def load_index(index_dir: Path, expected_model: str | None = None, verify: bool = True, fallback: bool = True) -> LoadedIndex:
    """Load the live generation of ``index_dir``.

    When it is damaged (``IndexCorrupt``: a file missing, truncated or altered, or ``CURRENT``
    unreadable) and ``fallback`` is true, the newest older generation that verifies in full
    serves instead, with ``.warning`` naming the damaged file; ``IndexCorrupt`` is raised only
    when none does. Another model or format (``IndexMismatch``) never falls back.
    """
    try:
        gen = current_generation(index_dir)
        if gen is None:
            raise IndexMissing(f"no index in {index_dir}; build one with `qa index`")
        if not gen.exists():
            raise IndexCorrupt(f"{index_dir / 'CURRENT'} names {gen.name}, which is missing; rebuild with `qa index`", str(index_dir / "CURRENT"))
        return load_generation(gen, expected_model, verify)
    except IndexCorrupt as damage:
        if not fallback:
            raise
        older = _fallback(index_dir, expected_model, _current_name(index_dir))
        if older is None:
            raise
        older.warning = f"{damage} Meanwhile the previous generation {older.generation} serves."
        return older


def _fallback(index_dir: Path, expected_model: str | None, current: str | None) -> LoadedIndex | None:
    """The newest generation older than ``current`` (any, when ``current`` is unreadable) that verifies."""
    gens = sorted((p for p in index_dir.iterdir() if GEN_RE.match(p.name)), key=lambda p: p.name, reverse=True)
    for p in gens:
        if current and GEN_RE.match(current) and p.name >= current:
            continue  # newer generations were never made live
        try:
            return load_generation(p, expected_model, verify=True)
        except (IndexCorrupt, IndexMismatch):
            continue
    return None
