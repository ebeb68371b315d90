"""Benchmark: reading a Marten event store, ledger fields extracted on the server or in the client.

    python -m bench.perf.marten_extract --events 200k [--pg URL] [--repeats 3]

A database of the benchmark's own (``catchup_test_marten_perf``, dropped and created
afresh, dropped at the end) gets Marten's tables from tests/marten_schema.sql and the
generated ledger as a Marten application would hold it: uuid streams with the account
number in their low 60 bits, PascalCase payloads (``{"AccountId": ..., "Amount": 120,
"Currency": "EUR"}``), Marten's snake-case type aliases, the correlation id in
``correlation_id``, a hole after every 997 seq_ids. The rows are built on the server from
a staging table (this measures reads, not Marten's append path).

Then, side by side (the order rotating each repeat, so drift falls on every case):

- ``server ->>``: one ADBC read of the ledger columns with the payload fields extracted
  on the server (``(data->>'Amount')::bigint``, the uuid's low bits as the account);
- ``client path_match``: ADBC read of the whole ``data::text`` (and ``stream_id::text``),
  the same fields extracted with polars ``str.json_path_match``;
- ``client json_decode``: the same fetch, decoded with polars ``str.json_decode`` into a
  struct of the payload's fields;
- ``catchup source``: ``read()`` of the source file opened once (``open_store``) with
  the marten preset and the same [columns] (the ledger schema, dictionaries and all):
  what each of a run's reads pays (the opening, counted apart, is paid once a run).

And the envelope (no [columns]) with its ``metadata`` as the preset reads it
(``to_jsonb(row) ->> 'headers'``, NULL-safe when the column is absent) against naming
``headers::text`` and against NULL, to price that safety.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import adbc_driver_postgresql.dbapi as adbc
import polars as pl
import psycopg
import pyarrow as pa

from bench.perf.timing import median, table
from bench.units import parse_count
from generators import LedgerParams, generate
from stores import open_store
from stores.base import EventStore
from stores.foreign import marten

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "catchup_test_marten_perf"
DDL = Path(__file__).resolve().parents[2] / "tests" / "marten_schema.sql"
HOLE_EVERY = 997
ACCOUNT = "('x' || right(replace({}, '-', ''), 15))::bit(60)::bigint"
# A uuid for account n: md5-random high bits, version 4, the account in the low 60 bits.
_UUID = (
    "(substr(md5({n}::text), 1, 8) || '-' || substr(md5({n}::text), 9, 4) || '-4' || substr(md5({n}::text), 14, 3)"
    " || '-9' || substr(lpad(to_hex({n}), 15, '0'), 1, 3) || '-' || substr(lpad(to_hex({n}), 15, '0'), 4, 12))::uuid"
)
_STREAM = ACCOUNT.format("stream_id::text")
_COUNTERPARTY = ACCOUNT.format("data->>'CounterpartyId'")
SERVER_SELECT = (
    f"SELECT seq_id AS position, {_STREAM} AS stream_id, version::integer AS stream_version,"
    " type AS event_type, \"timestamp\" AS occurred_at, coalesce((data->>'Amount')::bigint, 0) AS amount,"
    f" data->>'Currency' AS currency, {_COUNTERPARTY} AS counterparty,"
    " correlation_id::bigint AS correlation_id FROM mt_events WHERE NOT is_archived ORDER BY seq_id"
)
TEXT_SELECT = (
    "SELECT seq_id AS position, stream_id::text AS stream, version::integer AS stream_version, type AS event_type,"
    ' "timestamp" AS occurred_at, data::text AS data, correlation_id'
    " FROM mt_events WHERE NOT is_archived ORDER BY seq_id"
)
ENVELOPE = (
    'SELECT seq_id, stream_id::text, version, type, "timestamp", data::text, {} AS metadata'
    " FROM {} WHERE NOT is_archived ORDER BY seq_id"
)
COLUMNS_TOML = f'''[columns]
stream_id = "{_STREAM}"
event_type = "type"
amount = "coalesce((data->>'Amount')::bigint, 0)"
currency = "data->>'Currency'"
counterparty = "{_COUNTERPARTY}"
correlation_id = "correlation_id::bigint"
'''
PAYLOAD = pl.Struct({"AccountId": pl.String, "Amount": pl.Int64, "Currency": pl.String, "CounterpartyId": pl.String})


def database_url(server: str, database: str) -> str:
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def fill(url: str, params: LedgerParams) -> int:
    """Marten's tables with the generated ledger; returns the number of events."""
    events = pa.Table.from_batches(list(generate(params, batch_size=65_536)))
    staging = events.set_column(3, "event_type", events.column("event_type").cast(pa.string()))
    staging = staging.set_column(6, "currency", staging.column("currency").cast(pa.string()))
    with psycopg.connect(url) as conn:
        conn.execute(DDL.read_text())
        conn.commit()
    with adbc.connect(url) as conn, conn.cursor() as cur:
        cur.adbc_ingest("staging", staging, mode="create")
        conn.commit()
    account = _UUID.format(n="s.stream_id")
    other = _UUID.format(n="s.counterparty")
    pascal = "replace(initcap(replace(s.event_type, '_', ' ')), ' ', '')"
    with psycopg.connect(url) as conn:
        conn.execute(
            'INSERT INTO mt_streams (id, type, version, "timestamp", created) SELECT '
            f"{account}, 'Bank.Accounts.Account', max(s.stream_version), max(s.occurred_at), min(s.occurred_at)"
            " FROM staging s GROUP BY s.stream_id"
        )
        conn.execute(
            'INSERT INTO mt_events (seq_id, id, stream_id, version, data, type, "timestamp", mt_dotnet_type,'
            " correlation_id, headers) SELECT"
            f" s.position + s.position / {HOLE_EVERY}, gen_random_uuid(), {account}, s.stream_version,"
            " CASE WHEN s.event_type = 'account_opened'"
            f" THEN jsonb_build_object('AccountId', {account}, 'Currency', s.currency)"
            " WHEN s.event_type LIKE 'transfer%'"
            f" THEN jsonb_build_object('AccountId', {account}, 'Amount', s.amount, 'Currency', s.currency,"
            f" 'CounterpartyId', {other})"
            f" ELSE jsonb_build_object('AccountId', {account}, 'Amount', s.amount, 'Currency', s.currency) END,"
            f" s.event_type, s.occurred_at, 'Bank.Accounts.' || {pascal} || ', Bank', s.correlation_id::text,"
            " CASE WHEN s.position % 5 = 0 THEN jsonb_build_object('user-name', 'teller-' || s.position % 7) END"
            " FROM staging s ORDER BY s.position"
        )
        conn.execute("DROP TABLE staging")
        conn.execute(
            "SELECT setval('mt_events_sequence', (SELECT max(seq_id) FROM mt_events))"  # as the appends left it
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE mt_events")
    return events.num_rows


def server_side(conn: adbc.Connection) -> Callable[[], int]:
    def read() -> int:
        with conn.cursor() as cur:
            cur.execute(SERVER_SELECT)
            return int(cur.fetch_arrow_table().num_rows)

    return read


def fetch_text(conn: adbc.Connection) -> pl.DataFrame:
    with conn.cursor() as cur:
        cur.execute(TEXT_SELECT)
        frame = pl.from_arrow(cur.fetch_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def _account(column: pl.Expr) -> pl.Expr:
    return column.str.replace_all("-", "", literal=True).str.slice(17).str.to_integer(base=16)


def path_match(conn: adbc.Connection) -> Callable[[], int]:
    def read() -> int:
        frame = fetch_text(conn).with_columns(
            _account(pl.col("stream")).alias("stream_id"),
            pl.col("data").str.json_path_match("$.Amount").cast(pl.Int64).fill_null(0).alias("amount"),
            pl.col("data").str.json_path_match("$.Currency").alias("currency"),
            _account(pl.col("data").str.json_path_match("$.CounterpartyId")).alias("counterparty"),
            pl.col("correlation_id").cast(pl.Int64),
        )
        return frame.drop("data", "stream").height

    return read


def json_decode(conn: adbc.Connection) -> Callable[[], int]:
    def read() -> int:
        frame = fetch_text(conn)
        payload = frame.get_column("data").str.json_decode(PAYLOAD).struct.unnest()
        out = frame.drop("data", "stream").with_columns(
            _account(pl.lit(frame.get_column("stream"))).alias("stream_id"),
            pl.lit(payload.get_column("Amount")).fill_null(0).alias("amount"),
            pl.lit(payload.get_column("Currency")).alias("currency"),
            _account(pl.lit(payload.get_column("CounterpartyId"))).alias("counterparty"),
            pl.col("correlation_id").cast(pl.Int64),
        )
        return out.height

    return read


def catchup_source(source: EventStore) -> Callable[[], int]:
    """Reads of an opened source: a run opens its source once (counting it, hashing its
    ends for the identity) and then reads it many times; the opening is timed apart."""

    def read() -> int:
        return sum(batch.num_rows for batch in source.read())

    return read


def envelope(conn: adbc.Connection, metadata: str, relation: str = "mt_events") -> Callable[[], int]:
    def read() -> int:
        with conn.cursor() as cur:
            cur.execute(ENVELOPE.format(metadata, relation))
            return int(cur.fetch_arrow_table().num_rows)

    return read


def rotated(cases: dict[str, Callable[[], int]], repeats: int, expect: int) -> dict[str, list[float]]:
    """Seconds per case per repeat, each repeat starting one case later than the one before."""
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for index in range(repeats):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            started = time.perf_counter()
            rows = cases[name]()
            seconds[name].append(time.perf_counter() - started)
            if rows != expect:
                raise AssertionError(f"{name} read {rows:,} rows, not {expect:,}")
    return seconds


def report(title: str, seconds: dict[str, list[float]], events: int, baseline: str) -> str:
    base = median(seconds[baseline])
    rows = [
        (
            name,
            " ".join(f"{s:.3f}" for s in values),
            f"{median(values):.3f}",
            f"{events / median(values):,.0f}",
            f"{base / median(values):.2f}x",
        )
        for name, values in seconds.items()
    ]
    header = ("case", "seconds per repeat", "median s", "rows/s", f"vs {baseline}")
    return f"{title}\n{table(header, rows)}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=parse_count, default=200_000)
    parser.add_argument("--accounts", type=parse_count, default=2_000)
    parser.add_argument("--pg", default=DEFAULT_PG, help="a server URI; the benchmark makes its own database there")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--keep", type=Path, metavar="SOURCE.toml", help="leave the database and write a source file for it here"
    )
    args = parser.parse_args(argv)
    params = LedgerParams(events=args.events, accounts=args.accounts, currencies=("EUR", "USD", "GBP"), seed=5)
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    url = database_url(args.pg, DATABASE)
    try:
        started = time.perf_counter()
        events = fill(url, params)
        print(f"filled mt_events with {events:,} events in {time.perf_counter() - started:.1f} s")
        with tempfile.TemporaryDirectory() as folder, adbc.connect(url) as conn:
            toml = Path(folder) / "bank.toml"
            toml.write_text(f'[source]\nuri = "{url}"\npreset = "marten"\n{COLUMNS_TOML}')
            started = time.perf_counter()
            source = open_store(str(toml))
            source.info()
            print(f"catchup opened the source (count, identity sample) in {time.perf_counter() - started:.3f} s")
            ledger = {
                "server ->>": server_side(conn),
                "client path_match": path_match(conn),
                "client json_decode": json_decode(conn),
                "catchup source": catchup_source(source),
            }
            print(report("ledger fields", rotated(ledger, args.repeats, events), events, "server ->>"))
            shapes = {
                "metadata NULL": envelope(conn, "NULL"),
                "headers::text": envelope(conn, "headers::text"),
                "to_jsonb(row)->>'headers'": envelope(conn, "to_jsonb(mt_events) ->> 'headers'"),
                "preset (NATURAL join)": envelope(conn, "headers::text", marten.relation("mt_events")),
            }
            print(report("envelope", rotated(shapes, args.repeats, events), events, "metadata NULL"))
            source.close()
        if args.keep:
            args.keep.write_text(f'[source]\nuri = "{url}"\npreset = "marten"\n{COLUMNS_TOML}')
            print(f"kept {DATABASE}; its source file: {args.keep}")
    finally:
        if not args.keep:
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')


if __name__ == "__main__":
    main()
