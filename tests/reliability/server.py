"""Launch the web app in a subprocess on a free loopback port, always stopped afterwards.

:func:`serving` writes a small docs folder, starts ``hostile_app.py`` (``app.py`` with test
faults armed) with the environment given, waits until ``/`` answers, and yields a
:class:`Server`. The index is built by the app itself with the fake embedder.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from procs import free_port, stop

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
APP_MODEL = "hashing-256"

# Every GRADIO_* variable that would widen what the app exposes, set to its most hostile value.
HOSTILE_ENV = {
    "GRADIO_SERVER_NAME": "0.0.0.0",
    "GRADIO_SHARE": "true",
    "GRADIO_ALLOWED_PATHS": "",  # filled in with the repository and the data folders
    "GRADIO_SSR_MODE": "true",
    "GRADIO_MCP_SERVER": "true",
    "GRADIO_VIBE_MODE": "1",
    "GRADIO_DEBUG": "1",
    "GRADIO_ANALYTICS_ENABLED": "True",
    "GRADIO_TEMP_DIR": "",  # filled in with the folder holding index/ and docs/: its files would be served
}




@dataclass
class Server:
    url: str
    port: int
    proc: subprocess.Popen
    base: Path
    docs: Path
    index: Path
    data: Path
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def rss_kib(self) -> int:
        """Resident memory of the server process (KiB), from /proc."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def hostile_env(base: Path) -> dict[str, str]:
    env = dict(HOSTILE_ENV)
    env["GRADIO_ALLOWED_PATHS"] = ",".join([str(ROOT), str(base), "/"])
    env["GRADIO_TEMP_DIR"] = str(base)  # holds index/ and docs/
    return env


@contextlib.contextmanager
def serving(base: Path, documents: dict[str, str], env_extra: dict[str, str] | None = None,
            start_timeout: float = 120.0) -> Iterator[Server]:
    docs, index, data = base / "docs", base / "index", base / "data"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in documents.items():
        (docs / name).write_text(text, encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADIO_", "QA_TEST_"))}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    env.update(env_extra or {})
    log_path = base / "server.log"
    log = open(log_path, "w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "hostile_app.py"), "--port", str(port), "--docs", str(docs), "--index", str(index),
         "--data", str(data), "--model", APP_MODEL],
        cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the app exited early:\n" + log_path.read_text())
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start in {start_timeout:.0f} s:\n" + log_path.read_text())
            time.sleep(0.3)
        yield Server(url, port, proc, base, docs, index, data, log_path)
    finally:
        stop(proc, timeout=15)
        log.close()
