"""``catchup verify STORE`` (issue 12, item 1): every check on a real store, Parquet and Postgres."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pytest
from click.testing import CliRunner

from bench.cli import cli
from generators import dataset_meta, generate
from generators.continuation import Continuation
from stores import open_store
from stores.parquet import ParquetStore
from tests.data import SMALL

FP = dataset_meta(SMALL).fingerprint["id"]


def cli_run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def store(tmp_path: Path) -> ParquetStore:
    store = ParquetStore(tmp_path / "store", row_group_rows=2_048, file_rows=8_192)
    store.load(generate(SMALL, batch_size=3_000), dataset_meta(SMALL))
    return store


def test_a_whole_store_verifies_with_one_line_per_check(store: ParquetStore) -> None:
    code, out, err = cli_run("verify", str(store.folder), "--quiet")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"store      ok: {store.folder} (parquet), head 30,000, complete",
        "manifest   ok: 4 file(s) in order, head 30,000 is the last file's last position",
        "files      ok: 4 file(s): size, footer (rows, positions, dataset) and sha256 as the manifest says",
        "orphans    ok: none (every event file is listed in the manifest)",
        "pages      ok: every page checksum holds (30,000 events read)",
        "positions  ok: dense 1..30,000 (30,000 events)",
        f"events     ok: all 30,000 equal those regenerated from fingerprint {FP} (catchup.generators.ledger v1)",
        f"verified: {store.folder} holds what it says",
    ]


def test_progress_goes_to_stderr_unless_quiet(store: ParquetStore) -> None:
    code, _, err = cli_run("verify", str(store.folder))
    assert code == 0
    assert err.startswith("verify: 30,000/30,000 events 100%")


def test_a_changed_byte_fails_with_the_file_and_its_checksum(store: ParquetStore) -> None:
    victim = store.folder / "events" / "part-000003.parquet"
    data = bytearray(victim.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2_000] = bytes(b ^ 0x5A for b in data[middle : middle + 2_000])
    victim.write_bytes(bytes(data))
    code, out, err = cli_run("verify", str(store.folder), "--quiet")
    assert code == 1
    assert "files      FAILED: events/part-000003.parquet has sha256 " in out
    assert "CRC checksum verification failed" in out  # the full read verified the pages too
    assert err.startswith(f"Error: store {store.folder} failed verification: files: events/part-000003.parquet has")
    assert len(err.splitlines()) == 1


def altered(batches: Iterator[pa.RecordBatch], position: int) -> Iterator[pa.RecordBatch]:
    """The events with the amount at ``position`` doubled: a store whose files are whole but
    whose events are not those its fingerprint names."""
    for batch in batches:
        pos = batch.column(0).to_numpy()
        if pos[0] <= position <= pos[-1]:
            index = batch.schema.get_field_index("amount")
            amounts = batch.column(index).to_numpy().copy()
            amounts[position - pos[0]] *= 2
            batch = batch.set_column(index, "amount", pa.array(amounts))
        yield batch


def test_events_that_are_not_the_fingerprints_name_the_first_differing_position(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "store", row_group_rows=2_048, file_rows=8_192)
    store.load(altered(generate(SMALL, batch_size=3_000), 12_345), dataset_meta(SMALL))
    expected = pa.Table.from_batches(list(generate(SMALL))).column("amount")[12_344].as_py()
    code, out, err = cli_run("verify", str(store.folder), "--quiet")
    assert code == 1
    assert "files      ok:" in out and "pages      ok:" in out  # catchup wrote these files: they are whole
    line = (
        f"position 12,345 is not the event its fingerprint regenerates: amount is {2 * expected}, "
        f"regenerated {expected}"
    )
    assert f"events     FAILED: {line}" in out
    assert err == f"Error: store {store.folder} failed verification: events: {line}\n"


def test_a_fingerprint_that_is_not_its_parameters_fails(store: ParquetStore) -> None:
    path = store.folder / "catchup.json"
    data = json.loads(path.read_text())
    data["fingerprint"]["params"]["seed"] = 8
    path.write_text(json.dumps(data))
    code, out, _ = cli_run("verify", str(store.folder), "--quiet")
    assert code == 1
    assert f"events     FAILED: the fingerprint id '{FP}' is not that of its parameters" in out


def test_an_incomplete_store_fails_at_the_first_check(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "store")
    store.load(generate(SMALL), dataset_meta(SMALL))
    path = store.folder / "catchup.json"
    path.write_text(path.read_text().replace('"complete": true', '"complete": false'))
    code, out, err = cli_run("verify", str(store.folder), "--quiet")
    assert code == 1
    assert (
        out
        == f"store      FAILED: {store.folder} (parquet), head 30,000, an incomplete load: nothing else can be checked\n"
    )
    assert err.startswith("Error: store ")


def test_a_missing_store_is_one_error_line(tmp_path: Path) -> None:
    code, out, err = cli_run("verify", str(tmp_path / "nothing"))
    assert (code, out) == (1, "")
    assert err.startswith("Error: no event store at ") and len(err.splitlines()) == 1


def test_postgres_store_gets_the_backend_neutral_checks_and_its_holes_listed(pg_store_uri, pg_url, pg_schema) -> None:  # type: ignore[no-untyped-def]
    uri = pg_store_uri("typed")
    with open_store(uri) as target:
        target.load(generate(SMALL), dataset_meta(SMALL))
        # Past the generated dataset, with holes: what a live run's dead positions leave.
        beyond = np.array([30_001, 30_002, 30_005, 30_006, 30_007, 30_010], dtype=np.int64)
        target.append([Continuation(SMALL).events_at(beyond)])
    code, out, err = cli_run("verify", uri, "--quiet")
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["store", "positions", "events"]
    assert lines[1] == "positions  ok: 30,006 events in 1..30,010 with 2 hole(s): 30,003..30,004, 30,008..30,009"
    assert lines[2].startswith("events     ok: all 30,006 equal those regenerated from fingerprint")
    # A hole inside the generated dataset is missing events, not a live run's dead position.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DELETE FROM "{pg_schema}".events WHERE position BETWEEN 100 AND 104')
    code, out, err = cli_run("verify", uri, "--quiet")
    assert code == 1
    assert "events     FAILED: positions 100..104 of the generated dataset are missing" in out


def test_verify_help_has_an_example() -> None:
    code, out, _ = cli_run("verify", "--help")
    assert code == 0 and "Example:" in out and "catchup verify data/ledger" in out
