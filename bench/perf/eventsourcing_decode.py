"""Benchmark: where to parse the eventsourcing library's bytea ``state``, server or client.

    python -m bench.perf.eventsourcing_decode [--events 200k] [--pg URL] [--repeats 3]

The issue measured 125k rows/s parsing ``state`` as JSON on the server against 320k rows/s
fetching it raw; this measures it per preset on this machine. The events are written by
the library itself (``tests.eventsourcing_writer``: a ``Bank`` of ``Account`` aggregates,
its Postgres recorder) into a database of our own, dropped at the end. Every read is one
ADBC query, ``fetch_arrow_table()`` on a warm connection; each pair runs side by side,
alternating which goes first. Rows/s are medians of the repeats.

* ``extract``: the same columns (position, stream, amount, currency, time) either
  extracted on the server (``convert_from(state, 'UTF8')::jsonb #>> '{amount,_data_}'``)
  or fetched as raw bytea and extracted client-side with polars ``json_path_match``;
* ``envelope``: the preset's envelope read (wrappers unwrapped by a regexp, jsonb, text),
  against raw bytea decoded client-side by ``stores.foreign.eventsourcing.decode_batch``;
* ``catchup``: a source file with a [columns] mapping (from ``stored``) opened (once) with
  ``stores.open_store``: its full replay into ``balances`` against a bare ADBC read of the
  SQL its reader sends (same rows, same server-side extraction; the issue's goal >= 0.9x);
* ``mapped``: the ledger columns through the preset's relation, as a [columns] mapping
  reads them (server only: a mapping is SQL, so there is no client-side twin), from the
  unwrapped ``data`` against the as-stored ``stored``, to show what unwrapping costs.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Callable
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from bench.perf.timing import median, timed_side_by_side
from bench.units import parse_count
from generators import LedgerParams
from stores.foreign import eventsourcing as preset

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DBNAME = "catchup_test_eventsourcing_perf"
TABLE = '"public"."bank_events"'

SERVER_EXTRACT = (
    "SELECT notification_id AS position, originator_id::text AS stream, "
    "(j #>> '{amount,_data_}') AS amount, (j ->> 'currency') AS currency, "
    "(j #>> '{timestamp,_data_}')::timestamptz AS occurred_at "
    f"FROM {TABLE} CROSS JOIN LATERAL (SELECT convert_from(state, 'UTF8')::jsonb AS j OFFSET 0) AS d "
    "ORDER BY notification_id"
)
RAW = f"SELECT notification_id AS position, originator_id::text AS stream, state FROM {TABLE} ORDER BY notification_id"
RAW_ENV = (
    "SELECT notification_id AS position, originator_id::text AS stream, originator_version AS stream_version, "
    f"topic AS event_type, NULL::timestamptz AS occurred_at, state AS data, NULL::text AS metadata FROM {TABLE} "
    "ORDER BY notification_id"
)
_MAPPED = (
    "('x' || right(replace(originator_id::text, '-', ''), 15))::bit(60)::bigint AS stream_id, "
    "originator_version AS stream_version, {time} AS occurred_at, "
    "coalesce(({amount})::numeric * 100, 0)::bigint AS amount, {currency} AS currency, type AS event_type"
)


def client_extract(table: pa.Table) -> pl.DataFrame:
    """The SERVER_EXTRACT columns from raw state, in polars."""
    text = pl.col("state").cast(pl.String)
    return pl.from_arrow(table).select(  # type: ignore[union-attr]
        "position",
        "stream",
        text.str.json_path_match("$.amount._data_").alias("amount"),
        text.str.json_path_match("$.currency").alias("currency"),
        text.str.json_path_match("$.timestamp._data_")
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us")
        .alias("occurred_at"),
    )


def envelope_sql() -> str:
    layout = preset.layout(_spec())
    listed = ", ".join(f"({expr}) AS {name}" for name, expr in layout.envelope.expressions().items())
    return f"SELECT {listed} FROM {layout.relation} ORDER BY notification_id"


def mapped_sql(unwrapped: bool) -> str:
    """A [columns] mapping's read through the preset's relation, from ``data`` or from ``stored``."""
    if unwrapped:
        fields = _MAPPED.format(time="e.occurred", amount="data->>'amount'", currency="data->>'currency'")
    else:
        amount, currency = "stored #>> '{amount,_data_}'", "stored->>'currency'"
        fields = _MAPPED.format(time="e.occurred", amount=amount, currency=currency)
    relation = preset.layout(_spec()).relation
    occurred = preset.layout(_spec()).envelope.occurred_at.replace("e.", "")
    return f"SELECT notification_id AS position, {fields.replace('e.occurred', occurred)} FROM {relation} ORDER BY 1"


def _spec() -> Any:
    from pathlib import Path

    from stores.foreign.spec import parse_spec

    source = {"uri": "postgresql://localhost/x", "preset": "eventsourcing", "application": "Bank"}
    return parse_spec({"source": source}, Path("bench.toml"))


_TYPES = {
    "Opened": "account_opened",
    "Deposited": "deposited",
    "Withdrawn": "withdrawn",
    "TransferDebited": "transfer_debited",
    "TransferCredited": "transfer_credited",
    "FxDebited": "fx_debited",
    "FxCredited": "fx_credited",
}
STORED_COLUMNS = f"""[columns]
stream_id = "('x' || right(replace(originator_id::text, '-', ''), 15))::bit(60)::bigint"
amount = "coalesce((stored #>> '{{amount,_data_}}')::numeric * 100, 0)::bigint"
currency = "stored->>'currency'"
event_type = {{ expr = "type", values = {{ {", ".join(f'{k} = "{v}"' for k, v in _TYPES.items())} }} }}
"""


def catchup_pair(url: str, folder: str, stack: contextlib.ExitStack) -> tuple[Callable[[], object], str]:
    """catchup's replay of a mapped source file into balances, and the SQL its reader sends."""
    from pathlib import Path

    from bench.replay import replay
    from projections.balances import Balances
    from stores import open_store
    from stores.foreign.mapping import render, select_list
    from stores.foreign.spec import load_spec

    path = Path(folder) / "bank.toml"
    path.write_text(f'[source]\nuri = "{url}"\npreset = "eventsourcing"\napplication = "Bank"\n{STORED_COLUMNS}')
    spec = load_spec(path)
    layout = preset.layout(spec)
    sql = f"SELECT {render(select_list(layout, spec))} FROM {layout.relation} ORDER BY notification_id"

    # Opened once and measured before the timing: its facts (count, bounds, currencies, a
    # sample) are a full pass of their own, paid once per open, not per replay.
    source = stack.enter_context(open_store(str(path)))
    source.info()

    def ours() -> None:
        replay(source, Balances())

    return ours, sql


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=parse_count, default=200_000)
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"a server URL; the database {DBNAME} is made and dropped")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    # The writer lives with the tests (it is how the tests fill the table too): a checkout is needed.
    import psycopg

    from tests.eventsourcing_writer import database_url, recreate_database, write_ledger

    url = recreate_database(args.pg, DBNAME)
    try:
        params = LedgerParams(events=args.events, accounts=max(10, args.events // 100), seed=11)
        written = write_ledger(args.pg, params, dbname=DBNAME, save_every=5_000)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE bank_events")
        print(f"{written.events:,} events written by the library (highest notification_id {written.highest:,})")
        with contextlib.ExitStack() as stack, adbc.connect(database_url(args.pg, DBNAME)) as conn:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            run(conn, written.events, args.repeats, catchup_pair(database_url(args.pg, DBNAME), folder, stack))
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)')


def run(conn: Any, events: int, repeats: int, catchup: tuple[Callable[[], object], str]) -> None:
    def fetch(sql: str) -> Callable[[], pa.Table]:
        def action() -> pa.Table:
            with conn.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetch_arrow_table()

        return action

    def raw_then(decode: Callable[[pa.Table], object], sql: str = RAW) -> Callable[[], object]:
        return lambda: decode(fetch(sql)())

    def envelope_client(table: pa.Table) -> list[pa.RecordBatch]:
        return [preset.decode_batch(batch, None) for batch in table.to_batches()]

    _check_same(fetch(SERVER_EXTRACT)(), client_extract(fetch(RAW)()))
    pairs = [
        ("extract: server jsonb vs client polars", fetch(SERVER_EXTRACT), raw_then(client_extract)),
        ("envelope: server unwrap vs client decode_batch", fetch(envelope_sql()), raw_then(envelope_client, RAW_ENV)),
        ("catchup: replay balances vs bare ADBC read", catchup[0], fetch(catchup[1])),
        ("mapped: from data vs from stored (server)", fetch(mapped_sql(True)), fetch(mapped_sql(False))),
        ("raw bytea fetch only vs server extract", fetch(RAW), fetch(SERVER_EXTRACT)),
    ]
    print(f"{'case':<50} {'first rows/s':>14} {'second rows/s':>14} {'first/second':>13}")
    for name, first, second in pairs:
        a, b = timed_side_by_side(first, second, repeats)
        ra, rb = events / median(a), events / median(b)
        print(f"{name:<50} {ra:>14,.0f} {rb:>14,.0f} {ra / rb:>12.2f}x")


def _check_same(server: pa.Table, client: pl.DataFrame) -> None:
    """Both paths must give the same values, or the timing compares different work."""
    theirs = client.to_arrow()
    for name in ("position", "amount", "currency"):
        if not pc.all(pc.equal(server.column(name).cast(pa.string()), theirs.column(name).cast(pa.string()))).as_py():
            raise AssertionError(f"server and client extraction differ in {name}")
    if not server.column("occurred_at").cast(pa.int64()).equals(theirs.column("occurred_at").cast(pa.int64())):
        raise AssertionError("server and client extraction differ in occurred_at")


if __name__ == "__main__":
    main()
