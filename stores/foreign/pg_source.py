"""A foreign event store in Postgres, read through its preset's layout; never written.

Every connection asks the server for read-only transactions
(``default_transaction_read_only=on``), so a write could not happen even by mistake: the
server would refuse it. The events come as today's own store reads them: one query per
read, streamed as Arrow batches through ADBC, filtered and ordered by the layout's
position column (an index look-up: a tail read costs the tail). Payload fields that
[columns] names are extracted on the server (``->>`` and casts), which measured faster
than fetching whole jsonb and parsing it in Python (the presets' docstrings give figures).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from stores.base import READ_BATCH_SIZE, check_read_range
from stores.errors import SchemaMismatch, StoreNotFound
from stores.foreign.follow import GracedGapWatch
from stores.foreign.layout import PgLayout
from stores.foreign.mapping import BatchFit, render, select_list
from stores.foreign.presets import layout_for
from stores.foreign.source_base import SAMPLE_ROWS, Arrivals, ForeignSource, SourceFacts
from stores.foreign.spec import SourceSpec
from stores.live import GapWatch, NoGaps
from stores.page_cache import Eviction
from stores.pg_live import PgGapWatch
from stores.pg_read import stream_events
from stores.pg_sessions import DRIVER_ERRORS, PgSessions
from stores.pg_target import PgTarget, parse_target, translate
from stores.postgres import PG_NOT_EVICTED

READ_ONLY = "-c default_transaction_read_only=on"


def read_only_target(uri: str, schema: str) -> PgTarget:
    """The target of ``uri`` with every session read-only (the user's own options kept)."""
    target = parse_target(uri)
    params = conninfo_to_dict(target.conninfo)
    options = str(params.get("options") or "")
    conninfo = make_conninfo(target.conninfo, options=f"{options} {READ_ONLY}".strip())
    return dataclasses.replace(target, conninfo=conninfo, schema=schema)


class ForeignPgSource(ForeignSource):
    followable = True

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        self.layout: PgLayout = layout_for(spec)
        schema = self.layout.table.partition(".")[0] if "." in self.layout.table else "public"
        self.target = read_only_target(spec.uri, schema)
        self.backend = f"foreign:{self.layout.system}"
        self._sessions = PgSessions(self.target)
        self._listed = select_list(self.layout, spec)
        self._checked = False
        self._watches: list[GracedGapWatch] = []

    def close(self) -> None:
        for watch in self._watches:
            watch.close()
        self._sessions.close()

    # -- the SQL -------------------------------------------------------------------------

    def _conditions(self, extra: tuple[str, ...] = ()) -> str:
        conditions = [*(f"({one})" for one in self.layout.filters), *extra]
        where = self.spec.option("where")
        if where:
            conditions.append(f"({where})")
        return " AND ".join(conditions) or "TRUE"

    def _select(self, after: int, upto: int, *, order: str = "ASC", limit: int | None = None) -> str:
        position = self.layout.envelope.position
        conditions = self._conditions((f"({position}) > {int(after)}", f"({position}) <= {int(upto)}"))
        sql = (
            f"SELECT {render(self._listed)} FROM {self.layout.relation} WHERE {conditions} "
            f"ORDER BY ({position}) {order}"
        )
        return sql + (f" LIMIT {int(limit)}" if limit is not None else "")

    # -- opening -------------------------------------------------------------------------

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        """The table, its columns and the layout's refusals, before anything is read."""
        if self._checked:
            return
        layout = self.layout
        if layout.table:
            found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (layout.table,)).fetchone()
            if not (found and found[0]):
                raise StoreNotFound(
                    f"{self.spec.name}: no table {layout.table} in {self.target.redacted} for preset "
                    f"{self.spec.preset}; check source.uri and the preset's options"
                )
            if layout.required_columns:
                schema, _, table = layout.table.rpartition(".")
                have = {
                    str(row[0])
                    for row in conn.execute(
                        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
                        "AND NOT attisdropped",
                        (layout.table,),
                    ).fetchall()
                }
                missing = [name for name in layout.required_columns if name not in have]
                if missing:
                    raise SchemaMismatch(
                        f"{self.spec.name}: table {layout.table} has no column {', '.join(missing)}, which preset "
                        f"{self.spec.preset} reads; is it {layout.system}'s table?"
                    )
        for refusal in layout.refusals:
            row = conn.execute(refusal.sql).fetchone()
            if row and row[0]:
                raise SchemaMismatch(f"{self.spec.name}: {refusal.message}")
        self._checked = True

    def _high_water_mark(self, conn: psycopg.Connection[Any]) -> int | None:
        if self.layout.high_water_mark is None:
            return None
        row = conn.execute(self.layout.high_water_mark).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def _measure(self) -> SourceFacts:
        position = self.layout.envelope.position
        with self._sessions.control(f"read {self.layout.table or self.layout.relation}") as conn:
            self._check(conn)
            mark = self._high_water_mark(conn)
            conditions = self._conditions((f"({position}) <= {mark}",) if mark is not None else ())
            # The ends by the position index: cheap, done on every open.
            row = conn.execute(
                f"SELECT coalesce(min({position}), 0), coalesce(max({position}), 0) "
                f"FROM {self.layout.relation} WHERE {conditions}"
            ).fetchone()
            assert row is not None  # an aggregate always returns a row
            first, last = int(row[0]), int(row[1])
            sample = self._sample(conn, last)
            size = 0
            if self.layout.table:
                found = conn.execute("SELECT pg_total_relation_size(to_regclass(%s))", (self.layout.table,)).fetchone()
                size = int(found[0]) if found and found[0] is not None else 0
            # The count and the currencies scan the log: remembered for the same ends and sample.
            key = {"read": f"{render(self._listed)} FROM {self.layout.relation} WHERE {conditions}", "first": first}
            key |= {"last": last, "sample": sample}
            events, currencies = self._remembered(key, lambda: self._count(conn, conditions))
        relation = self.layout.table or self.layout.relation
        shown = " ".join([relation, *(self.layout.filters or ())])
        return SourceFacts(self.layout.system, shown, events, first, last, sample, size, currencies)

    def _count(self, conn: psycopg.Connection[Any], conditions: str) -> tuple[int, tuple[str, ...]]:
        """The events and (onto the ledger) the sorted currency list: one scan of the log."""
        currency = {name: expr for expr, name in self._listed}.get("currency")
        currencies_sql = f", array_agg(DISTINCT {currency})" if self.spec.mapped and currency else ""
        row = conn.execute(f"SELECT count(*){currencies_sql} FROM {self.layout.relation} WHERE {conditions}").fetchone()
        assert row is not None
        currencies = tuple(sorted(str(c) for c in (row[1] or ()) if c is not None)) if currencies_sql else ()
        return int(row[0]), currencies

    def _sample(self, conn: psycopg.Connection[Any], last: int) -> str:
        """An md5 of the first and last SAMPLE_ROWS events as this source reads them (mapping included)."""
        parts = []
        for order in ("ASC", "DESC"):
            inner = self._select(0, last, order=order, limit=SAMPLE_ROWS)
            row = conn.execute(f"SELECT md5(coalesce(string_agg(md5(t::text), ''), '')) FROM ({inner}) AS t").fetchone()
            parts.append(str(row[0]) if row else "")
        return ":".join(parts)

    # -- reading -------------------------------------------------------------------------

    def _read_positions(self, upto: int) -> np.ndarray:
        position = self.layout.envelope.position
        conditions = self._conditions((f"({position}) <= {int(upto)}",))
        sql = f"SELECT ({position})::bigint AS position FROM {self.layout.relation} WHERE {conditions} ORDER BY 1"
        lease = self._sessions.reader()
        finished = False
        try:
            try:
                lease.cursor = lease.conn.cursor()
                lease.cursor.execute(sql)
                table = lease.cursor.fetch_arrow_table()
            except DRIVER_ERRORS as error:
                raise translate(self.target, error, "read the positions") from None
            finished = True
        finally:
            self._sessions.release(lease, reusable=finished)
        return table.column(0).to_numpy()

    def read(
        self, after: int = 0, upto: int | None = None, batch_size: int = READ_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        check_read_range(after, upto, batch_size)
        facts = self.facts()  # checked now: a bad source fails where read() is called
        # upto=None: up to the head when the source was opened, the head its count and identity
        # describe; a follower names its bound, a settled head (bench.live.follow).
        end = facts.last if upto is None else upto
        # Never past the mark, whatever was asked. Up to the head at open it is known safe (a
        # mark only advances), so only a read beyond it asks the mark again.
        if end > facts.last and self.layout.high_water_mark is not None:
            with self._sessions.control("read the high-water mark") as conn:
                mark = self._high_water_mark(conn)
            end = end if mark is None else min(end, mark)
        if end <= after:
            return iter(())
        fit = BatchFit(self.spec, facts.currencies, self.layout)
        return stream_events(self._sessions, self.target, self._select(after, end), batch_size, fit)

    # -- following the log as its application writes it ---------------------------------

    def visible_head(self) -> int:
        """The highest position committed now (never past the high-water mark, where there is one)."""
        position = self.layout.envelope.position
        with self._sessions.control("read the visible head") as conn:
            mark = self._high_water_mark(conn)
            bound = (f"({position}) <= {mark}",) if mark is not None else ()
            row = conn.execute(
                f"SELECT coalesce(max({position}), 0) FROM {self.layout.relation} WHERE {self._conditions(bound)}"
            ).fetchone()
        return int(row[0]) if row else 0

    def arrivals(self, after: int) -> Arrivals:
        position = self.layout.envelope.position
        with self._sessions.control("count the events arrived") as conn:
            mark = self._high_water_mark(conn)
            bounds = (f"({position}) > {int(after)}", *((f"({position}) <= {mark}",) if mark is not None else ()))
            row = conn.execute(
                f"SELECT count(*), coalesce(max({position}), {int(after)}) FROM {self.layout.relation} "
                f"WHERE {self._conditions(bounds)}"
            ).fetchone()
        return Arrivals(int(row[0]), int(row[1])) if row else Arrivals(0, after)

    def gap_watch(self) -> GapWatch:
        """The rule a follower reads by: none where commits come in order or a high-water mark
        bounds the visible head (below it every event is committed), else concurrent commits'."""
        if self.layout.commits_in_order or self.layout.high_water_mark is not None and self._marked():
            return NoGaps()
        watch = GracedGapWatch(PgGapWatch(self.target))
        self._watches.append(watch)
        return watch

    def _marked(self) -> bool:
        with self._sessions.control("read the high-water mark") as conn:
            return self._high_water_mark(conn) is not None

    def evict_page_cache(self) -> Eviction:
        return Eviction(0, 0, PG_NOT_EVICTED)
