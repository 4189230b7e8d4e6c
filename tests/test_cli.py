"""The qa command: every subcommand end to end with the fake model (in-process, fast)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.cli import main


@pytest.fixture
def cli_env(docs_dir: Path, tmp_path: Path) -> list[str]:
    idx = tmp_path / "index"
    assert main(["index", "--docs", str(docs_dir), "--index", str(idx), "--model", "hashing-256", "--quiet"]) == 0
    return ["--docs", str(docs_dir), "--index", str(idx)]


def test_index_ask_search_docs(cli_env: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["ask", "How much humanitarian aid did Uzbekistan send to Ukraine?", "--json", *cli_env]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"found", "answer", "short", "citations", "retrieved", "timings_ms", "confidence"} <= set(out)
    assert main(["search", "Karakalpakstan protests", *cli_env]) == 0
    assert "Karakalpakstan" in capsys.readouterr().out
    assert main(["docs", *cli_env]) == 0
    assert "chunks" in capsys.readouterr().out
    assert main(["ask", "Who?", "--section", "Kazakhstan", *cli_env]) == 0


def test_errors_are_messages(cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "   ", *cli_env]) == 1
    assert "Please type a question" in capsys.readouterr().err
    assert main(["ask", "x" * 100_000, *cli_env]) == 1
    assert "too long" in capsys.readouterr().err
    assert main(["ask", "hello?", "--index", str(tmp_path / "none")]) == 1
    assert "qa index" in capsys.readouterr().err
    assert main(["ask", "hello?", "--model", "all-MiniLM-L6-v2", *cli_env]) == 1
    assert "rebuild" in capsys.readouterr().err


def test_index_reports_skipped_files(docs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (docs_dir / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    assert main(["index", "--docs", str(docs_dir), "--index", str(tmp_path / "i"), "--model", "hashing-256", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "bad.txt" in err


def test_python_dash_m_and_help() -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "qa", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "index" in r.stdout and "eval" in r.stdout
    # The CLI's edge stays light: importing it must not pull in torch or the model.
    r = subprocess.run([sys.executable, "-c", "import qa.cli, sys; print('torch' in sys.modules)"], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False"
