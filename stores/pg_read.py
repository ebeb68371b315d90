"""Reading events from Postgres through ADBC: Arrow batches straight from the server.

stores.postgres says why ADBC reads the data and what it measured against psycopg.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa

from stores.errors import StoreCorrupt
from stores.pg_sessions import DRIVER_ERRORS, PgSessions
from stores.pg_target import PgTarget, translate
from stores.schema import conform

# ADBC cuts its batches by bytes. An event takes about 96 bytes of Arrow buffers in either
# layout's result; asking for 80 per event makes ADBC's batches a little under batch_size
# rows, so they pass through whole instead of leaving a small remainder slice each.
_BYTES_PER_EVENT = 80
_HINT_RANGE = (64 << 10, 256 << 20)
_READ_ERRORS = (*DRIVER_ERRORS, OSError)


def stream_events(
    sessions: PgSessions,
    target: PgTarget,
    sql: str,
    batch_size: int,
    fit: Callable[[pa.RecordBatch], pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """The events ``sql`` selects, each batch made the store's by ``fit``, in batches of at most ``batch_size``.

    ``fit`` conforms a batch to the schema the store hands out and raises a catchup error
    for one that does not fit (catchup's own store: ``conformed``; a foreign source its own).
    The reader connection goes back to the pool only when the stream ran to its end; one
    abandoned mid-stream or failed is closed instead (PgSessions.release), statement first.
    """
    hint = min(max(batch_size * _BYTES_PER_EVENT, _HINT_RANGE[0]), _HINT_RANGE[1])
    lease = sessions.reader()
    finished = False
    try:
        try:
            # Held by the lease, so that closing the store closes it even if this generator is never finished.
            lease.cursor = lease.conn.cursor(adbc_stmt_kwargs={"adbc.postgresql.batch_size_hint_bytes": str(hint)})
            lease.cursor.execute(sql)
            reader = lease.cursor.fetch_record_batch()
        except _READ_ERRORS as error:
            raise translate(target, error, "read events") from None
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except _READ_ERRORS as error:
                # A connection lost mid-stream surfaces from the Arrow stream as a plain OSError.
                raise translate(target, error, "read events") from None
            batch = fit(batch)
            for offset in range(0, batch.num_rows, batch_size):
                yield batch.slice(offset, batch_size)
        finished = True
    finally:
        sessions.release(lease, reusable=finished)


def conformed(where: str, currencies: pa.Array) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
    """The fit of catchup's own store: EVENT_SCHEMA with its dictionaries, StoreCorrupt otherwise."""

    def fit(batch: pa.RecordBatch) -> pa.RecordBatch:
        try:
            return conform(batch, currencies)
        except ValueError as error:
            raise StoreCorrupt(f"events in {where} do not fit the store: {error}") from None

    return fit
