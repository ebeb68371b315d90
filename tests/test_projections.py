from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import polars as pl
import psycopg
import pyarrow as pa
import pytest

from generators import LedgerParams, dataset_meta, generate
from projections import Balances, BalancesPerEvent, DailyVolume, EventProjection, Statement
from projections.balances import SIGN
from projections.digest import canonical, differing_rows, table_digest
from projections.statement import ENTRIES
from stores import EventStore, open_store
from tests.conftest import with_options
from tests.data import SMALL, events_of
from tests.projection_contract import ProjectionContract


def _loaded(uri: str) -> EventStore:
    store = open_store(uri)
    store.load(generate(SMALL, batch_size=5_000), dataset_meta(SMALL))
    return store


class TestProjectionsOnParquet(ProjectionContract):
    @pytest.fixture(scope="class")
    @classmethod
    def event_store(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
        with _loaded(str(tmp_path_factory.mktemp("projections") / "store")) as store:
            yield store


class TestProjectionsOnPostgres(ProjectionContract):
    @pytest.fixture(scope="class")
    @classmethod
    def event_store(cls, pg_url: str) -> Iterator[EventStore]:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        try:
            with _loaded(with_options(pg_url, layout="typed", schema=schema)) as store:
                yield store
        finally:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# -- each built-in against an independent computation over the same events ----------------


def _events() -> pl.DataFrame:
    frame = pl.from_arrow(events_of(SMALL))
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(pl.col("event_type", "currency").cast(pl.String))


def _applied(cls: type, table: pa.Table | None = None) -> Any:
    state = cls()
    for batch in (events_of(SMALL) if table is None else table).to_batches(max_chunksize=3_000):
        state.apply(batch)
    return state


def test_balances_equal_a_group_by_over_the_events() -> None:
    sign = pl.col("event_type").replace_strict(SIGN, return_dtype=pl.Int64)
    expected = (
        _events().group_by("stream_id", "currency").agg((pl.col("amount") * sign).sum().alias("balance")).to_arrow()
    )
    state = _applied(Balances).snapshot()
    assert canonical(state).equals(canonical(expected.cast(state.schema)))
    assert _applied(BalancesPerEvent).digest() == _applied(Balances).digest() == table_digest(expected)


def test_daily_volume_equals_a_group_by_over_the_events() -> None:
    params = LedgerParams(events=20_000, accounts=50, rate=0.05, seed=3)  # 20,000 events over ~5 days
    events = pa.Table.from_batches(list(generate(params)))
    frame = pl.from_arrow(events).with_columns(pl.col("event_type", "currency").cast(pl.String))
    expected = (
        frame.group_by(pl.col("occurred_at").dt.date().alias("day"), "currency", "event_type")
        .agg(pl.len().cast(pl.Int64).alias("count"), pl.col("amount").sum().alias("amount"))
        .to_arrow()
    )
    state = _applied(DailyVolume, events).snapshot()
    assert len(set(state.column("day").to_pylist())) >= 5
    assert canonical(state).equals(canonical(expected.cast(state.schema)))


def test_statement_keeps_the_last_entries_of_each_account() -> None:
    expected = (
        _events()
        .sort("position")
        .group_by("stream_id", maintain_order=True)
        .tail(ENTRIES)
        .select(
            "stream_id", "stream_version", "position", "occurred_at", "event_type", "currency", "amount", "counterparty"
        )
        .to_arrow()
    )
    state = _applied(Statement).snapshot()
    assert canonical(state).equals(canonical(expected.cast(state.schema)))
    assert max(pl.from_arrow(state).group_by("stream_id").len()["len"]) == ENTRIES


# -- the per-event base class ---------------------------------------------------------------


class _Recorder(EventProjection):
    name = "recorder"
    fields = ("position", "event_type", "occurred_at", "counterparty")

    def __init__(self) -> None:
        self.seen: list[tuple[object, ...]] = []

    def handle(self, event: object) -> None:
        self.seen.append((event.position, event.event_type, event.occurred_at, event.counterparty))  # type: ignore[attr-defined]

    def snapshot(self) -> pa.Table:
        return pa.table({"position": [row[0] for row in self.seen]})

    @classmethod
    def restore(cls, table: pa.Table) -> _Recorder:
        raise NotImplementedError


def test_event_projection_sees_each_event_in_order_with_python_values() -> None:
    recorder = _applied(_Recorder)
    rows = events_of(SMALL).select(["position", "event_type", "occurred_at", "counterparty"]).to_pylist()
    assert recorder.seen == [tuple(row.values()) for row in rows]


def test_event_projection_refuses_unknown_fields() -> None:
    with pytest.raises(TypeError, match=r"Bad.fields \('amount', 'colour'\): name one or more of position"):

        class Bad(EventProjection):
            fields = ("amount", "colour")


# -- digests and differences ----------------------------------------------------------------


def test_digest_ignores_chunking_and_dictionary_encoding_but_not_types() -> None:
    table = pa.table({"k": pa.array([3, 1, 2]), "s": pa.array(["c", "a", None])})
    chunked = pa.concat_tables([table.slice(0, 1), table.slice(1)])
    encoded = table.set_column(1, "s", table.column("s").dictionary_encode())
    assert table_digest(table) == table_digest(chunked) == table_digest(encoded)
    assert table_digest(table) != table_digest(table.cast(pa.schema([("k", pa.int32()), ("s", pa.string())])))
    assert table_digest(table) != table_digest(table.set_column(1, "s", pa.array(["c", "a", ""])))


def test_differing_rows_names_the_first_keys_in_order() -> None:
    full = pa.table({"stream_id": [1, 2, 3, 4], "balance": [10, 20, 30, 40]})
    caught = pa.table({"stream_id": [1, 2, 3, 5], "balance": [10, 21, 30, 50]})
    assert differing_rows(full, caught, ("stream_id",)) == [
        "stream_id=2: balance: full replay 20, catch-up 21",
        "stream_id=4: balance: full replay 40, catch-up None",
        "stream_id=5: balance: full replay None, catch-up 50",
    ]
    assert differing_rows(full, caught, (), limit=2) == [
        "only in the full replay: {'stream_id': 2, 'balance': 20}",
        "only in the full replay: {'stream_id': 4, 'balance': 40}",
    ]


def test_balances_refuse_stream_ids_beyond_the_dense_table() -> None:
    batch = events_of(SMALL).slice(0, 1).to_batches()[0]
    huge = batch.set_column(1, "stream_id", pa.array([1 << 40], pa.int64()))
    with pytest.raises(ValueError, match=r"stream_id must be 0..134217727, got 1099511627776..1099511627776"):
        Balances().apply(huge)


def test_digest_of_nested_columns_ignores_row_order() -> None:
    table = pa.table({"k": [2, 1], "tags": pa.array([["b"], ["a", "c"]])})
    assert table_digest(table) == table_digest(table.take(pa.array([1, 0])))
    assert table_digest(table) != table_digest(table.set_column(1, "tags", pa.array([["b"], ["a"]])))
