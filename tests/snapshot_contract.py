"""The snapshot-store contract (stores/snapshots.py), run against every backend by subclassing.

A backend's test class subclasses SnapshotContract and overrides the ``event_store`` fixture
to return a store loaded with SMALL, ``snapshots_for`` to open its snapshot store under
another dataset id, and ``damage`` to alter a snapshot's stored bytes in place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pyarrow as pa
import pytest

from generators import dataset_meta, generate
from stores import EventStore
from stores.errors import InvalidParameter, StoreCorrupt, StoreIncomplete
from stores.snapshots import SnapshotInfo, SnapshotStore, encode_state
from tests.data import SMALL

PROJECTION = "balances"


def state(rows: int, seed: int = 0) -> pa.Table:
    """A projection state with the column kinds states have: ints with nulls, strings, a dictionary."""
    currencies = [SMALL.currencies[(i + seed) % len(SMALL.currencies)] for i in range(rows)]
    return pa.table(
        {
            "account": pa.array(range(rows), pa.int64()),
            "balance": pa.array([None if i % 7 == 3 else i * 31 + seed for i in range(rows)], pa.int64()),
            "currency": pa.array(currencies, pa.string()).dictionary_encode(),
            "note": pa.array([f"account {i} seed {seed}" for i in range(rows)], pa.string()),
        }
    )


def reload(event_store: EventStore) -> None:
    event_store.load(generate(SMALL, batch_size=5_000), dataset_meta(SMALL), overwrite=True)


class SnapshotContract:
    @pytest.fixture
    def event_store(self) -> Iterator[EventStore]:
        raise NotImplementedError("a backend's test class yields a store loaded with SMALL here")

    @pytest.fixture
    def snaps(self, event_store: EventStore) -> SnapshotStore:
        return event_store.snapshots()

    def snapshots_for(self, event_store: EventStore, dataset: str) -> SnapshotStore:
        raise NotImplementedError("a backend's test class opens the store's snapshots under another dataset id")

    def damage(self, event_store: EventStore, info: SnapshotInfo) -> None:
        raise NotImplementedError("a backend's test class alters the stored bytes of a snapshot here")

    # -- round trips ---------------------------------------------------------------------

    @pytest.mark.parametrize("rows", [0, 1, 5_000])
    def test_save_then_load_gives_an_equal_table(self, snaps: SnapshotStore, rows: int) -> None:
        saved = state(rows)
        info = snaps.save(PROJECTION, 1_000, saved)
        loaded = snaps.load(info)
        assert loaded.schema == saved.schema  # the dictionary column stays a dictionary
        assert loaded.equals(saved)

    def test_info_describes_the_stored_bytes(self, snaps: SnapshotStore, event_store: EventStore) -> None:
        saved = state(300)
        info = snaps.save(PROJECTION, 12_345, saved)
        assert (info.projection, info.position, info.rows) == (PROJECTION, 12_345, 300)
        assert info.size_bytes == len(encode_state(saved))
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", info.checksum)
        assert info.dataset == dataset_meta(SMALL).fingerprint["id"] == event_store.info().fingerprint["id"]  # type: ignore[index]
        assert info.created_at.endswith("+00:00")
        assert snaps.list(PROJECTION) == [info]  # the same fields come back from storage

    # -- finding -------------------------------------------------------------------------

    def test_latest_is_none_without_snapshots(self, snaps: SnapshotStore) -> None:
        assert snaps.latest(PROJECTION) is None
        assert snaps.latest(PROJECTION, at_or_before=SMALL.events) is None
        assert snaps.list(PROJECTION) == []

    @pytest.mark.parametrize(
        ("at_or_before", "expected"),
        [(99, None), (100, 100), (5_000, 100), (10_000, 10_000), (20_000, 20_000), (29_999, 20_000), (None, 20_000)],
    )
    def test_latest_at_or_before(self, snaps: SnapshotStore, at_or_before: int | None, expected: int | None) -> None:
        for position in (10_000, 100, 20_000):  # saved out of order
            snaps.save(PROJECTION, position, state(10, seed=position))
        found = snaps.latest(PROJECTION, at_or_before=at_or_before)
        assert (found.position if found else None) == expected
        if found is not None:
            assert snaps.load(found).equals(state(10, seed=found.position))

    def test_list_is_ascending(self, snaps: SnapshotStore) -> None:
        for position in (300, 7, 12_000, 45):
            snaps.save(PROJECTION, position, state(3, seed=position))
        assert [info.position for info in snaps.list(PROJECTION)] == [7, 45, 300, 12_000]

    def test_saving_at_the_same_position_replaces(self, snaps: SnapshotStore) -> None:
        first = snaps.save(PROJECTION, 500, state(10, seed=1))
        second = snaps.save(PROJECTION, 500, state(20, seed=2))
        assert first.checksum != second.checksum
        assert snaps.list(PROJECTION) == [second]
        assert snaps.latest(PROJECTION) == second
        assert snaps.load(second).equals(state(20, seed=2))

    def test_delete_counts_and_empties(self, snaps: SnapshotStore) -> None:
        assert snaps.delete(PROJECTION) == 0
        for position in (1, 2, 3):
            snaps.save(PROJECTION, position, state(2))
        assert snaps.delete(PROJECTION) == 3
        assert snaps.list(PROJECTION) == [] and snaps.latest(PROJECTION) is None
        assert snaps.delete(PROJECTION) == 0

    def test_projections_are_independent(self, snaps: SnapshotStore) -> None:
        snaps.save("balances", 100, state(5, seed=1))
        snaps.save("balances.v2", 200, state(6, seed=2))
        assert [i.position for i in snaps.list("balances")] == [100]
        assert snaps.latest("balances.v2").position == 200  # type: ignore[union-attr]
        assert snaps.delete("balances") == 1
        assert snaps.list("balances") == []
        assert snaps.load(snaps.list("balances.v2")[0]).equals(state(6, seed=2))

    # -- refusals ------------------------------------------------------------------------

    @pytest.mark.parametrize("name", ["", "a/b", "../up", "with space", "x" * 65, "naïve", "balances\n", None])
    def test_bad_projection_names_are_refused(self, snaps: SnapshotStore, name: object) -> None:
        for action in (
            lambda: snaps.save(name, 1, state(1)),  # type: ignore[arg-type]
            lambda: snaps.latest(name),  # type: ignore[arg-type]
            lambda: snaps.list(name),  # type: ignore[arg-type]
            lambda: snaps.delete(name),  # type: ignore[arg-type]
        ):
            with pytest.raises(InvalidParameter, match="cannot name a snapshot"):
                action()

    @pytest.mark.parametrize("position", [-1, 1.5, "10", True])
    def test_bad_positions_are_refused(self, snaps: SnapshotStore, position: object) -> None:
        with pytest.raises(InvalidParameter, match="position"):
            snaps.save(PROJECTION, position, state(1))  # type: ignore[arg-type]
        with pytest.raises(InvalidParameter, match="at_or_before"):
            snaps.latest(PROJECTION, at_or_before=position)  # type: ignore[arg-type]
        assert snaps.list(PROJECTION) == []

    def test_a_state_must_be_a_table(self, snaps: SnapshotStore) -> None:
        with pytest.raises(InvalidParameter, match="must be a pyarrow Table, not RecordBatch"):
            snaps.save(PROJECTION, 1, state(2).to_batches()[0])  # type: ignore[arg-type]

    # -- corruption ----------------------------------------------------------------------

    def test_damaged_bytes_are_corrupt_not_a_silent_replay(self, snaps: SnapshotStore, event_store: EventStore) -> None:
        info = snaps.save(PROJECTION, 777, state(2_000))
        self.damage(event_store, info)
        assert snaps.latest(PROJECTION) == info  # still listed: the damage shows when loading
        with pytest.raises(
            StoreCorrupt, match=f"snapshot of {PROJECTION} at position 777 .* fails its checksum"
        ) as raised:
            snaps.load(info)
        assert "\n" not in str(raised.value)

    def test_a_snapshot_of_another_dataset_is_corrupt(self, snaps: SnapshotStore, event_store: EventStore) -> None:
        info = snaps.save(PROJECTION, 777, state(10))
        other = self.snapshots_for(event_store, "0123456789abcdef")
        assert other.latest(PROJECTION) == info
        with pytest.raises(
            StoreCorrupt, match=f"taken of dataset {info.dataset}, but the store now holds 0123456789abcdef"
        ):
            other.load(info)
        with pytest.raises(StoreCorrupt, match="taken of dataset feedfacefeedface"):
            snaps.load(replace(info, dataset="feedfacefeedface"))
        assert snaps.load(info).equals(state(10))

    # -- reloading the events ------------------------------------------------------------

    def test_reloading_events_removes_every_snapshot(self, snaps: SnapshotStore, event_store: EventStore) -> None:
        snaps.save("balances", 100, state(5))
        snaps.save("ledger", 200, state(5))
        reload(event_store)
        again = event_store.snapshots()
        for store in (snaps, again):
            assert store.list("balances") == [] and store.list("ledger") == []
            assert store.latest("balances") is None
        assert again.save("balances", 300, state(1)).position == 300
        assert [i.position for i in again.list("balances")] == [300]

    def test_an_interrupted_reload_removes_snapshots_and_refuses_new_ones(
        self, snaps: SnapshotStore, event_store: EventStore
    ) -> None:
        snaps.save(PROJECTION, 100, state(5))

        def dies() -> Iterator[pa.RecordBatch]:
            yield next(generate(SMALL, batch_size=5_000))
            raise RuntimeError("writer died")

        with pytest.raises(RuntimeError, match="writer died"):
            event_store.load(dies(), dataset_meta(SMALL), overwrite=True)
        assert snaps.list(PROJECTION) == []
        with pytest.raises(StoreIncomplete, match="incomplete"):
            event_store.snapshots()
