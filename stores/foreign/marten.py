"""The ``marten`` preset: Marten's event store (``mt_events``), read-only.

Marten (the .NET document database and event store on Postgres) keeps every event in one
table, ``<schema>.mt_events``: ``seq_id`` (bigint, the global order, drawn from the
sequence ``mt_events_sequence``), ``stream_id`` (uuid, or varchar with
``StreamIdentity.AsString``), ``version`` (the event's place in its stream, from 1),
``type`` (the event type's alias: the .NET class name in snake case, ``TransferDebited``
-> ``transfer_debited``), ``timestamp``, ``data`` (jsonb, the serialised C# object:
PascalCase names by default, camelCase when the store is configured so), ``tenant_id``
(``*DEFAULT*`` unless the store is multi-tenant), ``is_archived``, and, when enabled,
``correlation_id``, ``causation_id`` and ``headers``.

Options in ``[source]``:

- ``schema``: the schema of ``mt_events`` (Marten's ``Events.DatabaseSchemaName``, which
  Marten lower-cases; default ``public``).
- ``tenant``: read one ``tenant_id``. The default reads every tenant, as Marten's own
  async daemon does: one global ``seq_id`` order across tenants. A store partitioned per
  tenant (``UseTenantPartitionedEvents``: a sequence per tenant, so ``seq_id`` repeats
  across tenants) is refused unless one tenant is named. The envelope's ``stream`` is
  ``stream_id`` alone, so with conjoined tenancy and one stream id in two tenants, read
  one tenant per source file.
- ``include_archived``: also read archived events (``is_archived``); default false, as
  Marten's own queries and projections leave them out.

The gap rule. ``seq_id`` values are taken before the append commits, so the log has holes
(a failed append, a version conflict, a rolled-back session) and, while appends are in
flight, a later seq_id may be committed before an earlier one. Marten's async daemon
keeps the highest ``seq_id`` below which every event is committed or a known hole in the
``HighWaterMark`` row of ``mt_event_progression`` (``HighWaterMark:<tenant>`` under
per-tenant partitioning). catchup reads never pass it: events committed after it are not
"safe" yet and are left for the next read, exactly as the daemon leaves them. Without that
table (no daemon ever ran) or its row, nothing bounds a read: a log at rest reads whole,
but on a log being written an event committed late, below the head, could be missed
(catchup does not follow a foreign log as it is written yet: docs/sources.md). A stale
mark (a daemon stopped long ago) stops reads there too: run the daemon, or name the
events with the ``table`` preset.

Refused at open, with a one-line error: events whose payload is binary (Marten 9's
``bdata`` column, written for event types opted into binary serialisation, with
``'{}'`` in ``data``) among the events the file reads, and a store whose ``data`` is not
jsonb (``UseMemoryPackSerialization``): catchup reads JSON payloads only.

A worked source file, onto the ledger schema, for a store whose accounts are uuid streams
with the account number in the uuid's low 60 bits (tests/marten_writer.py writes them)::

    [source]
    uri = "postgresql://app@db:5432/bank"
    preset = "marten"
    tenant = "*DEFAULT*"
    [columns]
    stream_id = "('x' || right(replace(stream_id::text, '-', ''), 15))::bit(60)::bigint"
    event_type = "type"                       # Marten's aliases: account_opened, deposited, ...
    amount = "coalesce((data->>'Amount')::bigint, 0)"
    currency = "data->>'Currency'"
    counterparty = "('x' || right(replace(data->>'CounterpartyId', '-', ''), 15))::bit(60)::bigint"
    correlation_id = "correlation_id::bigint"

Measured here (bench/perf/marten_extract.py, 200k events, 3 repeats, 2 shared cores):
extracting the ledger fields on the server (``->>`` and casts, as [columns] above) read
0.43-0.66 s against 0.60-1.33 s for fetching ``data::text`` whole and extracting in
polars (``json_decode`` 1.3-2.0x slower, ``json_path_match`` 1.4-1.8x), so [columns] is
SQL; catchup's own read of the source ran at 0.91-0.93x a bare ADBC read of the same
SELECT, and ``catchup run -p balances --intervals 10000`` caught up 27x faster than a
full replay.

Without ``[columns]`` projections receive the envelope: ``seq_id``, ``stream_id::text``,
``version``, ``type``, ``timestamp``, ``data::text`` and ``headers::text`` (NULL when
the store keeps no headers).
"""

from __future__ import annotations

import re

from stores.errors import InvalidParameter
from stores.foreign.layout import Envelope, PgLayout, Refusal
from stores.foreign.spec import SourceSpec

SYSTEM = "marten"
DEFAULT_SCHEMA = "public"
DEFAULT_TENANT = "*DEFAULT*"  # Marten's StorageConstants.DefaultTenantId
HIGH_WATER_MARK = "HighWaterMark"  # ShardState.HighWaterMark: the daemon's row in mt_event_progression
# A schema name as Marten's Events.DatabaseSchemaName takes it: letters, digits, _ and $,
# at most 63 bytes; Marten lower-cases it (EventGraph), and so does the preset.
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")
# Tenant ids are the application's strings; quoted as literals, but control characters
# (a newline in a TOML string) are never a tenant and would only garble the error.
_TENANT = re.compile(r"[^\x00-\x1f\x7f]{1,500}")
REQUIRED_COLUMNS = ("seq_id", "stream_id", "version", "type", "timestamp", "data", "tenant_id", "is_archived")


def layout(spec: SourceSpec) -> PgLayout:
    schema = _schema(spec.option("schema", DEFAULT_SCHEMA))
    tenant = _tenant(spec.option("tenant"))
    include_archived = bool(spec.option("include_archived", False))
    events = f"{quote_ident(schema)}.{quote_ident('mt_events')}"
    filters: list[str] = []
    if tenant is not None:
        filters.append(f"tenant_id = {literal(tenant)}")
    if not include_archived:
        filters.append("NOT is_archived")
    where = spec.option("where")
    return PgLayout(
        system=SYSTEM,
        relation=relation(events),
        envelope=Envelope(
            position="seq_id",
            stream="stream_id::text",
            stream_version="version",
            event_type="type",
            occurred_at='"timestamp"',
            data="data::text",
            metadata="headers::text",
        ),
        filters=tuple(filters),
        high_water_mark=high_water_mark_sql(schema, tenant),
        refusals=(
            _binary_data(schema),
            _binary_payloads(schema, events, (*filters, *([f"({where})"] if where else []))),
            *([] if tenant is not None else [_per_tenant_sequences(schema)]),
        ),
        required_columns=REQUIRED_COLUMNS,
        table=f"{schema}.mt_events",
    )


def high_water_mark_sql(schema: str, tenant: str | None) -> str:
    """SQL giving the daemon's high-water mark, or NULL when mt_event_progression is absent
    or holds no mark.

    The table may not exist (no daemon ever ran): a query naming it would fail at parse
    time, so the read of it is dynamic SQL (``query_to_xml``, which needs no function of
    our own in a database we never write), run only when ``to_regclass`` finds the table.
    With a tenant, its own per-tenant row wins over the store-global one.
    """
    progression = f"{quote_ident(schema)}.{quote_ident('mt_event_progression')}"
    if tenant is None:
        mark = f"max(last_seq_id) FILTER (WHERE name = {literal(HIGH_WATER_MARK)})"
    else:
        own = literal(f"{HIGH_WATER_MARK}:{tenant}")
        mark = (
            f"coalesce(max(last_seq_id) FILTER (WHERE name = {own}),"
            f" max(last_seq_id) FILTER (WHERE name = {literal(HIGH_WATER_MARK)}))"
        )
    inner = f"SELECT {mark} AS v FROM {progression}"
    return (
        f"SELECT CASE WHEN to_regclass({literal(progression)}) IS NULL THEN NULL::bigint"
        f" ELSE {_dynamic_scalar(inner)}::bigint END"
    )


def _binary_data(schema: str) -> Refusal:
    sql = (
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns"
        f" WHERE table_schema = {literal(schema)} AND table_name = 'mt_events'"
        " AND column_name = 'data' AND data_type <> 'jsonb')"
    )
    return Refusal(
        sql,
        f"marten: {schema}.mt_events.data is not jsonb (binary serialisation, UseMemoryPackSerialization);"
        " catchup reads JSON payloads only",
    )


def _binary_payloads(schema: str, events: str, conditions: tuple[str, ...]) -> Refusal:
    """Refuse binary payloads (Marten 9's nullable ``bdata``) among the events read.

    Marten 7 and 8 have no ``bdata`` column, so the check reads it with dynamic SQL only
    when the column exists. It looks at the events the file reads (tenant, archive and
    ``where`` applied), so a user can leave binary event types out with a ``where``.
    There is no index on ``bdata``: a store without binary events pays one sequential
    scan of mt_events when the source is opened (NULLs are read from the row header, the
    payloads are not touched); one with them stops at the first.
    """
    where = " AND ".join(("bdata IS NOT NULL", "octet_length(bdata) > 0", *conditions))
    inner = f"SELECT EXISTS (SELECT 1 FROM {events} WHERE {where}) AS v"
    sql = f"SELECT CASE WHEN {_column_exists(schema, 'bdata')} THEN {_dynamic_scalar(inner)}::boolean ELSE false END"
    return Refusal(
        sql,
        f"marten: events in {schema}.mt_events hold a binary payload (bdata) that catchup cannot read;"
        ' leave their types out with source.where, e.g. where = "bdata IS NULL"',
    )


def _per_tenant_sequences(schema: str) -> Refusal:
    """Under UseTenantPartitionedEvents mt_events is partitioned by tenant_id and every
    tenant draws seq_id from its own sequence: across tenants seq_id is no order at all,
    so a read of every tenant is refused (one tenant reads in its own order)."""
    sql = (
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p"
        " JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = ANY (p.partattrs::int2[])"
        f" WHERE p.partrelid = to_regclass({literal(quote_ident(schema) + '.mt_events')})"
        " AND a.attname = 'tenant_id')"
    )
    return Refusal(
        sql,
        f"marten: {schema}.mt_events is partitioned per tenant (a seq_id sequence per tenant);"
        " name one with source.tenant",
    )


def relation(events: str) -> str:
    """``mt_events`` with a ``headers`` column whether or not the store has one.

    Marten creates ``headers`` only when ``Events.MetadataConfig.HeadersEnabled``, and a
    query naming an absent column fails at parse time. A NATURAL join with a one-row
    ``headers = NULL`` relation gives the table's own column when there is one (the join
    column is the coalesce of both sides, and NULL matches nothing) and NULL when there is
    none (no common column: a join with one row). The planner removes the join, so it
    costs nothing (bench/perf/marten_extract.py), where ``to_jsonb(row)`` cost 2.7x.
    """
    return f"(SELECT NULL::jsonb AS headers) AS no_headers NATURAL RIGHT JOIN {events}"


def _column_exists(schema: str, column: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM information_schema.columns"
        f" WHERE table_schema = {literal(schema)} AND table_name = 'mt_events' AND column_name = {literal(column)})"
    )


def _dynamic_scalar(query: str) -> str:
    """The one value of ``query`` (a column named ``v``), as text or NULL, run as dynamic SQL.

    ``query_to_xml`` runs a query given as text, in the current (read-only) transaction,
    without a function of our own; the value is cut from its XML with a regular expression
    rather than ``xpath`` so a server built without libxml works too. NULL comes out as an
    element with xsi:nil and no text, which the pattern does not match: NULL.
    """
    return f"substring(query_to_xml({literal(query)}, true, false, '')::text FROM '<v>([^<]*)</v>')"


def _schema(value: object) -> str:
    if not isinstance(value, str) or not _SCHEMA_NAME.fullmatch(value):
        raise InvalidParameter(
            f"marten: source.schema = {value!r} is not a schema name; use letters, digits, _ and $ (default public)",
            "schema",
        )
    return value.lower()


def _tenant(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _TENANT.fullmatch(value):
        raise InvalidParameter(
            f"marten: source.tenant = {value!r} is not a tenant id; give the tenant_id as Marten stores it,"
            f" e.g. {DEFAULT_TENANT!r}",
            "tenant",
        )
    return value


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as an SQL string literal, right whatever standard_conforming_strings says:
    with a backslash in it, an E'' literal with the backslash doubled."""
    quoted = text.replace("'", "''")
    if "\\" in text:
        return "E'" + quoted.replace("\\", "\\\\") + "'"
    return "'" + quoted + "'"
