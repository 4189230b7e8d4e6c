"""Start the web chat: ``python app.py [--host H] [--port P]`` (``make run`` calls it).

Builds or updates the index first when ``source_docs/`` changed, then serves on
127.0.0.1:7860 unless told otherwise. Nothing is shared, nothing is downloaded.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# A hostile environment must not widen what the app serves or where it listens: every GRADIO_*
# setting goes (share, server name, allowed paths, SSR, and also MCP server, vibe editing mode,
# temp dir served as uploads, debug, analytics), before gradio is imported. The app passes what
# it needs to launch() itself.
for var in [v for v in os.environ if v.upper().startswith("GRADIO_")]:
    os.environ.pop(var, None)
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="qa web chat")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--docs", default="source_docs")
    parser.add_argument("--index", default="index")
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=None, help="folder for feedback and evaluation runs (default $QA_DATA_DIR or data/)")
    args = parser.parse_args(argv)

    from qa.assistant import Assistant
    from qa.embed import make_embedder
    from qa.errors import QAError
    from qa.indexer import build_index, index_is_stale
    from qa.ui import CSS, build_app

    try:
        embedder = make_embedder(args.model)
        if index_is_stale(args.docs, args.index, embedder.name):
            print("Index missing or out of date: building it from", args.docs)
            report = build_index(args.docs, args.index, embedder, progress=True)
            for path, reason in report.skipped:
                print(f"skipped {path}: {reason}")
            print(report.summary())
        assistant = Assistant.load(args.index, args.docs, embedder=embedder)
        if assistant.warning:  # a damaged live generation: an older one serves meanwhile
            print(f"qa: warning: {assistant.warning}", file=sys.stderr)
        if assistant.calibration_note:
            print(f"qa: note: {assistant.calibration_note}", file=sys.stderr)
    except QAError as e:
        print(f"qa: {e}", file=sys.stderr)
        return 1
    here = Path(__file__).resolve().parent
    data_dir = Path(args.data or os.environ.get("QA_DATA_DIR") or "data")
    try:
        demo = build_app(assistant, data_dir=data_dir, questions_dir=here / "tests" / "questions")
    except QAError as e:
        print(f"qa: {e}", file=sys.stderr)
        return 1
    # One model call at a time per event (the handlers also hold a lock around the model).
    demo.queue(max_size=64, default_concurrency_limit=1)
    print(f"qa: serving on http://{args.host}:{args.port} (Ctrl+C to stop)", flush=True)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=False,
        ssr_mode=False,
        show_error=False,
        enable_monitoring=False,
        strict_cors=True,
        max_file_size="10mb",
        footer_links=["api"],
        css=CSS,
        blocked_paths=sorted({str(here / "index"), str(here / "source_docs"),
                              str(Path(args.index).resolve()), str(Path(args.docs).resolve())}),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
