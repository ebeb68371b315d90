"""The Postgres event store: ``postgresql://...?layout=typed|jsonb&schema=NAME``.

Two drivers, each where it was measured fastest or simplest (5M events, 2 cores):

* ADBC for the data: ``adbc_ingest`` streams Arrow batches into one binary COPY encoded
  in C, as fast as replaying the table's own raw COPY bytes with psycopg, and it writes
  the arrow.json type as jsonb; reads come back as Arrow batches at 2.2M rows/s (typed),
  against 0.5M rows/s measured on this machine kind through a psycopg server-side cursor.
* psycopg for the control plane: the status row, DDL, the key build and catalog
  look-ups, which want bound parameters and SQLSTATE-typed errors more than speed.

The head is what the events table holds: ``max(position)`` of the committed rows, an
index look-up on the primary key, read wherever a head is needed. The status row's head
is only a record: live writers commit without touching it (stores.pg_live), and one that
dies leaves it behind the table, so trusting it would hide committed events. An append
writes its events in one transaction, so a reader never sees half an append.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pyarrow as pa
from psycopg.types.json import Jsonb

from stores import pg_live, pg_run_lock
from stores.base import (
    READ_BATCH_SIZE,
    BatchChecker,
    DatasetMeta,
    EventStore,
    StoreInfo,
    check_read_range,
    check_schema_version,
    fingerprint_id,
    incomplete,
    integer,
)
from stores.errors import InvalidParameter, SchemaMismatch, StoreNotFound
from stores.page_cache import Eviction
from stores.pg_ingest import ingest
from stores.pg_live import PgGapWatch, PgLiveAppender
from stores.pg_ownership import mark, refuse_foreign_tables, refuse_if_not_empty
from stores.pg_read import conformed, stream_events
from stores.pg_sessions import PgSessions
from stores.pg_snapshots import PgSnapshotStore
from stores.pg_sql import (
    EVENTS_TABLE,
    SNAPSHOTS_TABLE,
    STATUS_TABLE,
    build_keys,
    column_differences,
    create_events,
    create_status,
    qualified,
    select_range,
)
from stores.pg_target import PgTarget, parse_target
from stores.run_lock import RunLock
from stores.schema import MAX_CURRENCIES, SCHEMA_VERSION, currency_dictionary
from stores.snapshots import check_projection_name

_LOCK_TIMEOUT_S = 30
# A client without superuser rights can neither empty the server's shared buffers nor reach the
# page cache of its files: a cold restart on Postgres is a new process and a new connection only.
PG_NOT_EVICTED = (
    "postgres: the server's shared buffers and the page cache of its files cannot be evicted from a "
    "client; cold restarts start a new process and connection with the server's caches warm"
)


@dataclass(frozen=True)
class _Status:
    layout: str
    complete: bool
    head: int
    fingerprint: dict[str, Any] | None
    currencies: tuple[str, ...]


@dataclass(frozen=True)
class LoadPhases:
    """Where the last ``load`` spent its time; the benchmark reports the phases apart."""

    events: int
    copy_s: float
    keys_s: float  # primary key, (stream_id, stream_version) index, ANALYZE
    vacuum_s: float


class PostgresStore(EventStore):
    backend = "postgres"

    def __init__(self, uri: str) -> None:
        self.target: PgTarget = parse_target(uri)
        self.uri = self.target.redacted
        self.schema = self.target.schema
        self.layout = self.target.layout
        self.last_load: LoadPhases | None = None
        self._events = qualified(self.schema, EVENTS_TABLE)
        self._status_table = qualified(self.schema, STATUS_TABLE)
        self._sessions = PgSessions(self.target)
        self._verified_layout: str | None = None
        self._gap_watches: list[PgGapWatch] = []

    # -- looking -------------------------------------------------------------------------

    def info(self) -> StoreInfo:
        return self._info(count=True)

    def readable_info(self) -> StoreInfo:
        # Without the count: a run asks for this on its way in, and needs no hole count then.
        info = self._info(count=False)
        if not info.exists:
            raise self.target.not_found()
        if not info.complete:
            raise incomplete(info.uri)
        return info

    def _info(self, *, count: bool) -> StoreInfo:
        with self._sessions.control("inspect the store") as conn:
            status = self._status(conn)
            size = conn.execute(
                "SELECT coalesce(pg_total_relation_size(to_regclass(%s)), 0)"
                " + coalesce(pg_total_relation_size(to_regclass(%s)), 0)",
                (self._events, self._status_table),
            ).fetchone()
            version = conn.info.parameter_status("server_version") or ""
            held = _count(conn, self._events) if count and status is not None and status.complete else None
        details: dict[str, Any] = {
            "schema": self.schema,
            "events_table": self._events,
            "status_table": self._status_table,
            "server": self.target.where,
            "server_version": version,
        }
        if status is None:
            return StoreInfo(self.uri, self.backend, self.layout, False, False, 0, 0, details=details)
        if held is not None:
            # Positions drawn by live writers that died before committing; a full read skips them.
            details["events"] = held
            details["holes"] = status.head - held
        return StoreInfo(
            uri=self.uri,
            backend=self.backend,
            layout=status.layout,
            exists=True,
            complete=status.complete,
            head=status.head,
            size_bytes=int(size[0]) if size else 0,
            fingerprint=status.fingerprint,
            currencies=status.currencies,
            details=details,
        )

    def not_found_error(self) -> StoreNotFound:
        return self.target.not_found()

    def head(self) -> int:
        return self._readable_status().head

    def currencies(self) -> tuple[str, ...]:
        return self._readable_status().currencies

    def dataset_id(self) -> str:
        return fingerprint_id(self._readable_status().fingerprint, self.uri)

    # -- writing -------------------------------------------------------------------------

    def load(self, batches: Iterable[pa.RecordBatch], meta: DatasetMeta, *, overwrite: bool = False) -> int:
        currencies = _checked_currencies(meta.currencies)
        checker = BatchChecker(currencies)
        with self._sessions.control("prepare the load") as conn, conn.transaction():
            # An unfinished read holds the events table; fail with a message instead of waiting forever.
            conn.execute(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT_S}s'")
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            # Before anything is created, dropped or emptied: a user's same-named table stays as it is.
            refuse_foreign_tables(conn, self.schema, self.uri)
            conn.execute(create_status(self.schema))
            conn.execute(mark(self.schema, STATUS_TABLE))
            # Self-conflicting, so loads and appends queue up; readers are not blocked.
            conn.execute(f"LOCK TABLE {self._status_table} IN SHARE ROW EXCLUSIVE MODE")
            if not overwrite:
                refuse_if_not_empty(conn, self.schema, self.uri)
            conn.execute(f"DROP TABLE IF EXISTS {self._events}")
            # Positions in old snapshots would refer to other events; the next save makes it anew.
            conn.execute(f"DROP TABLE IF EXISTS {qualified(self.schema, SNAPSHOTS_TABLE)}")
            conn.execute(create_events(self.schema, self.layout))
            conn.execute(mark(self.schema, EVENTS_TABLE))
            conn.execute(f"DELETE FROM {self._status_table}")
            conn.execute(
                f"INSERT INTO {self._status_table} (layout, complete, head, fingerprint, "
                "currencies, schema_version) VALUES (%s, false, 0, %s, %s, %s)",
                (self.layout, Jsonb(meta.fingerprint), list(currencies), SCHEMA_VERSION),
            )
        # Committed: from here until the keys are built, every read sees an incomplete store.
        self._verified_layout = None
        started = time.perf_counter()
        with self._sessions.write_transaction("load events") as cursor:
            ingest(cursor, self.schema, self.layout, batches, checker)
        copied = time.perf_counter()
        with self._sessions.control("build the keys") as conn, conn.transaction():
            for statement in build_keys(self.schema):
                conn.execute(statement)
            conn.execute(
                f"UPDATE {self._status_table} SET complete = true, head = %s, updated_at = now()",
                (checker.last,),
            )
        keyed = time.perf_counter()
        # Sets hint bits and the visibility map once, so the first read does not pay for
        # them (measured: first full read 3.3 s without, 2.3 s with; VACUUM took 0.3 s).
        with self._sessions.control("vacuum the events") as conn:
            conn.execute(f"VACUUM {self._events}")
        self.last_load = LoadPhases(
            events=checker.count,
            copy_s=copied - started,
            keys_s=keyed - copied,
            vacuum_s=time.perf_counter() - keyed,
        )
        return checker.last

    def append(self, batches: Iterable[pa.RecordBatch]) -> int:
        layout = self._verified(self._readable_status())
        with self._sessions.write_transaction("append events") as cursor:
            cursor.execute(f"LOCK TABLE {self._status_table} IN SHARE ROW EXCLUSIVE MODE")
            # Re-read under the lock: another writer may have appended or reloaded meanwhile.
            cursor.execute(
                f"SELECT complete, (SELECT coalesce(max(position), 0) FROM {self._events}), currencies "
                f"FROM {self._status_table}"
            )
            row = cursor.fetchone()
            if row is None:
                raise self.target.not_found()
            complete, head, currencies = row
            if not complete:
                raise incomplete(self.uri)
            checker = BatchChecker(tuple(currencies), int(head))
            ingest(cursor, self.schema, layout, batches, checker)
            if checker.count:
                cursor.execute(f"UPDATE {self._status_table} SET head = {checker.last}, updated_at = now()")
        return checker.last

    # -- live mode (stores.pg_live) ------------------------------------------------------

    def begin_live(self) -> None:
        self._verified(self._readable_status())
        with self._sessions.control("begin live mode") as conn:
            pg_live.begin_live(conn, self.schema)

    def live_appender(self) -> PgLiveAppender:
        status = self._readable_status()
        return PgLiveAppender(self.target, self._verified(status), status.currencies)

    def gap_watch(self) -> PgGapWatch:
        watch = PgGapWatch(self.target)
        self._gap_watches.append(watch)  # closed with the store
        return watch

    def visible_head(self) -> int:
        with self._sessions.control("read the visible head") as conn:
            return pg_live.visible_head(conn, self.schema)

    def end_live(self) -> int:
        self._readable_status()
        with self._sessions.control("end live mode") as conn:
            return pg_live.end_live(conn, self.schema)

    # -- snapshots -----------------------------------------------------------------------

    def snapshots(self) -> PgSnapshotStore:
        return PgSnapshotStore(self.target, self._sessions, self.dataset_id())

    def evict_page_cache(self) -> Eviction:
        return Eviction(0, 0, PG_NOT_EVICTED)

    def run_lock(self, projection: str) -> RunLock:
        check_projection_name(projection)
        self.readable_info()  # the errors readable_info gives, before any session is opened
        return pg_run_lock.advisory_run_lock(self.target, projection)

    # -- reading -------------------------------------------------------------------------

    def read(
        self, after: int = 0, upto: int | None = None, batch_size: int = READ_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        after = integer("after", after)
        upto = None if upto is None else integer("upto", upto)
        batch_size = integer("batch_size", batch_size)
        check_read_range(after, upto, batch_size)
        # Checked now, not at the first next(): a bad store fails where read() is called.
        status = self._readable_status()
        layout = self._verified(status)
        # An explicit upto is not clamped to the head: in live mode a tail reads up to the
        # visible head its gap watch has settled.
        end = status.head if upto is None else upto
        if end <= after:
            return iter(())
        sql = select_range(self.schema, layout, after, end)
        fit = conformed(f"schema {self.schema} of {self.uri}", currency_dictionary(status.currencies))
        return stream_events(self._sessions, self.target, sql, batch_size, fit)

    # -- status and layout ---------------------------------------------------------------

    def _status(self, conn: psycopg.Connection) -> _Status | None:
        try:
            row = conn.execute(
                f"SELECT layout, complete, head, fingerprint, currencies, schema_version FROM {self._status_table}"
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
        if row is None:
            return None
        layout, complete, head, fingerprint, currencies, schema_version = row
        check_schema_version(schema_version, f"store in schema {self.schema} of {self.uri}")
        if complete:
            # What the table holds, not what the row last recorded (the module docstring says why).
            with contextlib.suppress(psycopg.errors.UndefinedTable):  # a read says the table is missing
                head = pg_live.visible_head(conn, self.schema)
        return _Status(layout, bool(complete), int(head), fingerprint, tuple(currencies or ()))

    def _readable_status(self) -> _Status:
        with self._sessions.control("read the store status") as conn:
            status = self._status(conn)
        if status is None:
            raise self.target.not_found()
        if not status.complete:
            raise incomplete(self.uri)
        return status

    def _verified(self, status: _Status) -> str:
        """The layout to read and write, once the events table is seen to have it."""
        if self.target.layout_given and status.layout != self.target.layout:
            raise SchemaMismatch(
                f"store in schema {self.schema} of {self.uri} has the {status.layout} layout, "
                f"not layout={self.target.layout}; use layout={status.layout} or drop the option"
            )
        if self._verified_layout == status.layout:
            return status.layout
        with self._sessions.control("inspect the events table") as conn:
            columns = conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
                (self._events,),
            ).fetchall()
        if not columns:
            raise self.target.not_found()
        problems = column_differences(status.layout, [(str(n), str(t)) for n, t in columns])
        if problems:
            raise SchemaMismatch(
                f"table {self._events} of {self.uri} is not a {status.layout} events table: " + "; ".join(problems)
            )
        self._verified_layout = status.layout
        return status.layout

    # -- connections ---------------------------------------------------------------------

    def close(self) -> None:
        watches, self._gap_watches = self._gap_watches, []
        for watch in watches:
            watch.close()
        self._sessions.close()


def _count(conn: psycopg.Connection, table: str) -> int | None:
    # Exact, for info only (an index-only scan: 2M events in 0.15 s); reads never count.
    try:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    return int(row[0]) if row else 0


def _checked_currencies(currencies: Iterable[str]) -> tuple[str, ...]:
    codes = tuple(currencies)
    if not codes or len(codes) > MAX_CURRENCIES or len(set(codes)) != len(codes):
        raise InvalidParameter(f"currencies {list(codes)} must be 1 to {MAX_CURRENCIES} distinct codes")
    if not all(isinstance(code, str) and code for code in codes):
        raise InvalidParameter(f"currencies {list(codes)} must be non-empty strings")
    return codes
