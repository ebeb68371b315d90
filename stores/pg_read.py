"""Reading events from Postgres through ADBC: Arrow batches straight from the server.

stores.postgres says why ADBC reads the data and what it measured against psycopg.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from stores.errors import StoreCorrupt
from stores.pg_sessions import DRIVER_ERRORS, PgSessions, quietly
from stores.pg_target import PgTarget, translate
from stores.schema import conform

# ADBC cuts its batches by bytes. An event takes about 96 bytes of Arrow buffers in either
# layout's result; asking for 80 per event makes ADBC's batches a little under batch_size
# rows, so they pass through whole instead of leaving a small remainder slice each.
_BYTES_PER_EVENT = 80
_HINT_RANGE = (64 << 10, 256 << 20)


def stream_events(
    sessions: PgSessions, target: PgTarget, where: str, sql: str, currencies: pa.Array, batch_size: int
) -> Iterator[pa.RecordBatch]:
    """The events ``sql`` selects, conformed to the event schema, in batches of at most ``batch_size``.

    The reader connection goes back to the pool only when the stream ran to its end; one
    abandoned mid-stream or failed is closed instead (PgSessions.release).
    """
    hint = min(max(batch_size * _BYTES_PER_EVENT, _HINT_RANGE[0]), _HINT_RANGE[1])
    conn, generation = sessions.reader()
    cursor = None
    finished = False
    try:
        try:
            cursor = conn.cursor(adbc_stmt_kwargs={"adbc.postgresql.batch_size_hint_bytes": str(hint)})
            cursor.execute(sql)
            reader = cursor.fetch_record_batch()
        except DRIVER_ERRORS as error:
            raise translate(target, error, "read events") from None
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except DRIVER_ERRORS as error:
                raise translate(target, error, "read events") from None
            try:
                batch = conform(batch, currencies)
            except ValueError as error:
                raise StoreCorrupt(f"events in {where} do not fit the store: {error}") from None
            for offset in range(0, batch.num_rows, batch_size):
                yield batch.slice(offset, batch_size)
        finished = True
    finally:
        if cursor is not None:
            quietly(cursor.close)
        sessions.release(conn, generation, reusable=finished)
