"""SQL and table shapes of the Postgres event store, in both layouts.

Identifiers are validated (``stores.pg_target``) and always double-quoted, and the only
values formatted into SQL are Python ints, so no statement here is built from raw input.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from stores.schema import EVENT_SCHEMA

LAYOUTS: tuple[str, ...] = ("typed", "jsonb")
EVENTS_TABLE = "events"
STATUS_TABLE = "catchup_store"
SNAPSHOTS_TABLE = "snapshots"
# Live mode's position sequence (stores.pg_live).
POSITIONS_SEQUENCE = "event_positions"
PKEY = "events_pkey"
STREAM_KEY = "events_stream_version_key"

_ENVELOPE: tuple[tuple[str, str, bool], ...] = (
    ("position", "bigint", True),
    ("stream_id", "bigint", True),
    ("stream_version", "integer", True),
    ("event_type", "text", True),
    ("occurred_at", "timestamp with time zone", True),
)
# (name, type as format_type() spells it, NOT NULL)
COLUMNS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "typed": _ENVELOPE
    + (
        ("amount", "bigint", True),
        ("currency", "text", True),
        ("counterparty", "bigint", False),
        ("correlation_id", "bigint", False),
    ),
    # As Marten and Message DB keep it: an envelope of columns plus the payload as jsonb.
    "jsonb": _ENVELOPE + (("data", "jsonb", True),),
}

# The payload is extracted server-side with ->>: 1.5M rows/s end to end on 2 cores, where
# jsonb_to_record managed 0.9M rows/s and decoding the JSON text client-side cost another
# 1.9 s per 5M rows (polars json_decode; pyarrow.json 3.9 s) on top of the fetch.
_SELECT: dict[str, str] = {
    "typed": ", ".join(name for name, _, _ in COLUMNS["typed"]),
    "jsonb": ", ".join(name for name, _, _ in _ENVELOPE)
    + ", (data->>'amount')::bigint AS amount, data->>'currency' AS currency"
    ", (data->>'counterparty')::bigint AS counterparty"
    ", (data->>'correlation_id')::bigint AS correlation_id",
}

JSON_TYPE = pa.json_(pa.string())
INGEST_SCHEMA: dict[str, pa.Schema] = {
    "typed": EVENT_SCHEMA,
    # ADBC writes the arrow.json extension type as jsonb in binary COPY; a plain string
    # column into jsonb fails ("unsupported jsonb version number").
    "jsonb": pa.schema(list(EVENT_SCHEMA)[:5] + [pa.field("data", JSON_TYPE, nullable=False)]),
}


def qualified(schema: str, table: str) -> str:
    return f'"{schema}"."{table}"'


def create_events(schema: str, layout: str) -> str:
    """The events table without any index: keys are built after a bulk load."""
    columns = ", ".join(f"{name} {type_}{' NOT NULL' if not_null else ''}" for name, type_, not_null in COLUMNS[layout])
    return f"CREATE TABLE {qualified(schema, EVENTS_TABLE)} ({columns})"


def create_status(schema: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {qualified(schema, STATUS_TABLE)} ("
        "one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row), "
        "layout text NOT NULL, complete boolean NOT NULL, head bigint NOT NULL, "
        "fingerprint jsonb, currencies text[] NOT NULL, schema_version integer NOT NULL, "
        "updated_at timestamptz NOT NULL DEFAULT now())"
    )


def create_snapshots(schema: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {qualified(schema, SNAPSHOTS_TABLE)} ("
        "projection text NOT NULL, position bigint NOT NULL, rows bigint NOT NULL, "
        "size_bytes bigint NOT NULL, checksum text NOT NULL, dataset text NOT NULL, "
        "created_at timestamptz NOT NULL, data bytea NOT NULL, PRIMARY KEY (projection, position))"
    )


_SNAPSHOT_INFO = "projection, position, rows, size_bytes, checksum, dataset, created_at"


def snapshot_statements(schema: str) -> dict[str, str]:
    """The statements of the snapshot store; values are bound (``%b``: bytea sent in binary)."""
    table = qualified(schema, SNAPSHOTS_TABLE)
    return {
        "save": f"INSERT INTO {table} ({_SNAPSHOT_INFO}, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %b) "
        "ON CONFLICT (projection, position) DO UPDATE SET rows = excluded.rows, "
        "size_bytes = excluded.size_bytes, checksum = excluded.checksum, dataset = excluded.dataset, "
        "created_at = excluded.created_at, data = excluded.data",
        # Without the data column: the planner reads the newest entry of the primary key.
        "latest": f"SELECT {_SNAPSHOT_INFO} FROM {table} WHERE projection = %s AND position <= %s "
        "ORDER BY position DESC LIMIT 1",
        "list": f"SELECT {_SNAPSHOT_INFO} FROM {table} WHERE projection = %s ORDER BY position",
        "data": f"SELECT data FROM {table} WHERE projection = %s AND position = %s",
        "delete": f"DELETE FROM {table} WHERE projection = %s",
    }


def build_keys(schema: str) -> list[str]:
    events = qualified(schema, EVENTS_TABLE)
    return [
        f"ALTER TABLE {events} ADD CONSTRAINT {PKEY} PRIMARY KEY (position)",
        f"CREATE UNIQUE INDEX {STREAM_KEY} ON {events} (stream_id, stream_version)",
        f"ANALYZE {events}",
    ]


def select_range(schema: str, layout: str, after: int, upto: int) -> str:
    # Integers are formatted in, not bound: ADBC's bind-parameter path is slow, and a
    # literal range lets the planner pick the primary-key range scan from the statistics.
    return (
        f"SELECT {_SELECT[layout]} FROM {qualified(schema, EVENTS_TABLE)} "
        f"WHERE position > {int(after)} AND position <= {int(upto)} ORDER BY position"
    )


def column_differences(layout: str, actual: list[tuple[str, str]]) -> list[str]:
    """What keeps ``actual`` (name, type) columns from being an events table of ``layout``.

    Extra columns are tolerated: reads name their columns and COPY lists them.
    """
    found = dict(actual)
    problems = []
    for name, type_, _ in COLUMNS[layout]:
        if name not in found:
            problems.append(f"column {name} ({type_}) is missing")
        elif found[name] != type_:
            problems.append(f"column {name} is {found[name]}, expected {type_}")
    return problems


def encode_jsonb(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A conformed batch as envelope columns plus the payload as JSON text, vectorised.

    The currency dictionary holds a handful of entries, so each is JSON-escaped once in
    Python and gathered by index; everything per row is an Arrow kernel (about 9M rows/s,
    against under 1M rows/s for the server to parse the jsonb it produces).
    """
    currency = batch.column(6)
    quoted = pa.array([json.dumps(code) for code in currency.dictionary.to_pylist()], pa.string())
    middle = pc.binary_join_element_wise(',"currency":', quoted, ',"counterparty":', "")
    text = pc.binary_join_element_wise(
        '{"amount":',
        pc.cast(batch.column(5), pa.string()),
        middle.take(currency.indices),
        _json_int(batch.column(7)),
        ',"correlation_id":',
        _json_int(batch.column(8)),
        "}",
        "",
    )
    data = pa.ExtensionArray.from_storage(JSON_TYPE, text)
    return pa.RecordBatch.from_arrays(batch.columns[:5] + [data], schema=INGEST_SCHEMA["jsonb"])


def _json_int(column: pa.Array) -> pa.Array:
    return pc.fill_null(pc.cast(column, pa.string()), "null")
