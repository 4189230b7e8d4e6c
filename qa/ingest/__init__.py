"""Ingestion: source files to ``Document`` records, one loader per format.

``load_document(path)`` picks the loader by extension from ``LOADERS``; a new format (PDF,
HTML, DOCX) registers one function ``(path, data: bytes) -> Document``. Every loader raises
``UnreadableDocument`` with a reason a person can act on, never anything else.

Formats parsed by third-party code (PDF, HTML, DOCX) are registered with ``isolate=True``:
``load_document`` then runs them in a child process with a timeout and a memory cap
(``qa/ingest/isolate.py``), so a hostile file cannot hang or crash the indexer.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from qa.errors import UnreadableDocument
from qa.types import Document

MAX_FILE_BYTES = 50 * 1024 * 1024

Loader = Callable[[Path, bytes], Document]
LOADERS: dict[str, Loader] = {}
ISOLATED: set[str] = set()  # extensions parsed in a child process


def register(*extensions: str, isolate: bool = False) -> Callable[[Loader], Loader]:
    """Register a loader for file extensions (lower case, with the dot).

    ``isolate=True`` runs it in a child process with a wall-clock timeout and a memory cap.
    """

    def deco(fn: Loader) -> Loader:
        for ext in extensions:
            LOADERS[ext] = fn
            if isolate:
                ISOLATED.add(ext)
        return fn

    return deco


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def title_from_path(path: Path) -> str:
    stem = re.sub(r"[-_]+", " ", path.stem).strip()
    return stem[:1].upper() + stem[1:] if stem else path.name


def supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def iter_source_files(docs_dir: Path) -> Iterator[Path]:
    """Files under ``docs_dir`` in a stable order (hidden files and READMEs of the folder skipped)."""
    for root, dirs, files in os.walk(docs_dir, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            yield Path(root) / name


def read_source(path: Path, docs_dir: Path | None = None) -> bytes:
    """Read a file's bytes with the safety checks every format shares."""
    if path.is_symlink() and docs_dir is not None:
        target = path.resolve()
        if not target.is_relative_to(docs_dir.resolve()):
            raise UnreadableDocument(str(path), "symlink points outside the documents folder")
    if not path.suffix.lower() in LOADERS:
        raise UnreadableDocument(str(path), f"unsupported file type '{path.suffix or '(none)'}'")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableDocument(str(path), f"file too large ({size / 1e6:.1f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
        data = path.read_bytes()
    except OSError as e:
        raise UnreadableDocument(str(path), f"cannot read file ({e.strerror or e})") from e
    if not data.strip():
        raise UnreadableDocument(str(path), "empty file")
    return data


def load_document(path: Path, docs_dir: Path | None = None, data: bytes | None = None) -> Document:
    """Parse one file into a ``Document`` (raises ``UnreadableDocument``)."""
    if data is None:
        data = read_source(path, docs_dir)
    ext = path.suffix.lower()
    loader = LOADERS.get(ext)
    if loader is None:
        raise UnreadableDocument(str(path), f"unsupported file type '{path.suffix}'")
    if ext in ISOLATED:
        from qa.ingest.isolate import parse_isolated

        return parse_isolated(path, data)
    return loader(path, data)


# Register the built-in loaders (each imports its parser library only when it runs).
from qa.ingest import text as _text  # noqa: E402,F401
from qa.ingest import pdf as _pdf  # noqa: E402,F401
from qa.ingest import html as _html  # noqa: E402,F401
from qa.ingest import docx as _docx  # noqa: E402,F401
