"""Snapshot stores: the shared contract on Parquet and Postgres, plus what only one has."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from generators import dataset_meta, generate
from stores import EventStore
from stores.errors import StoreCorrupt, StoreNotEmpty, StoreNotFound
from stores.parquet import ParquetStore
from stores.parquet_snapshots import ParquetSnapshotStore
from stores.pg_snapshots import PgSnapshotStore
from stores.postgres import PostgresStore
from stores.snapshots import SnapshotInfo, SnapshotStore, checksum_of
from tests.data import SMALL
from tests.snapshot_contract import PROJECTION, SnapshotContract, reload, state


def _load(store: EventStore) -> None:
    store.load(generate(SMALL, batch_size=5_000), dataset_meta(SMALL))


class TestParquetSnapshots(SnapshotContract):
    @pytest.fixture
    def event_store(self, tmp_path: Path) -> Iterator[EventStore]:
        with ParquetStore(tmp_path / "store") as store:
            _load(store)
            yield store

    def snapshots_for(self, event_store: EventStore, dataset: str) -> SnapshotStore:
        assert isinstance(event_store, ParquetStore)
        return ParquetSnapshotStore(event_store.folder, dataset)

    def damage(self, event_store: EventStore, info: SnapshotInfo) -> None:
        path = _data_file(event_store, info)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))


class TestPostgresSnapshots(SnapshotContract):
    @pytest.fixture
    def event_store(self, pg_store_uri) -> Iterator[EventStore]:  # type: ignore[no-untyped-def]
        with PostgresStore(pg_store_uri("typed")) as store:
            _load(store)
            yield store

    def snapshots_for(self, event_store: EventStore, dataset: str) -> SnapshotStore:
        assert isinstance(event_store, PostgresStore)
        return PgSnapshotStore(event_store.target, event_store._sessions, dataset)

    def damage(self, event_store: EventStore, info: SnapshotInfo) -> None:
        assert isinstance(event_store, PostgresStore)
        with event_store._sessions.control("damage a snapshot") as conn:
            conn.execute(
                f'UPDATE "{event_store.schema}".snapshots SET data = set_byte(data, %s, get_byte(data, %s) # 255) '
                "WHERE projection = %s AND position = %s",
                (info.size_bytes // 2, info.size_bytes // 2, info.projection, info.position),
            )


def _data_file(store: EventStore, info: SnapshotInfo) -> Path:
    assert isinstance(store, ParquetStore)
    return store.folder / "snapshots" / info.projection / f"{info.position:020d}.parquet"


# -- Parquet only --------------------------------------------------------------------------


@pytest.fixture
def parquet_store(tmp_path: Path) -> Iterator[ParquetStore]:
    with ParquetStore(tmp_path / "store") as store:
        _load(store)
        yield store


def test_files_are_named_by_zero_padded_position(parquet_store: ParquetStore) -> None:
    info = parquet_store.snapshots().save(PROJECTION, 42, state(3))
    folder = parquet_store.folder / "snapshots" / PROJECTION
    assert sorted(p.name for p in folder.iterdir()) == ["00000000000000000042.json", "00000000000000000042.parquet"]
    assert checksum_of((folder / "00000000000000000042.parquet").read_bytes()) == info.checksum
    sidecar = json.loads((folder / "00000000000000000042.json").read_text())
    assert sidecar["checksum"] == info.checksum and sidecar["size_bytes"] == info.size_bytes


def test_missing_data_file_is_corrupt(parquet_store: ParquetStore) -> None:
    snaps = parquet_store.snapshots()
    info = snaps.save(PROJECTION, 42, state(3))
    _data_file(parquet_store, info).unlink()
    assert snaps.latest(PROJECTION) == info
    with pytest.raises(StoreCorrupt, match="at position 42 .* is listed but 00000000000000000042.parquet is missing"):
        snaps.load(info)


@pytest.mark.parametrize("damage", ["{not json", '{"format": "catchup-snapshot"}', "[]"])
def test_damaged_sidecar_is_corrupt(parquet_store: ParquetStore, damage: str) -> None:
    snaps = parquet_store.snapshots()
    info = snaps.save(PROJECTION, 42, state(3))
    _data_file(parquet_store, info).with_suffix(".json").write_text(damage)
    for action in (lambda: snaps.latest(PROJECTION), lambda: snaps.list(PROJECTION)):
        with pytest.raises(StoreCorrupt, match="00000000000000000042.json is damaged") as raised:
            action()
        assert "\n" not in str(raised.value)


def test_sidecar_of_another_position_is_corrupt(parquet_store: ParquetStore) -> None:
    snaps = parquet_store.snapshots()
    info = snaps.save(PROJECTION, 42, state(3))
    sidecar = _data_file(parquet_store, info).with_suffix(".json")
    sidecar.rename(sidecar.with_name("00000000000000000043.json"))
    with pytest.raises(StoreCorrupt, match="describes balances at position 42, not the snapshot its name says"):
        snaps.list(PROJECTION)


def test_bytes_that_match_their_checksum_but_do_not_decode_are_corrupt(parquet_store: ParquetStore) -> None:
    snaps = parquet_store.snapshots()
    info = snaps.save(PROJECTION, 42, state(3))
    _data_file(parquet_store, info).write_bytes(b"not parquet at all")
    forged = replace(info, checksum=checksum_of(b"not parquet at all"))
    with pytest.raises(StoreCorrupt, match="at position 42 .* does not decode"):
        snaps.load(forged)


def test_data_file_without_sidecar_is_an_unfinished_save(parquet_store: ParquetStore) -> None:
    snaps = parquet_store.snapshots()
    kept = snaps.save(PROJECTION, 10, state(3, seed=1))
    unfinished = snaps.save(PROJECTION, 20, state(3, seed=2))
    _data_file(parquet_store, unfinished).with_suffix(".json").unlink()
    assert snaps.list(PROJECTION) == [kept]
    assert snaps.latest(PROJECTION) == kept
    # A save at the same position completes over the leftover file.
    again = snaps.save(PROJECTION, 20, state(4, seed=3))
    assert snaps.latest(PROJECTION) == again and snaps.load(again).equals(state(4, seed=3))
    assert snaps.delete(PROJECTION) == 2
    assert not (parquet_store.folder / "snapshots" / PROJECTION).exists()


def test_only_committed_sidecar_names_are_snapshots(parquet_store: ParquetStore) -> None:
    snaps = parquet_store.snapshots()
    kept = snaps.save(PROJECTION, 42, state(3))
    folder = parquet_store.folder / "snapshots" / PROJECTION
    # Names the listing must pass over: a temporary file, a short or long stem, other
    # suffixes, and digits that str.isdigit accepts but int() would refuse or misread.
    for name in (
        ".00000000000000000043.json.77.tmp",
        "0000000000000000044.json",
        "000000000000000000045.json",
        "00000000000000000046.json.bak",
        "00000000000000000047.JSON",
        "0000000000000000004\u00b2.json",
        "0000000000000000004\u0668.json",
        "0000000000_000000048.json",
    ):
        (folder / name).write_text("{}")
    assert snaps.list(PROJECTION) == [kept]
    assert snaps.latest(PROJECTION) == kept
    assert snaps.delete(PROJECTION) == 1


def test_a_file_where_the_projection_folder_belongs_holds_no_snapshots(parquet_store: ParquetStore) -> None:
    snaps = parquet_store.snapshots()
    snaps.save("other", 1, state(3))  # makes the snapshots folder
    (parquet_store.folder / "snapshots" / PROJECTION).write_text("not a folder")
    assert snaps.list(PROJECTION) == [] and snaps.latest(PROJECTION) is None


def test_reload_deletes_the_snapshots_folder_and_keeps_refusing_foreign_folders(
    parquet_store: ParquetStore, tmp_path: Path
) -> None:
    parquet_store.snapshots().save(PROJECTION, 10, state(3))
    reload(parquet_store)
    assert not (parquet_store.folder / "snapshots").exists()
    foreign = tmp_path / "foreign"
    (foreign / "snapshots").mkdir(parents=True)
    with pytest.raises(StoreNotEmpty, match="is not a catchup store"):
        _load(ParquetStore(foreign))
    assert (foreign / "snapshots").is_dir()


def test_parquet_snapshots_of_a_missing_store_are_not_found(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFound, match="no event store at"):
        ParquetStore(tmp_path / "nothing").snapshots()


# -- Postgres only -------------------------------------------------------------------------


def test_postgres_snapshots_of_a_missing_store_are_not_found(pg_store_uri) -> None:  # type: ignore[no-untyped-def]
    with PostgresStore(pg_store_uri("typed")) as store:
        with pytest.raises(StoreNotFound, match="no catchup event store in schema"):
            store.snapshots()


def test_postgres_table_is_made_by_the_first_save_and_dropped_by_a_reload(pg_store_uri, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    with PostgresStore(pg_store_uri("typed")) as store:
        _load(store)
        table = f'"{store.schema}".snapshots'

        def exists() -> bool:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
            return bool(row and row[0])

        snaps = store.snapshots()
        assert snaps.latest(PROJECTION) is None and not exists()
        info = snaps.save(PROJECTION, 5, state(4))
        assert exists()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            stored = conn.execute(f"SELECT length(data), checksum FROM {table}").fetchall()
        assert stored == [(info.size_bytes, info.checksum)]
        reload(store)
        assert not exists()
