"""Build the foreign sources the per-preset figures are measured on, as each system's users write them.

    python -m bench.perf.foreign_sources --out /tmp/figs [--events 200k] [--pg URL] [--drop]

Generates the seeded ledger (10,000 accounts, fewer for a small --events; seed 11) and writes it, with holes, into a
database of its own per system, through the same writers the tests use (a checkout is
needed: they live in tests/): Message DB from its npm SQL through ``write_message``,
Marten's documented tables, the eventsourcing library's own recorder, and a user's table
(COPY). Writes ``messagedb.toml``, ``marten.toml``, ``eventsourcing.toml`` and
``table.toml`` into ``--out``, each mapped onto the ledger, for ``bench.perf.source_read``
and ``catchup run``. ``--drop`` drops the databases again (named catchup_test_fig_*: ours).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pyarrow as pa

from bench.units import parse_count
from generators import LedgerParams, generate

SYSTEMS = ("messagedb", "marten", "eventsourcing", "table")
TABLE_TOML = """[source]
uri = "{url}"
preset = "table"
table = "account_events"
[envelope]
position = "id"
stream = "account_no::text"
stream_version = "version"
event_type = "kind"
occurred_at = "created_at"
data = "payload::text"
[columns]
stream_id = "account_no"
amount = "(payload->>'amount')::bigint"
currency = "payload->>'currency'"
counterparty = "(payload->>'counterparty')::bigint"
correlation_id = "(payload->>'correlationId')::bigint"
event_type = {{ expr = "kind", values = {{ {values} }} }}
"""


def database(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def fresh(server: str, name: str) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database(server, name)


def build(system: str, server: str, params: LedgerParams, events: pa.Table) -> str:
    """Write ``events`` into ``system``'s own database; the source file's text."""
    name = f"catchup_test_fig_{system}"
    if system == "messagedb":
        from tests import messagedb_server, messagedb_writer

        url = messagedb_server.install(server, name)
        messagedb_writer.write_ledger(url, events, chunk=20_000)
        return messagedb_writer.source_toml(url)
    if system == "marten":
        from tests.marten_writer import create_schema, write_ledger
        from tests.test_source_marten_run import COLUMNS

        url = fresh(server, name)
        with psycopg.connect(url) as conn:
            create_schema(conn)
            write_ledger(conn, events, seed=params.seed)
        return f'[source]\nuri = "{url}"\npreset = "marten"\ntenant = "*DEFAULT*"\n{COLUMNS}'
    if system == "eventsourcing":
        from tests import eventsourcing_writer
        from tests.test_source_eventsourcing import mapping

        fresh(server, name)
        eventsourcing_writer.write_ledger(server, params, dbname=name)
        url = database(server, name)
        return f'[source]\nuri = "{url}"\npreset = "eventsourcing"\napplication = "Bank"\n{mapping("stored")}'
    from tests.foreign_data import PASCAL, PASCAL_VALUES, camel_payload

    url = fresh(server, name)
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE account_events (id bigserial PRIMARY KEY, account_no bigint NOT NULL, version int NOT NULL, "
            "kind text NOT NULL, created_at timestamptz NOT NULL, payload jsonb NOT NULL)"
        )
        with conn.cursor().copy(
            "COPY account_events (account_no, version, kind, created_at, payload) FROM STDIN"
        ) as copy:
            for row in events.to_pylist():
                kind = PASCAL[row["event_type"]]
                copy.write_row((row["stream_id"], row["stream_version"], kind, row["occurred_at"], camel_payload(row)))
    values = ", ".join(f'{theirs} = "{ours}"' for theirs, ours in PASCAL_VALUES.items())
    return TABLE_TOML.format(url=url, values=values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="folder for the source files")
    parser.add_argument("--events", default="200k")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="a server's URI")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--drop", action="store_true", help="drop the databases instead")
    args = parser.parse_args()
    systems = args.systems.split(",")
    if args.drop:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            for system in systems:
                conn.execute(f'DROP DATABASE IF EXISTS "catchup_test_fig_{system}" WITH (FORCE)')
        return
    events_wanted = parse_count(args.events)
    accounts = min(10_000, events_wanted // 20)
    params = LedgerParams(events=events_wanted, accounts=accounts, currencies=("USD", "EUR", "GBP"), seed=11)
    events = pa.Table.from_batches(list(generate(params, batch_size=50_000)))
    args.out.mkdir(parents=True, exist_ok=True)
    for system in systems:
        (args.out / f"{system}.toml").write_text(build(system, args.pg, params, events))
        print(f"{system}: {args.out / f'{system}.toml'}")


if __name__ == "__main__":
    main()
