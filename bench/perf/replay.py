"""Benchmark: the runner's replay against its bare counterparts, same events, one run.

    python -m bench.perf.replay --events 10M [--dir data/bench-10M] [--repeats 5]
    python -m bench.perf.replay --backend postgres --events 5M [--pg URL]

Measured side by side, the two sides taking turns going first (ratio = bare s / ours s,
so 1.0 means no overhead):

* fetch only: ``bench.replay.replay`` into a projection whose ``apply`` does nothing,
  against a bare read of the same events (Parquet: ``pq.ParquetFile.iter_batches`` over
  every file; Postgres: ADBC ``fetch_record_batch`` of the store's own SELECT);
* ``balances`` full replay from the store: events/s, split into fetch and apply;
* ``balances_per_event`` against a bare Python loop doing the same dictionary updates
  over the same in-memory batches, with the same column extraction
  (projections.columns): the difference is the per-event dispatch the base class adds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from bench.generate import generate_into
from bench.perf.parquet_read import bare_full, consume
from bench.perf.timing import median, table, timed_side_by_side
from bench.replay import ReplayClock, replay
from bench.units import parse_count
from generators import LedgerParams, fingerprint
from projections import Balances, BalancesPerEvent, Projection
from projections.balances import SIGN
from projections.columns import python_columns
from stores import EventStore, open_store

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test?layout=typed&schema=catchup_bench"


class Discard(Projection):
    """Applies nothing: a replay into it measures the fetch side alone."""

    name = "discard"

    def apply(self, batch: pa.RecordBatch) -> None:
        pass

    def snapshot(self) -> pa.Table:
        return pa.table({})

    @classmethod
    def restore(cls, table: pa.Table) -> Discard:
        return cls()


def bare_loop(batches: list[pa.RecordBatch]) -> dict[tuple[int, str], int]:
    """What BalancesPerEvent.handle does, written inline as a plain loop."""
    balances: dict[tuple[int, str], int] = {}
    sign = SIGN
    for batch in batches:
        streams, kinds, amounts, currencies = python_columns(batch, BalancesPerEvent.fields)
        for stream, kind, amount, currency in zip(streams, kinds, amounts, currencies, strict=True):
            key = (stream, currency)
            balances[key] = balances.get(key, 0) + sign[kind] * amount
    return balances


def per_event(batches: list[pa.RecordBatch]) -> BalancesPerEvent:
    projection = BalancesPerEvent()
    for batch in batches:
        projection.apply(batch)
    return projection


def ensure_events(store: EventStore, params: LedgerParams) -> None:
    info = store.info()
    if not (info.complete and (info.fingerprint or {}).get("id") == fingerprint(params)["id"]):
        print(f"generating {params.events:,} events into {info.uri}", flush=True)
        generate_into(store, params, overwrite=info.exists)


def bare_reader(store: EventStore, args: argparse.Namespace) -> Callable[[], int]:
    if store.backend == "parquet":
        files = sorted((Path(store.info().details["path"]) / "events").iterdir())
        return lambda: bare_full(files)
    import adbc_driver_postgresql.dbapi as adbc

    from bench.perf.postgres import bare_read
    from stores.pg_sql import select_range

    conn = adbc.connect(store.target.conninfo, autocommit=True)  # type: ignore[attr-defined]
    sql = select_range(store.schema, store.layout, 0, store.head())  # type: ignore[attr-defined]
    return lambda: bare_read(conn, sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("parquet", "postgres"), default="parquet")
    parser.add_argument("--events", default=None, type=parse_count, help="default 10M (Parquet), 5M (Postgres)")
    parser.add_argument("--accounts", default="100k", type=parse_count)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--per-event-events", default="2M", type=parse_count, help="events for the per-event part")
    parser.add_argument("--dir", type=Path, default=None, help="Parquet store folder, reused when it holds the events")
    parser.add_argument("--pg", default=DEFAULT_PG, help="Postgres store URI, reused when it holds the events")
    args = parser.parse_args()
    events = args.events or (10_000_000 if args.backend == "parquet" else 5_000_000)
    params = LedgerParams(events=events, accounts=min(args.accounts, events))
    scratch = None
    if args.backend == "parquet":
        scratch = None if args.dir else Path(tempfile.mkdtemp(prefix="catchup-bench-"))
        uri = str(args.dir or scratch / "store")  # type: ignore[operator]
    else:
        uri = args.pg
    try:
        with open_store(uri) as store:
            ensure_events(store, params)
            rows = measure(store, args)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"replay from {args.backend}, {events:,} events, {os.cpu_count()} cores; medians of {args.repeats}")
    print(table(["measure", "events", "ours s", "ours events/s", "bare s", "bare events/s", "bare/ours"], rows))


def measure(store: EventStore, args: argparse.Namespace) -> list[list[str]]:
    head = store.head()
    rows = []
    bare = bare_reader(store, args)
    assert consume(store.read()) == bare() == head
    ours_s, bare_s = timed_side_by_side(lambda: replay(store, Discard()), bare, args.repeats)
    rows.append(_row("fetch only (replay into a no-op)", head, median(ours_s), median(bare_s)))

    clocks: list[ReplayClock] = []
    for _ in range(args.repeats):
        clocks.append(replay(store, Balances()))
    replay_s = median([c.replay_s for c in clocks])
    rows.append(_row("balances full replay", head, replay_s))
    rows.append(_row("  of which fetch", head, median([c.fetch_s for c in clocks])))
    rows.append(_row("  of which apply", head, median([c.apply_s for c in clocks])))

    batches = list(store.read(upto=min(head, args.per_event_events)))
    count = sum(b.num_rows for b in batches)
    assert per_event(batches).balances == bare_loop(batches)
    ours_s, bare_s = timed_side_by_side(lambda: per_event(batches), lambda: bare_loop(batches), args.repeats)
    rows.append(_row("balances_per_event apply vs bare loop", count, median(ours_s), median(bare_s)))
    return rows


def _row(name: str, events: int, ours: float, bare: float | None = None) -> list[str]:
    cells = [name, f"{events:,}", f"{ours:.3f}", f"{events / ours:,.0f}"]
    if bare is None:
        return cells + ["", "", ""]
    return cells + [f"{bare:.3f}", f"{events / bare:,.0f}", f"{bare / ours:.2f}x"]


if __name__ == "__main__":
    main()
