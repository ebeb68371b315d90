"""The connections one Postgres store holds, opened lazily, with driver errors translated.

* control: one psycopg connection in autocommit, for the status row, DDL and catalogs;
* writer: one ADBC connection with transactions, for loads and appends;
* readers: ADBC connections in autocommit, kept in a small pool because ADBC connects in
  about 26 ms (it loads the type catalogue), too dear to pay on every tail read; a read
  still streaming holds its own, so two open reads never share a session.

``close`` closes them all; a store used again afterwards simply connects again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pyarrow as pa

from stores.errors import CatchupError
from stores.pg_target import PgTarget, translate, unreachable

DRIVER_ERRORS = (psycopg.Error, adbc_driver_manager.Error, pa.ArrowException)
_IDLE_READERS = 4


class PgSessions:
    def __init__(self, target: PgTarget) -> None:
        self.target = target
        self._control: psycopg.Connection | None = None
        self._control_lock = threading.RLock()
        self._writer: Any = None
        self._writer_lock = threading.Lock()
        self._readers: list[Any] = []
        self._readers_lock = threading.Lock()
        # Bumped by close(): a reader lent out before it is closed on return, not pooled.
        self._generation = 0

    @contextmanager
    def control(self, action: str) -> Iterator[psycopg.Connection]:
        """The control connection (autocommit); psycopg errors leave as catchup errors."""
        with self._control_lock:
            conn = self._control
            if conn is None or conn.closed or conn.broken:
                try:
                    conn = self._control = psycopg.connect(self.target.conninfo, autocommit=True)
                except psycopg.Error as error:
                    raise unreachable(self.target, error) from None
            try:
                yield conn
            except CatchupError:
                raise
            except psycopg.Error as error:
                raise translate(self.target, error, action) from None

    @contextmanager
    def write_transaction(self, action: str) -> Iterator[Any]:
        """An ADBC cursor in a transaction, committed when the block ends without error."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = self._connect_adbc(autocommit=False)
            conn = self._writer
            cursor = conn.cursor()
            try:
                yield cursor
                cursor.close()
                conn.commit()
            except BaseException as error:
                # A COPY that failed half way can leave the session unusable: start afresh.
                quietly(cursor.close)
                quietly(conn.rollback)
                quietly(conn.close)
                self._writer = None
                if isinstance(error, DRIVER_ERRORS):
                    raise translate(self.target, error, action) from None
                raise

    def reader(self) -> tuple[Any, int]:
        """An autocommit ADBC connection and the generation to hand back with it."""
        with self._readers_lock:
            if self._readers:
                return self._readers.pop(), self._generation
            generation = self._generation
        return self._connect_adbc(autocommit=True), generation

    def release(self, conn: Any, generation: int, reusable: bool) -> None:
        """Return a reader to the pool; one abandoned mid-stream is closed instead."""
        with self._readers_lock:
            if reusable and generation == self._generation and len(self._readers) < _IDLE_READERS:
                self._readers.append(conn)
                return
        quietly(conn.close)

    def close(self) -> None:
        with self._readers_lock:
            self._generation += 1
            readers, self._readers = self._readers, []
        for conn in readers:
            quietly(conn.close)
        with self._writer_lock:
            if self._writer is not None:
                quietly(self._writer.close)
                self._writer = None
        with self._control_lock:
            if self._control is not None:
                quietly(self._control.close)
                self._control = None

    def _connect_adbc(self, autocommit: bool) -> Any:
        try:
            return adbc.connect(self.target.conninfo, autocommit=autocommit)
        except DRIVER_ERRORS as error:
            raise unreachable(self.target, error) from None


def quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # noqa: BLE001 - cleanup after a failure must not hide the failure
        pass
