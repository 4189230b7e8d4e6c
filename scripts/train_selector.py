"""Fit the answer selector's weights and abstention threshold; writes qa/selector.json.

(For another model, ``--model NAME``, it writes ``qa/selector-NAME.json``, which qa reads for
an index built with that model; the plain all-MiniLM-L6-v2 has one.)

    python scripts/train_selector.py [--xquad PATH] [--set tests/questions/report.jsonl] [--dry-run]

1. Sentence scorer: a conditional logit (softmax over each question's candidate sentences)
   over the sentence features of ``AnswerSelector`` (label: the sentence holds a gold
   answer), on the DEV half of the project's questions plus every other XQuAD English
   question (open mode over its paragraphs), never on the test half; the other XQuAD half
   validates it (printed).
2. Confidence: logistic regression over ``confidence_features`` (label: the question is
   answerable and the chosen answer holds a gold answer; answerable questions whose chosen
   answer misses are left out of the fit, see ``fit``). Its data: the dev half; with
   ``--xquad-confidence`` also XQuAD asked against an index that lacks every other
   paragraph, so the questions of the missing paragraphs are unanswerable but plausible
   (their article is still there), the dev half weighted as much as all of XQuAD together.
   Off by default: it did not raise dev's cross-validated abstention.
3. Threshold: the one that abstains most on unanswerable dev questions while wrongly
   abstaining on at most ``--max-false-abstention`` of the answerable ones, chosen on the
   out-of-fold confidences of repeated 5-fold cross-validation on dev.
Before writing, it prints 5-fold cross-validated dev numbers of the confidence model, so a
change of features is judged on dev alone. Weights are stored as plain JSON in the package.
"""
from __future__ import annotations

import argparse
import hashlib
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
from qa.embed import BASE_MODEL, DEFAULT_MODEL, SentenceTransformerEmbedder, is_default_model, make_embedder  # noqa: E402
from qa.evaluate import Question, contains_gold, load_question_set, squad_paragraphs  # noqa: E402
from qa.indexer import build_index  # noqa: E402
from qa.sentences import strip_footnotes  # noqa: E402

SENT_FEATS = list(DEFAULT_SELECTOR["sentence_weights"])
FOLDS = 2


def fold_of(question_id: str) -> int:
    """The cross-fitting fold of a training question (stable across runs and scripts): the
    tuned model ``train_embedder.py --holdout K`` leaves out the questions of fold K."""
    return int(hashlib.sha256(question_id.encode("utf-8")).hexdigest(), 16) % FOLDS


def sentence_groups(assistant: Assistant, questions: list[Question]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per answerable question: the features of its candidate sentences and which hold a gold answer."""
    sel = assistant.selector
    groups = []
    for q in questions:
        if not q.answers:
            continue
        prepared = assistant.prepare(q.question)
        qvec = assistant.embed_query(prepared.query)
        hits = assistant.retriever.search(prepared.query, qvec, sel.settings.passages)
        cands = sel.candidates(prepared, qvec, hits)
        if cands:
            X = np.array([[c["feats"][k] for k in SENT_FEATS] for c in cands], dtype=np.float64)
            y = np.array([contains_gold(c["text"], q.answers) for c in cands], dtype=bool)
            groups.append((X, y))
    return groups


def fit_listwise(groups: list[tuple[np.ndarray, np.ndarray]], l2: float = 0.1,
                 weights: list[float] | None = None) -> np.ndarray:
    """Sentence weights by a conditional logit: per question, a softmax over its candidates,
    maximising the probability of the sentences that hold the answer (L2-regularised).

    This is the ranking the selector does (the best sentence of one question), unlike a
    per-sentence classifier, which also spends weight on separating questions from each other.
    """
    from scipy.optimize import minimize

    usable = [(X, y, w) for (X, y), w in zip(groups, weights or [1.0] * len(groups)) if y.any()]

    def loss(wv: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(wv)
        for X, y, w in usable:
            s = X @ wv
            p = np.exp(s - s.max())
            p /= p.sum()
            py = p[y].sum()
            total -= w * np.log(py + 1e-12)
            grad -= w * ((p[y] @ X[y]) / py - p @ X)
        return total + l2 * wv @ wv, grad + 2 * l2 * wv

    return minimize(loss, np.zeros(usable[0][0].shape[1]), jac=True, method="L-BFGS-B").x


def top_k_rate(groups: list[tuple[np.ndarray, np.ndarray]], wv: np.ndarray, k: int) -> float:
    """Share of questions whose k best candidates (by ``wv``) include a sentence with the answer."""
    if not groups:
        return 0.0
    return float(np.mean([y[np.argsort(-(X @ wv), kind="stable")[:k]].any() for X, y in groups]))


def confidence_rows(
    assistant: Assistant, questions: list[Question]
) -> tuple[list[dict[str, float]], list[bool], list[bool], list[bool]]:
    """Per question: confidence features, whether the answer it would give is right, answerable,
    and whether that answer holds the type asked for (else ``untyped_factor`` scales it down)."""
    sel = assistant.selector
    feats, right, answerable, typed_ok = [], [], [], []
    for q in questions:
        prepared = assistant.prepare(q.question)
        qvec = assistant.embed_query(prepared.query)
        hits = assistant.retriever.search(prepared.query, qvec, sel.settings.passages)
        cands = sel.candidates(prepared, qvec, hits)
        if not cands:
            continue
        feats.append(sel.confidence_features(prepared, cands, hits))
        ans = sel.answer(prepared, qvec, hits, threshold=0.0)
        given = ans.candidate
        typed_ok.append(sel.typed_ok(prepared, sel._chosen_spans(prepared, cands)))
        right.append(bool(q.answers) and contains_gold(given, q.answers))
        answerable.append(bool(q.answers))
    return feats, right, answerable, typed_ok


def fit_lr(X: np.ndarray, y: np.ndarray, C: float = 1.0, weights: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    lr.fit(X, y, sample_weight=weights)
    return lr


def fit_confidence(X: np.ndarray, y: np.ndarray, w: np.ndarray, C: float) -> tuple[np.ndarray, float]:
    """Raw-feature weights and bias (fitted on standardised features, then folded back)."""
    mu, sd = X.mean(axis=0), X.std(axis=0) + 1e-9
    clf = fit_lr((X - mu) / sd, y, C=C, weights=w)
    w_raw = clf.coef_[0] / sd
    return w_raw, float(clf.intercept_[0] - (clf.coef_[0] * mu / sd).sum())


def pick_threshold(probs: np.ndarray, answerable: np.ndarray, max_false: float) -> float:
    """Most abstention on unanswerable questions with false abstention <= ``max_false``."""
    best_t, best = 0.05, (-1.0, 0.0)
    for t in np.arange(0.05, 0.95, 0.01):
        false_abst = float((probs[answerable] < t).mean()) if answerable.any() else 0.0
        if false_abst > max_false:
            continue
        abst = float((probs[~answerable] < t).mean()) if (~answerable).any() else 0.0
        if (abst, -false_abst) > best:
            best_t, best = float(t), (abst, -false_abst)
    return best_t


def xquad_assistants(path: Path, embedder, tmp: Path, half: bool = True):  # type: ignore[no-untyped-def]
    """(full index assistant, half index assistant, questions, questions vs half index); the
    half index (every other paragraph) is built only when ``half``, else it is None."""
    paragraphs = squad_paragraphs(path)
    folders = [tmp / "full", tmp / "half"] if half else [tmp / "full"]
    tmp.mkdir(parents=True, exist_ok=True)
    for folder in folders:
        (folder / "docs").mkdir(parents=True)
    for i, (name, text) in enumerate(paragraphs):
        for folder in folders:
            if folder.name == "full" or i % 2 == 0:
                (folder / "docs" / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    out = []
    for folder in folders:
        build_index(folder / "docs", folder / "index", embedder, progress=True)
        out.append(Assistant.load(folder / "index", folder / "docs", embedder=embedder))
    if not half:
        out.append(None)
    questions = load_question_set(path)
    # Question i belongs to the paragraph whose text its evidence came from; map by order.
    obj = json.loads(path.read_text(encoding="utf-8"))
    kept: list[Question] = []
    pi_global = 0
    qi = 0
    for article in obj["data"]:
        for para in article["paragraphs"]:
            if not (para.get("context") or "").strip():
                qi += len(para.get("qas") or [])
                continue
            for _ in para.get("qas") or []:
                q = questions[qi]
                qi += 1
                kept.append(q if pi_global % 2 == 0 else Question(q.id, q.question, (), "", "unanswerable"))
            pi_global += 1
    return out[0], out[1], questions, kept


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default=str(ROOT / "tests/questions/report.jsonl"))
    ap.add_argument("--xquad", default=str(ROOT.parent / "shared/datasets/xquad-en/xquad.en.json"))
    ap.add_argument("--index", default=str(ROOT / "index"))
    ap.add_argument("--docs", default=str(ROOT / "source_docs"))
    ap.add_argument("--out", default=None, help="default: qa/selector.json for the default model, else qa/selector-MODEL.json")
    # The budget is 10 %; two points of margin, because 64 answerable questions measure a true
    # 10 % as 10 ± 3.7 % and a threshold fitted to exactly 10 % on dev lands above it half the time.
    ap.add_argument("--max-false-abstention", type=float, default=0.08)
    ap.add_argument("--C", type=float, default=1.0, help="inverse regularisation of the confidence model (chosen by dev CV)")
    ap.add_argument("--untyped-factor", type=float, default=0.3,
                    help="confidence factor for an answer without the asked type (a number for 'how many')")
    ap.add_argument("--xquad-confidence", action="store_true",
                    help="also fit the confidence model on XQuAD against a half index (dev CV: no better, so off)")
    ap.add_argument("--model", default=None, help="embedding model to fit for (default: qa's default, all-MiniLM-L6-v2-qa); the report is re-indexed with it")
    ap.add_argument("--cv-repeats", type=int, default=10)
    ap.add_argument("--min-relevance", type=float, default=0.2,
                    help="no answer from a best passage under this cosine (for the model fitted with)")
    ap.add_argument("--oof-models", default=None,
                    help="tuned layers trained without each fold's questions (scripts/train_embedder.py --holdout K), "
                         "one per fold: every dev and XQuAD feature comes from the model that never saw the question; "
                         "'' fits on the model's own features (the default for any model but the default one)")
    ap.add_argument("--dry-run", action="store_true", help="print the cross-validated dev numbers, write nothing")
    args = ap.parse_args()
    tuned_default = is_default_model(args.model or DEFAULT_MODEL)
    if args.oof_models is None:
        args.oof_models = "runs/embedder-holdout-0.safetensors,runs/embedder-holdout-1.safetensors" if tuned_default else ""
    if args.out is None:
        args.out = str(ROOT / ("qa/selector.json" if tuned_default else f"qa/selector-{args.model}.json"))
    if args.oof_models:
        missing = [m for m in args.oof_models.split(",") if not (ROOT / m).is_file()]
        if missing:
            ap.error(f"missing {', '.join(missing)}: run scripts/train_embedder.py --holdout K for each fold first")

    embedder = make_embedder(args.model)
    build_index(args.docs, args.index, embedder)
    report = Assistant.load(args.index, args.docs, embedder=embedder)
    dev = load_question_set(Path(args.set), split="dev")
    tmp = Path(tempfile.mkdtemp(prefix="qa-xquad-"))
    try:
        use_x = bool(args.xquad) and Path(args.xquad).exists()
        s_x_held: list[tuple[np.ndarray, np.ndarray]] = []
        xq: list[Question] = []
        x_full = x_half = None
        if use_x:
            x_full, x_half, xq, xq_half = xquad_assistants(Path(args.xquad), embedder, tmp / "final", half=args.xquad_confidence)
            s_x_held = sentence_groups(x_full, xq[1::2])  # every other question validates
        # Where the features come from: (report, XQuAD, dev questions, XQuAD training questions).
        # A model tuned on these very questions (scripts/train_embedder.py) knows their answers
        # too well: fitted on its cosines, the weights would trust it more than it earns on new
        # questions. Cross-fitting: each fold's features come from the model that left it out.
        sources = []
        if args.oof_models:
            for k, weights in enumerate(args.oof_models.split(",")):
                fold_emb = SentenceTransformerEmbedder(f"{embedder.name}-holdout-{k}", base=BASE_MODEL, tuned=ROOT / weights)
                build_index(args.docs, tmp / f"report-{k}", fold_emb)
                rep_k = Assistant.load(tmp / f"report-{k}", args.docs, embedder=fold_emb)
                x_k = xquad_assistants(Path(args.xquad), fold_emb, tmp / f"x-{k}", half=False)[0] if use_x else None
                sources.append((rep_k, x_k, [q for q in dev if fold_of(q.id) == k], [q for q in xq[::2] if fold_of(q.id) == k]))
        else:
            sources.append((report, x_full, dev, xq[::2]))
        s_dev = [g for rep, _, qs, _ in sources for g in sentence_groups(rep, qs)]
        s_x = [g for _, xa, _, xs in sources if xa is not None for g in sentence_groups(xa, xs)]

        # Every question counts once: weighting the report's dev questions up (x3, x9) did not
        # rank dev better in 5-fold cross-validation and ranked held-out XQuAD worse.
        wv = fit_listwise(s_dev + s_x)
        sentence_weights = {k: round(float(w), 4) for k, w in zip(SENT_FEATS, wv)}
        print("sentence weights:", sentence_weights, f"({len(s_dev)} dev + {len(s_x)} XQuAD questions)")
        if s_x_held:
            print(f"held-out XQuAD half ({len(s_x_held)} questions): best sentence holds the answer "
                  f"{top_k_rate(s_x_held, wv, 1):.3f}, one of the best two {top_k_rate(s_x_held, wv, 2):.3f}")

        selector = dict(load_selector(Path(args.out)))
        selector["sentence_weights"] = sentence_weights
        f_dev: list[dict[str, float]] = []
        r_dev: list[bool] = []
        a_dev: list[bool] = []
        t_dev: list[bool] = []
        for rep, _, qs, _ in sources:
            rep.selector.selector = selector
            for acc, part in zip((f_dev, r_dev, a_dev, t_dev), confidence_rows(rep, qs)):
                acc.extend(part)  # type: ignore[attr-defined]
        names = list(f_dev[0])
        Xd = np.array([[f[n] for n in names] for f in f_dev])
        yd, ad = np.array(r_dev), np.array(a_dev)
        # Confidence as the selector will give it: scaled down where the answer lacks the asked type.
        gate = np.where(np.array(t_dev), 1.0, args.untyped_factor)
        Xx = np.zeros((0, len(names)))
        yx = np.zeros(0, dtype=bool)
        if x_half is not None and args.xquad_confidence:
            x_half.selector.selector = selector
            f_x, r_x, _, _ = confidence_rows(x_half, xq_half)
            Xx = np.array([[f[n] for n in names] for f in f_x])
            yx = np.array(r_x)
            print(f"xquad confidence rows: {len(yx)} ({yx.mean():.0%} right answers)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def fit(idx: np.ndarray) -> tuple[np.ndarray, float]:
        # An answerable question whose chosen answer misses the gold is neither "the reports
        # answer this" nor "they don't": as a negative it taught the model to abstain on
        # answerable questions (false abstentions), so it is left out of the fit (5-fold CV on
        # dev: 0.73 -> 0.80 abstention at <= 10 % false abstention).
        idx = idx[~(ad[idx] & ~yd[idx])]
        Xf = np.vstack([Xd[idx], Xx])
        yf = np.concatenate([yd[idx], yx])
        # Dev weighs as much as all of XQuAD together.
        wf = np.concatenate([np.full(len(idx), max(1.0, len(yx) / max(1, len(idx)))), np.ones(len(yx))])
        return fit_confidence(Xf, yf, wf, args.C)

    # Repeated 5-fold cross-validation on dev: the threshold is chosen on the training folds and
    # scored on the held-out one; repeats average out the luck of a split of few questions.
    abst, false_abst, contain = [], [], []
    oof = np.zeros(len(yd))  # out-of-fold confidence, averaged over the repeats
    for rep in range(args.cv_repeats):
        order = np.random.default_rng(rep).permutation(len(yd))
        folds = np.array_split(order, 5)
        for k in range(5):
            test_idx = folds[k]
            train_idx = np.concatenate([folds[j] for j in range(5) if j != k])
            w_raw, bias = fit(train_idx)
            p_train = gate[train_idx] / (1 + np.exp(-(Xd[train_idx] @ w_raw + bias)))
            t = pick_threshold(p_train, ad[train_idx], args.max_false_abstention)
            p = gate[test_idx] / (1 + np.exp(-(Xd[test_idx] @ w_raw + bias)))
            oof[test_idx] += p / args.cv_repeats
            given = p >= t
            a = ad[test_idx]
            abst += list(~given[~a])
            false_abst += list(~given[a])
            contain += list(given[a] & yd[test_idx][a])
    print(f"dev 5-fold x{args.cv_repeats}: abstention {np.mean(abst):.2f} (n={len(abst)}), false abstention {np.mean(false_abst):.2f}, "
          f"containment {np.mean(contain):.2f} (n={len(contain)})")
    t_oof = pick_threshold(oof, ad, args.max_false_abstention)
    print(f"dev out-of-fold confidence at its best threshold ({t_oof:.2f}): abstention {(oof[~ad] < t_oof).mean():.2f}, "
          f"false abstention {(oof[ad] < t_oof).mean():.2f}, containment {(ad & yd & (oof >= t_oof)).sum() / max(1, ad.sum()):.2f}")

    w_raw, bias = fit(np.arange(len(yd)))
    probs = gate / (1 + np.exp(-(Xd @ w_raw + bias)))
    # The threshold comes from the out-of-fold confidences: on the questions it was fitted on,
    # the model is surer of itself than it will be on new ones (an in-sample threshold gave
    # 0.13 false abstention in cross-validation against the 0.10 asked for).
    best_t = t_oof
    conf_w = {"bias": round(bias, 4), **{n: round(float(w), 4) for n, w in zip(names, w_raw)}}
    print("confidence weights:", conf_w)
    print(f"threshold {best_t:.2f} (in sample, optimistic): dev abstention on unanswerable {(probs[~ad] < best_t).mean():.2f}, "
          f"false abstention {(probs[ad] < best_t).mean():.2f}")
    if args.dry_run:
        return 0
    selector["confidence_weights"] = conf_w
    # The relevance floor (qa/answer.py): every right answer to a dev question came from a best
    # passage at 0.26 cosine or more, questions about other things reach 0.07 at most.
    selector["min_relevance"] = args.min_relevance
    selector["threshold"] = round(best_t, 3)
    selector["untyped_factor"] = args.untyped_factor
    selector["trained_on"] = {
        "model": embedder.name, "set": Path(args.set).name, "split": "dev", "questions": len(dev), "xquad": use_x,
        "xquad_confidence": use_x and args.xquad_confidence, "C": args.C,
        "max_false_abstention": args.max_false_abstention, "untyped_factor": args.untyped_factor,
    }
    Path(args.out).write_text(json.dumps(selector, indent=1) + "\n", encoding="utf-8")
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
