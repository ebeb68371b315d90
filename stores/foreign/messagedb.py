"""The ``messagedb`` preset: Message DB's ``message_store.messages``, read as it is.

Message DB (the Eventide project's Postgres event store) keeps every message of every
stream in one table, ``message_store.messages``: ``global_position`` (a bigserial, the
global order), ``stream_name`` (``<category>-<id>``, e.g. ``account-6f1c...``),
``position`` (the version in the stream, counted from 0), ``type``, ``time`` (a
``timestamp without time zone`` holding UTC, written as ``now() AT TIME ZONE 'utc'``),
``data`` and ``metadata`` (jsonb). The envelope maps them one to one; ``time`` is read
``AT TIME ZONE 'UTC'`` so it is the instant Message DB meant.

The gap rule. ``global_position`` comes from a sequence, so it has holes wherever a write
was rolled back (catchup counts events, never positions). And Message DB serialises writes
per category only: ``write_message`` takes a transaction-scoped advisory lock on the hash
of the stream's category, then inserts. Within one category, a message's position is
therefore drawn only after every earlier writer of that category has committed or rolled
back, so a category read (``category = ...``) never sees a later position commit before an
earlier one. Across categories nothing orders the commits: a writer to ``audit`` may commit
position 12 while a writer to ``account`` still holds position 10 uncommitted. A read of
all categories must follow the rule for concurrent commits (read only below the oldest
position a transaction still in flight may hold) or it may skip position 10 for good.
Message DB has no high-water mark table, so this layout gives none: a reader following the
log while it is written must apply that rule (a replay of a log at rest needs none).

``category = "account"`` reads one category the way Message DB's own ``get_category_messages``
does: with the condition ``message_store.category(stream_name) = 'account'``, written with
the very expression of the index ``messages_category (category(stream_name),
global_position, ...)``, so Postgres can serve a category read, and a tail read after a
snapshot, from that index in position order (it does when the category is a small part of
the table; when it is nearly all of it, the planner takes the primary key and filters,
which costs the same). A different spelling of the same condition (``split_part(...)`` or
``LIKE 'account-%'``) would not match the index: a small category would scan the table.

A source file, mapping Message DB's messages onto the ledger schema (``[columns]`` are SQL
over the columns of ``message_store.messages``; in them ``position`` is the stream position
and ``global_position`` the global one; ``data`` is jsonb)::

    [source]
    uri = "postgresql://app@db:5432/message_store"
    preset = "messagedb"
    category = "account"
    [columns]
    # the account number is the low 60 bits of the stream's uuid (or use data->>'accountNumber')
    stream_id = "('x' || right(replace(stream_name, '-', ''), 15))::bit(60)::bigint"
    stream_version = "position + 1"
    occurred_at = "(data->>'time')::timestamptz"
    amount = "coalesce((data->>'amount')::bigint, 0)"   # AccountOpened carries none
    currency = "data->>'currency'"
    [columns.event_type]                                # Message DB's types onto the ledger's
    expr = "type"
    values = { AccountOpened = "account_opened", Deposited = "deposited", Withdrawn = "withdrawn" }

Measured here (PostgreSQL 15, two shared cores, 200k messages, ``python -m
bench.perf.source_read SOURCE.toml``): a full read through catchup runs at 0.99-1.03x a
bare ADBC read of the same query (300-350k rows/s), and catch-up at k = 10k is 19-22x
faster than a full replay. Extracting the payload's fields on the server (``->>``, as the
mapping does) is 1.8-2.1x faster than fetching the whole JSON and running ``json.loads``
per message; ``pyarrow.json``'s vectorised parser comes out even (0.8-1.3x over runs, its
parse running on the other core beside the server's scan), so the reader extracts on the
server, where the mapping is plain SQL.

Without ``[columns]`` projections receive the envelope (stream = ``stream_name``,
event_type = ``type``, data and metadata as JSON text). Options: ``category`` and ``where``
(``schema``, when given, must be ``message_store``: Message DB has no other).
"""

from __future__ import annotations

import re

from stores.errors import InvalidParameter
from stores.foreign.layout import Envelope, PgLayout, Refusal
from stores.foreign.spec import SourceSpec

SCHEMA = "message_store"
TABLE = f"{SCHEMA}.messages"
# Message DB's category is the stream name up to its first '-' ('account' in
# 'account-123', 'account:command' in 'account:command-123'); a category never holds '-'.
# The regex also keeps the value a safe SQL literal: no quote can pass it.
CATEGORY_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_:+.$]{0,199}")
REQUIRED_COLUMNS = ("global_position", "position", "stream_name", "type", "time", "data", "metadata")

# The envelope reads ``time`` as UTC wall-clock time; a ``time`` of another type (a table
# that only looks like Message DB's) would be shifted by the session's time zone, silently.
TIME_IS_UTC = Refusal(
    sql="SELECT coalesce(bool_or(format_type(atttypid, atttypmod) <> 'timestamp without time zone'), false)"
    " FROM pg_attribute WHERE attrelid = to_regclass('message_store.messages') AND attname = 'time'"
    " AND NOT attisdropped",
    message="message_store.messages.time is not a timestamp without time zone, as Message DB's is"
    ' (it holds UTC); this is not Message DB\'s table: read it with preset = "table"',
)

ENVELOPE = Envelope(
    position="global_position",
    stream="stream_name",
    stream_version="position",
    event_type="type",
    occurred_at="(time AT TIME ZONE 'UTC')",
    data="data::text",
    metadata="metadata::text",
)


def category_filter(category: str, source: str = "") -> str:
    """The condition reading one category, spelled as the ``messages_category`` index is."""
    if not CATEGORY_PATTERN.fullmatch(category):
        where = f"{source}: " if source else ""
        raise InvalidParameter(
            f"{where}source.category = {category!r} is not a Message DB category; use the stream name's part"
            " before its first '-' (letters, digits, _ : + . $), e.g. category = \"account\"",
            "category",
        )
    return f"{SCHEMA}.category(stream_name) = '{category}'"


def layout(spec: SourceSpec) -> PgLayout:
    schema = spec.option("schema", SCHEMA)
    if schema != SCHEMA:
        raise InvalidParameter(
            f"{spec.name}: source.schema = {schema!r}, but Message DB's table is always {TABLE}; leave schema out",
            "schema",
        )
    category = spec.option("category")
    filters = () if category is None else (category_filter(category, spec.name),)
    return PgLayout(
        system="messagedb",
        relation=f'"{SCHEMA}"."messages"',
        envelope=ENVELOPE,
        filters=filters,
        high_water_mark=None,
        commits_in_order=category is not None,  # its writers lock the category
        refusals=(TIME_IS_UTC,),
        required_columns=REQUIRED_COLUMNS,
        table=TABLE,
    )
