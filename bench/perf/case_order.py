"""Does the order of the catch-up cases bias them? The demo's expected and worst medians over runs.

Runs ``catchup run STORE -p PROJECTION --intervals ...`` ``--runs`` times for each ``--code``
(a checkout: the PYTHONPATH of the runs, so one script measures one commit against another),
each run a fresh process, the checkouts taking turns run by run so that a burst of load from
elsewhere hits both alike. Prints, per checkout and interval, the median over runs of each
run's median ``catchup_s`` of the expected (tail k/2) and worst (tail k-1) case.
A worst case below the expected one, whose tail is about twice as long, is a bias of the
measurement, not of the projection.

    catchup generate /tmp/e/demo --events 1M
    python -m bench.perf.case_order /tmp/e/demo --code /work/main --code . --runs 10

Reads samples.parquet with pyarrow only, so runs of older code (no ``order`` metric) read too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq

PHASES = ("catchup_expected", "catchup_worst")


def run_once(store: str, code: Path, out: Path, args: argparse.Namespace) -> Path:
    """One ``catchup run`` in a fresh process of the code at ``code``; the run folder it wrote."""
    before = set(out.iterdir()) if out.exists() else set()
    command = [sys.executable, "-m", "bench.cli", "run", store, "-p", args.projection]
    command += ["--intervals", args.intervals, "--out", str(out), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(code)}
    subprocess.run(command, cwd=code, env=env, check=True, stdout=subprocess.DEVNULL)
    (folder,) = set(out.iterdir()) - before
    return folder


def run_medians(folder: Path) -> dict[tuple[int, str], float]:
    """(interval, phase) -> the median catchup_s over the run's repeats."""
    rows = pq.read_table(folder / "samples.parquet").to_pylist()
    values: dict[tuple[int, str], list[float]] = defaultdict(list)
    for row in rows:
        if row["phase"] in PHASES and row["metric"] == "catchup_s":
            values[(row["interval"], row["phase"])].append(row["value"])
    return {key: statistics.median(found) for key, found in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store")
    parser.add_argument("--code", type=Path, action="append", help="checkout to run (its PYTHONPATH); repeatable")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--projection", default="balances")
    parser.add_argument("--intervals", default="10k,100k")
    args = parser.parse_args()
    store = str(Path(args.store).resolve())
    codes = [code.resolve() for code in args.code or [Path.cwd()]]
    per_run: dict[Path, dict[tuple[int, str], list[float]]] = {code: defaultdict(list) for code in codes}
    with tempfile.TemporaryDirectory(prefix="catchup-order-") as scratch:
        for number in range(args.runs):
            for code in codes:
                medians = run_medians(run_once(store, code, Path(scratch), args))
                for key, value in medians.items():
                    per_run[code][key].append(value)
                shown = "  ".join(f"k={k:,} {phase[8:]} {v * 1e3:.1f}" for (k, phase), v in sorted(medians.items()))
                print(f"run {number + 1}/{args.runs} {code}: {shown} ms", file=sys.stderr)
    print(f"{args.projection} on {store}, {args.runs} runs each; median over runs of each run's median catchup_s")
    print(f"{'code':<24} {'interval':>10} {'expected ms':>12} {'worst ms':>10} {'worst/expected':>15}")
    for code, found in per_run.items():
        for interval in sorted({k for k, _ in found}):
            expected = statistics.median(found[(interval, PHASES[0])])
            worst = statistics.median(found[(interval, PHASES[1])])
            ratio = worst / expected
            print(f"{str(code):<24} {interval:>10,} {expected * 1e3:>12.2f} {worst * 1e3:>10.2f} {ratio:>15.2f}")


if __name__ == "__main__":
    main()
