from __future__ import annotations

import json
from pathlib import Path

import pytest

from generators import dataset_meta, generate
from stores import open_store
from stores.errors import SchemaMismatch, StoreCorrupt, StoreNotEmpty, StoreNotFound
from stores.parquet import ParquetStore
from stores.parquet_manifest import FORMAT_VERSION
from tests.data import SMALL, events_of, read_all
from tests.store_contract import StoreContract


class TestParquetStore(StoreContract):
    @pytest.fixture
    def store_uri(self, tmp_path: Path) -> str:
        return str(tmp_path / "store")


@pytest.fixture
def small_files(tmp_path: Path) -> ParquetStore:
    """SMALL in files of 8,192 events with row groups of 2,048: pruning is visible."""
    store = ParquetStore(tmp_path / "store", row_group_rows=2_048, file_rows=8_192)
    store.load(generate(SMALL, batch_size=3_000), dataset_meta(SMALL))
    return store


def test_parquet_uri_prefix_and_plain_path_name_the_same_store(small_files: ParquetStore) -> None:
    assert read_all(open_store(f"parquet:{small_files.folder}")).equals(events_of(SMALL))


def test_files_and_row_groups_are_whole_and_sorted(small_files: ParquetStore) -> None:
    import pyarrow.parquet as pq

    manifest = json.loads((small_files.folder / "catchup.json").read_text())
    assert [f["rows"] for f in manifest["files"]] == [8_192, 8_192, 8_192, 5_424]
    first = pq.ParquetFile(small_files.folder / manifest["files"][0]["name"])
    assert [first.metadata.row_group(i).num_rows for i in range(first.num_row_groups)] == [2_048] * 4
    stats = first.metadata.row_group(1).column(0).statistics
    assert (stats.min, stats.max) == (2_049, 4_096)


def test_tail_read_skips_row_groups_before_it_by_statistics(small_files: ParquetStore) -> None:
    # Damage the data pages of the first row group of the last file, leaving its footer:
    # a read that had to decode them would fail, so a tail read that works never touched them.
    last = sorted((small_files.folder / "events").iterdir())[-1]
    data = bytearray(last.read_bytes())
    data[4:2_000] = b"\xff" * 1_996
    last.write_bytes(bytes(data))
    tail = read_all(small_files, after=SMALL.events - 100)
    assert tail.equals(events_of(SMALL).slice(SMALL.events - 100))
    with pytest.raises(StoreCorrupt, match="cannot read"):
        read_all(small_files, after=8_192 * 3)


def test_missing_event_file_is_a_corrupt_store(small_files: ParquetStore) -> None:
    victim = sorted((small_files.folder / "events").iterdir())[1]
    victim.unlink()
    with pytest.raises(StoreCorrupt, match=f"{victim.name} is listed in .* but missing"):
        read_all(small_files)
    assert "missing_files" in small_files.info().details


def test_truncated_event_file_is_a_corrupt_store(small_files: ParquetStore) -> None:
    victim = sorted((small_files.folder / "events").iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:500])
    with pytest.raises(StoreCorrupt, match="not a readable Parquet file"):
        read_all(small_files)


def test_damaged_manifest_is_a_corrupt_store(small_files: ParquetStore) -> None:
    (small_files.folder / "catchup.json").write_text("{not json")
    with pytest.raises(StoreCorrupt, match="manifest .* is damaged"):
        small_files.head()


def test_manifest_of_another_format_version_is_refused(small_files: ParquetStore) -> None:
    path = small_files.folder / "catchup.json"
    path.write_text(path.read_text().replace(f'"format_version": {FORMAT_VERSION}', '"format_version": 99'))
    with pytest.raises(SchemaMismatch, match=f"store format version 99; this catchup reads version {FORMAT_VERSION}"):
        small_files.head()


def test_file_with_another_schema_is_refused(small_files: ParquetStore) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    victim = sorted((small_files.folder / "events").iterdir())[0]
    pq.write_table(pa.table({"position": [1, 2]}), victim)
    with pytest.raises(SchemaMismatch, match="does not have the event schema"):
        read_all(small_files)


def test_missing_folder_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFound, match="no event store at"):
        open_store(str(tmp_path / "nothing")).head()
    assert open_store(str(tmp_path / "nothing")).info().exists is False


def test_folder_of_other_files_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(StoreNotEmpty, match="is not a catchup store"):
        open_store(str(tmp_path)).load(generate(SMALL), dataset_meta(SMALL), overwrite=True)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert not (tmp_path / "catchup.json").exists()


def test_events_of_another_schema_version_are_refused(small_files: ParquetStore) -> None:
    path = small_files.folder / "catchup.json"
    path.write_text(path.read_text().replace('"event_schema_version": 1', '"event_schema_version": 2'))
    with pytest.raises(SchemaMismatch, match="holds events of schema version 2; this catchup reads version 1"):
        read_all(small_files)
