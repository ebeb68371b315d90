"""Snapshots of a Postgres event store: one table in the store's schema.

    <schema>.snapshots (projection, position, rows, size_bytes, checksum, dataset,
                        created_at, data bytea, PRIMARY KEY (projection, position))

It goes through the store's psycopg control connection: a snapshot is one row written in
one statement, where bound parameters matter and Arrow batches do not. The table is made
by the first save, marked as catchup's (stores.pg_ownership); until then there are no
snapshots, and ``PostgresStore.load`` drops it.
"""

from __future__ import annotations

import builtins  # the stores' method 'list' shadows the builtin inside their classes
from datetime import datetime
from typing import Any

import psycopg
import pyarrow as pa

from stores.errors import StoreCorrupt
from stores.pg_ownership import mark
from stores.pg_sessions import PgSessions
from stores.pg_sql import SNAPSHOTS_TABLE, create_snapshots, qualified, snapshot_statements
from stores.pg_target import PgTarget
from stores.snapshots import (
    SnapshotInfo,
    SnapshotStore,
    check_dataset,
    check_position,
    check_projection_name,
    decode_state,
    prepare,
    utc_text,
)

_ANY_POSITION = 2**63 - 1  # the largest bigint: ``latest`` with no bound


class PgSnapshotStore(SnapshotStore):
    def __init__(self, target: PgTarget, sessions: PgSessions, dataset: str) -> None:
        self.target = target
        self.dataset = dataset
        self._sessions = sessions
        self._sql = snapshot_statements(target.schema)
        self._table = qualified(target.schema, SNAPSHOTS_TABLE)
        self._where = f"table {self._table} of {target.redacted}"
        self._table_made = False

    def save(self, projection: str, position: int, state: pa.Table) -> SnapshotInfo:
        info, data = prepare(projection, position, state, self.dataset)
        row = (info.projection, info.position, info.rows, info.size_bytes, info.checksum, info.dataset)
        with self._sessions.control("save a snapshot") as conn, conn.transaction():
            if not self._table_made:
                self._make_table(conn)
            conn.execute(self._sql["save"], (*row, datetime.fromisoformat(info.created_at), data))
        self._table_made = True  # only once committed: a rolled-back save made no table
        return info

    def _make_table(self, conn: psycopg.Connection) -> None:
        """Create the table on the first save, marked as catchup's (stores.pg_ownership); once per object."""
        found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (self._table,)).fetchone()
        if not (found and found[0]):
            conn.execute(create_snapshots(self.target.schema))
            conn.execute(mark(self.target.schema, SNAPSHOTS_TABLE))

    def latest(self, projection: str, at_or_before: int | None = None) -> SnapshotInfo | None:
        check_projection_name(projection)
        limit = _ANY_POSITION if at_or_before is None else check_position("at_or_before", at_or_before)
        rows = self._rows("find the latest snapshot", "latest", (projection, limit))
        return _info_of(rows[0]) if rows else None

    def load(self, info: SnapshotInfo) -> pa.Table:
        check_projection_name(info.projection)
        position = check_position("position", info.position)
        check_dataset(info, self.dataset, self._where)
        rows = self._rows("load a snapshot", "data", (info.projection, position), binary=True)
        if not rows:
            raise StoreCorrupt(
                f"snapshot of {info.projection} at position {info.position} in {self._where} is listed but "
                "its row is missing; delete the projection's snapshots and run again"
            )
        return decode_state(bytes(rows[0][0]), info, self._where)

    def list(self, projection: str) -> builtins.list[SnapshotInfo]:
        check_projection_name(projection)
        return [_info_of(row) for row in self._rows("list snapshots", "list", (projection,))]

    def delete(self, projection: str) -> int:
        check_projection_name(projection)
        with self._sessions.control("delete snapshots") as conn:
            try:
                return conn.execute(self._sql["delete"], (projection,)).rowcount
            except psycopg.errors.UndefinedTable:
                return 0

    def _rows(self, action: str, statement: str, params: tuple[Any, ...], binary: bool = False) -> builtins.list[Any]:
        """The rows of a query; none while no save has made the table."""
        with self._sessions.control(action) as conn:
            try:
                return conn.execute(self._sql[statement], params, binary=binary).fetchall()
            except psycopg.errors.UndefinedTable:
                return []


def _info_of(row: Any) -> SnapshotInfo:
    projection, position, rows, size_bytes, checksum, dataset, created_at = row
    return SnapshotInfo(
        projection=projection,
        position=int(position),
        rows=int(rows),
        size_bytes=int(size_bytes),
        checksum=checksum,
        dataset=dataset,
        created_at=utc_text(created_at),
    )
