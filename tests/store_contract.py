"""The event-store contract (stores/base.py), run against every backend by subclassing.

A backend's test class subclasses StoreContract and overrides the ``store_uri`` fixture
to return the URI of a fresh, empty store that the test may fill.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from generators import dataset_meta, generate
from stores import EventStore, open_store
from stores.errors import SchemaMismatch, StoreIncomplete, StoreNotEmpty
from tests.data import SMALL, events_of, read_all


class StoreContract:
    @pytest.fixture
    def store_uri(self) -> str:
        raise NotImplementedError("a backend's test class returns a fresh store URI here")

    @pytest.fixture
    def store(self, store_uri: str) -> Iterator[EventStore]:
        with open_store(store_uri) as store:
            yield store

    @pytest.fixture
    def loaded(self, store: EventStore) -> EventStore:
        store.load(generate(SMALL, batch_size=5_000), dataset_meta(SMALL))
        return store

    def test_head_and_info_after_load(self, loaded: EventStore) -> None:
        assert loaded.head() == SMALL.events
        info = loaded.info()
        assert info.exists and info.complete
        assert info.head == SMALL.events
        assert info.fingerprint == dataset_meta(SMALL).fingerprint
        assert info.currencies == SMALL.currencies
        assert info.size_bytes > 0
        assert loaded.currencies() == SMALL.currencies

    def test_full_read_returns_every_event_unchanged(self, loaded: EventStore) -> None:
        assert read_all(loaded).equals(events_of(SMALL))

    @pytest.mark.parametrize("after", [0, 1, 9_999, 29_000, 29_999, 30_000])
    def test_read_after_returns_only_the_tail(self, loaded: EventStore, after: int) -> None:
        expected = events_of(SMALL).slice(after)
        assert read_all(loaded, after=after).equals(expected)

    @pytest.mark.parametrize(("after", "upto"), [(0, 1), (100, 2_000), (12_345, 12_346), (500, 500)])
    def test_read_between_after_and_upto(self, loaded: EventStore, after: int, upto: int) -> None:
        expected = events_of(SMALL).slice(after, upto - after)
        assert read_all(loaded, after=after, upto=upto).equals(expected)

    @pytest.mark.parametrize("batch_size", [1_000, 4_096, 100_000])
    def test_batches_respect_batch_size_and_are_never_empty(self, loaded: EventStore, batch_size: int) -> None:
        batches = list(loaded.read(after=123, batch_size=batch_size))
        assert all(0 < batch.num_rows <= batch_size for batch in batches)
        assert pa.Table.from_batches(batches).equals(events_of(SMALL).slice(123))

    def test_empty_store_has_head_zero_and_reads_nothing(self, store: EventStore) -> None:
        assert store.load(iter(()), dataset_meta(SMALL)) == 0
        assert store.head() == 0
        assert list(store.read()) == []

    def test_interrupted_load_leaves_an_incomplete_store_that_refuses_reads(self, store: EventStore) -> None:
        def dies_half_way() -> Iterator[pa.RecordBatch]:
            batches = generate(SMALL, batch_size=5_000)
            yield next(batches)
            yield next(batches)
            raise RuntimeError("writer died")

        with pytest.raises(RuntimeError, match="writer died"):
            store.load(dies_half_way(), dataset_meta(SMALL))
        assert store.info().complete is False
        with pytest.raises(StoreIncomplete, match="incomplete"):
            list(store.read())
        with pytest.raises(StoreIncomplete):
            store.head()
        with pytest.raises(StoreNotEmpty, match="incomplete"):
            store.load(generate(SMALL), dataset_meta(SMALL))
        store.load(generate(SMALL), dataset_meta(SMALL), overwrite=True)
        assert read_all(store).equals(events_of(SMALL))

    def test_load_into_a_filled_store_needs_overwrite(self, loaded: EventStore) -> None:
        with pytest.raises(StoreNotEmpty, match="30,000 events; pass --overwrite"):
            loaded.load(generate(SMALL), dataset_meta(SMALL))
        assert loaded.info().complete and loaded.head() == SMALL.events

    def test_append_continues_after_the_head(self, store: EventStore) -> None:
        table = events_of(SMALL)
        store.load(table.slice(0, 20_000).to_batches(max_chunksize=7_000), dataset_meta(SMALL))
        assert store.append(table.slice(20_000).to_batches(max_chunksize=3_000)) == SMALL.events
        assert store.head() == SMALL.events
        assert read_all(store).equals(table)
        assert read_all(store, after=19_999).equals(table.slice(19_999))

    def test_append_refuses_positions_that_do_not_follow_the_head(self, loaded: EventStore) -> None:
        with pytest.raises(SchemaMismatch, match="strictly increasing"):
            loaded.append(events_of(SMALL).slice(100, 10).to_batches())
        assert loaded.head() == SMALL.events

    def test_load_refuses_batches_without_the_event_schema(self, store: EventStore) -> None:
        wrong = pa.record_batch({"position": pa.array([1, 2], pa.int64())})
        with pytest.raises(SchemaMismatch, match="column 'stream_id' is missing"):
            store.load(iter([wrong]), dataset_meta(SMALL))
