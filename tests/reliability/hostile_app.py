"""Run ``app.py`` exactly as ``python app.py ARGS`` does, with two test-only faults armed from
outside (``qa`` has no hook for them):

- a question containing :data:`FAULT` makes ``Assistant.ask`` raise a ``RuntimeError`` whose
  message holds :data:`SECRET` and a file path: the web page must show neither;
- ``QA_TEST_ASK_DELAY`` seconds of sleep in every ask stand for a slow model;
- a question containing :data:`HOLD` waits until the file ``QA_TEST_GATE`` exists (at most
  two minutes): the queue tests fill the queue with held questions, then release them.

``gradio`` is not imported before ``app.py`` runs, so the app scrubs the environment first,
as it does in production.
"""
from __future__ import annotations

import os
import runpy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAULT = "trigger-internal-fault"
SECRET = "SECRET-7f3a9c"
HOLD = "[hold]"


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    from qa.assistant import Assistant

    if "gradio" in sys.modules:
        raise SystemExit("hostile_app: gradio was imported before app.py could scrub the environment")
    real_ask = Assistant.ask
    delay = float(os.environ.get("QA_TEST_ASK_DELAY", "0") or 0)
    gate = os.environ.get("QA_TEST_GATE")

    def ask(self, question, *args, **kwargs):  # type: ignore[no-untyped-def]
        if delay:
            time.sleep(delay)
        if gate and isinstance(question, str) and HOLD in question:
            until = time.monotonic() + 120
            while not os.path.exists(gate) and time.monotonic() < until:
                time.sleep(0.01)
        if isinstance(question, str) and FAULT in question:
            raise RuntimeError(f"internal failure {SECRET} while reading {ROOT / 'qa' / 'store.py'}")
        return real_ask(self, question, *args, **kwargs)

    Assistant.ask = ask  # type: ignore[method-assign]
    sys.argv = [str(ROOT / "app.py"), *argv]
    runpy.run_path(str(ROOT / "app.py"), run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
