"""Checks on the code itself:

- no ``assert`` guards a real check in ``qa/`` or ``app.py`` (``python -O`` strips them), and
  the integrity suite passes under ``python -O``;
- nothing is pickled: no ``pickle``/``dill``/``joblib``/``shelve``/``marshal`` import, no
  ``allow_pickle=True``, no ``torch.load`` without ``weights_only=True``, no ``yaml.load``
  without a safe loader; an index holds no pickle stream.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "qa").rglob("*.py")) + [ROOT / "app.py"]

# Asserts that only narrow a type for the reader, whose condition the code above already
# guarantees; each is listed with why. Anything else is a failure.
ALLOWED_ASSERTS: dict[tuple[str, str], str] = {}


def test_no_assert_guards_a_real_check() -> None:
    found = []
    for path in SOURCES:
        src = path.read_text(encoding="utf-8")
        lines = src.splitlines()
        for node in ast.walk(ast.parse(src, str(path))):
            if isinstance(node, ast.Assert):
                rel = str(path.relative_to(ROOT))
                text = lines[node.lineno - 1].strip()
                if (rel, text) not in ALLOWED_ASSERTS:
                    found.append(f"{rel}:{node.lineno}: {text}")
    assert not found, "assert statements vanish under python -O; raise a QAError instead:\n" + "\n".join(found)


def test_integrity_suite_passes_under_python_O() -> None:
    out = subprocess.run(
        [sys.executable, "-O", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         str(ROOT / "tests" / "test_reliability_index.py"), "-k", "not every_damaged_file"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert re.search(r"\d+ passed", out.stdout)


def test_smoke_under_python_O(tmp_path: Path) -> None:
    """Build, ask, refuse a bad question and a damaged index, with asserts compiled away."""
    script = f"""
import sys
sys.path.insert(0, {str(ROOT / 'tests')!r})
from pathlib import Path
if sys.flags.optimize < 1:
    raise SystemExit("not running under -O")
from qa.assistant import Assistant
from qa.embed import make_embedder
from qa.errors import BadQuestion, IndexCorrupt
from qa.indexer import build_index
from qa.store import current_generation, load_index
from reliability.common import CORPUS_A, MODEL, write_corpus
base = Path({str(tmp_path)!r})
write_corpus(base / "docs", CORPUS_A)
build_index(base / "docs", base / "index", make_embedder(MODEL))
a = Assistant.load(base / "index", base / "docs", embedder=make_embedder(MODEL))
ans = a.ask("How much wheat did the Astana ministry ship to Ukraine?")
if not ans.found or any(a.document(c.doc_id).text[c.char_start:c.char_end] != c.quote for c in ans.citations):
    raise SystemExit("bad answer")
try:
    a.ask("   ")
    raise SystemExit("BadQuestion not raised")
except BadQuestion:
    pass
f = current_generation(base / "index") / "chunks.jsonl"
data = bytearray(f.read_bytes()); data[len(data) // 2] ^= 1; f.write_bytes(bytes(data))
try:
    load_index(base / "index")
    raise SystemExit("IndexCorrupt not raised")
except IndexCorrupt as e:
    if "chunks.jsonl" not in str(e):
        raise SystemExit("IndexCorrupt does not name the file")
print("ok")
"""
    out = subprocess.run([sys.executable, "-O", "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout + out.stderr


PICKLE_PATTERNS = [
    (re.compile(r"^\s*(import|from)\s+(pickle|cPickle|dill|joblib|shelve|marshal|cloudpickle)\b", re.M), "a pickle-family import"),
    (re.compile(r"\b(pickle|dill|joblib|cloudpickle|marshal)\.(load|loads|dump|dumps)\b"), "a pickle-family call"),
    (re.compile(r"allow_pickle\s*=\s*True"), "allow_pickle=True"),
    (re.compile(r"torch\.load\((?![^)]*weights_only\s*=\s*True)"), "torch.load without weights_only=True"),
    (re.compile(r"yaml\.load\((?![^)]*SafeLoader)"), "yaml.load without SafeLoader"),
    (re.compile(r"\bnp\.load\((?![^)]*allow_pickle\s*=\s*False)"), "np.load without allow_pickle=False"),
]


def test_no_pickle_anywhere() -> None:
    found = []
    for path in SOURCES:
        src = path.read_text(encoding="utf-8")
        for rx, what in PICKLE_PATTERNS:
            for m in rx.finditer(src):
                line = src.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not found, "\n".join(found)


def test_the_patterns_catch_what_they_should() -> None:
    bad = ["import pickle", "from joblib import load", "x = pickle.loads(b)", "np.load(p, allow_pickle=True)",
           "torch.load(path)", "yaml.load(text)", "np.load(path)"]
    for src in bad:
        assert any(rx.search(src) for rx, _ in PICKLE_PATTERNS), src
    for src in ["np.load(p, allow_pickle=False)", "torch.load(p, weights_only=True)", "# no pickle here"]:
        assert not any(rx.search(src) for rx, _ in PICKLE_PATTERNS), src


def test_an_index_holds_no_pickle_stream(fake_index) -> None:  # type: ignore[no-untyped-def]
    _, index = fake_index
    for p in index.rglob("*"):
        if p.is_file():
            head = p.read_bytes()[:2]
            assert not (len(head) == 2 and head[0] == 0x80 and head[1] <= 5), f"{p} starts like a pickle"
            if p.suffix == ".npy":
                import numpy as np

                np.load(p, allow_pickle=False)  # raises on an object array
