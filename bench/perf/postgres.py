"""Benchmark: the Postgres store's load and reads against the bare drivers, same rows, one run.

    python -m bench.perf.postgres --events 5M [--pg URL] [--repeats 3] [--tail 100k]

Load, per layout: the events are generated into memory first, then ``store.load`` runs
(checks, jsonb payload encoding, ADBC binary COPY), and its COPY phase is set against the
floor: the same rows' ``COPY events TO STDOUT (FORMAT BINARY)`` bytes, captured once, sent
with psycopg ``COPY ... FROM STDIN (FORMAT BINARY)`` into a fresh table without indexes.
The key build (primary key, (stream_id, stream_version) index, ANALYZE) and the VACUUM
after it are reported apart. A CHECKPOINT precedes every timed load so that one run does
not pay for the WAL of the one before, and the two take turns going first.

Read, per layout: ``store.read()`` (conformed, dictionary-encoded batches) against a bare
ADBC read of the same SELECT (``fetch_record_batch`` on a warm connection, default
options), for the whole log and for a tail. Ratios are baseline seconds / store seconds,
so 1.0 means no overhead. Schemas are dropped at the end, also after a failure.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterable
from functools import partial

import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pyarrow as pa

from bench.perf.timing import median, table
from bench.units import parse_count
from generators import LedgerParams, dataset_meta, generate
from stores.pg_sql import select_range
from stores.postgres import LoadPhases, PostgresStore

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
LAYOUTS = ("typed", "jsonb")
_COPY_CHUNK = 1 << 20


def consume(batches: Iterable[pa.RecordBatch]) -> int:
    return sum(batch.num_rows for batch in batches)


def store_uri(pg: str, layout: str, schema: str) -> str:
    return f"{pg}{'&' if '?' in pg else '?'}layout={layout}&schema={schema}"


class RawCopy:
    """The floor for a load: replaying a table's own binary COPY bytes into a bare copy of it."""

    def __init__(self, conn: psycopg.Connection, schema: str) -> None:
        self.conn = conn
        self.source = f'"{schema}".events'
        self.target = f'"{schema}".raw_copy'
        self.data = b""

    def capture(self) -> None:
        chunks = bytearray()
        with self.conn.cursor().copy(f"COPY {self.source} TO STDOUT (FORMAT BINARY)") as copy:
            for chunk in copy:
                chunks += chunk
        self.data = bytes(chunks)

    def run(self) -> float:
        self.conn.execute(f"DROP TABLE IF EXISTS {self.target}")
        # LIKE copies columns and NOT NULL, not indexes: the same bare table load() writes to.
        self.conn.execute(f"CREATE TABLE {self.target} (LIKE {self.source})")
        checkpoint(self.conn)
        view = memoryview(self.data)
        started = time.perf_counter()
        with self.conn.transaction(), self.conn.cursor().copy(f"COPY {self.target} FROM STDIN (FORMAT BINARY)") as copy:
            for offset in range(0, len(view), _COPY_CHUNK):
                copy.write(view[offset : offset + _COPY_CHUNK])
        seconds = time.perf_counter() - started
        self.conn.execute(f"DROP TABLE {self.target}")
        return seconds


def checkpoint(conn: psycopg.Connection) -> None:
    try:
        conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        pass  # without the right the runs are noisier, not wrong


def bare_read(conn, sql: str) -> int:  # type: ignore[no-untyped-def]
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        return consume(cursor.fetch_record_batch())
    finally:
        cursor.close()


def _read_after(store: PostgresStore, after: int) -> int:
    return consume(store.read(after=after))


def interleaved(actions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each action, the actions taking turns so drift hits all alike."""
    seconds: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            seconds[name].append(time.perf_counter() - started)
    return {name: median(values) for name, values in seconds.items()}


def bench_layout(
    pg: str, layout: str, batches: list[pa.RecordBatch], params: LedgerParams, args: argparse.Namespace
) -> list[list[str]]:
    schema = f"catchup_perf_{layout}_{os.getpid()}"
    meta = dataset_meta(params)
    rows: list[list[str]] = []
    with psycopg.connect(pg, autocommit=True) as conn, PostgresStore(store_uri(pg, layout, schema)) as store:
        try:
            raw = RawCopy(conn, schema)
            phases: list[LoadPhases] = []
            raw_seconds: list[float] = []
            for repeat in range(args.repeats):
                # Alternate who goes first, so neither always inherits the other's dirty pages.
                if repeat % 2:
                    raw_seconds.append(raw.run())
                checkpoint(conn)
                store.load(batches, meta, overwrite=True)
                assert store.last_load is not None
                phases.append(store.last_load)
                if repeat == 0:
                    raw.capture()
                if not repeat % 2:
                    raw_seconds.append(raw.run())
            n = params.events
            copy_s = median([p.copy_s for p in phases])
            raw_s = median(raw_seconds)
            rows.append(row(f"load: COPY phase ({layout})", n, copy_s, raw_s, "raw binary COPY"))
            rows.append(row(f"load: keys + ANALYZE ({layout})", n, median([p.keys_s for p in phases])))
            rows.append(row(f"load: VACUUM ({layout})", n, median([p.vacuum_s for p in phases])))
            total = median([p.copy_s + p.keys_s + p.vacuum_s for p in phases])
            rows.append(row(f"load: total ({layout})", n, total))

            head = store.head()
            reader = adbc.connect(pg, autocommit=True)
            try:
                for name, after in (("full read", 0), (f"tail {args.tail:,}", head - args.tail)):
                    sql = select_range(schema, layout, after, head)
                    expected = head - after
                    assert consume(store.read(after=after)) == bare_read(reader, sql) == expected
                    medians = interleaved(
                        {
                            "store": partial(_read_after, store, after),
                            "bare": partial(bare_read, reader, sql),
                        },
                        args.read_repeats,
                    )
                    rows.append(row(f"{name} ({layout})", expected, medians["store"], medians["bare"], "bare ADBC"))
            finally:
                reader.close()
        finally:
            store.close()
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return rows


def row(name: str, n: int, seconds: float, baseline: float | None = None, against: str = "") -> list[str]:
    cells = [name, f"{n:,}", f"{seconds:.3f}", f"{n / seconds:,.0f}"]
    if baseline is None:
        return cells + ["", "", ""]
    return cells + [against, f"{n / baseline:,.0f}", f"{baseline / seconds:.2f}x"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", default="5M")
    parser.add_argument("--accounts", default="100k")
    parser.add_argument("--pg", default=os.environ.get("CATCHUP_TEST_PG", DEFAULT_PG))
    parser.add_argument("--repeats", type=int, default=3, help="loads per layout")
    parser.add_argument("--read-repeats", type=int, default=7, help="reads per case")
    parser.add_argument("--tail", default="100k")
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    args = parser.parse_args()
    args.tail = parse_count(args.tail)
    events = parse_count(args.events)
    params = LedgerParams(events=events, accounts=min(parse_count(args.accounts), events))
    started = time.perf_counter()
    batches = list(generate(params, batch_size=131_072))
    generated = time.perf_counter() - started
    rows = [row("generate into memory", params.events, generated)]
    for layout in args.layouts.split(","):
        rows += bench_layout(args.pg, layout, batches, params, args)
    with psycopg.connect(args.pg) as conn:
        version = conn.info.parameter_status("server_version")
    print(
        f"Postgres store, {params.events:,} events, PostgreSQL {version}, {os.cpu_count()} cores; "
        f"medians of {args.repeats} loads and {args.read_repeats} reads; ratio = baseline s / store s"
    )
    print(table(["operation", "events", "seconds", "events/s", "baseline", "baseline events/s", "ratio"], rows))


if __name__ == "__main__":
    main()
