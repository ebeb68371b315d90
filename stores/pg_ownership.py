"""What a load may replace: only tables catchup made, and events only when told to overwrite.

A table or sequence catchup creates carries a comment starting with MARKER. Stores made
before the marker existed are recognised by their status row: a status table with a row in
it is a catchup store, and its events and snapshots tables (and live sequence) were made by
catchup too. Anything else in the schema is the user's: a load refuses to write beside it.
"""

from __future__ import annotations

import psycopg

from stores.errors import StoreNotEmpty
from stores.foreign.detect import known_event_tables, listed, suggestion
from stores.pg_sql import EVENTS_TABLE, POSITIONS_SEQUENCE, SNAPSHOTS_TABLE, STATUS_TABLE, qualified

MARKER = "created by catchup"
_ROLES = {
    EVENTS_TABLE: "the events",
    SNAPSHOTS_TABLE: "the projection snapshots",
    STATUS_TABLE: "the status row",
}
# How many of the user's relations a message names before saying how many more there are.
_NAMED = 5
# The relations a schema may hold, as a message names them (indexes go with their tables).
_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "S": "sequence", "f": "foreign table"}


def mark(schema: str, table: str) -> str:
    """The statement that marks ``table`` as catchup's (table names and roles are constants)."""
    return (
        f"COMMENT ON TABLE {qualified(schema, table)} IS "
        f"'{MARKER}: {_ROLES[table]} of a catchup event store; catchup generate --overwrite drops it'"
    )


def mark_sequence(schema: str) -> str:
    """The statement that marks live mode's position sequence as catchup's."""
    return (
        f"COMMENT ON SEQUENCE {qualified(schema, POSITIONS_SEQUENCE)} IS "
        f"'{MARKER}: the live positions of a catchup event store'"
    )


def refuse_foreign_tables(conn: psycopg.Connection, schema: str, shown: str) -> None:
    """StoreNotEmpty naming what in ``schema`` catchup did not make: a load writes nothing beside it.

    Every table, view and sequence counts, whatever its name: a schema holding the user's
    own relations is not a store's (the issue's story: a generate into ``message_store``
    next to Message DB's real ``messages``). When one of them is a known system's event
    table, the message names the system and the preset that replays it instead.
    """
    rows = conn.execute(
        "SELECT c.relname, c.relkind, obj_description(c.oid, 'pg_class') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = ANY(%s) "
        "ORDER BY c.relname",
        (schema, list(_KINDS)),
    ).fetchall()
    found = {str(name): (str(kind), str(comment or "")) for name, kind, comment in rows}
    status = found.get(STATUS_TABLE)
    legacy = status is not None and not status[1].startswith(MARKER) and _has_status_row(conn, schema)
    ours = legacy or (status is not None and status[1].startswith(MARKER))
    foreign = [
        (name, kind)
        for name, (kind, comment) in found.items()
        if not comment.startswith(MARKER)
        and not (legacy and name in _ROLES)
        # The live sequence went unmarked before the marker reached it: the store's if the status is.
        and not (ours and name == POSITIONS_SEQUENCE and kind == "S")
    ]
    if not foreign:
        return
    known = known_event_tables(conn, schema)
    if known:
        raise StoreNotEmpty(
            f"schema {schema} of {shown} is not a catchup store: it holds {listed(known)}; "
            f"{suggestion(known)}, or choose a new or empty schema (?schema=NAME) to generate into"
        )
    items = [f"{_KINDS[kind]} {qualified(schema, name)}" for name, kind in foreign]
    if len(items) > _NAMED:
        named = ", ".join(items[:_NAMED]) + f" and {len(items) - _NAMED} more"
    else:
        named = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    their, them = ("its comment does", "it") if len(items) == 1 else ("their comments do", "them")
    raise StoreNotEmpty(
        f"schema {schema} of {shown} is not a catchup store: it holds {named}, not created by catchup "
        f"({their} not start with '{MARKER}'); choose a new or empty schema (?schema=NAME), "
        f"or move or drop {them} yourself"
    )


def _has_status_row(conn: psycopg.Connection, schema: str) -> bool:
    """Whether an unmarked status table holds a catchup status row (a store of an older catchup)."""
    try:
        with conn.transaction():  # a savepoint: a table of other columns must not abort the load's transaction
            status = qualified(schema, STATUS_TABLE)
            row = conn.execute(f"SELECT layout, complete, head FROM {status} LIMIT 1").fetchone()
    except psycopg.errors.UndefinedColumn:
        return False
    return row is not None


def refuse_if_not_empty(conn: psycopg.Connection, schema: str, shown: str) -> None:
    """StoreNotEmpty if ``schema`` holds events or an incomplete load (a load without overwrite)."""
    events = qualified(schema, EVENTS_TABLE)
    row = conn.execute(f"SELECT complete FROM {qualified(schema, STATUS_TABLE)}").fetchone()
    if row is not None and not row[0]:
        raise StoreNotEmpty(f"store {shown} holds an incomplete load; pass --overwrite to replace it")
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (events,)).fetchone()
    if not (found and found[0]):
        return
    # The head as the table holds it (stores.postgres says why), not the status row's record.
    held = conn.execute(f"SELECT max(position) FROM {events}").fetchone()
    if held is None or held[0] is None:
        return
    if row is not None:
        raise StoreNotEmpty(f"store {shown} holds {int(held[0]):,} events; pass --overwrite to replace them")
    raise StoreNotEmpty(
        f"table {events} of {shown} holds rows but no catchup store status; pass --overwrite to replace them"
    )
