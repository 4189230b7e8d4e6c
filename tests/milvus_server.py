"""Start and stop a ``milvus-lite server`` on a free loopback port, for tests and scripts."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from procs import free_port, stop




def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def milvus_lite_server(data_dir: Path, timeout: float = 30.0) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``milvus-lite server --host 127.0.0.1`` on a free port: yields (``milvus://`` URL, process);
    stopped (terminate, then kill) on exit, whatever happened."""
    exe = Path(sys.executable).with_name("milvus-lite")
    port = free_port()
    log = open(data_dir.parent / f"milvus-lite-{port}.log", "wb")
    proc = subprocess.Popen(
        [str(exe), "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _listening(port):
            if proc.poll() is not None:
                raise RuntimeError(f"milvus-lite server exited with {proc.returncode}: {Path(log.name).read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"milvus-lite server did not listen on 127.0.0.1:{port} within {timeout:.0f} s")
            time.sleep(0.1)
        yield f"milvus://127.0.0.1:{port}", proc
    finally:
        stop(proc, timeout=10)
        log.close()
