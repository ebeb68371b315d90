"""Live mode of the Postgres event store (stores.live explains the why).

* Positions come from a sequence, ``<schema>.event_positions``, which ``begin_live`` sets
  to follow the highest stored position. Writers do not touch the status row, so any
  number of them append at once; ``end_live`` records the new head there afterwards.
* Each append is one transaction that takes a transaction id *before* drawing its
  positions (``pg_current_xact_id()``). A transaction holding a drawn but uncommitted
  position therefore always has an xid below the xmax of any snapshot taken after the
  draw, which is what makes ``PgGapWatch`` sound: once the xmin of a later snapshot
  reaches a hole's mark, every transaction that could still fill it has ended.
* Rows go in with ``COPY ... FROM STDIN (FORMAT csv)``, the CSV made by pyarrow in C:
  the fastest of the ways measured for 100 to 5,000-row appends (see ``_copy_rows``).
"""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv

from stores.errors import CatchupError, InvalidParameter, SchemaMismatch, StoreError
from stores.live import AppendReceipt, EventsAt, GapWatch, LiveAppender
from stores.pg_ownership import mark_sequence
from stores.pg_sessions import quietly
from stores.pg_sql import COLUMNS, EVENTS_TABLE, POSITIONS_SEQUENCE, STATUS_TABLE, encode_jsonb, qualified
from stores.pg_target import PgTarget, translate, unreachable
from stores.schema import conform, currency_dictionary, positions

if TYPE_CHECKING:
    import numpy.typing as npt

SEQUENCE = POSITIONS_SEQUENCE
_CSV = pa_csv.WriteOptions(include_header=False, batch_size=1 << 16)


def sequence_name(schema: str) -> str:
    return qualified(schema, SEQUENCE)


def begin_live(conn: psycopg.Connection, schema: str) -> None:
    """Create the position sequence if missing and make its next value follow the highest position.

    Both layouts keep the position in a bigint column ``position``; the primary key makes
    max() an index look-up. ``setval(seq, n, false)`` makes n the next value, so a store
    after a previous live run (whose sequence ran ahead of dead positions) starts afresh.
    """
    events = qualified(schema, EVENTS_TABLE)
    with conn.transaction():
        made = conn.execute("SELECT to_regclass(%s) IS NULL", (sequence_name(schema),)).fetchone()
        conn.execute(f"CREATE SEQUENCE IF NOT EXISTS {sequence_name(schema)} AS bigint MINVALUE 1")
        if made and made[0]:  # marked as catchup's (stores.pg_ownership) when catchup made it
            conn.execute(mark_sequence(schema))
        conn.execute(
            "SELECT setval(%s::regclass, (SELECT coalesce(max(position), 0) + 1 FROM " + events + "), false)",
            (sequence_name(schema),),
        )


def visible_head(conn: psycopg.Connection, schema: str) -> int:
    row = conn.execute(f"SELECT coalesce(max(position), 0) FROM {qualified(schema, EVENTS_TABLE)}").fetchone()
    return int(row[0]) if row else 0


def end_live(conn: psycopg.Connection, schema: str) -> int:
    """Record the highest stored position as the status row's head; the fingerprint stays."""
    status = qualified(schema, STATUS_TABLE)
    with conn.transaction():
        # The lock the bulk load and append take: the head does not move under either.
        conn.execute(f"LOCK TABLE {status} IN SHARE ROW EXCLUSIVE MODE")
        row = conn.execute(
            f"UPDATE {status} SET head = (SELECT coalesce(max(position), 0) FROM "
            f"{qualified(schema, EVENTS_TABLE)}), updated_at = now() RETURNING head"
        ).fetchone()
    return int(row[0]) if row else 0


class PgLiveAppender(LiveAppender):
    """One writer: a psycopg connection of its own; each append is one transaction."""

    def __init__(self, target: PgTarget, layout: str, currencies: tuple[str, ...]) -> None:
        self.target = target
        self.layout = layout
        self.dictionary = currency_dictionary(currencies)
        self._events = qualified(target.schema, EVENTS_TABLE)
        self._copy = f"COPY {self._events} ({', '.join(n for n, _, _ in COLUMNS[layout])}) FROM STDIN (FORMAT csv)"
        self._draw = f"SELECT nextval('{sequence_name(target.schema)}') FROM generate_series(1, %s)"
        try:
            self.conn: psycopg.Connection | None = psycopg.connect(target.conninfo, autocommit=True)
        except psycopg.Error as error:
            raise unreachable(target, error) from None
        try:
            found = self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", (sequence_name(target.schema),)).fetchone()
        except psycopg.Error as error:
            self.close()
            raise translate(target, error, "prepare a live writer") from None
        if not (found and found[0]):
            self.close()
            raise StoreError(
                f"store in schema {target.schema} of {target.redacted} is not in live mode "
                f"(no sequence {SEQUENCE}); call begin_live() first"
            )

    def append(self, count: int, events_at: EventsAt, *, hold_s: float = 0.0) -> AppendReceipt:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidParameter(f"count={count!r} must be a positive integer")
        conn = self.conn
        if conn is None or conn.closed:
            raise StoreError(f"the live writer of {self.target.redacted} is closed")
        try:
            with conn.transaction():
                # The xid first, the positions after: stores.pg_live's docstring says why.
                conn.execute("SELECT pg_current_xact_id()")
                drawn = np.sort(np.array([r[0] for r in conn.execute(self._draw, (count,))], dtype=np.int64))
                batch = self._checked(events_at(drawn), drawn)
                self._copy_rows(conn, batch)
                if hold_s > 0:
                    time.sleep(hold_s)
            committed_at = time.monotonic()
        except CatchupError:
            raise
        except psycopg.Error as error:
            raise translate(self.target, error, "append live events") from None
        return AppendReceipt(int(drawn[0]), int(drawn[-1]), count, committed_at)

    def _checked(self, batch: pa.RecordBatch, drawn: npt.NDArray[np.int64]) -> pa.RecordBatch:
        """Conform to the schema as BatchChecker does; the positions must be the drawn ones."""
        if isinstance(batch, pa.Table):
            chunks = batch.combine_chunks().to_batches()
            batch = chunks[0] if chunks else pa.RecordBatch.from_pylist([], schema=batch.schema)
        try:
            batch = conform(batch, self.dictionary)
        except ValueError as error:
            raise SchemaMismatch(f"batch does not fit the event schema: {error}") from None
        got = positions(batch)
        if got.size != drawn.size or not np.array_equal(got, drawn):
            shown = f"{int(got[0])}..{int(got[-1])}" if got.size else "none"
            raise SchemaMismatch(
                f"events_at returned {got.size} events at positions {shown}; "
                f"expected exactly the {drawn.size} drawn positions {int(drawn[0])}..{int(drawn[-1])}"
            )
        return batch

    def _copy_rows(self, conn: psycopg.Connection, batch: pa.RecordBatch) -> None:
        """CSV written by pyarrow (vectorised), streamed through one COPY.

        Median time of a whole append (draw, events_at, insert, commit) on 2 cores, keys built:

            rows              100      1,000    5,000
            COPY csv          3.0 ms   9.9 ms   29.5 ms  (jsonb: 3.0, 9.8, 36.7)
            COPY binary       3.2 ms  13.8 ms   48.2 ms  (write_row per row)
            executemany       4.8 ms  23.0 ms  136.1 ms  (jsonb: 4.3, 21.1, 91.8)
        """
        if self.layout == "jsonb":
            encoded = encode_jsonb(batch)
            batch = pa.RecordBatch.from_arrays(
                encoded.columns[:5] + [encoded.column(5).storage], names=encoded.schema.names
            )
        sink = io.BytesIO()
        pa_csv.write_csv(batch, sink, _CSV)
        with conn.cursor().copy(self._copy) as copy:
            copy.write(sink.getbuffer())

    def close(self) -> None:
        if self.conn is not None:
            quietly(self.conn.close)
            self.conn = None


class PgGapWatch(GapWatch):
    """Marks and settles by transaction ids, on one autocommit connection of its own."""

    def __init__(self, target: PgTarget) -> None:
        self.target = target
        try:
            self.conn: psycopg.Connection | None = psycopg.connect(target.conninfo, autocommit=True)
        except psycopg.Error as error:
            raise unreachable(target, error) from None

    def _one(self, sql: str, params: tuple[int, ...] = ()) -> object:
        if self.conn is None or self.conn.closed:
            raise StoreError(f"the gap watch of {self.target.redacted} is closed")
        try:
            row = self.conn.execute(sql, params).fetchone()
        except psycopg.Error as error:
            raise translate(self.target, error, "watch the transactions in flight") from None
        return row[0] if row else None

    def mark(self) -> int:
        return int(self._one("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))  # type: ignore[call-overload]

    def settled(self, mark: int) -> bool:
        return bool(self._one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint >= %s", (int(mark),)))

    def close(self) -> None:
        if self.conn is not None:
            quietly(self.conn.close)
            self.conn = None
