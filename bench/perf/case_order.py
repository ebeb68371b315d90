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

``--preludes`` measures instead, in this process, what a case measured first gains or loses
against one measured second, under each candidate prelude (an untimed step before every timed
case): none (the order of old), the tail read alone, the snapshot load alone, and a whole
catch-up of the same case (what bench.experiment does). Each repeat runs a snapshot pass then
both orders, and the table shows per case the median catch-up first and second, and where
the difference lies (load, restore, fetch, apply):

    python -m bench.perf.case_order /tmp/e/demo --preludes --intervals 10k,100k --runs 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from resource import RUSAGE_SELF, getrusage
from time import process_time

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


def run_values(folder: Path) -> dict[tuple[int, str], dict[int, float]]:
    """(interval, phase) -> repeat -> catchup_s, as the run recorded them."""
    rows = pq.read_table(folder / "samples.parquet").to_pylist()
    values: dict[tuple[int, str], dict[int, float]] = defaultdict(dict)
    for row in rows:
        if row["phase"] in PHASES and row["metric"] == "catchup_s":
            values[(row["interval"], row["phase"])][row["repeat"]] = row["value"]
    return values


def preludes(store_uri: str, args: argparse.Namespace) -> None:
    from bench.catchup_cases import CatchupCase, catchup_cases
    from bench.experiment import Experiment
    from bench.experiment_config import ExperimentConfig
    from bench.projection_loader import load_projection
    from bench.results import SNAPSHOT_PASS
    from bench.units import parse_count
    from stores import open_store

    projection = load_projection(args.projection)
    intervals = tuple(parse_count(part) for part in args.intervals.split(","))
    with open_store(store_uri) as store:
        experiment = Experiment(store, projection, ExperimentConfig(intervals=intervals))
        experiment._reference_digests()

        def tail(case: CatchupCase) -> None:
            for _ in store.read(after=case.snapshot_position, upto=case.head, batch_size=experiment.config.batch_size):
                pass

        def snapshot(case: CatchupCase) -> None:
            info = experiment.snapshots.latest(projection.name, at_or_before=case.head)
            if info is not None:
                experiment.snapshots.load(info)

        def catchup(case: CatchupCase) -> None:
            experiment._catch_up(case)

        every: dict[str, Callable[[CatchupCase], None] | None] = {
            "none": None,
            "tail": tail,
            "snapshot": snapshot,
            "catchup": catchup,
        }
        steps = {name: every[name] for name in args.prelude_names.split(",")}
        # (interval, prelude, case, position) -> per repeat: load, restore, fetch, apply, catch-up seconds
        found: dict[tuple[int, str, str, int], list[tuple[float, ...]]] = defaultdict(list)
        for number in range(args.runs):
            for interval in intervals:
                cases = catchup_cases(interval, experiment.head)
                for name, step in steps.items():
                    for order in (cases, cases[::-1]):
                        state, _ = experiment._snapshot_pass(interval)
                        experiment._verify(interval, SNAPSHOT_PASS, state)  # as a repeat does before its cases
                        for position, case in enumerate(order, 1):
                            if step is not None:
                                step(case)
                            cpu, faults = process_time(), getrusage(RUSAGE_SELF).ru_minflt
                            _, t = experiment._catch_up(case)
                            cpu, faults = process_time() - cpu, getrusage(RUSAGE_SELF).ru_minflt - faults
                            split = (
                                t.load_s,
                                t.restore_s,
                                t.tail.fetch_s,
                                t.tail.apply_s,
                                t.catchup_s,
                                cpu,
                                faults / 1e3,
                            )
                            found[(interval, name, case.name, position)].append(split)
            print(f"repeat {number + 1}/{args.runs}", file=sys.stderr)
        experiment.snapshots.delete(projection.name)
    print(f"{args.projection} on {store_uri}, {args.runs} repeats; medians in ms; first - second split")
    print("cpu: the process's CPU time (all threads) over the catch-up, less disturbed by other processes;")
    print("faults: minor page faults over the catch-up (memory the allocator takes afresh from the OS)")
    header = f"{'interval':>9} {'prelude':<9} {'case':<9} {'first':>7} {'second':>7} {'ratio':>6}"
    print(f"{header}  load restore fetch apply  cpu first second  faults first second")
    for interval in intervals:
        for name in steps:
            for case_name in ("expected", "worst"):
                first, second = (found[(interval, name, case_name, position)] for position in (1, 2))
                medians = [[statistics.median(c) * 1e3 for c in zip(*rows, strict=True)] for rows in (first, second)]
                delta = " ".join(f"{a - b:+.2f}" for a, b in zip(medians[0][:4], medians[1][:4], strict=True))
                ratio = medians[0][4] / medians[1][4]
                row = f"{interval:>9,} {name:<9} {case_name:<9} {medians[0][4]:>7.2f} {medians[1][4]:>7.2f}"
                cpu_ms = f"{medians[0][5]:.2f} {medians[1][5]:.2f}"
                print(f"{row} {ratio:>6.2f}  {delta}  {cpu_ms}  {medians[0][6]:.0f} {medians[1][6]:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store")
    parser.add_argument("--code", type=Path, action="append", help="checkout to run (its PYTHONPATH); repeatable")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--projection", default="balances")
    parser.add_argument("--intervals", default="10k,100k")
    parser.add_argument("--preludes", action="store_true", help="measure the candidate preludes in this process")
    parser.add_argument("--prelude-names", default="none,tail,snapshot,catchup", help="with --preludes: which")
    args = parser.parse_args()
    store = str(Path(args.store).resolve())
    if args.preludes:
        preludes(store, args)
        return
    codes = [code.resolve() for code in args.code or [Path.cwd()]]
    # Per code and (interval, phase): each run's median; per code and interval: worst - expected, per repeat.
    per_run: dict[Path, dict[tuple[int, str], list[float]]] = {code: defaultdict(list) for code in codes}
    paired: dict[Path, dict[int, list[float]]] = {code: defaultdict(list) for code in codes}
    pooled: dict[Path, dict[tuple[int, str], list[float]]] = {code: defaultdict(list) for code in codes}
    with tempfile.TemporaryDirectory(prefix="catchup-order-") as scratch:
        for number in range(args.runs):
            for code in codes:
                values = run_values(run_once(store, code, Path(scratch), args))
                for (interval, phase), by_repeat in values.items():
                    per_run[code][(interval, phase)].append(statistics.median(by_repeat.values()))
                    pooled[code][(interval, phase)] += by_repeat.values()
                    if phase == PHASES[1]:
                        first = values[(interval, PHASES[0])]
                        paired[code][interval] += [by_repeat[r] - first[r] for r in sorted(by_repeat)]
                shown = "  ".join(
                    f"k={k:,} {phase[8:]} {statistics.median(v.values()) * 1e3:.1f}"
                    for (k, phase), v in sorted(values.items())
                )
                print(f"run {number + 1}/{args.runs} {code}: {shown} ms", file=sys.stderr)
    print(f"{args.projection} on {store}, {args.runs} runs each; median over runs of each run's median catchup_s;")
    print("pooled: the median of each case over all repeats of all runs;")
    print("paired: the median over all repeats of worst - expected within a repeat, and the share of repeats >= 0")
    header = f"{'code':<24} {'interval':>9} {'expected ms':>12} {'worst ms':>9} {'worst/expected':>15}"
    print(f"{header} {'pooled e/w ms':>14} {'paired ms':>10} {'share':>6}")
    for code, found in per_run.items():
        for interval in sorted({k for k, _ in found}):
            expected = statistics.median(found[(interval, PHASES[0])])
            worst = statistics.median(found[(interval, PHASES[1])])
            ratio = worst / expected
            diffs = paired[code][interval]
            share = sum(d >= 0 for d in diffs) / len(diffs)
            row = f"{str(code):<24} {interval:>9,} {expected * 1e3:>12.2f} {worst * 1e3:>9.2f} {ratio:>15.2f}"
            both = "/".join(f"{statistics.median(pooled[code][(interval, phase)]) * 1e3:.2f}" for phase in PHASES)
            print(f"{row} {both:>14} {statistics.median(diffs) * 1e3:>+10.2f} {share:>6.0%}")


if __name__ == "__main__":
    main()
