"""Fit the answer selector's weights and abstention threshold; writes qa/selector.json.

    python scripts/train_selector.py [--xquad PATH] [--set tests/questions/report.jsonl]

1. Sentence scorer: logistic regression over the sentence features of ``AnswerSelector``
   (label: the sentence holds a gold answer), on the DEV half of the project's questions
   plus XQuAD English (open mode over its 240 paragraphs), never on the test half.
2. Confidence: logistic regression over ``confidence_features`` on the dev half (label: the
   question is answerable and the chosen answer holds a gold answer), then the threshold
   that best balances abstaining on unanswerable questions against false abstentions.
Weights are stored as plain JSON in the package.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.answer import DEFAULT_SELECTOR, load_selector  # noqa: E402
from qa.assistant import Assistant  # noqa: E402
from qa.embed import make_embedder  # noqa: E402
from qa.evaluate import contains_gold, load_question_set, squad_paragraphs  # noqa: E402
from qa.indexer import build_index  # noqa: E402

SENT_FEATS = list(DEFAULT_SELECTOR["sentence_weights"])


def collect(assistant: Assistant, questions, with_conf: bool):  # type: ignore[no-untyped-def]
    """Sentence rows (features, label, question no.) and per-question confidence rows."""
    sel = assistant.selector
    srows, conf_rows = [], []
    for qi, q in enumerate(questions):
        prepared = assistant.prepare(q.question)
        qvec = assistant.embed_query(prepared.query)
        hits = assistant.retriever.search(prepared.query, qvec, sel.settings.passages)
        cands = sel.candidates(prepared, qvec, hits)
        for c in cands:
            srows.append(([c["feats"][k] for k in SENT_FEATS], bool(q.answers) and contains_gold(c["text"], q.answers), qi))
        if with_conf and cands:
            conf_rows.append((prepared, cands, hits, q))
    return srows, conf_rows


def fit_lr(X: np.ndarray, y: np.ndarray, C: float = 1.0):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
    lr.fit(X, y)
    return lr


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default=str(ROOT / "tests/questions/report.jsonl"))
    ap.add_argument("--xquad", default=str(ROOT.parent / "shared/datasets/xquad-en/xquad.en.json"))
    ap.add_argument("--index", default=str(ROOT / "index"))
    ap.add_argument("--docs", default=str(ROOT / "source_docs"))
    ap.add_argument("--out", default=str(ROOT / "qa/selector.json"))
    args = ap.parse_args()

    embedder = make_embedder(None)
    build_index(args.docs, args.index, embedder)
    report = Assistant.load(args.index, args.docs, embedder=embedder)
    dev = load_question_set(Path(args.set), split="dev")
    s_rows, conf_src = collect(report, dev, with_conf=True)

    if args.xquad and Path(args.xquad).exists():
        tmp = Path(tempfile.mkdtemp(prefix="qa-xquad-"))
        try:
            docs = tmp / "docs"
            docs.mkdir()
            for name, text in squad_paragraphs(Path(args.xquad)):
                (docs / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
            build_index(docs, tmp / "index", embedder, progress=True)
            xa = Assistant.load(tmp / "index", docs, embedder=embedder)
            xq = load_question_set(Path(args.xquad))
            x_rows, _ = collect(xa, xq[::2], with_conf=False)  # every other question: the rest validate
            s_rows += x_rows
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    X = np.array([r[0] for r in s_rows], dtype=np.float64)
    y = np.array([r[1] for r in s_rows], dtype=bool)
    lr = fit_lr(X, y)
    sentence_weights = {k: round(float(w), 4) for k, w in zip(SENT_FEATS, lr.coef_[0])}
    print("sentence weights:", sentence_weights, f"({len(y)} sentences, {y.mean():.2%} positive)")

    # Re-score with the new sentence weights, then fit the confidence model on dev.
    selector = dict(load_selector())
    selector["sentence_weights"] = sentence_weights
    report.selector.selector = selector
    feats, labels, answerable = [], [], []
    for prepared, _, hits, q in conf_src:
        cands = report.selector.candidates(prepared, report.embed_query(prepared.query), hits)
        f = report.selector.confidence_features(prepared, cands, hits)
        qvec = report.embed_query(prepared.query)
        picked = report.selector.answer(prepared, qvec, hits, threshold=0.0).candidate  # the answer it would give
        feats.append(f)
        labels.append(bool(q.answers) and contains_gold(picked, q.answers))
        answerable.append(bool(q.answers))
    names = list(feats[0])
    Xc = np.array([[f[n] for n in names] for f in feats])
    yc = np.array(labels)
    # Standardise so that one regularisation strength suits every feature, then fold the
    # scaling back into plain weights over the raw features.
    mu, sd = Xc.mean(axis=0), Xc.std(axis=0) + 1e-9
    clf = fit_lr((Xc - mu) / sd, yc, C=1.0)
    w_raw = clf.coef_[0] / sd
    bias = float(clf.intercept_[0] - (clf.coef_[0] * mu / sd).sum())
    conf_w = {"bias": round(bias, 4), **{n: round(float(w), 4) for n, w in zip(names, w_raw)}}
    probs = 1 / (1 + np.exp(-(Xc @ w_raw + bias)))
    ans = np.array(answerable)
    best_t, best_j = 0.5, -1.0
    for t in np.arange(0.05, 0.95, 0.01):
        abstain_unans = float((probs[~ans] < t).mean()) if (~ans).any() else 1.0
        false_abst = float((probs[ans] < t).mean())
        j = abstain_unans - 1.5 * max(0.0, false_abst - 0.05) - 0.5 * false_abst
        if j > best_j:
            best_t, best_j = float(t), j
    print("confidence weights:", conf_w)
    print(f"threshold {best_t:.2f}: dev abstention on unanswerable {(probs[~ans] < best_t).mean():.2f}, "
          f"false abstention {(probs[ans] < best_t).mean():.2f}")
    selector["confidence_weights"] = conf_w
    selector["threshold"] = round(best_t, 3)
    selector["trained_on"] = {"set": Path(args.set).name, "split": "dev", "questions": len(dev), "xquad": bool(args.xquad)}
    Path(args.out).write_text(json.dumps(selector, indent=1) + "\n", encoding="utf-8")
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
