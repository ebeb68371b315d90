"""Issue 12, item 1 (Parquet) and item 7 (orphans): a damaged Parquet store never reads as whole.

Each case damages a real store the way the issue's drills did and checks that reads,
``info`` and ``catchup run`` say so, naming the file and the fact.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from bench.cli import cli
from bench.cli.text import format_info
from generators import dataset_meta, generate
from stores.errors import SchemaMismatch, StoreCorrupt, StoreIncomplete
from stores.parquet import ParquetStore
from tests.data import SMALL, events_of, read_all

FILE_ROWS = 8_192  # SMALL (30,000 events) in 4 files: part-000001..part-000004


def make_store(folder: Path, params=SMALL) -> ParquetStore:  # type: ignore[no-untyped-def]
    store = ParquetStore(folder, row_group_rows=2_048, file_rows=FILE_ROWS)
    store.load(generate(params, batch_size=3_000), dataset_meta(params))
    return store


@pytest.fixture
def store(tmp_path: Path) -> ParquetStore:
    return make_store(tmp_path / "store")


def part(store: ParquetStore, number: int) -> Path:
    return store.folder / "events" / f"part-{number:06d}.parquet"


def manifest(store: ParquetStore) -> dict:  # type: ignore[type-arg]
    return json.loads((store.folder / "catchup.json").read_text())


def cli_run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def run_args(store: ParquetStore, tmp_path: Path) -> list[str]:
    return ["run", str(store.folder), "-p", "balances", "--intervals", "0,5k", "--repeats", "1", "--warmup", "0",
            "--out", str(tmp_path / "results"), "--quiet"]  # fmt: skip


# -- what the files carry --------------------------------------------------------------


def test_manifest_records_the_sha256_of_each_file_as_written(store: ParquetStore) -> None:
    files = manifest(store)["files"]
    assert [f["name"] for f in files] == [f"events/part-{n:06d}.parquet" for n in range(1, 5)]
    for entry in files:
        data = (store.folder / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)


def test_footer_names_the_dataset_and_positions_and_pages_carry_checksums(store: ParquetStore) -> None:
    metadata = pq.read_metadata(part(store, 2))
    kv = metadata.metadata
    assert kv[b"catchup.dataset"].decode() == dataset_meta(SMALL).fingerprint["id"]
    assert (kv[b"catchup.first"], kv[b"catchup.last"]) == (b"8193", b"16384")
    # A page-level CRC is only checked if it was written: damage one page and ask for verification.
    data = bytearray(part(store, 2).read_bytes())
    data[200:260] = bytes(b ^ 0x5A for b in data[200:260])
    part(store, 2).write_bytes(bytes(data))
    with pytest.raises(OSError, match="CRC checksum verification failed"):
        pq.ParquetFile(part(store, 2), page_checksum_verification=True).read()


def test_a_store_of_the_previous_format_is_refused_with_regenerate(store: ParquetStore) -> None:
    path = store.folder / "catchup.json"
    path.write_text(path.read_text().replace('"format_version": 2', '"format_version": 1'))
    with pytest.raises(SchemaMismatch, match="store format version 1; this catchup reads version 2: regenerate"):
        read_all(store)


# -- the cases -------------------------------------------------------------------


def test_edited_head_fails_the_run_instead_of_snapshotting_positions_that_do_not_exist(
    store: ParquetStore, tmp_path: Path
) -> None:
    path = store.folder / "catchup.json"
    path.write_text(path.read_text().replace('"head": 30000', '"head": 40000'))
    code, out, err = cli_run(*run_args(store, tmp_path))
    assert code == 1
    assert err == (
        f"Error: store {store.folder}: the manifest's head is 40,000 but its last file ends at position 30,000; "
        "regenerate the store\n"
    )
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
    with pytest.raises(StoreCorrupt, match="head is 40,000"):
        read_all(store, after=29_000)
    assert "NO: damaged" in format_info(store.info())


def test_file_swapped_for_one_of_another_dataset_is_caught(store: ParquetStore, tmp_path: Path) -> None:
    other = make_store(tmp_path / "other", replace(SMALL, seed=8))
    shutil.copyfile(part(other, 2), part(store, 2))
    problems = store.info().details["problems"]
    assert problems[0].startswith("events/part-000002.parquet is ")
    assert "NO: damaged" in format_info(store.info())
    # Same rows and, here, the same size too: the footer alone says whose file it is.
    path = store.folder / "catchup.json"
    data = json.loads(path.read_text())
    data["files"][1]["bytes"] = part(store, 2).stat().st_size
    path.write_text(json.dumps(data))
    assert store.info().details["problems"] == [
        f"events/part-000002.parquet was written for dataset {dataset_meta(replace(SMALL, seed=8)).fingerprint['id']!r}, "
        f"this store holds {dataset_meta(SMALL).fingerprint['id']!r}"
    ]
    with pytest.raises(StoreCorrupt, match="part-000002.parquet was written for dataset"):
        read_all(store)
    code, _, err = cli_run(*run_args(store, tmp_path))
    assert code == 1 and "part-000002.parquet was written for dataset" in err


def test_file_from_another_place_in_the_log_names_both_ranges(store: ParquetStore) -> None:
    path = store.folder / "catchup.json"
    data = json.loads(path.read_text())
    shutil.copyfile(part(store, 1), part(store, 3))
    data["files"][2]["bytes"] = part(store, 3).stat().st_size
    path.write_text(json.dumps(data))
    with pytest.raises(StoreCorrupt, match=r"part-000003.parquet holds positions 1..8,192, the manifest says "
                                           r"16,385..24,576; regenerate the store"):  # fmt: skip
        read_all(store, after=20_000)


def test_bytes_xored_inside_a_data_file_fail_the_run(store: ParquetStore, tmp_path: Path) -> None:
    victim = part(store, 2)
    data = bytearray(victim.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2_000] = bytes(b ^ 0x5A for b in data[middle : middle + 2_000])
    victim.write_bytes(bytes(data))
    assert "problems" not in store.info().details  # size and footer hold: only checksums can tell
    with pytest.raises(StoreCorrupt, match="part-000002.parquet.*CRC checksum verification failed"):
        read_all(store)
    code, _, err = cli_run(*run_args(store, tmp_path))
    assert code == 1
    assert "part-000002.parquet" in err and "CRC checksum verification failed" in err


def test_file_truncated_to_half_shows_as_damaged_in_info(store: ParquetStore) -> None:
    victim = part(store, 3)
    size = victim.stat().st_size
    victim.write_bytes(victim.read_bytes()[: size // 2])
    code, out, _ = cli_run("info", str(store.folder))
    assert code == 0
    assert "complete        NO: damaged (1 problem(s), below); regenerate with --overwrite" in out
    assert f"damage          events/part-000003.parquet is {size // 2:,} bytes, the manifest says {size:,}" in out
    with pytest.raises(StoreCorrupt, match="part-000003.parquet"):
        store.head()


# -- orphaned files (item 7) -------------------------------------------------------------


def dying(batches: Iterator[pa.RecordBatch], after: int) -> Iterator[pa.RecordBatch]:
    """The generator of a generate that is killed after ``after`` batches."""
    for number, batch in enumerate(batches):
        if number == after:
            raise KeyboardInterrupt
        yield batch


def test_info_counts_the_files_of_a_killed_generate_and_says_how_to_remove_them(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "store", row_group_rows=2_048, file_rows=FILE_ROWS)
    with pytest.raises(KeyboardInterrupt):
        store.load(dying(generate(SMALL, batch_size=3_000), 7), dataset_meta(SMALL))
    left = sorted((store.folder / "events").iterdir())
    assert [p.name for p in left] == ["part-000001.parquet", "part-000002.parquet"]
    info = store.info()
    assert info.details["orphan_files"] == 2
    assert info.details["orphan_bytes"] == sum(p.stat().st_size for p in left) > 0
    code, out, _ = cli_run("info", str(store.folder))
    assert (
        f"orphans         2 unlisted event file(s), {info.details['orphan_bytes']:,} bytes; "
        "remove them with catchup generate STORE --overwrite"
    ) in out
    code, _, err = cli_run("clean", str(store.folder))
    assert code == 1 and "incomplete load" in err
    assert len(list((store.folder / "events").iterdir())) == 2
    code, _, err = cli_run("generate", str(store.folder), "--events", "2k", "--accounts", "10", "--overwrite", "-q")
    assert code == 0
    assert "orphan_files" not in ParquetStore(store.folder).info().details


def test_clean_removes_only_the_unlisted_files_catchup_named(store: ParquetStore) -> None:
    orphan = part(store, 9)
    shutil.copyfile(part(store, 4), orphan)
    mine = store.folder / "events" / "notes.txt"
    mine.write_text("keep me")
    code, out, _ = cli_run("info", str(store.folder))
    assert (
        f"orphans         1 unlisted event file(s), {orphan.stat().st_size:,} bytes; remove them with catchup clean STORE"
        in out
    )  # noqa: E501
    size = orphan.stat().st_size
    code, out, err = cli_run("clean", str(store.folder))
    assert (code, err) == (0, "")
    assert out == f"removed 1 unlisted event file(s), {size:,} bytes, from {store.folder}\n"
    assert not orphan.exists() and mine.read_text() == "keep me"
    assert read_all(store).equals(events_of(SMALL))
    assert "orphan_files" not in store.info().details


def test_clean_refuses_a_postgres_store(pg_store_uri) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli_run("clean", pg_store_uri())
    assert code == 1 and err.startswith("Error: ") and "clean works on Parquet stores" in err


def test_incomplete_store_still_reads_as_incomplete(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "store", row_group_rows=2_048, file_rows=FILE_ROWS)
    with pytest.raises(KeyboardInterrupt):
        store.load(dying(generate(SMALL, batch_size=3_000), 2), dataset_meta(SMALL))
    with pytest.raises(StoreIncomplete):
        read_all(store)
