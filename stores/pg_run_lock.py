"""The Postgres run lock: a session advisory lock on its own connection (stores.run_lock says why).

The key is two int4 halves, ``hashtext('catchup run')`` and ``hashtext('<schema>.<projection>')``,
so runs of one projection on stores in different schemas, or of other projections, never
meet; advisory locks are per database. The lock lives exactly as long as its session: a
connection of its own, opened for the run, named (``application_name``) after the holder
so that a refused run can say who holds it, and closed at the end. A holder that dies or
loses its connection releases the lock with its session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from stores.pg_sessions import quietly
from stores.pg_target import PgTarget, translate, unreachable
from stores.run_lock import busy, holder

_NAMESPACE = "catchup run"
_NAME_LIMIT = 63  # Postgres truncates application_name to NAMEDATALEN - 1 bytes
_HOLDER_PREFIX = "catchup run lock: "
_HOLDER = (
    "SELECT a.application_name, a.client_addr::text, a.backend_start FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid = hashtext(%s)::oid AND l.objid = hashtext(%s)::oid AND l.objsubid = 2"
)


@contextmanager
def advisory_run_lock(target: PgTarget, projection: str) -> Iterator[None]:
    """Hold the run lock of ``projection`` in ``target``'s schema; StoreBusy at once if held."""
    me = holder()
    name = f"{_HOLDER_PREFIX}pid {me['pid']} on {me['host']}".encode()[:_NAME_LIMIT].decode(errors="ignore")
    key = f"{target.schema}.{projection}"
    try:
        conn = psycopg.connect(target.conninfo, autocommit=True, application_name=name)
    except psycopg.Error as error:
        raise unreachable(target, error) from None
    try:
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s))", (_NAMESPACE, key)).fetchone()
            if not (row and row[0]):
                raise busy(projection, f"schema {target.schema} of {target.redacted}", _holder(conn, key))
        except psycopg.Error as error:
            raise translate(target, error, "take the run lock") from None
        yield
    finally:
        # Closing the session releases the lock; an explicit unlock first is not needed.
        quietly(conn.close)


def _holder(conn: psycopg.Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute(_HOLDER, (_NAMESPACE, key)).fetchone()
    if row is None:
        return None  # released between the try and this look
    application, client, started = row
    found: dict[str, Any] = {"since": started.isoformat(timespec="seconds") if started else ""}
    application = str(application or "")
    if application.startswith(_HOLDER_PREFIX):
        pid, _, host = application.removeprefix(_HOLDER_PREFIX).removeprefix("pid ").partition(" on ")
        found.update(pid=pid, host=host)
    else:
        found.update(pid="?", host=client or "a local socket", command=application)
    return found
