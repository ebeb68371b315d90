"""Benchmark: the fixed cost L of a catch-up (snapshot load + restore) against its bare floor.

    python -m bench.perf.snapshot_load --events 1M [--dir data/bench-1M] [--repeats 21]
    python -m bench.perf.snapshot_load --events 1M --postgres postgresql://postgres@127.0.0.1:5432/test

Per projection (``balances``, ``balances_per_event``, ``statement``), one snapshot is
saved at the head of the store (with ``--others N``, also N snapshots of the empty state
at earlier positions, as a run with a small interval leaves them: ``latest`` must pass
over them); then, side by side in one run, alternating which side
goes first:

* catchup: what ``bench.experiment`` times as a catch-up's load and restore:
  ``snapshots.latest(name, at_or_before=head)`` + ``snapshots.load(info)`` (sidecar or row
  lookup, dataset check, checksum, decode), then ``bench.replay.restore``;
* bare: the same snapshot's bytes read with no checks at all, then the same restore.
  Parquet: ``pq.read_table(snapshot file path)``. Postgres: one binary psycopg query of
  the ``data`` column on a warm connection and ``pq.read_table`` of those bytes.

Load and restore are timed apart on both sides; the ratio is catchup s / bare s (1.00 =
no overhead; the goal for the load + restore total is 1.3x at most). Restore is the same
call on both sides, so its ratio shows the noise of the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from bench.perf.replay import ensure_events
from bench.perf.timing import median, table
from bench.replay import replay, restore
from bench.units import parse_count
from generators import LedgerParams
from projections import BUILTINS, Projection
from stores import EventStore, open_store
from stores.parquet_snapshots import ParquetSnapshotStore
from stores.snapshots import SnapshotInfo, SnapshotStore

PROJECTIONS = ("balances", "balances_per_event", "statement")
Loader = Callable[[], pa.Table]


@dataclass(frozen=True)
class Split:
    load_s: float
    restore_s: float

    @property
    def total_s(self) -> float:
        return self.load_s + self.restore_s


def timed_split(load: Loader, projection: type[Projection]) -> Split:
    started = time.perf_counter()
    state = load()
    loaded = time.perf_counter()
    restore(projection, state)
    return Split(loaded - started, time.perf_counter() - loaded)


def side_by_side(ours: Loader, bare: Loader, projection: type[Projection], repeats: int) -> tuple[Split, Split]:
    """Median splits of each side; the sides take turns going first (see bench.perf.timing)."""
    ours_s: list[Split] = []
    bare_s: list[Split] = []
    for index in range(repeats):
        pair = [(ours, ours_s), (bare, bare_s)]
        for load, into in pair if index % 2 == 0 else reversed(pair):
            into.append(timed_split(load, projection))
    return _median(ours_s), _median(bare_s)


def _median(splits: list[Split]) -> Split:
    return Split(median([s.load_s for s in splits]), median([s.restore_s for s in splits]))


def catchup_loader(snapshots: SnapshotStore, name: str, head: int) -> Loader:
    def load() -> pa.Table:
        info = snapshots.latest(name, at_or_before=head)
        assert info is not None
        return snapshots.load(info)

    return load


def bare_loader(store: EventStore, info: SnapshotInfo) -> Loader:
    snapshots = store.snapshots()
    if isinstance(snapshots, ParquetSnapshotStore):
        path = snapshots.root / info.projection / f"{info.position:020d}.parquet"
        return lambda: pq.read_table(path)
    conn = psycopg.connect(store.target.conninfo, autocommit=True)  # type: ignore[attr-defined]
    sql = f'SELECT data FROM "{store.schema}".snapshots WHERE projection = %s AND position = %s'  # type: ignore[attr-defined]

    def load() -> pa.Table:
        row = conn.execute(sql, (info.projection, info.position), binary=True).fetchone()
        assert row is not None
        return pq.read_table(pa.BufferReader(row[0]))

    return load


def measure(store: EventStore, names: list[str], repeats: int, others: int) -> list[list[str]]:
    head = store.head()
    snapshots = store.snapshots()
    rows = []
    for name in names:
        projection = BUILTINS[name]
        state = projection()
        replay(store, state)
        snapshots.delete(name)
        empty = projection().snapshot()
        for index in range(others):
            snapshots.save(name, (head - 1) * index // max(others, 1), empty)
        info = snapshots.save(name, head, state.snapshot())
        ours, bare = catchup_loader(snapshots, name, head), bare_loader(store, info)
        assert restore(projection, ours()).digest() == restore(projection, bare()).digest() == state.digest()
        mine, floor = side_by_side(ours, bare, projection, repeats)
        snapshots.delete(name)
        size = f"{info.rows:,} rows, {info.size_bytes / 1e6:.2f} MB"
        for part, o, b in (
            ("load", mine.load_s, floor.load_s),
            ("restore", mine.restore_s, floor.restore_s),
            ("load + restore", mine.total_s, floor.total_s),
        ):
            rows.append([name if part == "load" else "", size if part == "load" else "", part,
                         f"{o * 1e3:.2f}", f"{b * 1e3:.2f}", f"{o / b:.2f}x"])  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", default="1M", type=parse_count)
    parser.add_argument("--accounts", default="100k", type=parse_count)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--others", type=int, default=0, help="earlier snapshots beside the one at the head")
    parser.add_argument("--projections", default=",".join(PROJECTIONS), help="comma-separated built-in names")
    parser.add_argument("--dir", type=Path, default=None, help="Parquet store folder, reused when it holds the events")
    parser.add_argument(
        "--postgres", default=None, metavar="URI", help="also a Postgres store (layout=typed&schema=...)"
    )
    args = parser.parse_args()
    names = [n for n in args.projections.split(",") if n]
    params = LedgerParams(events=args.events, accounts=min(args.accounts, args.events))
    scratch = None if args.dir else Path(tempfile.mkdtemp(prefix="catchup-bench-"))
    uris = [str(args.dir or scratch / "store")]  # type: ignore[operator]
    if args.postgres:
        uris.append(args.postgres)
    try:
        for uri in uris:
            with open_store(uri) as store:
                ensure_events(store, params)
                rows = measure(store, names, args.repeats, args.others)
                where = store.backend
            others = f" and {args.others:,} before it" if args.others else ""
            load = f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
            print(f"\nsnapshot load + restore, {where}, {params.events:,} events, one snapshot at the head{others}; "
                  f"medians of {args.repeats}; {load}")  # fmt: skip
            print(table(["projection", "snapshot", "part", "catchup ms", "bare ms", "catchup/bare"], rows))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
