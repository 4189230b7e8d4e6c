"""Sentence selection against the issue's plain baselines, on the same retrieval.

    python scripts/baselines.py [--set tests/questions/report.jsonl --split test] [--xquad PATH]

For every answerable question the top passages are retrieved once (qa's hybrid retrieval);
then each strategy picks sentences from them and we count how often the picked text holds a
gold answer (SQuAD normalisation, abstention ignored: this compares selection only):

- dense-1: the one sentence most similar to the question (the plain baseline);
- dense+lexical-2: the two best sentences by dense similarity plus idf-weighted overlap;
- qa-1: qa's best sentence alone (learned weights, no neighbour, no runner-up);
- qa-2: qa's two best sentences;
- qa: qa's answer as composed (best sentence, a neighbour it needs, a close runner-up).

The XQuAD run indexes its 240 paragraphs into a temporary folder and asks the held-out half
of its questions (``--xquad-split odd``: the training scripts train on the even ones).
``--model NAME`` measures with another embedding model (``all-MiniLM-L6-v2``: the plain one
the issue's baselines were measured with); the report is then indexed into a temporary folder.
Prints a table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.assistant import Assistant  # noqa: E402
from qa.embed import make_embedder  # noqa: E402
from qa.evaluate import contains_gold, load_question_set, squad_paragraphs  # noqa: E402
from qa.indexer import build_index  # noqa: E402
from qa.sentences import strip_footnotes  # noqa: E402

STRATEGIES = ("dense-1", "dense+lexical-2", "qa-1", "qa-2", "qa")


def measure(assistant: Assistant, questions: list) -> dict[str, tuple[float, float]]:  # type: ignore[type-arg]
    """Strategy -> (containment, median words) over the answerable questions."""
    sel = assistant.selector
    hits_in: dict[str, list[bool]] = {s: [] for s in STRATEGIES}
    words: dict[str, list[int]] = {s: [] for s in STRATEGIES}
    for q in questions:
        if not q.answers:
            continue
        p = assistant.prepare(q.question)
        qvec = assistant.embed_query(p.query)
        hits = assistant.retriever.search(p.query, qvec, sel.settings.passages)
        cands = sel.candidates(p, qvec, hits)
        by_dense = sorted(cands, key=lambda c: -c["feats"]["dense"])
        by_lex = sorted(cands, key=lambda c: -(c["feats"]["dense"] + c["feats"]["coverage"]))
        picks = {
            "dense-1": [c["text"] for c in by_dense[:1]],
            "dense+lexical-2": [c["text"] for c in by_lex[:2]],
            "qa-1": [c["text"] for c in cands[:1]],
            "qa-2": [c["text"] for c in cands[:2]],
            "qa": [sel.answer(p, qvec, hits, threshold=0.0).candidate],
        }
        for name, texts in picks.items():
            text = " ".join(strip_footnotes(t) for t in texts)
            hits_in[name].append(contains_gold(text, q.answers))
            words[name].append(len(text.split()))
    return {s: (sum(hits_in[s]) / max(1, len(hits_in[s])), statistics.median(words[s]) if words[s] else 0.0) for s in STRATEGIES}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default=str(ROOT / "tests/questions/report.jsonl"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--xquad", default=str(ROOT.parent / "shared/datasets/xquad-en/xquad.en.json"))
    ap.add_argument("--xquad-split", default="odd", help="even, odd (held out; the default) or '' for all")
    ap.add_argument("--model", default=None, help="embedding model (default: qa's default)")
    args = ap.parse_args()

    rows: list[tuple[str, dict[str, tuple[float, float]]]] = []
    report_tmp = tempfile.TemporaryDirectory(prefix="qa-baselines-report-")
    if args.model:
        build_index(ROOT / "source_docs", Path(report_tmp.name) / "index", embedder=make_embedder(args.model), progress=False)
        report = Assistant.load(Path(report_tmp.name) / "index", ROOT / "source_docs", model=args.model)
    else:
        report = Assistant.load(ROOT / "index", ROOT / "source_docs")
    rows.append((f"{Path(args.set).name} {args.split or 'all'}", measure(report, load_question_set(Path(args.set), split=args.split or None))))
    if args.xquad and Path(args.xquad).exists():
        with tempfile.TemporaryDirectory(prefix="qa-baselines-") as tmp:
            docs, index = Path(tmp) / "docs", Path(tmp) / "index"
            docs.mkdir()
            for name, text in squad_paragraphs(Path(args.xquad)):
                (docs / f"{name}.txt").write_text(text.strip() + "\n", encoding="utf-8")
            embedder = make_embedder(args.model)
            build_index(docs, index, embedder=embedder, progress=False)
            xq = Assistant.load(index, docs, embedder=embedder)
            half = args.xquad_split or None
            rows.append((f"XQuAD (open, {half or 'all'})", measure(xq, load_question_set(Path(args.xquad), split=half))))
    report_tmp.cleanup()

    print(f"{'set':<32}" + "".join(f"{s:>18}" for s in STRATEGIES))
    for name, res in rows:
        print(f"{name:<32}" + "".join(f"{res[s][0]:>10.3f} ({res[s][1]:>3.0f} w)" for s in STRATEGIES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
