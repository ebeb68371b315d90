"""Benchmark: generate N events into Parquet, against a bare pyarrow.parquet.write_table.

    python -m bench.perf.generate --events 10M --accounts 100k --repeats 3

`catchup generate` runs in a child process so its peak RSS is its own; its events/s is
the time it reports for generation + writing (interpreter start-up excluded). The bare
counterpart writes the same events, already in memory, with the same compression and
row-group size, in this process. Both run side by side, so the ratio means something on
a noisy machine even when the absolute rates do not.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.perf.timing import dataset_arguments, median, table, timed
from bench.units import format_memory
from generators import LedgerParams, generate
from stores.parquet_files import ROW_GROUP_ROWS, WRITE_OPTIONS


def run_cli(store: Path, events: int, accounts: int) -> tuple[float, float]:
    """(seconds the CLI reports, peak RSS of the child in bytes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    output = subprocess.run(
        [sys.executable, "-m", "bench.cli", "generate", str(store), "--events", str(events),
         "--accounts", str(accounts), "--overwrite", "--quiet"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds = float(re.search(r" in ([\d.]+) s ", output).group(1))  # type: ignore[union-attr]
    return seconds, max(peak, before) * 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    args = dataset_arguments(__doc__, repeats=3, dir_help="scratch folder (default: a temporary one)")
    events, accounts = args.events, args.accounts
    scratch = Path(args.dir or tempfile.mkdtemp(prefix="catchup-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    store, bare_file = scratch / "store", scratch / "bare.parquet"
    try:
        ours, peaks = [], []
        for _ in range(args.repeats):
            seconds, peak = run_cli(store, events, accounts)
            ours.append(seconds)
            peaks.append(peak)
        store_bytes = sum(f.stat().st_size for f in (store / "events").iterdir())
        events_table = pa.Table.from_batches(list(generate(LedgerParams(events=events, accounts=accounts))))
        bare = timed(
            lambda: pq.write_table(events_table, bare_file, compression="zstd", row_group_size=ROW_GROUP_ROWS),
            args.repeats,
        )
        bare_bytes = bare_file.stat().st_size
        tuned = timed(
            lambda: pq.write_table(
                events_table, bare_file, compression="zstd", row_group_size=ROW_GROUP_ROWS, **WRITE_OPTIONS
            ),
            args.repeats,
        )
        tuned_bytes = bare_file.stat().st_size
    finally:
        if args.dir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    ours_rate, bare_rate, tuned_rate = events / median(ours), events / median(bare), events / median(tuned)
    print(f"generate {events:,} events, {accounts:,} accounts, {args.repeats} repeats (median)")
    print(
        table(
            ["what", "seconds", "events/s", "bytes on disk", "peak RSS"],
            [
                [
                    "catchup generate (generate + write)",
                    f"{median(ours):.2f}",
                    f"{ours_rate:,.0f}",
                    f"{store_bytes:,}",
                    format_memory(max(peaks)),
                ],
                [
                    "bare pq.write_table, pyarrow defaults",
                    f"{median(bare):.2f}",
                    f"{bare_rate:,.0f}",
                    f"{bare_bytes:,}",
                    "-",
                ],
                [
                    "bare pq.write_table, catchup's encodings",
                    f"{median(tuned):.2f}",
                    f"{tuned_rate:,.0f}",
                    f"{tuned_bytes:,}",
                    "-",
                ],
            ],
        )
    )
    print(
        f"ratio catchup / bare write_table: {ours_rate / bare_rate:.2f}x (pyarrow defaults), "
        f"{ours_rate / tuned_rate:.2f}x (same encodings)"
    )
    print(f"raw seconds: catchup {_rounded(ours)}, bare {_rounded(bare)}, bare same encodings {_rounded(tuned)}")


def _rounded(values: list[float]) -> list[float]:
    return [round(v, 3) for v in values]


if __name__ == "__main__":
    main()
