"""The projection contract (projections/base.py), run for every built-in projection against
every event-store backend by subclassing.

A backend's test class subclasses ProjectionContract and overrides the class-scoped
``event_store`` fixture to return a store loaded with SMALL; the ``projection`` fixture
runs every test once per built-in projection.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from bench.replay import replay
from projections import BUILTINS, Projection
from stores import EventStore
from tests.data import SMALL

POSITIONS = [0, 1, 2, 4_999, 12_345, SMALL.events - 1, SMALL.events]


def replayed(store: EventStore, cls: type[Projection], upto: int | None = None, batch_size: int = 4_096) -> Projection:
    state = cls()
    replay(store, state, upto=upto, batch_size=batch_size)
    return state


class ProjectionContract:
    @pytest.fixture(scope="class")
    @classmethod
    def event_store(cls) -> EventStore:
        raise NotImplementedError("a backend's test class returns a store loaded with SMALL here")

    @pytest.fixture(params=sorted(BUILTINS))
    def projection(self, request: pytest.FixtureRequest) -> type[Projection]:
        return BUILTINS[request.param]

    @pytest.fixture(scope="class")
    @classmethod
    def full_digests(cls, event_store: EventStore) -> dict[str, str]:
        return {name: replayed(event_store, kind).digest() for name, kind in BUILTINS.items()}

    @pytest.mark.parametrize("position", POSITIONS)
    def test_restore_plus_tail_equals_full_replay(
        self, event_store: EventStore, projection: type[Projection], full_digests: dict[str, str], position: int
    ) -> None:
        snapshot = replayed(event_store, projection, upto=position).snapshot()
        caught_up = projection.restore(snapshot)
        replay(event_store, caught_up, after=position)
        assert caught_up.digest() == full_digests[projection.name]

    def test_restore_through_the_snapshot_store(
        self, event_store: EventStore, projection: type[Projection], full_digests: dict[str, str]
    ) -> None:
        snapshots = event_store.snapshots()
        snapshots.save(projection.name, 10_000, replayed(event_store, projection, upto=10_000).snapshot())
        try:
            info = snapshots.latest(projection.name, at_or_before=12_000)
            assert info is not None and info.position == 10_000
            caught_up = projection.restore(snapshots.load(info))
            replay(event_store, caught_up, after=info.position)
            assert caught_up.digest() == full_digests[projection.name]
        finally:
            snapshots.delete(projection.name)

    @pytest.mark.parametrize("batch_size", [997, 30_000])
    def test_digest_is_the_same_whatever_the_batch_size(
        self, event_store: EventStore, projection: type[Projection], full_digests: dict[str, str], batch_size: int
    ) -> None:
        assert replayed(event_store, projection, batch_size=batch_size).digest() == full_digests[projection.name]

    def test_digest_changes_when_the_events_do(
        self, event_store: EventStore, projection: type[Projection], full_digests: dict[str, str]
    ) -> None:
        assert replayed(event_store, projection, upto=SMALL.events - 1).digest() != full_digests[projection.name]

    def test_snapshot_leaves_the_state_unchanged(self, event_store: EventStore, projection: type[Projection]) -> None:
        state = replayed(event_store, projection, upto=15_000)
        before = state.digest()
        first = state.snapshot()
        assert state.digest() == before
        assert state.snapshot().equals(first)

    def test_snapshot_schema_is_the_same_empty_and_full(
        self, event_store: EventStore, projection: type[Projection]
    ) -> None:
        empty, full = projection().snapshot(), replayed(event_store, projection).snapshot()
        assert empty.num_rows == 0 and full.num_rows > 0
        assert empty.schema.equals(full.schema)
        assert projection.restore(empty).digest() == projection().digest()

    def test_digest_ignores_row_order(self, event_store: EventStore, projection: type[Projection]) -> None:
        state = replayed(event_store, projection)
        snapshot = state.snapshot()
        reversed_rows = snapshot.take(pa.array(range(snapshot.num_rows - 1, -1, -1)))
        assert projection.restore(reversed_rows).digest() == state.digest()

    def test_key_columns_identify_rows(self, event_store: EventStore, projection: type[Projection]) -> None:
        snapshot = replayed(event_store, projection).snapshot()
        keys = snapshot.select(list(projection.key)).to_pylist()
        assert projection.key and len({tuple(row.values()) for row in keys}) == snapshot.num_rows
