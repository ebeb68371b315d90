"""Benchmark: the live model against the measurement, over issue 13's grid, with the CPU split of each run.

    python -m bench.perf.live_model --parquet /tmp/cpu13/ledger --parquet-events 10M \\
        --postgres 'postgresql://127.0.0.1:5432/test?schema=cpu13' --postgres-events 3M

For each store, projection (``balances``, ``balances_per_event``), K (100k, 1M) and rate
(20k, 100k, and 1M: more than the writers reach, so the highest they do), the store is
regenerated (same seed: the same events each time, and the head the writers moved is put
back), then ``catchup live STORE -p P --interval K --rate R --writers 2 --start-from zero
--observe 1``. From zero, as bench.perf.live_catchup does: the whole log is the tail, so
the catch-up lasts seconds, long enough to judge a model to 15%; K still sets how many
snapshots the catch-up takes. One row per run, printed as it ends (stderr) and as a table
at the end: predicted (μ' with the snapshots), corrected (CPU_RULE), measured, their
ratios, the effective catch-up rate (events caught up / time) against μ, the correction and
the catch-up's CPU split in cores, and the projection's CPU-seconds per event in the catch-up
against the setup (near 1: the work per event was the same, so a slower catch-up had less
CPU; above 1: each event cost more CPU, which no share of cores explains), and, read after the
run, the CPU per event of reading the events the writers appended against those generated
(appended_read_cost: on Parquet they sit in small files). ``--jsonl FILE``
keeps each row's figures too. run.json is read as plain JSON. A run at 1M events/s on
Postgres, whose writers reach a tenth of it or less, ends "not a success" (exit 5); its
folder is read all the same: the model is asked about the rate achieved.

``--parquet-events`` and ``--postgres-events`` take a count, or one per projection
(``balances=20M,balances_per_event=5M``): a catch-up of a few seconds for each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bench.perf.timing import table

PROJECTIONS = ("balances", "balances_per_event")
INTERVALS = ("100k", "1M")
RATES = ("20k", "100k", "1M")
HEADERS = [
    "store",
    "projection",
    "K",
    "rate asked",
    "achieved",
    "predicted",
    "corrected",
    "measured",
    "meas/pred",
    "meas/corr",
    "rate/mu",
    "correction",
    "cpu proj/wri/srv/oth (setup proj/srv)",
    "cpu/event vs setup",
    "appended read cost",
]


def _cli(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    done = subprocess.run([sys.executable, "-m", "bench.cli", *args], env=env, capture_output=True)
    if done.returncode not in (0, 5):  # 5: not a success (the rate far short), its folder written all the same
        last = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()[-1:]
        raise SystemExit(f"catchup {args[0]} exited {done.returncode}: {' '.join(last)}")


def run_cell(store: str, events: str, projection: str, interval: str, rate: str, out: Path) -> dict[str, Any]:
    _cli("generate", store, "--events", events, "--overwrite", "-q")
    _cli(
        "live", store, "-p", projection, "--interval", interval, "--rate", rate, "--writers", "2",
        "--start-from", "zero", "--observe", "1", "--max-duration", "90", "--out", str(out), "-q",
    )  # fmt: skip
    (folder,) = out.iterdir()
    live = json.loads((folder / "run.json").read_text())["live"]
    model = live["model"]
    caught = live["caught_up_s"]
    events_by = None
    if caught is not None:
        series = pq.read_table(folder / "timeseries.parquet").to_pydict()
        events_by = series["position"][series["t_s"].index(caught)] - live["start_position"]
    return {
        "store": "postgres" if store.startswith("postgres") else "parquet",
        "projection": projection,
        "interval": interval,
        "rate_requested": live["rate_requested"],
        "rate_achieved": live["rate_achieved"],
        "replay_rate": model["replay_rate"],
        "snapshot_s": model["snapshot_s"],
        "predicted": model["predicted_caught_up_s"],
        "corrected": model["corrected_caught_up_s"],
        "measured": caught,
        "effective_rate": events_by / caught if caught else None,
        "correction": model["correction"],
        "effective_replay_rate": model["effective_replay_rate"],
        "cpu": model["cpu"],
        "setup_events": live["start_head"],
        "events_by_caught_up": events_by,
        "appended_read_cost": appended_read_cost(store, live["start_head"], live["final_head"]),
    }


def appended_read_cost(store_uri: str, start_head: int, final_head: int, batch_size: int = 16_384) -> float | None:
    """CPU-seconds per event reading what the writers appended, against reading the log as generated.

    After the run, in this process, read only (no projection), in the catch-up's batch size:
    on Parquet the writers' events sit in one small file per writer per 100 ms, which the
    setup's μ, measured on the generated files, never read.
    """
    from stores import open_store

    def cost(after: int, upto: int) -> float:
        started = time.process_time()
        events = sum(batch.num_rows for batch in store.read(after, upto, batch_size))
        return (time.process_time() - started) / events if events else 0.0

    if final_head <= start_head:
        return None
    with open_store(store_uri) as store:
        original = min(cost(0, start_head) for _ in range(2))
        appended = min(cost(start_head, final_head) for _ in range(2))
    return appended / original if original > 0 else None


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def row(cell: dict[str, Any]) -> list[str]:
    cpu = cell["cpu"]
    up, setup = cpu["catchup"], cpu["setup"]

    def srv(part: dict[str, Any]) -> str:
        return "-" if part["server"] is None else f"{part['server']:.2f}"

    split = (
        f"{up['projection']:.2f}/{up['writers']:.2f}/{srv(up)}/{up['other']:.2f} "
        f"({setup['projection']:.2f}/{srv(setup)})"
    )
    return [
        cell["store"],
        cell["projection"],
        cell["interval"],
        f"{cell['rate_requested'] / 1e3:,.0f}k",
        f"{cell['rate_achieved'] / 1e3:,.0f}k",
        _s(cell["predicted"]),
        _s(cell["corrected"]),
        _s(cell["measured"]),
        _ratio(cell["measured"], cell["predicted"]),
        _ratio(cell["measured"], cell["corrected"]),
        _ratio(cell["effective_rate"], cell["replay_rate"]),
        cell["correction"],
        split,
        _ratio(_cpu_per_event(up, cell["events_by_caught_up"]), _cpu_per_event(setup, cell["setup_events"])),
        "-" if cell["appended_read_cost"] is None else f"{cell['appended_read_cost']:.2f}",
    ]


def _cpu_per_event(part: dict[str, Any], events: int | None) -> float | None:
    """The projection's CPU-seconds per event over a window: 1.0x between windows means the same work per event."""
    return part["projection"] * part["seconds"] / events if events else None


def _events(spec: str, projection: str) -> str:
    """'10M', or the count given for ``projection`` in 'balances=20M,balances_per_event=5M'."""
    if "=" not in spec:
        return spec
    counts = dict(part.split("=", 1) for part in spec.split(","))
    if projection not in counts:
        raise SystemExit(f"no event count for {projection} in {spec!r}; give one as {projection}=5M")
    return counts[projection]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parquet", help="a Parquet store folder to (re)generate")
    parser.add_argument("--parquet-events", default="10M")
    parser.add_argument("--postgres", help="a Postgres store URI to (re)generate (typed layout)")
    parser.add_argument("--postgres-events", default="3M")
    parser.add_argument("--projections", default=",".join(PROJECTIONS))
    parser.add_argument("--intervals", default=",".join(INTERVALS))
    parser.add_argument("--rates", default=",".join(RATES))
    parser.add_argument("--jsonl", type=Path, help="append each cell's figures here, one JSON object a line")
    options = parser.parse_args(argv)
    stores = [
        (s, n) for s, n in ((options.parquet, options.parquet_events), (options.postgres, options.postgres_events)) if s
    ]
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="live-model-") as scratch:
        for store, events in stores:
            for projection in options.projections.split(","):
                count = _events(events, projection)
                for interval in options.intervals.split(","):
                    for rate in options.rates.split(","):
                        out = Path(scratch) / f"{len(rows)}"
                        out.mkdir()
                        cell = run_cell(store, count, projection, interval, rate, out)
                        rows.append(row(cell))
                        print("  ".join(rows[-1]), file=sys.stderr, flush=True)
                        if options.jsonl:
                            with options.jsonl.open("a") as sink:
                                sink.write(json.dumps({**cell, "events": count}) + "\n")
    print(f"catchup live --writers 2 --start-from zero --observe 1; Parquet {options.parquet_events}, "
          f"Postgres {options.postgres_events} events; one run per cell")  # fmt: skip
    print(table(HEADERS, rows))


if __name__ == "__main__":
    main()
