"""Benchmark: how fast ``catchup live`` catches up, against the replay rate μ it measured, for two checkouts.

    python -m bench.perf.live_catchup --before /work/main --after . --repeats 3 \\
        --parquet /tmp/f/ledger --postgres 'postgresql://127.0.0.1:5432/test?schema=f13'

Each repeat regenerates each store (same seed, same events), then runs, side by side,
``catchup live STORE -p PROJECTION --interval 1M --rate 20k --writers 1 --start-from zero
--max-duration 20`` with each checkout on PYTHONPATH. From each run folder: time to caught
up, the events caught up by then (the position at that sample minus the start), the
effective catch-up rate (events / time) as a share of μ (run.json's live.model.replay_rate),
and measured against the model's predicted time. Medians over the repeats. The run.json is
read as plain JSON so that an older checkout's runs compare too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from bench.perf.timing import table

LIVE_ARGS = ("--interval", "1M", "--rate", "20k", "--writers", "1", "--start-from", "zero")


@dataclass(frozen=True)
class Catchup:
    caught_up_s: float
    events: int
    replay_rate: float
    predicted_s: float
    reads: int | None  # run.json's live.catchup_reads; None for a checkout that does not record it

    @property
    def rate(self) -> float:
        return self.events / self.caught_up_s


def _cli(checkout: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(checkout.resolve())}
    done = subprocess.run([sys.executable, "-m", "bench.cli", *args], env=env, cwd=checkout, capture_output=True)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()[-1:]
        raise SystemExit(f"catchup {args[0]} with {checkout} exited {done.returncode}: {' '.join(last)}")


def run_once(checkout: Path, store: str, projection: str, events: str, out: Path, max_duration: str) -> Catchup:
    # The store is made by the same checkout for both sides, so the events are the same (same seed).
    _cli(checkout, "generate", store, "--events", events, "--overwrite", "-q")
    _cli(checkout, "live", store, "-p", projection, *LIVE_ARGS, "--max-duration", max_duration, "--out", str(out), "-q")
    (folder,) = out.iterdir()  # a fresh folder for each run
    live = json.loads((folder / "run.json").read_text())["live"]
    if not live["caught_up"]:
        raise SystemExit(f"{store} did not catch up within {max_duration} s with {checkout}")
    series = pq.read_table(folder / "timeseries.parquet").to_pydict()
    at = series["t_s"].index(live["caught_up_s"])
    return Catchup(
        live["caught_up_s"],
        series["position"][at] - live["start_position"],
        live["model"]["replay_rate"],
        live["model"]["predicted_caught_up_s"],
        live.get("catchup_reads"),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout without the change")
    parser.add_argument("--after", type=Path, required=True, help="checkout with the change")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--events", default="1M")
    parser.add_argument("--projection", default="balances")
    parser.add_argument("--max-duration", default="20")
    parser.add_argument("--parquet", help="a Parquet store folder to (re)generate")
    parser.add_argument("--postgres", help="a Postgres store URI to (re)generate (typed layout)")
    options = parser.parse_args(argv)
    stores = [s for s in (options.parquet, options.postgres) if s]
    sides = {"before": options.before, "after": options.after}
    results: dict[tuple[str, str], list[Catchup]] = {(s, side): [] for s in stores for side in sides}
    with tempfile.TemporaryDirectory(prefix="live-catchup-") as scratch:
        for repeat in range(options.repeats):
            for number, store in enumerate(stores):
                for side, checkout in sides.items():
                    out = Path(scratch) / f"{side}-{repeat}-{number}"
                    out.mkdir()
                    got = run_once(checkout, store, options.projection, options.events, out, options.max_duration)
                    results[store, side].append(got)
                    print(f"repeat {repeat} {side:6} {store}: {got.caught_up_s:.2f} s", file=sys.stderr)
    rows = []
    for (store, side), runs in results.items():
        med = statistics.median
        reads = [r.reads for r in runs if r.reads is not None]
        rows.append(
            [
                "postgres" if store.startswith("postgres") else "parquet",
                side,
                f"{med(r.caught_up_s for r in runs):.2f} s",
                f"{med(r.events for r in runs):,.0f}",
                f"{med(r.rate for r in runs) / 1e6:.2f}M/s",
                f"{med(r.replay_rate for r in runs) / 1e6:.2f}M/s",
                f"{med(r.rate / r.replay_rate for r in runs):.2f}",
                f"{med(r.predicted_s for r in runs):.2f} s",
                f"{med(r.caught_up_s / r.predicted_s for r in runs):.2f}",
                f"{med(reads):.0f}" if reads else "-",
            ]
        )
    headers = ["store", "code", "caught up", "events", "rate", "mu", "rate/mu", "predicted", "meas/pred", "reads"]
    setup = f"{options.projection}, {options.events} events, {' '.join(LIVE_ARGS)}"
    print(f"medians of {options.repeats} repeats, {setup}")
    print(table(headers, rows))


if __name__ == "__main__":
    main()
