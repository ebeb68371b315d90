"""Generated ledger events written into Marten's tables the way a Marten application appends them.

There is no .NET here, so this stands in for ``session.Events.Append(...)`` +
``SaveChangesAsync()`` in Marten's default (rich) append mode: the session takes its
seq_ids first (``select nextval('mt_events_sequence') from generate_series(1, n)``, as
Marten's EventSequenceFetcher does), then in one transaction inserts or bumps each
stream's row in ``mt_streams`` and inserts the events into ``mt_events``. What the events
look like is what Marten would store for C# records such as
``record Deposited(Guid AccountId, long Amount, string Currency)``:

- ``type`` is Marten's alias of the class name (snake case: ``TransferDebited`` ->
  ``transfer_debited``), which happens to be catchup's own event type name;
- ``data`` is the record as System.Text.Json writes it: PascalCase names (Marten's
  default ``Casing.Default``) or camelCase (``Casing.CamelCase``);
- streams are uuids. The ledger's account number sits in the uuid's low 60 bits (the rest
  random, version 4), so SQL maps it back:
  ``('x' || right(replace(stream_id::text, '-', ''), 15))::bit(60)::bigint``; transfers
  name the other account the same way (``CounterpartyId``) and the transfer's
  correlation id goes into Marten's ``correlation_id`` metadata column.

Beside the ledger, so that the preset's filters have something to leave out: events of
another tenant (conjoined tenancy) and of an archived stream, interleaved with the
ledger's, whose uuids map to the same small account numbers (a filter that lets them
through changes the balances). And real holes: sessions that take seq_ids and roll back
(a version conflict, a failed SaveChanges), so the sequence skips.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa

SCHEMA_SQL = Path(__file__).with_name("marten_schema.sql")
DEFAULT_TENANT = "*DEFAULT*"
OTHER_TENANT = "acme-bank"
HIGH_WATER_MARK = "HighWaterMark"
_NAMESPACE = "Bank.Accounts"
_COLUMNS = (
    "seq_id",
    "id",
    "stream_id",
    "version",
    "data",
    "type",
    "timestamp",
    "tenant_id",
    "mt_dotnet_type",
    "correlation_id",
    "causation_id",
    "headers",
    "is_archived",
)


@dataclass
class Written:
    """What the writer put in mt_events, so tests can check reads against it."""

    ledger_seq_ids: list[int] = field(default_factory=list)  # one per generated event, in order
    other_tenant: int = 0  # events of OTHER_TENANT
    archived: int = 0  # events of the archived stream (tenant *DEFAULT*)
    holes: int = 0  # seq_ids taken by sessions that rolled back

    @property
    def highest_seq_id(self) -> int:
        return max(self.ledger_seq_ids)


def pascal(alias: str) -> str:
    """The .NET class name Marten's alias came from: 'transfer_debited' -> 'TransferDebited'."""
    return "".join(part.capitalize() for part in alias.split("_"))


def account_uuid(account: int, salt: str) -> uuid.UUID:
    """A random-looking version 4 uuid whose low 60 bits are ``account`` (reversible in SQL)."""
    high = int.from_bytes(hashlib.blake2b(f"{salt}:{account}".encode(), digest_size=16).digest(), "big")
    return uuid.UUID(int=(high & ~((1 << 60) - 1)) | account, version=4)


def create_schema(conn: psycopg.Connection[Any], schema: str = "public") -> None:
    """Marten's tables (tests/marten_schema.sql) in ``schema``, created if absent."""
    with conn.transaction():
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(f'SET LOCAL search_path TO "{schema}"')
        conn.execute(SCHEMA_SQL.read_text())


def set_high_water_mark(
    conn: psycopg.Connection[Any], seq_id: int, schema: str = "public", name: str = HIGH_WATER_MARK
) -> None:
    """What the async daemon's mt_mark_event_progression does for its HighWaterMark row."""
    conn.execute(
        f'INSERT INTO "{schema}".mt_event_progression (name, last_seq_id, last_updated)'
        " VALUES (%s, %s, transaction_timestamp())"
        " ON CONFLICT (name) DO UPDATE SET last_seq_id = excluded.last_seq_id, last_updated = excluded.last_updated",
        (name, seq_id),
    )
    conn.commit()


class MartenWriter:
    """Appends sessions of events to one Marten schema; ``conn`` is not in autocommit."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str = "public", *, casing: str = "pascal") -> None:
        if casing not in ("pascal", "camel"):
            raise ValueError("casing is 'pascal' or 'camel'")
        self.conn = conn
        self.schema = schema
        self.casing = casing
        self.versions: dict[tuple[str, uuid.UUID], int] = {}

    def name(self, field_name: str) -> str:
        return field_name if self.casing == "pascal" else field_name[0].lower() + field_name[1:]

    def payload(self, alias: str, account: uuid.UUID, amount: int, currency: str, other: uuid.UUID | None) -> str:
        fields: dict[str, Any] = {"AccountId": str(account)}
        if alias == "account_opened":
            fields["Currency"] = currency
        else:
            fields.update(Amount=amount, Currency=currency)
        if alias.startswith("transfer_"):
            fields["CounterpartyId"] = str(other) if other is not None else None
        return json.dumps({self.name(key): value for key, value in fields.items()}, separators=(",", ":"))

    def take(self, n: int) -> list[int]:
        """n seq_ids, as Marten's rich append takes them before inserting."""
        rows = self.conn.execute(
            f"SELECT nextval('\"{self.schema}\".mt_events_sequence') FROM generate_series(1, %s)", (n,)
        ).fetchall()
        return sorted(row[0] for row in rows)

    def fail_session(self, n: int) -> int:
        """A session that takes n seq_ids and rolls back: n holes in the sequence."""
        self.take(n)
        self.conn.rollback()
        return n

    def append(self, events: list[dict[str, Any]], *, tenant: str = DEFAULT_TENANT) -> list[int]:
        """One SaveChanges: events (dicts with stream, alias, data, at, correlation) in order.

        Returns their seq_ids."""
        seq_ids = self.take(len(events))
        streams: dict[uuid.UUID, tuple[int, datetime, datetime]] = {}
        rows = []
        for seq_id, event in zip(seq_ids, events, strict=True):
            stream = event["stream"]
            version = self.versions.get((tenant, stream), 0) + 1
            self.versions[(tenant, stream)] = version
            first = streams.get(stream, (0, event["at"], event["at"]))[1]
            streams[stream] = (version, first, event["at"])
            correlation = event.get("correlation")
            rows.append(
                (
                    seq_id,
                    uuid.UUID(int=random.Random(f"{self.schema}:{tenant}:{seq_id}").getrandbits(128), version=4),
                    stream,
                    version,
                    event["data"],
                    event["alias"],
                    event["at"],
                    tenant,
                    f"{_NAMESPACE}.{pascal(event['alias'])}, Bank",
                    None if correlation is None else str(correlation),
                    None,
                    event.get("headers"),
                    False,
                )
            )
        with self.conn.cursor() as cur:
            cur.executemany(
                f'INSERT INTO "{self.schema}".mt_streams (tenant_id, id, type, version, "timestamp", created)'
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, id) DO UPDATE"
                ' SET version = excluded.version, "timestamp" = excluded."timestamp"',
                [(tenant, s, f"{_NAMESPACE}.Account", v, last, first) for s, (v, first, last) in streams.items()],
            )
            with cur.copy(f'COPY "{self.schema}".mt_events ({", ".join(_COLUMNS)}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        self.conn.commit()
        return seq_ids

    def archive(self, stream: uuid.UUID, tenant: str = DEFAULT_TENANT) -> None:
        """session.Events.ArchiveStream(id): the stream and its events marked archived."""
        for table, key in (("mt_streams", "id"), ("mt_events", "stream_id")):
            self.conn.execute(
                f'UPDATE "{self.schema}".{table} SET is_archived = true WHERE tenant_id = %s AND {key} = %s',
                (tenant, stream),
            )
        self.conn.commit()


def write_ledger(
    conn: psycopg.Connection[Any],
    events: pa.Table,
    *,
    schema: str = "public",
    casing: str = "pascal",
    session_size: int = 400,
    seed: int = 1,
) -> Written:
    """The generated ``events`` appended in sessions of about ``session_size``, with failed
    sessions (holes), another tenant's sessions and an archived stream's between them."""
    rng = random.Random(seed)
    writer = MartenWriter(conn, schema, casing=casing)
    salt = f"{schema}:{seed}"
    written = Written()
    archived_stream = account_uuid(1, salt + ":closed")
    columns = {name: events.column(name).to_pylist() for name in events.column_names}
    total = events.num_rows
    start = 0
    while start < total:
        end = min(total, start + rng.randint(session_size // 2, session_size * 3 // 2))
        session = []
        for i in range(start, end):
            counterparty = columns["counterparty"][i]
            account = account_uuid(columns["stream_id"][i], salt)
            other = None if counterparty is None else account_uuid(counterparty, salt)
            alias = columns["event_type"][i]
            session.append(
                {
                    "stream": account,
                    "alias": alias,
                    "data": writer.payload(alias, account, columns["amount"][i], columns["currency"][i], other),
                    "at": columns["occurred_at"][i],
                    "correlation": columns["correlation_id"][i],
                    "headers": json.dumps({"user-name": f"teller-{i % 7}"}) if i % 5 == 0 else None,
                }
            )
        written.ledger_seq_ids.extend(writer.append(session))
        at = columns["occurred_at"][end - 1]
        if rng.random() < 0.3:
            written.holes += writer.fail_session(rng.randint(1, 40))
        if rng.random() < 0.2:
            written.other_tenant += len(writer.append(_extra(writer, rng, salt + ":acme", at), tenant=OTHER_TENANT))
        if rng.random() < 0.1:
            written.archived += len(writer.append(_extra(writer, rng, salt + ":closed", at, streams=1)))
        start = end
    if written.archived == 0:  # a short ledger may draw none: the filter must still have something to leave out
        written.archived += len(writer.append(_extra(writer, rng, salt + ":closed", at, streams=1)))
    if written.other_tenant == 0:
        written.other_tenant += len(writer.append(_extra(writer, rng, salt + ":acme", at), tenant=OTHER_TENANT))
    if written.holes == 0:
        written.holes += writer.fail_session(3)
    writer.archive(archived_stream)
    return written


def _extra(writer: MartenWriter, rng: random.Random, salt: str, at: datetime, streams: int = 5) -> list[dict[str, Any]]:
    """A few deposits (an account opening first) into streams numbered 1..streams under ``salt``."""
    out: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 12)):
        account = account_uuid(rng.randint(1, streams), salt)
        fresh = not any(stream == account for _, stream in writer.versions) and not any(
            e["stream"] == account for e in out
        )
        alias = "account_opened" if fresh else "deposited"
        data = writer.payload(alias, account, rng.randint(1, 10_000), "EUR", None)
        out.append({"stream": account, "alias": alias, "data": data, "at": at})
    return out
