"""Recognising another system's event tables in a database, stated once for every caller.

catchup suggests a preset instead of "create one with: catchup generate" when a database
holds the events of a system it knows, and ``catchup generate`` names the system when it
refuses a schema holding them (stores.pg_ownership). Both ask ``known_event_tables``.

The signs, by table name and columns only (never the rows: the look-up must stay cheap on
a production database of millions of events, and needs no right to read the tables):

* Message DB: ``message_store.messages`` with a ``global_position`` column;
* Marten: a table ``mt_events`` with a ``seq_id`` column, in any schema;
* the eventsourcing library: a table ``<name>_events`` with the columns of its
  application recorder (notification_id, originator_id, originator_version, topic,
  state), in any schema.

Row counts are the planner's estimate (``pg_class.reltuples``, kept by VACUUM and
ANALYZE), or the statistics collector's live-row count for a table never analysed:
"about" in every message, since neither is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

# preset -> how a message names the system ("Message DB's message_store.messages").
SYSTEMS = {
    "messagedb": "Message DB",
    "marten": "Marten",
    "eventsourcing": "the eventsourcing library",
}
_EVENTSOURCING_COLUMNS = ("notification_id", "originator_id", "originator_version", "topic", "state")

# One catalog query for all three systems. Tables, partitioned tables, views, materialised
# views and foreign tables count: a user may keep the log behind any of them.
_FIND = """
SELECT kind, n.nspname, c.relname,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint ELSE s.n_live_tup END
FROM (
    SELECT 'messagedb' AS kind, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'message_store' AND c.relname = 'messages' AND c.relkind IN ('r','p','v','m','f')
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'global_position'
                  AND NOT a.attisdropped)
    UNION ALL
    SELECT 'marten', c.oid FROM pg_class c
    WHERE c.relname = 'mt_events' AND c.relkind IN ('r','p','v','m','f')
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'seq_id'
                  AND NOT a.attisdropped)
    UNION ALL
    SELECT 'eventsourcing', c.oid FROM pg_class c
    WHERE c.relname LIKE '%%\\_events' AND c.relkind IN ('r','p','v','m','f')
      AND (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped
           AND a.attname = ANY(%(eventsourcing)s)) = %(eventsourcing_count)s
) AS found
JOIN pg_class c ON c.oid = found.oid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%%'
  AND (%(schema)s::text IS NULL OR n.nspname = %(schema)s::text)
ORDER BY array_position(%(order)s, kind), n.nspname, c.relname
"""


@dataclass(frozen=True)
class Found:
    """One known system's event table: which preset reads it, where, and about how many rows."""

    preset: str  # 'messagedb', 'marten', 'eventsourcing'
    schema: str
    table: str
    rows: int | None  # the estimate; None when the server keeps none (a view)

    @property
    def system(self) -> str:
        return SYSTEMS[self.preset]

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"

    def describe(self) -> str:
        """'Message DB's message_store.messages (about 200,000 rows)'."""
        return f"{self.system}'s {self.relation} ({about_rows(self.rows)})"


def known_event_tables(conn: psycopg.Connection, schema: str | None = None) -> list[Found]:
    """The known systems' event tables in the database (in ``schema`` only, when given).

    Catalog reads only: nothing is locked, written or scanned. In the order of SYSTEMS,
    then by schema and table name.
    """
    rows = conn.execute(
        _FIND,
        {
            "eventsourcing": list(_EVENTSOURCING_COLUMNS),
            "eventsourcing_count": len(_EVENTSOURCING_COLUMNS),
            "schema": schema,
            "order": list(SYSTEMS),
        },
    ).fetchall()
    return [
        Found(str(kind), str(nsp), str(rel), None if rows_ is None else int(rows_)) for kind, nsp, rel, rows_ in rows
    ]


def about_rows(rows: int | None) -> str:
    """'about 200,000 rows': two significant figures from a thousand up, since it is an estimate."""
    if rows is None:
        return "row count unknown"
    if rows >= 1000:
        digits = len(str(rows)) - 2
        rows = round(rows, -digits)
    return f"about {rows:,} row{'' if rows == 1 else 's'}"


def suggestion(found: list[Found]) -> str:
    """What a message says after naming the tables: which preset to write a source file with."""
    quoted = [f'"{name}"' for name in dict.fromkeys(one.preset for one in found)]
    named = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    what = "it" if len(found) == 1 else "one"
    return f"to replay {what}, write a source file with preset = {named} (see docs/sources.md)"


def listed(found: list[Found], limit: int = 3) -> str:
    """The tables as a message names them: 'A', 'A and B', 'A, B and 2 more'."""
    shown = [one.describe() for one in found[:limit]]
    rest = len(found) - len(shown)
    if rest:
        return ", ".join(shown) + f" and {rest} more"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
