"""Fault injection for the indexer, without a hook in ``qa``: every file-system write the build
makes is counted, and at the N-th one the process is killed (SIGKILL) or the write fails
(``ENOSPC`` disk full, ``EIO``).

Counted points: opening a file for writing, every ``write()`` to it (a kill there first writes
half of the buffer, so a file is left truncated mid-record), ``fsync``, ``rename``/``replace``,
``mkdir``, ``unlink`` and ``rmtree``. Reads are not counted.

In a subprocess (what the kill tests use)::

    python tests/reliability/faults.py kill 37 -- index --docs D --index I --model hashing-64 --quiet
    python tests/reliability/faults.py count 0 -- index ...      # prints "points: N" on stderr

``count`` runs the build unharmed and reports how many points it passed; ``kill``, ``enospc``
and ``eio`` strike at point N. In-process, :func:`inject` does the same as a context manager.
"""
from __future__ import annotations

import builtins
import contextlib
import errno
import io
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from typing import Any

MODES = ("count", "kill", "enospc", "eio")


class Faults:
    """Counts write points; strikes at ``at`` (1-based) with ``mode``."""

    def __init__(self, mode: str, at: int) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode, self.at, self.points, self.trace = mode, at, 0, []

    def point(self, what: str, partial: Any = None) -> None:
        """One write point; ``partial()`` writes a part of the data before a kill."""
        self.points += 1
        self.trace.append(what)
        if self.mode == "count" or self.points != self.at:
            return
        if self.mode == "kill":
            if partial is not None:
                with contextlib.suppress(Exception):
                    partial()
            os.kill(os.getpid(), signal.SIGKILL)
        code = errno.ENOSPC if self.mode == "enospc" else errno.EIO
        raise OSError(code, os.strerror(code), what.split(" ", 1)[-1])


class _Writer:
    """A file opened for writing, its ``write`` calls counted."""

    def __init__(self, f: Any, faults: Faults, name: str) -> None:
        self._f, self._faults, self._name = f, faults, name

    def write(self, data: Any) -> int:
        half = data[: len(data) // 2]

        def partial() -> None:
            self._f.write(half)
            self._f.flush()

        self._faults.point(f"write {self._name}", partial)
        return self._f.write(data)

    def __enter__(self) -> "_Writer":
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._f.__exit__(*exc)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._f)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


@contextlib.contextmanager
def inject(mode: str, at: int) -> Iterator[Faults]:
    """Patch the file-system calls of this process for the duration of the block."""
    faults = Faults(mode, at)
    real_open, real = builtins.open, {n: getattr(os, n) for n in ("fsync", "rename", "replace", "mkdir", "unlink")}
    real_rmtree = shutil.rmtree

    def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        writing = any(c in mode for c in "wax+")
        if writing:
            faults.point(f"open {file}")
        f = real_open(file, mode, *args, **kwargs)
        return _Writer(f, faults, str(file)) if writing else f

    def wrap(name: str) -> Any:
        fn = real[name]

        def call(*args: Any, **kwargs: Any) -> Any:
            faults.point(f"{name} {args[0] if args else ''}")
            return fn(*args, **kwargs)

        return call

    def rmtree(path: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            faults.point(f"rmtree {path}")
        except OSError:
            if kwargs.get("ignore_errors") or (args and args[0]):
                return None  # what the real rmtree does with an error when told to ignore errors
            raise
        return real_rmtree(path, *args, **kwargs)

    builtins.open = io.open = open_  # type: ignore[assignment]
    for n in real:
        setattr(os, n, wrap(n))
    shutil.rmtree = rmtree  # type: ignore[assignment]
    try:
        yield faults
    finally:
        builtins.open = io.open = real_open  # type: ignore[assignment]
        for n, fn in real.items():
            setattr(os, n, fn)
        shutil.rmtree = real_rmtree  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    """``faults.py MODE N -- qa-args...``: run the ``qa`` CLI with the fault armed."""
    if len(argv) < 3 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    mode, at, qa_args = argv[0], int(argv[1]), argv[3:]
    from qa.cli import main as qa_main  # imported before arming: only the build's own writes count

    with inject(mode, at) as faults:
        try:
            rc = qa_main(qa_args)
        finally:
            print(f"points: {faults.points}", file=sys.stderr, flush=True)
    return rc


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    raise SystemExit(main(sys.argv[1:]))
