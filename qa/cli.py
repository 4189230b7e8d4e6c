"""The ``qa`` command line: a thin edge over the library. Errors become one-line messages.

    qa index [--rebuild]            build or update index/ from source_docs/
    qa ask "question" [--json]      answer with citations
    qa search "question"            passages only
    qa docs [--report]              the indexed documents (and what parsing repaired)
    qa add FILE... [--force]        copy reports into source_docs/ and index them
    qa remove DOC                   delete a report (file name, title or id prefix) and update the index
    qa eval SET [--out DIR]         measure answer quality on a question set
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_USAGE = 2
EXIT_ERROR = 1


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--docs", default="source_docs", help="documents folder (default: source_docs/)")
    p.add_argument("--index", default="index", help="index folder (default: index/)")
    p.add_argument("--model", default=None, help="sentence-transformers model name or path (default: the index's model)")


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--top-k", type=int, default=5, help="passages to show (default 5)")
    p.add_argument("--doc", action="append", default=None, help="only this document (id prefix or title); repeatable")
    p.add_argument("--section", default=None, help="only sections whose path contains this text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Extractive, cited answers over a collection of reports.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the index (incremental)")
    _common(p)
    p.add_argument("--rebuild", action="store_true", help="ignore the previous index and embed everything again")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--vector-index", default=None, metavar="KIND",
                   help="dense index: auto (by collection size, the default), flat, hnsw, ivf-sq8 or ivf-pq (env QA_VECTOR_INDEX)")
    p.add_argument("--workers", default=None, metavar="ADDRESS",
                   help="embed on a Dask cluster: tcp://HOST:8786, or local[:N] worker processes on 127.0.0.1 (env QA_WORKERS)")

    p = sub.add_parser("ask", help="answer a question with citations")
    _common(p)
    _filters(p)
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the prediction object (DESIGN.md)")

    p = sub.add_parser("search", help="show the best passages for a question")
    _common(p)
    _filters(p)
    p.add_argument("question")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("docs", help="list the indexed documents")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--report", action="store_true", help="per document: pages, characters, words, what was repaired, warnings")

    p = sub.add_parser("add", help="copy files into the documents folder and index them (all or nothing)")
    _common(p)
    p.add_argument("files", nargs="+", metavar="FILE", help=".pdf, .html, .docx, .md or .txt")
    p.add_argument("--force", action="store_true", help="replace a different file of the same name")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = sub.add_parser("remove", help="delete a document from the documents folder and the index")
    _common(p)
    p.add_argument("doc", metavar="DOC", help="file name, title or id prefix (see `qa docs`)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = sub.add_parser("eval", help="evaluate on a question set (JSONL or SQuAD JSON)")
    _common(p)
    p.add_argument("set", nargs="?", help="question set file")
    p.add_argument("--out", default=None, help="output folder (default: runs/eval-<set>-<split>)")
    p.add_argument("--split", default=None, help="only questions of this split (dev or test; in a SQuAD file even or odd positions: "
                   "qa's training scripts train on the even ones, so XQuAD's odd half is held out)")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--rescore", metavar="DIR", help="recompute metrics from saved predictions")
    p.add_argument("--compare", nargs=2, metavar=("DIR_A", "DIR_B"), help="metric deltas and changed questions")
    p.add_argument("--floors", default=None, help="JSON of minimum metrics; exit 1 when one is not met")
    p.add_argument("--quiet", action="store_true")
    return parser


def _print_answer(ans: Any) -> None:
    if ans.found:
        print(ans.text)
        if ans.short:
            print(f"\nShort answer: {ans.short}")
        print(f"Confidence: {ans.confidence:.2f}\n")
        for c in ans.citations:
            page = f", p. {c.page}" if c.page else ""
            print(f"[{c.n}] {c.title} › {c.section}{page} (chars {c.char_start}-{c.char_end})")
    else:
        print(ans.text)
        print(f"Confidence: {ans.confidence:.2f}\n\nNearest passages:")
        for i, h in enumerate(ans.hits[:3], 1):
            print(f"  {i}. {h.chunk.title} › {h.chunk.section}: {h.chunk.text[:160].replace(chr(10), ' ')}...")


def _cmd_index(args: argparse.Namespace) -> int:
    from qa.embed import make_embedder
    from qa.indexer import build_index

    from qa.ann import IndexSettings

    settings = IndexSettings.from_env(args.vector_index)
    from qa.distributed import wrap_embedder
    from qa.milvus_store import store_from_env, sync_index_dir

    spec = store_from_env()  # a bad QA_STORE fails before any embedding
    with wrap_embedder(make_embedder(args.model), args.workers) as embedder:
        report = build_index(args.docs, args.index, embedder, progress=not args.quiet, rebuild=args.rebuild,
                             vector_index=settings)
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(report.summary())
    if spec is not None:  # QA_STORE=milvus...: bring the collection in step (a full rebuild swaps the alias)
        print(sync_index_dir(args.index, spec, rebuild=args.rebuild).summary())
    return 0


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from qa.assistant import Assistant

    a = Assistant.load(args.index, args.docs, model=args.model)
    if a.warning:  # a damaged live generation: an older one answers meanwhile
        print(f"qa {args.command}: warning: {a.warning}", file=sys.stderr)
    if a.calibration_note:
        print(f"qa {args.command}: note: {a.calibration_note}", file=sys.stderr)
    return a


def _cmd_ask(args: argparse.Namespace) -> int:
    a = _load(args)
    ans = a.ask(args.question, top_k=args.top_k, doc_ids=args.doc, section=args.section)
    if args.json:
        print(json.dumps(ans.to_json(), ensure_ascii=False, indent=1))
    else:
        _print_answer(ans)
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    a = _load(args)
    hits = a.search(args.question, top_k=args.top_k, doc_ids=args.doc, section=args.section)
    if args.json:
        print(json.dumps([{"chunk_id": h.chunk.id, "title": h.chunk.title, "section": h.chunk.section, "page": h.chunk.page,
                           "score": round(h.score, 6), "text": h.chunk.text} for h in hits], ensure_ascii=False, indent=1))
        return 0
    for i, h in enumerate(hits, 1):
        print(f"{i}. [{h.score:.3f}] {h.chunk.title} › {h.chunk.section}")
        print("   " + h.chunk.text.replace("\n", " ")[:400] + "\n")
    return 0


def _cmd_docs(args: argparse.Namespace) -> int:
    from qa.ingest.report import format_report
    from qa.library import document_rows

    rows, skipped = document_rows(args.index)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if args.report:
        print(format_report(rows))
    else:
        for r in rows:
            pages = f"{r['pages']} pages" if r["pages"] else "no pages"
            print(f"{r['id']}  {r['title']}  ({r['file']})")
            print(f"    {pages}, {r['chunks']} chunks, {r['sections']} sections, {r['characters']:,} characters, "
                  f"{len(r['warnings'])} warning(s)")
            for w in r["warnings"]:
                print(f"    warning: {w}")
    for s in skipped:
        print(f"skipped {s['path']}: {s['reason']}")
    return 0


def _index_embedder(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The embedder named by --model, else the one the index was built with (cheap: loads lazily)."""
    from qa.embed import make_embedder
    from qa.errors import IndexCorrupt
    from qa.store import read_manifest

    model = args.model
    if model is None:
        try:
            model = ((read_manifest(Path(args.index)) or {}).get("model") or {}).get("name")
        except IndexCorrupt:
            model = None
    return make_embedder(model)


def _cmd_add(args: argparse.Namespace) -> int:
    from qa.library import add_documents

    res = add_documents(args.files, args.docs, args.index, _index_embedder(args), force=args.force,
                        progress=not args.quiet)
    for path in res.unchanged:
        print(f"already there, unchanged: {path}")
    for d in res.documents:
        pages = f"{d.stats.get('pages') or len(d.pages)} pages, " if d.pages else ""
        print(f"added {Path(d.path).name}: {pages}{len(d.sections)} sections, {len(d.text):,} characters"
              + (f", {len(d.warnings)} warning(s)" if d.warnings else ""))
        for w in d.warnings:
            print(f"    warning: {w}")
    if res.build is not None:
        print(res.build.summary())
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    from qa.library import remove_document

    path, report = remove_document(args.doc, args.docs, args.index, _index_embedder(args), progress=not args.quiet)
    print(f"removed {path}")
    print(report.summary())
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from qa import evaluate as ev

    if args.compare:
        print(ev.compare(Path(args.compare[0]), Path(args.compare[1])))
        return 0
    if args.rescore:
        metrics = ev.rescore(Path(args.rescore))
    else:
        if not args.set:
            print("qa eval: give a question set, --rescore DIR or --compare DIR_A DIR_B", file=sys.stderr)
            return EXIT_USAGE
        set_path = Path(args.set)
        out = Path(args.out or f"runs/eval-{set_path.stem}-{args.split or 'all'}")
        if set_path.suffix.lower() == ".json":
            from qa.embed import make_embedder

            metrics = ev.evaluate_squad(set_path, out, embedder=make_embedder(args.model), top_k=args.top_k, progress=not args.quiet,
                                       split=args.split)
        else:
            a = _load(args)
            questions = ev.load_question_set(set_path, split=args.split)
            meta = {"set": str(set_path), "split": args.split, "model": a.index.model_name, "generation": a.index.generation,
                    "threshold": a.threshold}
            metrics = ev.run_eval(questions, lambda q: a.ask(q, top_k=args.top_k).to_json(), out, progress=not args.quiet, meta=meta)
        print(f"wrote {out}/predictions.jsonl, metrics.json, report.html")
    print(ev.format_headline(metrics) if hasattr(ev, "format_headline") else json.dumps(metrics.get("overall", metrics), indent=1))
    if args.floors:
        failures = ev.check_floors(metrics, json.loads(Path(args.floors).read_text()))
        for f in failures:
            print(f"FLOOR NOT MET: {f}", file=sys.stderr)
        return EXIT_ERROR if failures else 0
    return 0


COMMANDS = {"index": _cmd_index, "ask": _cmd_ask, "search": _cmd_search, "docs": _cmd_docs, "eval": _cmd_eval,
            "add": _cmd_add, "remove": _cmd_remove}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qa`` console script."""
    args = build_parser().parse_args(argv)
    from qa.errors import QAError

    try:
        return COMMANDS[args.command](args)
    except QAError as e:
        print(f"qa {args.command}: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `qa ask ... | head`
        return 0
    except OSError as e:  # disk full, I/O error: a failed build leaves the live index as it was
        print(f"qa {args.command}: {e}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
