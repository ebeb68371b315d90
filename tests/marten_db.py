"""The Marten test database: catchup_test_marten, ours, dropped and created afresh, and
the SQL a PgLayout means, run as the reader runs it (read-only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from stores.foreign.layout import PgLayout
from stores.foreign.presets import layout_for
from stores.foreign.spec import SourceSpec, parse_spec

DATABASE = "catchup_test_marten"


def database_url(server_url: str, database: str = DATABASE) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


@contextmanager
def fresh_database(server_url: str, database: str = DATABASE) -> Iterator[str]:
    """A new, empty ``database`` (ours: dropped first if a previous run left it), dropped after."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        yield database_url(server_url, database)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}"')


def spec(url: str, path: Path | None = None, **source: Any) -> SourceSpec:
    return parse_spec({"source": {"uri": url, "preset": "marten", **source}}, path or Path("/tmp/marten.toml"))


def marten_layout(url: str, **source: Any) -> PgLayout:
    return layout_for(spec(url, **source))


def read_only(url: str) -> psycopg.Connection[Any]:
    """A connection on which the server refuses every write, as the reader's are."""
    return psycopg.connect(url, options="-c default_transaction_read_only=on")


def scalar(url: str, sql: str) -> Any:
    with read_only(url) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return row[0]


def envelope_rows(
    url: str, layout: PgLayout, where: str | None = None, upto: int | None = None
) -> list[tuple[Any, ...]]:
    """The envelope rows the reader's one query returns: the layout's SELECT, filters, the
    file's where, ordered by position, never past ``upto``."""
    select = ", ".join(f"{expr} AS {name}" for name, expr in layout.envelope.expressions().items())
    conditions = [*layout.filters, *([f"({where})"] if where else [])]
    if upto is not None:
        conditions.append(f"{layout.envelope.position} <= {int(upto)}")
    sql = f"SELECT {select} FROM {layout.relation}"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += f" ORDER BY {layout.envelope.position}"
    with read_only(url) as conn:
        return conn.execute(sql).fetchall()
