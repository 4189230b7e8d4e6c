"""Parse one file in a child process, with a wall-clock timeout and a memory cap.

Third-party parsers (PDFium, lxml, python-docx) can hang, crash or exhaust memory on a
malformed or hostile file. ``parse_isolated`` runs the loader in ``python -m
qa.ingest.isolate`` with the file's bytes on standard input and reads the ``Document`` back
as JSON from standard output, so one bad file costs a skipped file with a reason, never the
indexer process. The child sets its own address-space limit before parsing.

    QA_PARSE_TIMEOUT     seconds per file (default 120)
    QA_PARSE_MEMORY_MB   address-space cap of the child in MiB (default 3072)
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from qa.errors import UnreadableDocument
from qa.types import Document

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MEMORY_MB = 3072


def _setting(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def parse_isolated(path: Path, data: bytes, timeout: float | None = None, memory_mb: int | None = None) -> Document:
    """Run the loader for ``path`` on ``data`` in a child process; ``UnreadableDocument`` on any failure."""
    timeout = timeout if timeout is not None else _setting("QA_PARSE_TIMEOUT", DEFAULT_TIMEOUT_S)
    memory_mb = memory_mb if memory_mb is not None else int(_setting("QA_PARSE_MEMORY_MB", DEFAULT_MEMORY_MB))
    env = {**os.environ, "QA_PARSE_MEMORY_MB": str(memory_mb), "PYTHONHASHSEED": "0"}
    # The child must import this very qa package, wherever the parent was started from.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "qa.ingest.isolate", str(path)]
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout, env=env, cwd=root)
    except subprocess.TimeoutExpired as e:
        raise UnreadableDocument(str(path), f"parser timed out after {timeout:g} s (malformed or hostile file?)") from e
    except OSError as e:  # pragma: no cover - cannot start Python at all
        raise UnreadableDocument(str(path), f"cannot start the parser process ({e})") from e
    if proc.returncode != 0 and not proc.stdout:
        if proc.returncode < 0:
            try:
                name = signal.Signals(-proc.returncode).name
            except ValueError:
                name = f"signal {-proc.returncode}"
            raise UnreadableDocument(str(path), f"parser crashed ({name}); the file is probably malformed")
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        if "MemoryError" in tail[0] or "memory" in tail[0].lower():
            raise UnreadableDocument(str(path), f"parser ran out of memory (cap {memory_mb} MiB; a decompression bomb?)")
        raise UnreadableDocument(str(path), f"parser failed (exit {proc.returncode}) {tail[0][:200]}".rstrip())
    try:
        reply = json.loads(proc.stdout)
    except ValueError as e:
        raise UnreadableDocument(str(path), "parser returned no readable result") from e
    if "error" in reply:
        raise UnreadableDocument(str(path), str(reply["error"]))
    return Document.from_json(reply["document"])


def _limit_memory(mb: int) -> None:
    try:
        import resource

        limit = mb * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on Linux
        pass


def main(argv: list[str] | None = None) -> int:
    """Child side: bytes on stdin, ``{"document": ...}`` or ``{"error": reason}`` on stdout."""
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0])
    data = sys.stdin.buffer.read()
    _limit_memory(int(_setting("QA_PARSE_MEMORY_MB", DEFAULT_MEMORY_MB)))
    from qa.ingest import LOADERS

    try:
        loader = LOADERS.get(path.suffix.lower())
        if loader is None:
            raise UnreadableDocument(str(path), f"unsupported file type '{path.suffix}'")
        reply = {"document": loader(path, data).to_json()}
    except UnreadableDocument as e:
        reply = {"error": e.reason}
    except MemoryError:
        reply = {"error": "parser ran out of memory (a decompression bomb?)"}
    except RecursionError:
        reply = {"error": "file nests too deeply to parse (malformed or hostile file?)"}
    except Exception as e:  # noqa: BLE001 - any parser bug becomes a skip reason, never a crash of the build
        reply = {"error": f"parser failed: {type(e).__name__}: {str(e)[:200]}"}
    sys.stdout.write(json.dumps(reply))  # ASCII: whatever the locale of the child
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
