"""How often does ``compare`` cry wolf on this machine, and what slowdown does it catch?

Runs pairs of real catch-up runs in one process over one generated dataset: a baseline
with a projection as it is, then a current with the same projection made slower by a
known fraction (0 for the false-alarm rate), and judges each pair as ``catchup compare``
would. The slowdown is busy work in ``apply`` of ``fraction`` times the apply's own time,
so it scales with the work and is real CPU time, as a slower implementation would be.

    python -m bench.perf.gate --events 200k --pairs 10 --repeats 5 --slowdowns 0,5,10,20,30

Prints one line per slowdown: pairs flagged slower (exit 3), flagged faster, and the
median time ratio of a full replay achieved. Writes its runs to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

import pyarrow as pa

from bench.compare.judge import FASTER, SLOWER, CompareSettings, Side, compare
from bench.experiment_config import ExperimentConfig
from bench.projection_loader import load_projection
from bench.runner import execute_run
from bench.units import parse_count
from generators import LedgerParams, dataset_meta, generate
from projections import Projection
from stores import open_store


def slowed(base: type[Projection], fraction: float) -> type[Projection]:
    """``base`` with ``fraction`` more apply time, spent spinning (same name and version)."""

    def apply(self: Any, batch: pa.RecordBatch) -> None:
        started = perf_counter()
        base.apply(self, batch)
        until = perf_counter() + fraction * (perf_counter() - started)
        while perf_counter() < until:
            pass

    return type(f"{base.__name__}Slowed", (base,), {"apply": apply})


def calibrate(args: argparse.Namespace) -> None:
    base = load_projection(args.projection)
    settings = CompareSettings(threshold=args.threshold / 100)
    config = ExperimentConfig(intervals=args.intervals, repeats=args.repeats, warmup=1)
    with tempfile.TemporaryDirectory(prefix="catchup-gate-") as scratch:
        store_uri = str(Path(scratch) / "ledger")
        params = LedgerParams(events=args.events, accounts=args.accounts, seed=7)
        with open_store(store_uri) as store:
            store.load(generate(params), dataset_meta(params))
        print(
            f"{args.projection}, {args.events:,} events, intervals {args.intervals}, {args.repeats} repeats, "
            f"threshold {args.threshold:g}%, {args.pairs} pairs per slowdown"
        )
        for percent in args.slowdowns:
            current = slowed(base, percent / 100) if percent else base
            slower = faster = 0
            ratios = []
            for pair in range(args.pairs):
                results = Path(scratch) / f"s{percent}-{pair}"
                before = execute_run(store_uri, args.projection, config, label="base", results_dir=results).run
                after = execute_run(store_uri, current, config, label="current", results_dir=results).run
                result = compare(Side("baseline", (before,)), Side("current", (after,)), settings)
                slower += bool(result.with_verdict(SLOWER))
                faster += bool(result.with_verdict(FASTER))
                ratios += [f.slowdown for f in result.findings if f.metric == "replay_s" and f.interval == 0]
                if args.dump:
                    with open(args.dump, "a", encoding="utf-8") as dump:
                        for f in result.findings:
                            row = {"slowdown": percent, "pair": pair, "interval": f.interval, "phase": f.phase}
                            row |= {"metric": f.metric, "baseline": f.stats.baseline, "current": f.stats.current}
                            dump.write(json.dumps(row) + "\n")
                if args.verbose:
                    for f in result.findings:
                        if f.verdict in (SLOWER, FASTER):
                            where = f"k={f.interval} {f.measurement}"
                            print(f"  pair {pair}: {where} {f.slowdown:.3f} p={f.stats.p_value:.3g} {f.verdict}")
            print(
                f"slowdown {percent:>3g}%: flagged slower {slower}/{args.pairs}, flagged faster {faster}/{args.pairs}, "
                f"full replay time ratio median {statistics.median(ratios):.3f} "
                f"(range {min(ratios):.3f}-{max(ratios):.3f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projection", default="balances_per_event")
    parser.add_argument("--events", type=parse_count, default=parse_count("200k"))
    parser.add_argument("--accounts", type=parse_count, default=parse_count("10k"))
    parser.add_argument("--intervals", type=lambda text: tuple(map(parse_count, text.split(","))), default=(0, 20_000))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--threshold", type=float, default=10.0, help="percent")
    parser.add_argument("--slowdowns", type=lambda text: [float(x) for x in text.split(",")], default=[0, 5, 10, 20])
    parser.add_argument("--dump", help="append every comparison's raw values to this JSON-lines file")
    parser.add_argument("--verbose", action="store_true", help="print each pair's slower and faster findings")
    calibrate(parser.parse_args())


if __name__ == "__main__":
    main()
