"""The document collection: add, remove and list reports (``qa add``, ``qa remove``, ``qa docs``).

Library functions under thin CLI edges, so the web UI's Documents tab can call them too.
``add_documents`` parses every new file (in isolation) before touching anything, copies the
files into the documents folder and updates the index incrementally; if anything fails, the
copies are removed (and an overwritten file put back), so the folder and the live index are
as they were. ``remove_document`` deletes the file and updates the index the same way.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.embed import Embedder
from qa.errors import DocumentConflict, DocumentNotFound, IndexMissing, UnreadableDocument
from qa.indexer import BuildReport, build_index
from qa.ingest import MAX_FILE_BYTES, iter_source_files, load_document, sha256_bytes, supported
from qa.ingest.report import document_report
from qa.types import Document


@dataclass
class AddResult:
    """What ``add_documents`` did: files copied (new or replacing), already there, and the build."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    build: BuildReport | None = None


def _read_new(src: Path) -> bytes:
    if not src.is_file():
        raise UnreadableDocument(str(src), "no such file")
    if not supported(src):
        from qa.ingest import LOADERS

        raise UnreadableDocument(str(src), f"unsupported file type '{src.suffix or '(none)'}'; supported: {', '.join(sorted(LOADERS))}")
    size = src.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UnreadableDocument(str(src), f"file too large ({size / 1e6:.1f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
    data = src.read_bytes()
    if not data.strip():
        raise UnreadableDocument(str(src), "empty file")
    return data


def _write_atomic(dest: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".adding-", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _same_file(a: str, b: Path) -> bool:
    return Path(a).resolve() == b.resolve()


def add_documents(
    files: Sequence[Path | str],
    docs_dir: Path | str = "source_docs",
    index_dir: Path | str = "index",
    embedder: Embedder | None = None,
    force: bool = False,
    progress: bool = False,
) -> AddResult:
    """Copy ``files`` into ``docs_dir`` and index them; all or nothing.

    Raises ``UnreadableDocument`` (a file cannot be parsed: nothing is copied),
    ``DocumentConflict`` (another file of that name, unless ``force``; or the same content
    under another name), or whatever the build raises (the copies are then undone).
    """
    docs_dir = Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    result = AddResult()
    existing = {}
    for p in iter_source_files(docs_dir):
        if p.is_file() and not p.is_symlink() and supported(p):
            try:
                existing[sha256_bytes(p.read_bytes())] = p
            except OSError:
                continue
    plan: list[tuple[Path, bytes, bytes | None]] = []  # (destination, new bytes, old bytes to restore)
    seen_names: set[str] = set()
    for f in files:
        src = Path(f)
        data = _read_new(src)
        dest = docs_dir / src.name
        if src.name.startswith(".") or src.name in seen_names:
            raise DocumentConflict(f"{src}: {'hidden file names are not indexed' if src.name.startswith('.') else 'named twice'}")
        seen_names.add(src.name)
        sha = sha256_bytes(data)
        old: bytes | None = None
        if dest.exists() or dest.is_symlink():
            if dest.is_file() and not dest.is_symlink() and sha256_bytes(dest.read_bytes()) == sha:
                result.unchanged.append(str(dest))
                continue
            if not force:
                raise DocumentConflict(f"{dest} already exists with different content; use --force to replace it")
            old = dest.read_bytes() if dest.is_file() and not dest.is_symlink() else b""
        elif sha in existing:
            raise DocumentConflict(f"{src}: the same content is already in the collection as {existing[sha]}")
        # Parse before copying: a file that cannot be read changes nothing.
        try:
            result.documents.append(load_document(dest, docs_dir, data))
        except UnreadableDocument as e:
            raise UnreadableDocument(str(src), e.reason) from e
        plan.append((dest, data, old))
    if not plan:
        return result

    done: list[tuple[Path, bytes | None]] = []

    def undo() -> None:
        for dest, old in reversed(done):
            if old is None:
                dest.unlink(missing_ok=True)
            elif old:
                _write_atomic(dest, old)

    try:
        for dest, data, old in plan:
            if old is not None and dest.is_symlink():
                dest.unlink()
            _write_atomic(dest, data)
            done.append((dest, old))
        report = build_index(docs_dir, index_dir, embedder, progress=progress)
    except BaseException:
        undo()
        raise
    failed = [(p, r) for p, r in report.skipped if any(_same_file(p, d) for d, _, _ in plan)]
    if failed:
        # Parsed before, skipped now (a timeout under load?): put everything back as it was.
        undo()
        build_index(docs_dir, index_dir, embedder, progress=False)
        raise UnreadableDocument(failed[0][0], failed[0][1])
    for dest, _, old in plan:
        (result.replaced if old is not None else result.added).append(str(dest))
    result.build = report
    return result


def find_document(ref: str, documents: Sequence[Document]) -> Document:
    """The one document named by ``ref``: file name or path, title, or a prefix of its id."""
    ref_s = ref.strip()
    if not ref_s:
        raise DocumentNotFound("name a document: its file name, title or id prefix")
    low = ref_s.lower()
    tests = (
        lambda d: d.path == ref_s or Path(d.path).name == ref_s,
        lambda d: Path(d.path).name.lower() == low or Path(d.path).stem.lower() == low,
        lambda d: d.title.lower() == low,
        lambda d: len(low) >= 4 and d.id.startswith(low),
    )
    for test in tests:
        found = [d for d in documents if test(d)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(Path(d.path).name for d in found)
            raise DocumentNotFound(f"'{ref}' matches several documents ({names}); use the file name or a longer id")
    raise DocumentNotFound(f"no document '{ref}' in the collection (see `qa docs`)")


def _indexed_documents(index_dir: Path) -> tuple[list[Document], dict[str, Any]]:
    from qa.store import load_index

    idx = load_index(index_dir, verify=False)
    return list(idx.documents.values()), idx.manifest


def remove_document(
    ref: str,
    docs_dir: Path | str = "source_docs",
    index_dir: Path | str = "index",
    embedder: Embedder | None = None,
    progress: bool = False,
) -> tuple[str, BuildReport]:
    """Delete the document named by ``ref`` from ``docs_dir`` and update the index.

    A file that was skipped (never indexed) can be removed by its file name too. The last
    document cannot be removed (an index needs one). On a failed build the file is restored.
    """
    docs_dir, index_dir = Path(docs_dir), Path(index_dir)
    try:
        documents, manifest = _indexed_documents(index_dir)
    except IndexMissing:
        documents, manifest = [], {}
    target: Path | None = None
    try:
        target = Path(find_document(ref, documents).path)
    except DocumentNotFound:
        skipped = [Path(s["path"]) for s in manifest.get("skipped", []) if Path(s["path"]).name == ref or s["path"] == ref]
        loose = docs_dir / Path(ref).name
        if skipped:
            target = skipped[0]
        elif Path(ref).name == ref and (loose.is_file() or loose.is_symlink()):
            target = loose
        else:
            raise
    if not (target.parent.resolve() == docs_dir.resolve() or target.resolve().is_relative_to(docs_dir.resolve())):
        raise DocumentNotFound(f"{target} is not inside {docs_dir}")
    indexed = [d for d in documents if _same_file(d.path, target)]
    if indexed and len(documents) == 1:
        raise DocumentConflict("this is the only document: an index needs at least one (add another first)")
    backup: bytes | None = None
    link: str | None = None
    if target.is_symlink():
        link = os.readlink(target)
    elif target.exists():
        backup = target.read_bytes()
    target.unlink(missing_ok=True)
    try:
        report = build_index(docs_dir, index_dir, embedder, progress=progress)
    except BaseException:
        if link is not None:
            os.symlink(link, target)
        elif backup is not None:
            _write_atomic(target, backup)
        raise
    return str(target), report


def document_rows(index_dir: Path | str = "index") -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Per indexed document its parse report (pages, chunks, sections, repairs, warnings), and the skipped files."""
    from qa.store import load_index

    idx = load_index(Path(index_dir), verify=False)
    counts: dict[str, int] = {}
    for c in idx.chunks:
        counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
    rows = [document_report(d, counts.get(d.id, 0)) for d in idx.documents.values()]
    rows.sort(key=lambda r: r["file"].lower())
    return rows, list(idx.manifest.get("skipped", []))
