"""A Marten event store read through a source file: the same balances as catchup's own
store of the same events, never past the daemon's high-water mark, and ``catchup run``
verifying while the database stays byte-for-byte unchanged."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from bench.generate import generate_into
from bench.replay import replay
from bench.results.folder import load_run
from projections.balances import Balances
from stores import open_store
from stores.errors import SchemaMismatch, StoreNotFound
from stores.foreign import marten
from stores.schema import ENVELOPE_SCHEMA, EVENT_SCHEMA
from tests.cli_calls import one_error_line, run
from tests.data import SMALL, events_of
from tests.foreign_data import database_checksum
from tests.marten_db import fresh_database
from tests.marten_writer import DEFAULT_TENANT, MartenWriter, Written, create_schema, set_high_water_mark, write_ledger


def documented_columns() -> str:
    """The [columns] of the worked example in the preset's docstring: the tests run the
    documented file, so the documentation cannot drift from what works."""
    doc = marten.__doc__ or ""
    block = doc[doc.index("    [source]") :].split("\n\n")[0]
    lines = [line[4:] for line in block.splitlines()]
    return "\n".join(lines[lines.index("[columns]") :]) + "\n"


COLUMNS = documented_columns()


@pytest.fixture(scope="module")
def marten_db(pg_url: str) -> Iterator[tuple[str, Written]]:
    with fresh_database(pg_url, "catchup_test_marten_run") as url:
        with psycopg.connect(url) as conn:
            create_schema(conn)
            written = write_ledger(conn, events_of(SMALL), seed=11)
        yield url, written


def source_file(tmp_path: Path, url: str, *, mapped: bool = True, **options: str) -> Path:
    lines = [f'{key} = "{value}"' for key, value in {"tenant": DEFAULT_TENANT, **options}.items()]
    path = tmp_path / "bank.toml"
    path.write_text(
        "\n".join(["[source]", f'uri = "{url}"', 'preset = "marten"', *lines]) + "\n" + (COLUMNS if mapped else "")
    )
    return path


def own_balances(tmp_path: Path) -> Balances:
    """balances over catchup's own Parquet store of the same generated events."""
    own = open_store(str(tmp_path / "own"))
    generate_into(own, SMALL, batch_size=8_192)
    projection = Balances()
    replay(own, projection)
    return projection


def test_balances_over_marten_equal_balances_over_catchups_own_store(
    marten_db: tuple[str, Written], tmp_path: Path
) -> None:
    url, written = marten_db
    with open_store(str(source_file(tmp_path, url))) as source:
        info = source.info()
        assert info.backend == "foreign:marten"
        assert info.details["events"] == SMALL.events
        assert info.head == written.highest_seq_id > SMALL.events  # positions are not counts
        batches = list(source.read(batch_size=4_096))
        assert all(batch.schema.equals(EVENT_SCHEMA) for batch in batches)
        read = pa.Table.from_batches(batches)
        assert read.column("position").to_pylist() == written.ledger_seq_ids
        assert read.drop(["position"]).to_pylist() == events_of(SMALL).drop(["position"]).to_pylist()
        projection = Balances()
        replay(source, projection)
    assert projection.digest() == own_balances(tmp_path).digest()


def test_every_tenant_and_the_archived_change_what_is_read(marten_db: tuple[str, Written], tmp_path: Path) -> None:
    url, written = marten_db
    path = source_file(tmp_path, url, mapped=False)
    path.write_text(path.read_text().replace(f'tenant = "{DEFAULT_TENANT}"\n', "include_archived = true\n"))
    with open_store(str(path)) as source:
        assert source.info().details["events"] == SMALL.events + written.other_tenant + written.archived
        first = next(iter(source.read(batch_size=100)))
        assert first.schema.equals(ENVELOPE_SCHEMA)
        assert first.column("event_type")[0].as_py() == "account_opened"


def test_reads_never_pass_the_high_water_mark(marten_db: tuple[str, Written], tmp_path: Path) -> None:
    url, written = marten_db
    mark = written.ledger_seq_ids[20_000] + 1  # a seq_id between two of the ledger's, maybe a hole
    safe = [seq_id for seq_id in written.ledger_seq_ids if seq_id <= mark]
    with psycopg.connect(url) as conn:
        set_high_water_mark(conn, mark)
    try:
        with open_store(str(source_file(tmp_path, url))) as source:
            info = source.info()
            assert (info.details["events"], info.head) == (len(safe), safe[-1])
            read = pa.Table.from_batches(list(source.read()))
            assert read.column("position").to_pylist() == safe
            assert pa.Table.from_batches(list(source.read(after=safe[-2], upto=written.highest_seq_id))).num_rows == 1
        with psycopg.connect(url) as conn:
            set_high_water_mark(conn, written.highest_seq_id)  # the daemon caught up
        with open_store(str(source_file(tmp_path, url))) as source:
            assert source.info().details["events"] == SMALL.events
    finally:
        with psycopg.connect(url) as conn:
            conn.execute("DELETE FROM mt_event_progression")
            conn.commit()


def test_catchup_run_verifies_and_leaves_the_database_unchanged(marten_db: tuple[str, Written], tmp_path: Path) -> None:
    url, _ = marten_db
    path = source_file(tmp_path, url)
    before = database_checksum(url)
    args = ("--intervals", "5000", "--repeats", "1", "--warmup", "0", "--out", str(tmp_path / "results"), "--quiet")
    code, out, err = run("run", str(path), "-p", "balances", *args)
    assert code == 0, err
    loaded = load_run(Path(re.search(r"^results: (.+)$", out, re.M).group(1)))  # type: ignore[union-attr]
    (row,) = loaded.summary
    assert row.verified and row.head == SMALL.events and row.snapshots == SMALL.events // 5_000
    code, out, err = run("state", str(path), "-p", "balances", "--at", "12k", "--out", str(tmp_path / "state.parquet"))
    assert code == 0, err
    code, out, err = run("info", str(path))
    assert code == 0, err
    assert f"{SMALL.events:,} events" in out
    assert database_checksum(url) == before


def test_a_uri_with_preset_names_the_source_too(
    marten_db: tuple[str, Written], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, written = marten_db
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, err = run("info", f"{url}?preset=marten&tenant={DEFAULT_TENANT}")
    assert code == 0, err
    assert f"{SMALL.events:,} events" in out and f"{written.highest_seq_id:,}" in out
    code, out, err = run("info", f"{url}?preset=marten&include_archived=true")
    assert code == 0, err
    assert f"{SMALL.events + written.other_tenant + written.archived:,} events" in out


def test_a_binary_payload_is_refused_with_one_line(marten_db: tuple[str, Written], tmp_path: Path) -> None:
    url, _ = marten_db
    with psycopg.connect(url) as conn:
        create_schema(conn, "memo")
        writer = MartenWriter(conn, "memo")
        event = {"stream": uuid.UUID(int=7, version=4), "alias": "memo_attached", "data": "{}", "at": datetime.now(UTC)}
        [seq_id] = writer.append([event])
        conn.execute("UPDATE memo.mt_events SET bdata = '\\x00ff'::bytea WHERE seq_id = %s", (seq_id,))
        conn.commit()
    path = source_file(tmp_path, url, mapped=False, schema="memo")
    with pytest.raises(SchemaMismatch, match="binary payload"):
        with open_store(str(path)) as source:
            source.info()
    code, _, err = run("info", str(path))
    assert code != 0 and "bdata" in one_error_line(err)
    path.write_text(path.read_text().replace('schema = "memo"', 'schema = "memo"\nwhere = "bdata IS NULL"'))
    with open_store(str(path)) as source:
        assert source.info().details["events"] == 0


def test_a_schema_without_marten_tables_is_store_not_found(marten_db: tuple[str, Written], tmp_path: Path) -> None:
    url, _ = marten_db
    path = source_file(tmp_path, url, schema="accounting")
    with pytest.raises(StoreNotFound, match="no table accounting.mt_events") as raised:
        with open_store(str(path)) as source:
            source.info()
    assert "preset marten" in str(raised.value)
    code, _, err = run("info", str(path))
    assert code != 0 and "accounting.mt_events" in one_error_line(err)


TYPE_TOTALS = str(Path(__file__).parent / "user_projections" / "type_totals.py") + ":TypeTotals"


def test_an_envelope_projection_runs_over_every_tenant_and_verifies(
    marten_db: tuple[str, Written], tmp_path: Path
) -> None:
    url, written = marten_db
    path = source_file(tmp_path, url, mapped=False)
    path.write_text(path.read_text().replace(f'tenant = "{DEFAULT_TENANT}"\n', ""))
    args = ("--intervals", "5000", "--repeats", "1", "--warmup", "0", "--out", str(tmp_path / "results"), "--quiet")
    code, out, err = run("run", str(path), "-p", TYPE_TOTALS, *args)
    assert code == 0, err
    loaded = load_run(Path(re.search(r"^results: (.+)$", out, re.M).group(1)))  # type: ignore[union-attr]
    (row,) = loaded.summary
    assert row.verified and row.head == SMALL.events + written.other_tenant


def test_live_follows_marten_up_to_its_high_water_mark_and_no_further(
    marten_db: tuple[str, Written], tmp_path: Path
) -> None:
    url, written = marten_db
    mark = written.ledger_seq_ids[25_000]
    safe = [seq_id for seq_id in written.ledger_seq_ids if seq_id <= mark]
    with psycopg.connect(url) as conn:
        set_high_water_mark(conn, mark)
    try:
        before = database_checksum(url)
        code, out, err = run(
            "live", str(source_file(tmp_path, url)), "-p", "balances", "--interval", "5k", "--observe", "0.3",
            "--out", str(tmp_path / "live"),
        )  # fmt: skip
        assert code == 0, err
        live = load_run(Path(re.search(r"^results: (.+)$", out, re.M).group(1))).live  # type: ignore[union-attr]
        assert live is not None and live.followed and live.verified and live.caught_up
        assert live.start_head == live.final_head == safe[-1]  # the events after the mark are not safe yet
        assert database_checksum(url) == before
    finally:
        with psycopg.connect(url) as conn:
            conn.execute("DELETE FROM mt_event_progression")
            conn.commit()
