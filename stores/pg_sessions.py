"""The connections one Postgres store holds, opened lazily, with driver errors translated.

* control: one psycopg connection in autocommit, for the status row, DDL and catalogs;
* writer: one ADBC connection with transactions, for loads and appends;
* readers: ADBC connections in autocommit, kept in a small pool because ADBC connects in
  about 26 ms (it loads the type catalogue), too dear to pay on every tail read; a read
  still streaming holds its own (a ReaderLease), so two open reads never share a session.

``close`` closes them all, leases still out included, each statement before its
connection: ADBC refuses to close a connection with an open statement, and a connection
left so (a read abandoned when something else failed, its generator collected only at
exit) is closed again by its finaliser, which prints "Exception ignored ... Cannot close
AdbcConnection with open AdbcStatement" after the error line. A store used again
afterwards simply connects again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pyarrow as pa

from stores.errors import CatchupError
from stores.pg_target import PgTarget, translate, unreachable

DRIVER_ERRORS = (psycopg.Error, adbc_driver_manager.Error, pa.ArrowException)
_IDLE_READERS = 4
T = TypeVar("T")


class PgSessions:
    def __init__(self, target: PgTarget) -> None:
        self.target = target
        self._control: psycopg.Connection | None = None
        self._control_lock = threading.RLock()
        self._writer: Any = None
        self._writer_lock = threading.Lock()
        self._readers: list[Any] = []
        self._lent: set[ReaderLease] = set()
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

    def reader(self) -> ReaderLease:
        """An autocommit ADBC connection, lent until ``release``; ``close`` closes it if still out."""
        with self._readers_lock:
            conn = self._readers.pop() if self._readers else None
            generation = self._generation
        lease = ReaderLease(conn if conn is not None else self._connect_adbc(autocommit=True), generation)
        with self._readers_lock:
            self._lent.add(lease)
        return lease

    def release(self, lease: ReaderLease, reusable: bool) -> None:
        """Return a reader to the pool; one abandoned mid-stream, or failed, is closed instead."""
        lease.close_cursor()
        with self._readers_lock:
            self._lent.discard(lease)
            if (
                reusable
                and not lease.closed
                and lease.generation == self._generation
                and len(self._readers) < _IDLE_READERS
            ):
                self._readers.append(lease.conn)
                return
        lease.close()

    def close(self) -> None:
        with self._readers_lock:
            self._generation += 1
            readers, self._readers = self._readers, []
            lent, self._lent = list(self._lent), set()
        for lease in lent:
            lease.close()
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


class ReaderLease:
    """A reader connection lent to one read, with the statement (cursor) it has open."""

    def __init__(self, conn: Any, generation: int) -> None:
        self.conn = conn
        self.generation = generation
        self.cursor: Any = None
        self.closed = False

    def close_cursor(self) -> None:
        cursor, self.cursor = self.cursor, None
        if cursor is not None:
            quietly(cursor.close)

    def close(self) -> None:
        """The statement first, then the connection (the module docstring says why)."""
        self.close_cursor()
        if not self.closed:
            self.closed = True
            quietly(self.conn.close)


def interruptible(call: Callable[[], T], cancel: Callable[[], object]) -> T:
    """``call()`` in a worker thread, so that Ctrl-C stays a KeyboardInterrupt.

    On the main thread, ADBC swaps Python's SIGINT handler for its own during a blocking
    call, and Ctrl-C then only cancels the statement: the call fails with the server's
    "canceling statement due to user request", which reads as a database error (exit 1)
    rather than an interrupt (exit 130), and cannot be told apart from a cancel sent by
    someone else. Off the main thread ADBC leaves the handler alone; here the main thread
    waits, takes the KeyboardInterrupt itself, cancels the statement, lets the worker end
    and re-raises the interrupt.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
            failure.append(error)

    worker = threading.Thread(target=work, name="catchup-adbc", daemon=True)
    worker.start()
    try:
        worker.join()
    except KeyboardInterrupt:
        quietly(cancel)
        worker.join()
        raise
    if failure:
        raise failure[0]
    return outcome[0]


def quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # noqa: BLE001 - cleanup after a failure must not hide the failure
        pass
