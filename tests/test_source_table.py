"""The ``table`` preset: a user's own events table, read through a source file and never written."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.replay import replay
from bench.results.folder import load_run
from generators import dataset_meta
from projections.balances import Balances
from stores import open_store
from stores.errors import ForeignReadOnly, InvalidParameter, SchemaMismatch, StoreNotFound
from stores.schema import ENVELOPE_SCHEMA, EVENT_SCHEMA
from tests.cli_calls import one_error_line, run
from tests.data import SMALL, events_of
from tests.foreign_data import PASCAL, PASCAL_VALUES, camel_payload, database_checksum, fresh_database, ledger_rows

HOLE_EVERY = 997
PASSWORD = "s3cret-pw"  # a rolled-back insert after every so many events: the sequence skips


@pytest.fixture(scope="module")
def app_db(pg_url: str) -> Iterator[str]:
    """The user's database: an events table of their own design, written with holes."""
    with fresh_database(pg_url, "table") as url:
        with psycopg.connect(url) as conn:
            conn.execute(
                "CREATE TABLE account_events (id bigserial PRIMARY KEY, account_no bigint NOT NULL, "
                "version int NOT NULL, kind text NOT NULL, created_at timestamptz NOT NULL, payload jsonb NOT NULL)"
            )
            rows = ledger_rows()
            for start in range(0, len(rows), HOLE_EVERY):
                with conn.cursor().copy(
                    "COPY account_events (account_no, version, kind, created_at, payload) FROM STDIN"
                ) as copy:
                    for row in rows[start : start + HOLE_EVERY]:
                        copy.write_row(
                            (
                                row["stream_id"],
                                row["stream_version"],
                                PASCAL[row["event_type"]],
                                row["occurred_at"],
                                camel_payload(row),
                            )
                        )
                conn.commit()
                # A write that failed: its id is drawn and never committed.
                conn.execute(
                    "INSERT INTO account_events (account_no, version, kind, created_at, payload) "
                    "VALUES (0, 0, 'X', now(), '{}')"
                )
                conn.rollback()
        yield url


def source_file(tmp_path: Path, url: str, *, mapped: bool = True, table: str = "account_events") -> Path:
    values = ", ".join(f'{pascal} = "{ours}"' for pascal, ours in PASCAL_VALUES.items())
    columns = f"""
[columns]
stream_id = "account_no"
amount = "(payload->>'amount')::bigint"
currency = "payload->>'currency'"
counterparty = "(payload->>'counterparty')::bigint"
correlation_id = "(payload->>'correlationId')::bigint"
event_type = {{ expr = "kind", values = {{ {values} }} }}
"""
    path = tmp_path / "accounts.toml"
    # Trust authentication ignores the password; catchup must never show it.
    url = url.replace("postgres@", f"postgres:{PASSWORD}@")
    path.write_text(
        f"""[source]
uri = "{url}"
preset = "table"
table = "{table}"
[envelope]
position = "id"
stream = "account_no::text"
stream_version = "version"
event_type = "kind"
occurred_at = "created_at"
data = "payload::text"
{columns if mapped else ""}"""
    )
    return path


def decoded(table: pa.Table) -> list[dict[str, object]]:
    """The events without their positions, dictionaries decoded (a source sorts its currencies)."""
    return table.drop(["position"]).to_pylist()


def own_balances() -> Balances:
    expected = Balances()
    for batch in events_of(SMALL).to_batches():
        expected.apply(batch)
    return expected


def test_a_mapped_table_replays_to_the_same_balances_as_catchups_own_store(app_db: str, tmp_path: Path) -> None:
    with open_store(str(source_file(tmp_path, app_db))) as source:
        info = source.info()
        assert info.details["events"] == SMALL.events
        holes = (SMALL.events - 1) // HOLE_EVERY
        assert info.head == info.details["highest_position"] == SMALL.events + holes  # positions are not counts
        assert info.currencies == tuple(sorted(SMALL.currencies))
        assert PASSWORD not in repr(info) and info.backend == "foreign:table"
        batches = list(source.read(batch_size=4_096))
        assert all(batch.schema.equals(EVENT_SCHEMA) and batch.num_rows <= 4_096 for batch in batches)
        read = pa.Table.from_batches(batches)
        assert read.num_rows == SMALL.events
        assert decoded(read) == decoded(events_of(SMALL))
        projected = Balances()
        replay(source, projected)
        assert projected.digest() == own_balances().digest()
        # A tail read reads the tail only, by position.
        tail = pa.Table.from_batches(list(source.read(after=info.head - 1_000)))
        assert tail.num_rows == 1_000 - sum(
            1 for p in range(info.head - 999, info.head + 1) if p % (HOLE_EVERY + 1) == 0
        )


def test_the_envelope_is_what_projections_see_without_columns(app_db: str, tmp_path: Path) -> None:
    with open_store(str(source_file(tmp_path, app_db, mapped=False))) as source:
        first = next(iter(source.read(batch_size=10)))
        assert first.schema.equals(ENVELOPE_SCHEMA)
        row = first.to_pylist()[0]
        assert (row["position"], row["stream"], row["event_type"]) == (1, "1", "AccountOpened")
        assert json.loads(row["data"]) == json.loads(camel_payload(ledger_rows()[0]))  # the payload, whole
        assert source.info().layout == "envelope" and source.info().currencies == ()


def test_run_and_state_verify_and_leave_the_database_byte_for_byte_unchanged(app_db: str, tmp_path: Path) -> None:
    path = source_file(tmp_path, app_db)
    before = database_checksum(app_db)
    code, out, err = run(
        "run",
        str(path),
        "-p",
        "balances",
        "--intervals",
        "5000",
        "--repeats",
        "1",
        "--warmup",
        "0",
        "--out",
        str(tmp_path / "results"),
        "--quiet",
    )
    assert code == 0, err
    loaded = load_run(Path(re.search(r"^results: (.+)$", out, re.M).group(1)))  # type: ignore[union-attr]
    (row,) = loaded.summary
    assert row.verified and row.head == SMALL.events  # k counts events: the holes are not events
    assert (row.snapshots, row.expected.tail_events, row.worst.tail_events) == (SMALL.events // 5_000, 2_500, 4_999)
    assert PASSWORD not in (loaded.path / "run.json").read_text() + out + err  # type: ignore[operator]
    code, out, err = run("state", str(path), "-p", "balances", "--at", "12k", "--out", str(tmp_path / "b.parquet"))
    assert code == 0, err
    code, out, err = run("info", str(path))
    assert code == 0, err
    assert f"{SMALL.events:,} events" in out
    assert database_checksum(app_db) == before
    assert (tmp_path / "accounts.snapshots").is_dir()  # catchup's own folder holds what it wrote


def test_writes_are_refused_and_the_server_would_refuse_them_too(app_db: str, tmp_path: Path) -> None:
    with open_store(str(source_file(tmp_path, app_db))) as source:
        with pytest.raises(ForeignReadOnly, match="never writes"):
            source.load(iter(()), dataset_meta(SMALL))
        with pytest.raises(ForeignReadOnly):
            source.append(iter(()))
        # The sessions themselves are read-only: a write through them is the server's error.
        conninfo = source.target.conninfo  # type: ignore[attr-defined]
    with psycopg.connect(conninfo) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("CREATE TABLE should_not_exist (x int)")


TYPE_TOTALS = str(Path(__file__).parent / "user_projections" / "type_totals.py") + ":TypeTotals"


def test_an_envelope_projection_runs_over_the_envelope_and_verifies(app_db: str, tmp_path: Path) -> None:
    path = source_file(tmp_path, app_db, mapped=False)
    code, out, err = run(
        "run",
        str(path),
        "-p",
        TYPE_TOTALS,
        "--intervals",
        "10k",
        "--repeats",
        "1",
        "--warmup",
        "0",
        "--out",
        str(tmp_path / "results"),
        "--quiet",
    )
    assert code == 0, err
    code, _, err = run("state", str(path), "-p", TYPE_TOTALS, "--out", str(tmp_path / "totals.parquet"))
    assert code == 0, err
    totals = {row["event_type"]: row for row in pq.read_table(tmp_path / "totals.parquet").to_pylist()}
    events = events_of(SMALL)
    for ours, pascal in PASCAL.items():
        chosen = [row for row in ledger_rows() if row["event_type"] == ours]
        assert (totals[pascal]["events"], int(totals[pascal]["amount"])) == (
            len(chosen),
            sum(r["amount"] for r in chosen),
        )
    assert sum(row["events"] for row in totals.values()) == events.num_rows


def test_a_projection_over_the_other_schema_is_one_line_naming_the_missing_columns(app_db: str, tmp_path: Path) -> None:
    envelope = source_file(tmp_path, app_db, mapped=False)
    code, _, err = run("state", str(envelope), "-p", "balances", "--out", str(tmp_path / "b.parquet"))
    assert code == 2 or code == 1
    line = one_error_line(err)
    assert "projection balances reads ledger events" in line and "stream_id, " in line and "[columns]" in line
    ledger = source_file(tmp_path, app_db, mapped=True)
    code, _, err = run("state", str(ledger), "-p", TYPE_TOTALS, "--out", str(tmp_path / "t.parquet"))
    assert code != 0 and "without column(s) data" in one_error_line(err)
    assert not (tmp_path / "b.parquet").exists() and not (tmp_path / "t.parquet").exists()


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (
            lambda t: t.replace('table = "account_events"', 'table = "missing_events"'),
            StoreNotFound,
            "no table public.missing_events",
        ),
        (
            lambda t: t.replace('preset = "table"', 'preset = "kafka"'),
            InvalidParameter,
            "source.preset = 'kafka' is not a preset; use one of messagedb, marten, eventsourcing, table, parquet",
        ),
        (lambda t: t.replace('stream_id = "account_no"\n', ""), InvalidParameter, "[columns] does not map stream_id"),
        (lambda t: t.replace('Withdrawn = "withdrawn", ', ""), SchemaMismatch, "not in the dictionary"),
    ],
)
def test_a_bad_source_file_is_one_clear_error(app_db: str, tmp_path: Path, edit, error, message) -> None:  # type: ignore[no-untyped-def]
    path = source_file(tmp_path, app_db)
    path.write_text(edit(path.read_text()))
    with pytest.raises(error) as raised:
        with open_store(str(path)) as source:
            list(source.read())
    assert message in str(raised.value)
    code, _, err = (
        run("info", str(path))
        if error is not SchemaMismatch
        else run("state", str(path), "-p", "balances", "--out", str(tmp_path / "s.parquet"))
    )
    assert code != 0 and message in one_error_line(err)


def test_the_count_is_remembered_for_the_same_log_and_taken_again_when_it_grows(pg_url: str, tmp_path: Path) -> None:
    with fresh_database(pg_url, "table_count") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE account_events (id bigserial PRIMARY KEY, account_no bigint, version int, kind text, "
                "created_at timestamptz, payload jsonb)"
            )
            conn.execute(
                "INSERT INTO account_events (account_no, version, kind, created_at, payload) "
                'SELECT n, 1, \'AccountOpened\', now(), \'{"amount": 0, "currency": "EUR"}\' FROM generate_series(1, 50) n'
            )
        path = source_file(tmp_path, url)
        with open_store(str(path)) as source:
            assert source.info().details["events"] == 50
        remembered = json.loads((tmp_path / "accounts.snapshots" / "counts.json").read_text())
        assert [value for value in remembered.values()] == [[50, ["EUR"]]]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO account_events (account_no, version, kind, created_at, payload) "
                'VALUES (51, 1, \'AccountOpened\', now(), \'{"amount": 0, "currency": "USD"}\')'
            )
        with open_store(str(path)) as source:
            info = source.info()
            assert (info.details["events"], info.currencies) == (51, ("EUR", "USD"))
