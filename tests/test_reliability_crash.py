"""The indexer killed (SIGKILL, in a subprocess) or failing with a write error (disk full,
EIO) at many points of a build from scratch and of an incremental add.

A point is the N-th file-system write of the build (see ``tests/reliability/faults.py``): an
open for writing, a write (half-written when killed there), fsync, rename, mkdir, unlink or
rmtree. After every fault (``tests/reliability/crashes.py``, ``check_after_fault``):

- the index loads, without falling back (a crash never damages the live generation), and
  holds either the documents of before or those of after, never a mix; it answers, and every
  citation is the document's text at its offsets (``IndexMissing`` only for a first build
  killed before its commit);
- a re-run completes the work: the documents of after, the same chunks as an unharmed build,
  no temporary folder or pointer left behind, at most two generations.

``make test`` tries a seeded sample (11 kills per scenario, 10 of each write error);
``make soak`` tries every point, plus kills at random wall-clock times. The seed is
``QA_FAULT_SEED`` (default 7); a failure message names the seed and the point.
"""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reliability.common import soak
from reliability.crashes import (FAULTS_PY, SEED, Scenario, check_after_fault, child, fresh, make_scenario, qa_args,
                                 run_errors, run_kills, sample)

QUICK_KILLS = 9  # + the first and the last point: 11 kills per scenario, 22 in all
QUICK_ERRORS = 8


@pytest.fixture(scope="module", params=["build", "add"])
def scenario(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    s = make_scenario(tmp_path_factory.mktemp(request.param), request.param)
    assert s.points > 50  # the build passes many write points: the sample spreads over all of them
    return s


def test_sigkill_at_random_points(scenario: Scenario, tmp_path: Path) -> None:
    outcomes = run_kills(scenario, sample(scenario, QUICK_KILLS, "kill"), tmp_path)
    # the sample spans the whole build: some kills land before the commit, the last one after it
    assert outcomes["after"] >= 1 and outcomes["before" if scenario.before else "none"] >= 1, outcomes


@pytest.mark.parametrize("mode", ["enospc", "eio"])
def test_write_errors_at_random_points(scenario: Scenario, tmp_path: Path, mode: str) -> None:
    failed = run_errors(scenario, mode, sample(scenario, QUICK_ERRORS, mode), tmp_path)
    assert failed >= QUICK_ERRORS // 2  # most points are before the commit: the build reports the error


def test_cli_reports_a_write_error_in_one_line(scenario: Scenario, tmp_path: Path) -> None:
    index = fresh(scenario, tmp_path / "cli")
    out = child("enospc", scenario.points // 3, scenario, index)
    assert out.returncode == 1
    assert "qa index: [Errno 28] No space left on device" in out.stderr and "Traceback" not in out.stderr


# ------------------------------------------------------------------------------ soak
@soak
def test_sigkill_at_every_point(scenario: Scenario, tmp_path: Path) -> None:
    outcomes = run_kills(scenario, list(range(1, scenario.points + 1)), tmp_path)
    print(f"\nkill points {scenario.name}: {scenario.points} tried, outcomes {outcomes}")


@soak
@pytest.mark.parametrize("mode", ["enospc", "eio"])
def test_write_errors_at_every_point(scenario: Scenario, tmp_path: Path, mode: str) -> None:
    failed = run_errors(scenario, mode, list(range(1, scenario.points + 1)), tmp_path)
    print(f"\n{mode} points {scenario.name}: {scenario.points} tried, {failed} reported the error")


@soak
def test_sigkill_at_random_times(scenario: Scenario, tmp_path: Path) -> None:
    """Kills from outside at random wall-clock times: these land inside C code too (numpy, FAISS)."""
    rng = random.Random(f"{SEED}-{scenario.name}-times")
    t0 = time.perf_counter()
    assert child("count", 0, scenario, fresh(scenario, tmp_path / "timing")).returncode == 0
    span = time.perf_counter() - t0
    for i in range(40):
        index = fresh(scenario, tmp_path / f"t{i}")
        delay = rng.uniform(0.0, span)
        proc = subprocess.Popen([sys.executable, str(FAULTS_PY), "count", "0", "--", *qa_args(scenario, index)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        check_after_fault(scenario, index, f"{scenario.name}: SIGKILL after {delay:.3f} s (QA_FAULT_SEED={SEED})")
