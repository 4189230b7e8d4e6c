"""Shared fixtures. A deterministic fake embedder keeps unit tests fast; the suite marked
``slow`` loads the real model on the real report."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "source_docs" / "central-asia-peace-and-security-monitor-2022.txt"


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's model or data settings."""
    for var in ("QA_MODEL", "QA_DATA_DIR", "QA_STORE", "QA_VECTOR_INDEX", "QA_EF_SEARCH", "QA_NPROBE", "QA_WORKERS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def report_text() -> str:
    return REPORT.read_text(encoding="utf-8")


@pytest.fixture
def fake_embedder():
    from qa.embed import HashingEmbedder

    return HashingEmbedder(256)


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    shutil.copy(REPORT, d / REPORT.name)
    return d


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(docs_dir, index_dir) of the real report indexed with the fake embedder, built once."""
    from qa.embed import HashingEmbedder
    from qa.indexer import build_index

    base = tmp_path_factory.mktemp("fake")
    docs = base / "docs"
    docs.mkdir()
    shutil.copy(REPORT, docs / REPORT.name)
    build_index(docs, base / "index", HashingEmbedder(256))
    return docs, base / "index"


@pytest.fixture
def fake_assistant(fake_index):
    from qa.assistant import Assistant
    from qa.embed import HashingEmbedder

    docs, index = fake_index
    return Assistant.load(index, docs, embedder=HashingEmbedder(256))
