"""Generated ledger events as other systems' users write them, and a check that nothing changed.

Shared by the foreign-source tests: PascalCase type names, camelCase JSON payloads, and a
checksum of a database's catalog and rows, taken before and after catchup reads it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pyarrow as pa

from stores.schema import EVENT_TYPES
from tests.data import SMALL, events_of

# account_opened -> AccountOpened
PASCAL = {name: "".join(part.title() for part in name.split("_")) for name in EVENT_TYPES}
PASCAL_VALUES = {pascal: ours for ours, pascal in PASCAL.items()}


def ledger_rows(table: pa.Table | None = None) -> list[dict[str, Any]]:
    """Each generated event as a dict of Python values, in position order."""
    return (table if table is not None else events_of(SMALL)).to_pylist()


def camel_payload(row: dict[str, Any]) -> str:
    """The payload an application would serialise: camelCase, nulls left out."""
    payload: dict[str, Any] = {"amount": row["amount"], "currency": row["currency"]}
    if row["counterparty"] is not None:
        payload["counterparty"] = row["counterparty"]
    if row["correlation_id"] is not None:
        payload["correlationId"] = row["correlation_id"]
    return json.dumps(payload)


def catalog_checksum(url: str) -> str:
    """An md5 of the database's catalog alone (schemas, relations, columns, comments): what a
    live run must leave as it was while the application's own writes change the rows."""
    return database_checksum(url, rows=False)


def database_checksum(url: str, *, rows: bool = True) -> str:
    """An md5 over the catalog (schemas, relations, columns, indexes, comments, sequences' state)
    and every row of every table of the database at ``url``: equal before and after means
    nothing was created, altered or written there."""
    with psycopg.connect(url, autocommit=True) as conn:
        parts: list[str] = []
        schemas = [
            str(row[0])
            for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' AND nspname <> 'information_schema'"
            ).fetchall()
        ]
        parts.append(repr(sorted(schemas)))
        catalog = conn.execute(
            "SELECT n.nspname, c.relname, c.relkind, obj_description(c.oid, 'pg_class'), "
            "array_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE n.nspname = ANY(%s) GROUP BY 1, 2, 3, 4 ORDER BY 1, 2",
            (schemas,),
        ).fetchall()
        parts.append(repr(catalog))
        for schema, name, kind, _, _ in catalog if rows else ():
            if kind in ("r", "p"):
                row = conn.execute(
                    f"SELECT md5(coalesce(string_agg(md5(t::text), '' ORDER BY t::text), '')) FROM \"{schema}\".\"{name}\" t"
                ).fetchone()
                parts.append(f"{schema}.{name}:{row[0] if row else ''}")
            elif kind == "S":
                row = conn.execute(f'SELECT last_value, is_called FROM "{schema}"."{name}"').fetchone()
                parts.append(f"{schema}.{name}:{row}")
    return hashlib.md5("\n".join(parts).encode()).hexdigest()


@contextmanager
def fresh_database(pg_url: str, topic: str) -> Iterator[str]:
    """A database of the tests' own (``catchup_test_<topic>_<hex>``), dropped afterwards: the
    foreign system's tables go there, so its whole catalog can be compared before and after."""
    name = f"catchup_test_{topic}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(pg_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    try:
        yield url
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
