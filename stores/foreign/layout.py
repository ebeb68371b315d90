"""How one system keeps its events in Postgres, as the SQL that reads them: a PgLayout.

Every preset returns one (``stores.foreign.presets``); the reader builds its query from
it and nothing else, so adding a system is adding a layout. Every string here is a SQL
fragment written by catchup or taken from the user's own source file; none is ever
executed outside a read-only transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    refusals: tuple[Refusal, ...] = ()
    # The columns of ``relation`` that must exist, checked at open: a missing one is a
    # one-line SchemaMismatch naming it (rather than a driver error mid-read).
    required_columns: tuple[str, ...] = ()
    # The table that must exist for this layout (schema-qualified, unquoted): a missing
    # one is StoreNotFound naming it and the preset.
    table: str = ""
