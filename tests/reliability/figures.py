"""Measure the reliability figures and write them into RELIABILITY.md (between the
``<!-- figures:start -->`` / ``<!-- figures:end -->`` markers) and ``tests/reliability/figures.json``.

    .venv/bin/python tests/reliability/figures.py            # the issue's figures: every kill point, 60 s load, 10-minute soak (~20 min)
    .venv/bin/python tests/reliability/figures.py --quick    # a sample: 11 kills per scenario, 20 s load, 1-minute soak (~3 min)

Every case counts as a failure when any check of the test suite fails for it; the script
never stops at the first one. Timings depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # `reliability` as a package, as under pytest
sys.path.insert(0, str(HERE.parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from reliability import crashes, faults, load  # noqa: E402
from reliability.common import CORPUS_A, CORPUS_B, MODEL, write_corpus  # noqa: E402
from reliability.server import hostile_env, serving  # noqa: E402

DOC = HERE.parents[1] / "RELIABILITY.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def integrity(work: Path) -> dict[str, Any]:
    """Every file of a generation truncated, bit-flipped (first, middle, last byte) or deleted."""
    from qa.embed import make_embedder
    from qa.errors import IndexCorrupt
    from qa.indexer import build_index
    from qa.store import load_generation, load_index

    docs, index = work / "docs", work / "index"
    write_corpus(docs, CORPUS_A)
    old = build_index(docs, index, make_embedder(MODEL)).generation
    write_corpus(docs, CORPUS_B)
    new = build_index(docs, index, make_embedder(MODEL)).generation
    manifest = json.loads((index / new / "manifest.json").read_text())
    files = sorted(manifest["files"]) + ["manifest.json", "manifest.sha256.json"]
    cases = detected = fell_back = 0
    for rel in files:
        for how in ("truncate", "flip-first", "flip-middle", "flip-last", "delete"):
            case = work / "case"
            shutil.rmtree(case, ignore_errors=True)
            shutil.copytree(index, case)
            p = case / new / rel
            data = bytearray(p.read_bytes())
            if how == "truncate":
                p.write_bytes(bytes(data[: len(data) // 2]))
            elif how == "delete":
                p.unlink()
            else:
                data[{"flip-first": 0, "flip-middle": len(data) // 2, "flip-last": len(data) - 1}[how]] ^= 1
                p.write_bytes(bytes(data))
            cases += 1
            try:
                load_generation(case / new)
            except IndexCorrupt as e:
                detected += Path(rel).name in str(e)
            try:
                fell_back += load_index(case, expected_model=MODEL).generation == old
            except Exception:  # noqa: BLE001 - counted as a failure
                pass
    return {"files": len(files), "cases": cases, "detected_naming_the_file": detected, "previous_generation_served": fell_back,
            "failures": (cases - detected) + (cases - fell_back)}


def kills_and_errors(work: Path, points: int | None) -> dict[str, Any]:
    """SIGKILL and ENOSPC/EIO at write points of a build and of an incremental add (None: every point)."""
    out: dict[str, Any] = {}
    for name in ("build", "add"):
        s = crashes.make_scenario(work / name, name)
        chosen = list(range(1, s.points + 1)) if points is None else crashes.sample(s, points, "kill")
        row: dict[str, Any] = {"write_points": s.points}
        for mode in ("kill", "enospc", "eio"):
            tried = failed = 0
            outcomes: dict[str, int] = {}
            for n in chosen:
                index = crashes.fresh(s, work / f"{name}-{mode}-{n}")
                where = f"{name}: {mode} at {n}"
                tried += 1
                try:
                    if mode == "kill":
                        proc = crashes.child("kill", n, s, index)
                        if proc.returncode != -signal.SIGKILL:
                            raise AssertionError(f"{where}: not killed (rc {proc.returncode})")
                    else:
                        try:
                            with faults.inject(mode, n):
                                from qa.embed import make_embedder
                                from qa.indexer import build_index

                                build_index(s.docs, index, make_embedder(MODEL))
                        except OSError:
                            pass
                    left = crashes.check_after_fault(s, index, where)
                    outcomes[left] = outcomes.get(left, 0) + 1
                except Exception as e:  # noqa: BLE001 - a failed case, counted and shown
                    failed += 1
                    print(f"FAILED {where}: {e}", file=sys.stderr)
                shutil.rmtree(work / f"{name}-{mode}-{n}", ignore_errors=True)
            row[mode] = {"tried": tried, "failures": failed, "left": outcomes}
        out[name] = row
    return out


def web(work: Path, steady_s: float, soak_min: float) -> dict[str, Any]:
    base = work / "web"
    env = {**hostile_env(base), "QA_TEST_GATE": str(base / "release")}
    with serving(base, CORPUS_A, env) as srv:
        load.steady(srv.url, users=4, seconds=3)  # warm-up
        steady = load.steady(srv.url, users=20, seconds=steady_s, sample_memory=srv.rss_kib, memory_every=5)
        steady.pop("rss_mib", None)
        gate = base / "release"
        gate.unlink(missing_ok=True)
        burst = load.burst(srv.url, users=100, question=f"{load.QUESTIONS[0]} [hold]", release=gate.touch)
        soak = load.steady(srv.url, users=20, seconds=soak_min * 60, sample_memory=srv.rss_kib,
                           memory_every=min(10.0, soak_min * 60 / 24))
        trend = load.memory_trend(soak.pop("rss_mib", []))
    return {"steady": steady, "burst": burst, "soak": {**{k: soak[k] for k in ("seconds", "answers", "errors", "p50_ms", "p95_ms")}, **trend}}


def _r(v: Any) -> Any:
    return round(v, 1) if isinstance(v, float) else v


def render(fig: dict[str, Any]) -> str:
    i, k, w = fig["integrity"], fig["faults"], fig["web"]
    lines = [
        f"Measured {fig['when']} on {fig['machine']} ({fig['mode']} run; `{fig['command']}`).",
        f"Load average when it started: {fig.get('load_avg_at_start', 'not recorded')} (timings depend on what else runs).",
        "",
        "| scenario | cases tried | failures |",
        "|---|---|---|",
        f"| index file truncated / bit-flipped / deleted ({i['files']} files × 5 damages): detected, naming the file | {i['cases']} | {i['cases'] - i['detected_naming_the_file']} |",
        f"| … and the previous generation serves | {i['cases']} | {i['cases'] - i['previous_generation_served']} |",
    ]
    for name, label in (("build", "a build from scratch"), ("add", "an incremental add")):
        r = k[name]
        for mode, what in (("kill", "SIGKILL"), ("enospc", "ENOSPC (disk full)"), ("eio", "EIO")):
            m = r[mode]
            left = ", ".join(f"{v} {key}" for key, v in sorted(m["left"].items()))
            lines.append(f"| {what} during {label} ({r['write_points']} write points; index left: {left}) | {m['tried']} | {m['failures']} |")
    s, b, so = w["steady"], w["burst"], w["soak"]
    lines += [
        "",
        "| load (loopback, fake embedder `hashing-256`, hostile environment) | figure |",
        "|---|---|",
        f"| {s['users']} `gradio_client` users for {s['seconds']:.0f} s: answers / errors | {s['answers']} / {s['errors']} |",
        f"| … throughput | {s['throughput_per_s']} answers/s |",
        f"| … latency p50 / p95 / max | {s['p50_ms']} / {s['p95_ms']} / {s['max_ms']} ms |",
        f"| {b['users']} users at once, answers held: answered / refused busy / other errors | {b['answered']} / {b['refused_busy']} / {b['other_errors']} |",
        f"| … refusal message (HTTP) | {', '.join(b['busy_messages'])[:120]} |",
        f"| … every join answered within / backlog drained in | {b['all_joined_s']} s / {b['drained_s']} s |",
        f"| … the next question afterwards | {b['answer_after_ms']} ms ({'answered' if b['answer_after_ok'] else 'FAILED'}) |",
        f"| soak: 20 users for {so['seconds'] / 60:.0f} min: answers / errors | {so['answers']} / {so['errors']} |",
        f"| … server memory (RSS median, 2nd quarter → last quarter; max) | {_r(so.get('early_mib'))} → {_r(so.get('late_mib'))} MiB "
        f"(growth {so.get('growth_mib')} MiB; max {so.get('max_mib')} MiB) |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a sample of kill points, 20 s load, 1-minute soak")
    p.add_argument("--render", action="store_true", help="only rewrite RELIABILITY.md from figures.json")
    args = p.parse_args(argv)
    if args.render:
        _write_doc(json.loads((HERE / "figures.json").read_text(encoding="utf-8")))
        return 0
    points = 9 if args.quick else None
    steady_s, soak_min = (20.0, 1.0) if args.quick else (60.0, 10.0)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="qa-figures-") as tmp:
        work = Path(tmp)
        fig: dict[str, Any] = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "mode": "quick" if args.quick else "full",
            "command": "python tests/reliability/figures.py" + (" --quick" if args.quick else ""),
        }
        print("integrity ...", file=sys.stderr)
        fig["integrity"] = integrity(work / "integrity")
        print("kills and write errors ...", file=sys.stderr)
        fig["faults"] = kills_and_errors(work / "faults", points)
        print("web load ...", file=sys.stderr)
        fig["web"] = web(work, steady_s, soak_min)
    fig["seconds"] = round(time.time() - t0)
    (HERE / "figures.json").write_text(json.dumps(fig, indent=1) + "\n", encoding="utf-8")
    _write_doc(fig)
    return 0


def _write_doc(fig: dict[str, Any]) -> None:
    text = DOC.read_text(encoding="utf-8")
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        DOC.write_text(f"{head}{START}\n{render(fig)}\n{END}{tail}", encoding="utf-8")
    print(render(fig))


if __name__ == "__main__":
    raise SystemExit(main())
