"""Kill and write-error scenarios of the indexer, shared by ``tests/test_reliability_crash.py``
and ``tests/reliability/figures.py``. See the test module for what is checked after a fault.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from qa.assistant import Assistant
from qa.embed import make_embedder
from qa.errors import IndexMissing
from qa.indexer import build_index
from qa.store import GEN_RE, load_index
from reliability import faults
from reliability.common import CORPUS_A, CORPUS_B, MODEL, QUESTIONS_A, QUESTIONS_B, check_citations, write_corpus

SEED = int(os.environ.get("QA_FAULT_SEED", "7"))
FAULTS_PY = Path(faults.__file__)


@dataclass
class Scenario:
    name: str
    docs: Path
    pristine: Path  # the index before the build (may not exist)
    before: frozenset[str] | None  # document names served before, None: no index yet
    after: frozenset[str]
    chunks_after: int
    points: int  # write points of an unharmed build


def _names(index) -> frozenset[str]:  # type: ignore[no-untyped-def]
    return frozenset(Path(d.path).name for d in index.documents.values())


def qa_args(s: Scenario, index: Path) -> list[str]:
    return ["index", "--docs", str(s.docs), "--index", str(index), "--model", MODEL, "--quiet"]


def child(mode: str, at: int, s: Scenario, index: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(FAULTS_PY), mode, str(at), "--", *qa_args(s, index)],
                          capture_output=True, text=True, timeout=120)


def make_scenario(base: Path, name: str) -> Scenario:
    docs, pristine = base / "docs", base / "pristine"
    emb = make_embedder(MODEL)
    write_corpus(docs, CORPUS_A)
    before = None
    if name == "add":
        build_index(docs, pristine, emb)
        before = frozenset(CORPUS_A)
        write_corpus(docs, CORPUS_B)
    ref = base / "reference"
    if pristine.exists():
        shutil.copytree(pristine, ref)
    build_index(docs, ref, emb)
    loaded = load_index(ref, expected_model=MODEL)
    s = Scenario(name, docs, pristine, before, _names(loaded), len(loaded.chunks), 0)
    counted = base / "counted"
    if pristine.exists():
        shutil.copytree(pristine, counted)
    out = child("count", 0, s, counted)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    s.points = int(re.search(r"points: (\d+)", out.stderr).group(1))
    return s


def fresh(s: Scenario, work: Path) -> Path:
    index = work / "index"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if s.pristine.exists():
        shutil.copytree(s.pristine, index)
    return index


def check_after_fault(s: Scenario, index: Path, where: str) -> str:
    """The checks of the module docstring; returns what the fault left ('before', 'after', 'none')."""
    emb = make_embedder(MODEL)
    try:
        live = load_index(index, expected_model=MODEL, fallback=False)
    except IndexMissing:
        assert s.before is None, f"{where}: the index vanished"
        left = "none"
    else:
        assert live.warning is None
        names = _names(live)
        assert names in (s.before, s.after), f"{where}: a mix of documents {sorted(names)}"
        left = "after" if names == s.after else "before"
        a = Assistant.load(index, s.docs, embedder=emb)
        for q in QUESTIONS_A:
            ans = a.ask(q)
            assert ans.found, f"{where}: no answer to {q!r}"
            check_citations(a, ans)
    report = build_index(s.docs, index, emb)  # the re-run completes the work
    final = load_index(index, expected_model=MODEL, fallback=False)
    assert _names(final) == s.after and len(final.chunks) == s.chunks_after, f"{where}: re-run incomplete ({report.summary()})"
    a = Assistant.load(index, s.docs, embedder=emb)
    for q in QUESTIONS_A + (QUESTIONS_B if s.name == "add" else []):
        ans = a.ask(q)
        assert ans.found, f"{where}: after the re-run, no answer to {q!r}"
        check_citations(a, ans)
    if report.generation:  # a build that wrote also cleaned up
        leftovers = [p.name for p in index.iterdir() if p.name.startswith((".tmp-gen-", ".CURRENT."))]
        assert not leftovers, f"{where}: leftovers {leftovers}"
    gens = [p.name for p in index.iterdir() if GEN_RE.match(p.name)]
    assert len(gens) <= 2, f"{where}: generations {gens}"
    return left


def sample(s: Scenario, k: int, salt: str) -> list[int]:
    rng = random.Random(f"{SEED}-{s.name}-{salt}")
    points = sorted(rng.sample(range(1, s.points + 1), min(k, s.points)))
    return sorted({1, s.points, *points})  # always the first and the last point too


def run_kills(s: Scenario, points: list[int], work: Path) -> dict[str, int]:
    outcomes = {"before": 0, "after": 0, "none": 0}
    for n in points:
        index = fresh(s, work / f"kill-{n}")
        where = f"{s.name}: SIGKILL at point {n}/{s.points} (QA_FAULT_SEED={SEED})"
        out = child("kill", n, s, index)
        assert out.returncode == -signal.SIGKILL, f"{where}: the child was not killed (rc {out.returncode}): {out.stderr[-2000:]}"
        outcomes[check_after_fault(s, index, where)] += 1
        shutil.rmtree(work / f"kill-{n}")
    return outcomes


def run_errors(s: Scenario, mode: str, points: list[int], work: Path) -> int:
    failed = 0
    for n in points:
        index = fresh(s, work / f"{mode}-{n}")
        where = f"{s.name}: {mode} at point {n}/{s.points} (QA_FAULT_SEED={SEED})"
        try:
            with faults.inject(mode, n):
                build_index(s.docs, index, make_embedder(MODEL))
        except OSError as e:
            assert e.errno in (28, 5), where
            failed += 1
        check_after_fault(s, index, where)
        shutil.rmtree(work / f"{mode}-{n}")
    return failed


