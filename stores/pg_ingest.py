"""The bulk COPY of a Postgres load or append: checked Arrow batches into one ADBC ingest.

stores.postgres says why ADBC writes the data; stores.pg_sessions.interruptible why the
ingest runs off the main thread (Ctrl-C must stay an interrupt, not a cancelled statement).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from stores.base import BatchChecker
from stores.pg_sessions import DRIVER_ERRORS, interruptible
from stores.pg_sql import EVENTS_TABLE, INGEST_SCHEMA, encode_jsonb


def ingest(cursor: Any, schema: str, layout: str, batches: Iterable[pa.RecordBatch], checker: BatchChecker) -> None:
    """Stream checked batches into one binary COPY; re-raise the caller's own errors."""
    failures: list[BaseException] = []

    def checked() -> Iterator[pa.RecordBatch]:
        try:
            for batch in batches:
                batch = checker(batch)
                if batch.num_rows:
                    yield encode_jsonb(batch) if layout == "jsonb" else batch
        except GeneratorExit:
            raise
        except BaseException as error:
            failures.append(error)
            raise

    reader = pa.RecordBatchReader.from_batches(INGEST_SCHEMA[layout], checked())
    try:
        interruptible(
            lambda: cursor.adbc_ingest(EVENTS_TABLE, reader, mode="append", db_schema_name=schema),
            cursor.adbc_cancel,
        )
    except DRIVER_ERRORS:
        # The driver wraps an error raised inside the stream; the original is the news.
        if failures:
            raise failures[0] from None
        raise
    if failures:
        raise failures[0]
