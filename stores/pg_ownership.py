"""What a load may replace: only tables catchup made, and events only when told to overwrite.

A table catchup creates carries a comment starting with MARKER. Stores made before the
marker existed are recognised by their status row: a status table with a row in it is a
catchup store, and its events and snapshots tables were made by catchup too. Any other
table named like one of catchup's is the user's: a load refuses to touch it.
"""

from __future__ import annotations

import psycopg

from stores.errors import StoreNotEmpty
from stores.pg_sql import EVENTS_TABLE, SNAPSHOTS_TABLE, STATUS_TABLE, qualified

MARKER = "created by catchup"
_ROLES = {
    EVENTS_TABLE: "the events",
    SNAPSHOTS_TABLE: "the projection snapshots",
    STATUS_TABLE: "the status row",
}


def mark(schema: str, table: str) -> str:
    """The statement that marks ``table`` as catchup's (table names and roles are constants)."""
    return (
        f"COMMENT ON TABLE {qualified(schema, table)} IS "
        f"'{MARKER}: {_ROLES[table]} of a catchup event store; catchup generate --overwrite drops it'"
    )


def refuse_foreign_tables(conn: psycopg.Connection, schema: str, shown: str) -> None:
    """StoreNotEmpty naming the first table of catchup's names in ``schema`` that catchup did not make."""
    found = {
        str(name): str(comment or "")
        for name, comment in conn.execute(
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s)",
            (schema, list(_ROLES)),
        ).fetchall()
    }
    legacy = STATUS_TABLE in found and not found[STATUS_TABLE].startswith(MARKER) and _has_status_row(conn, schema)
    for table in (STATUS_TABLE, EVENTS_TABLE, SNAPSHOTS_TABLE):
        if table in found and not found[table].startswith(MARKER) and not legacy:
            raise StoreNotEmpty(
                f"table {qualified(schema, table)} of {shown} was not created by catchup (its comment does not "
                f"start with '{MARKER}'), so catchup will not drop or change it; "
                "use another schema (?schema=NAME), or rename or drop the table yourself"
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
