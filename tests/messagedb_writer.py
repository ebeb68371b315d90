"""Generated ledger events written into Message DB the way its users write them.

Through Message DB's own ``write_message(id, stream_name, type, data, metadata,
expected_version)``, never by INSERT: one stream per account, ``account-<uuid>`` (category
``account``), PascalCase types (``AccountOpened``, ``Deposited``, ...), camelCase JSON data
(``{"amount": 120, "currency": "EUR", "counterparty": "<uuid>", "transferId": 9, "time":
"..."}``; ``AccountOpened`` carries no amount), the expected version of every write given
as an application doing optimistic concurrency would, and a few ``audit-<uuid>`` messages
of another category.

The account's uuid is a version-4 uuid whose low 60 bits are the ledger's stream_id (the
other bits are seeded noise), so the ledger id is recovered in SQL with
``('x' || right(replace(<uuid text>, '-', ''), 15))::bit(60)::bigint`` (STREAM_ID_SQL).

Holes: after every chunk a transaction writes a few messages and rolls back, and inside
every chunk one write is rolled back to a savepoint (an append that failed and was caught):
both consume ``global_position`` values that no committed message holds, as in a real
Message DB. Chunks are written by one server-side statement over arrays, so 20-30k
events take seconds.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa

from tests.foreign_data import PASCAL

TYPE_NAMES = PASCAL  # account_opened -> AccountOpened, as the other foreign tests spell them
CATEGORY = "account"
AUDIT_CATEGORY = "audit"
_LOW_60 = (1 << 60) - 1

# The [columns] that map these messages back onto the ledger schema (a source file's text).
STREAM_ID_SQL = "('x' || right(replace(stream_name, '-', ''), 15))::bit(60)::bigint"
LEDGER_COLUMNS = f"""[columns]
stream_id = "{STREAM_ID_SQL}"
stream_version = "position + 1"
event_type = {{ expr = "type", values = {{ {", ".join(f'{v} = "{k}"' for k, v in TYPE_NAMES.items())} }} }}
occurred_at = "(data->>'time')::timestamptz"
amount = "coalesce((data->>'amount')::bigint, 0)"
currency = "data->>'currency'"
counterparty = "('x' || right(replace(data->>'counterparty', '-', ''), 15))::bit(60)::bigint"
correlation_id = "(data->>'transferId')::bigint"
"""

_WRITE = """
SELECT array_agg(message_store.write_message(u.id, u.stream, u.type, u.data::jsonb, u.metadata::jsonb, u.expected)
                 ORDER BY u.n)
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[])
     WITH ORDINALITY AS u(id, stream, type, data, metadata, expected, n)
"""


def account_uuid(stream_id: int) -> uuid.UUID:
    """A v4 uuid carrying ``stream_id`` in its low 60 bits; the same for the same id."""
    if not 0 < stream_id <= _LOW_60:
        raise ValueError(f"stream_id {stream_id} does not fit in 60 bits")
    noise = random.Random(stream_id).getrandbits(68)
    return uuid.UUID(int=(noise << 60) | stream_id, version=4)


def stream_name(stream_id: int) -> str:
    return f"{CATEGORY}-{account_uuid(stream_id)}"


def source_toml(
    url: str, *, category: str | None = CATEGORY, mapped: bool = True, snapshots: Path | None = None
) -> str:
    """A source file's text for a database these messages were written into."""
    lines = ["[source]", f'uri = "{url}"', 'preset = "messagedb"']
    if category is not None:
        lines.append(f'category = "{category}"')
    text = "\n".join(lines) + "\n"
    if mapped:
        text += LEDGER_COLUMNS
    if snapshots is not None:
        text += f'[snapshots]\nuri = "{snapshots}"\n'
    return text


@dataclass(frozen=True)
class Written:
    events: int  # ledger events committed, in category 'account'
    audit: int  # messages committed in category 'audit'
    rolled_back: int  # messages written and rolled back: the holes in global_position


def _data(row: dict[str, object]) -> str:
    occurred = row["occurred_at"]
    assert hasattr(occurred, "strftime")
    data: dict[str, object] = {}
    if row["event_type"] != "account_opened":
        data["amount"] = row["amount"]
    data["currency"] = row["currency"]
    if row["counterparty"] is not None:
        data["counterparty"] = str(account_uuid(int(str(row["counterparty"]))))
    if row["correlation_id"] is not None:
        data["transferId"] = row["correlation_id"]
    data["time"] = occurred.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(data, separators=(",", ":"))


def _metadata(row: dict[str, object]) -> str:
    meta: dict[str, object] = {"schemaVersion": "1"}
    if row["correlation_id"] is not None:
        meta["correlationStreamName"] = f"transfer-{uuid.UUID(int=int(str(row['correlation_id'])))}"
    return json.dumps(meta, separators=(",", ":"))


def _arrays(rows: list[dict[str, object]], rng: random.Random) -> list[list[Any]]:
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in rows]
    streams = [stream_name(int(str(r["stream_id"]))) for r in rows]
    types = [TYPE_NAMES[str(r["event_type"])] for r in rows]
    # Message DB counts a stream's positions from 0; the ledger's versions from 1. The
    # version expected before a write is the last one written: -1 for a new stream.
    expected = [int(str(r["stream_version"])) - 2 for r in rows]
    arrays: list[list[Any]] = [ids, streams, types, [_data(r) for r in rows], [_metadata(r) for r in rows]]
    return [*arrays, list(expected)]


def _write(conn: psycopg.Connection, arrays: list[list[Any]]) -> int:
    row = conn.execute(_WRITE, arrays).fetchone()
    assert row is not None and row[0] is not None
    got = list(row[0])
    want = [e + 1 for e in arrays[5]]
    if got != want:
        raise AssertionError("write_message returned other stream positions than the ledger's versions")
    return len(got)


def _audit(conn: psycopg.Connection, rng: random.Random) -> None:
    stream = f"{AUDIT_CATEGORY}-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    conn.execute(
        "SELECT message_store.write_message(%s, %s, 'AuditRecorded', %s::jsonb)",
        (str(uuid.UUID(int=rng.getrandbits(128), version=4)), stream, json.dumps({"note": "nightly check"})),
    )


def _discarded(rng: random.Random) -> list[list[Any]]:
    """A write that will not commit: messages to a stream of its own (versions from -1)."""
    stream = f"{CATEGORY}-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    count = rng.randint(1, 3)
    arrays: list[list[Any]] = [
        [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)],
        [stream] * count,
        ["Deposited"] * count,
        ['{"amount":1,"currency":"USD","time":"2026-01-01T00:00:00Z"}'] * count,
        ["{}"] * count,
        list(range(-1, count - 1)),
    ]
    return arrays


def write_ledger(url: str, events: pa.Table, *, chunk: int = 5_000, seed: int = 1) -> Written:
    """Write ``events`` (EVENT_SCHEMA, in position order) into the Message DB at ``url``."""
    rng = random.Random(seed)
    rows = events.to_pylist()
    written = audit = rolled_back = 0
    with psycopg.connect(url, options="-c search_path=message_store,public") as conn:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            half = len(part) // 2
            with conn.transaction():
                _audit(conn, rng)
                audit += 1
                written += _write(conn, _arrays(part[:half], rng))
                # An append that failed and was caught: its positions are gone for good.
                try:
                    with conn.transaction():
                        discarded = _discarded(rng)
                        _write(conn, discarded)
                        rolled_back += len(discarded[0])
                        raise _Discard
                except _Discard:
                    pass
                written += _write(conn, _arrays(part[half:], rng))
            # A whole transaction rolled back after its writes (a handler that failed later).
            with conn.transaction(force_rollback=True):
                discarded = _discarded(rng)
                _write(conn, discarded)
                rolled_back += len(discarded[0])
    return Written(events=written, audit=audit, rolled_back=rolled_back)


class _Discard(Exception):
    """Raised inside a savepoint to roll it back."""
