"""How one system keeps its events in Postgres, as the SQL that reads them: a PgLayout.

Every preset returns one (``stores.foreign.presets``); the reader builds its query from
it and nothing else, so adding a system is adding a layout. Every string here is a SQL
fragment written by catchup or taken from the user's own source file; none is ever
executed outside a read-only transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from stores.schema import ENVELOPE_FIELDS


@dataclass(frozen=True)
class Envelope:
    """SQL expressions over the layout's relation, one per envelope field.

    ``position`` must be a plain indexed column (the reader filters and orders by it, and
    an index must serve a tail read); ``stream`` and ``event_type`` give text;
    ``stream_version`` an integer (as the system counts it: Message DB from 0, Marten and
    eventsourcing from 1); ``occurred_at`` a timestamptz; ``data`` and ``metadata`` JSON
    text (``'NULL'`` when the system keeps none).
    """

    position: str
    stream: str
    stream_version: str
    event_type: str
    occurred_at: str
    data: str
    metadata: str = "NULL"

    def expressions(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in ENVELOPE_FIELDS}


@dataclass(frozen=True)
class Refusal:
    """A condition under which the source cannot be read faithfully, checked when it is opened.

    ``sql`` returns one row with one boolean: true means refuse, with ``message`` (one line,
    saying what is wrong and what to do) as the error.
    """

    sql: str
    message: str


@dataclass(frozen=True)
class PgLayout:
    system: str  # 'messagedb', 'marten', 'eventsourcing', 'table': shown in info and part of the identity
    relation: str  # a FROM item: '"message_store"."messages"', or '(SELECT ...) AS e'
    envelope: Envelope
    # SQL conditions always applied, ANDed (a category, a tenant, 'NOT is_archived').
    filters: tuple[str, ...] = ()
    # SQL returning one bigint: the highest position a reader may read now (Marten's
    # high-water mark), or None: then only the rule for concurrent commits applies.
    high_water_mark: str | None = None
    # True where the system commits the events this layout reads in position order (Message
    # DB within one category: its writers lock the category): a reader following the log
    # then needs no rule for concurrent commits.
    commits_in_order: bool = False
    refusals: tuple[Refusal, ...] = ()
    # The columns of ``relation`` that must exist, checked at open: a missing one is a
    # one-line SchemaMismatch naming it (rather than a driver error mid-read).
    required_columns: tuple[str, ...] = ()
    # A step run on each batch the server returns, before it is fitted to the envelope: for
    # a payload decoded faster on the client, or that only the client can decode (a
    # compressed state). The envelope's ``data`` is then selected as the server keeps it.
    client_decode: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None
    # The table that must exist for this layout (schema-qualified, unquoted): a missing
    # one is StoreNotFound naming it and the preset.
    table: str = ""
