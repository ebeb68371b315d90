"""The ``parquet`` preset: a data-lake export of the ledger, with holes and its own column names."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from bench.replay import replay
from bench.results.folder import load_run
from generators import dataset_meta
from projections.balances import Balances
from stores import open_store
from stores.errors import ForeignReadOnly, InvalidParameter, SchemaMismatch, StoreNotFound
from stores.foreign.parquet_source import ForeignParquetSource
from stores.parquet import ParquetStore
from stores.schema import ENVELOPE_SCHEMA, EVENT_SCHEMA
from tests.cli_calls import one_error_line, run
from tests.data import SMALL, events_of
from tests.foreign_data import PASCAL, PASCAL_VALUES, camel_payload, ledger_rows

HOLE_EVERY = 97  # a position skipped after every so many events, as a failed write leaves it
FILE_ROWS = 10_000
GROUP_ROWS = 2_500
# Written in this order, so that the file names do not sort as the positions do.
FILE_NAMES = ("part-2.parquet", "part-0.parquet", "part-1.parquet")


def shifted_positions(count: int) -> np.ndarray:
    """Positions 1..count with a hole after every HOLE_EVERY events."""
    n = np.arange(count, dtype=np.int64)
    return n + 1 + n // HOLE_EVERY


def ledger_with_holes() -> pa.Table:
    events = events_of(SMALL)
    return events.set_column(0, "position", pa.array(shifted_positions(events.num_rows), pa.int64()))


def export_table(events: pa.Table) -> pa.Table:
    """The events as a data team exports them: other names, PascalCase types, cents as int32, naive times."""
    rows = ledger_rows(events)
    return pa.table(
        {
            "global_position": events.column("position"),
            "stream_name": pa.array([f"account-{row['stream_id']}" for row in rows]),
            "stream_position": events.column("stream_version").cast(pa.int64()),
            "event_type": pa.array([PASCAL[row["event_type"]] for row in rows]),
            "recorded_at": events.column("occurred_at").cast(pa.timestamp("us")),
            "amount_cents": events.column("amount").cast(pa.int32()),
            "currency_code": events.column("currency").cast(pa.string()),
            "counterparty_account": events.column("counterparty"),
            "correlation": events.column("correlation_id"),
            "payload": pa.array([camel_payload(row) for row in rows]),
        }
    )


def write_export(folder: Path, table: pa.Table) -> Path:
    folder.mkdir(parents=True)
    for index, name in enumerate(FILE_NAMES):
        pq.write_table(table.slice(index * FILE_ROWS, FILE_ROWS), folder / name, row_group_size=GROUP_ROWS)
    (folder / "_SUCCESS").write_text("")  # what Spark leaves; not data
    return folder


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("lake") / "exports" / "ledger", export_table(ledger_with_holes()))


def source_file(
    folder: Path, export: Path, *, mapped: bool = True, where: str = "", extra: str = "", name: str = "ledger"
) -> Path:
    values = ", ".join(f'{pascal} = "{ours}"' for pascal, ours in PASCAL_VALUES.items())
    columns = f"""
[columns]
stream_id = "CAST(SPLIT_PART(stream_name, '-', 2) AS BIGINT)"
amount = "CAST(amount_cents AS BIGINT)"
currency = "currency_code"
counterparty = "counterparty_account"
correlation_id = "correlation"
event_type = {{ expr = "event_type", values = {{ {values} }} }}
"""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(
        f"""[source]
uri = "{export}"
preset = "parquet"
{f'where = "{where}"' if where else ""}
[envelope]
position = "global_position"
stream = "stream_name"
stream_version = "stream_position"
occurred_at = "recorded_at"
data = "payload"
{extra}
{columns if mapped else ""}"""
    )
    return path


def listing(folder: Path) -> list[tuple[str, int, int]]:
    """Every file under the folder with its size and mtime: what a write would change."""
    return sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*"))


def balances_digest(store: object) -> str:
    projection = Balances()
    replay(store, projection)  # type: ignore[arg-type]
    return projection.digest()


def test_the_mapped_export_replays_to_the_balances_of_catchups_own_store(export: Path, tmp_path: Path) -> None:
    expected = ledger_with_holes()
    with ParquetStore(str(tmp_path / "own")) as own:
        own.load(expected.to_batches(max_chunksize=8_192), dataset_meta(SMALL))
        own_digest = balances_digest(own)
    with open_store(str(source_file(tmp_path, export))) as source:
        assert isinstance(source, ForeignParquetSource)
        info = source.info()
        assert info.backend == "foreign:parquet" and info.layout == "ledger"
        assert info.details["events"] == SMALL.events
        assert info.head == info.details["highest_position"] == int(expected["position"][-1].as_py())
        assert info.head > SMALL.events  # positions are not counts
        assert info.currencies == tuple(sorted(SMALL.currencies))
        assert (tmp_path / "ledger.snapshots" / "counts.json").is_file()  # the currency scan, remembered
        batches = list(source.read(batch_size=3_000))
        assert all(batch.schema.equals(EVENT_SCHEMA) and 0 < batch.num_rows <= 3_000 for batch in batches)
        read = pa.Table.from_batches(batches)
        assert read.column("position").equals(expected.column("position"))
        for name in EVENT_SCHEMA.names:  # the dictionaries differ (sorted currencies): compare values
            assert read.column(name).cast(pa.string()).equals(expected.column(name).cast(pa.string())), name
        assert np.array_equal(source.event_positions(), expected.column("position").to_numpy())
        assert balances_digest(source) == own_digest


def test_a_tail_read_opens_only_the_row_groups_it_needs(export: Path, tmp_path: Path) -> None:
    with open_store(str(source_file(tmp_path, export))) as source:
        assert isinstance(source, ForeignParquetSource)
        dataset = source.dataset()
        assert [one.name for one in dataset.files] == ["part-2.parquet", "part-0.parquet", "part-1.parquet"]
        assert [len(one.groups) for one in dataset.files] == [4, 4, 4]
        positions = ledger_with_holes().column("position").to_numpy()
        after, upto = int(positions[12_345]), int(positions[17_000])
        chosen = dataset.groups_between(after, upto)
        # Events 12,346..17,001 lie in row groups 0-2 of the second file and nowhere else.
        assert [(one.name, [group.index for group in groups]) for one, groups in chosen] == [
            ("part-0.parquet", [0, 1, 2])
        ]
        tail = pa.Table.from_batches(list(source.read(after=after, upto=upto)))
        assert tail.column("position").to_numpy().tolist() == positions[12_346:17_001].tolist()
        assert list(source.read(after=source.head())) == []


def test_without_columns_projections_receive_the_envelope(export: Path, tmp_path: Path) -> None:
    extra = '[extra]\namount_text = "CAST(amount_cents AS VARCHAR)"'
    with open_store(str(source_file(tmp_path, export, mapped=False, extra=extra))) as source:
        first = next(iter(source.read(batch_size=10)))
        assert first.schema.equals(ENVELOPE_SCHEMA.append(pa.field("amount_text", pa.string())))
        row, event = first.to_pylist()[0], ledger_rows()[0]
        assert (row["position"], row["stream"], row["stream_version"]) == (1, f"account-{event['stream_id']}", 1)
        assert (row["event_type"], row["data"], row["metadata"]) == ("AccountOpened", camel_payload(event), None)
        assert row["occurred_at"] == event["occurred_at"] and row["amount_text"] == str(event["amount"])
        assert source.info().layout == "envelope" and source.info().currencies == ()


def test_where_keeps_some_events_and_the_count_says_so(export: Path, tmp_path: Path) -> None:
    path = source_file(tmp_path, export, mapped=False, where="currency_code = 'EUR'")
    euros = pc.equal(ledger_with_holes().column("currency").cast(pa.string()), "EUR")
    with open_store(str(path)) as source:
        info = source.info()
        read = pa.Table.from_batches(list(source.read()))
    assert info.details["events"] == read.num_rows == pc.sum(euros).as_py()
    assert set(read.column("data").to_pylist()) == {camel_payload(r) for r in ledger_rows() if r["currency"] == "EUR"}


def test_run_verifies_and_never_writes_in_the_dataset_folder(export: Path, tmp_path: Path) -> None:
    path = source_file(tmp_path / "sources", export)
    before = listing(export)
    code, out, err = run(
        "run", str(path), "-p", "balances", "--intervals", "5000", "--repeats", "1", "--warmup", "0",
        "--out", str(tmp_path / "results"), "--quiet",
    )  # fmt: skip
    assert code == 0, err
    loaded = load_run(Path(re.search(r"^results: (.+)$", out, re.M).group(1)))  # type: ignore[union-attr]
    (row,) = loaded.summary
    assert row.verified and row.head == SMALL.events  # k counts events: the holes are not events
    assert row.snapshots == SMALL.events // 5_000
    code, out, err = run("info", str(path))
    assert code == 0, err
    assert f"{SMALL.events:,} events" in out
    assert listing(export) == before
    assert (tmp_path / "sources" / "ledger.snapshots").is_dir()  # catchup's own folder holds what it wrote


def test_the_identity_follows_the_data_not_the_folder(export: Path, tmp_path: Path) -> None:
    with open_store(str(source_file(tmp_path / "a", export))) as source:
        identity = source.dataset_id()
    copy = tmp_path / "copy"
    shutil.copytree(export, copy)
    with open_store(str(source_file(tmp_path / "b", copy))) as moved:
        assert moved.dataset_id() == identity
    more = export_table(ledger_with_holes()).slice(0, 10)
    more = more.set_column(0, "global_position", pa.array(np.arange(10) + 40_000, pa.int64()))
    pq.write_table(more, copy / "part-3.parquet")
    with open_store(str(source_file(tmp_path / "c", copy))) as grown:
        assert grown.info().details["events"] == SMALL.events + 10
        assert grown.dataset_id() != identity


def test_writes_are_refused(export: Path, tmp_path: Path) -> None:
    with open_store(str(source_file(tmp_path, export))) as source:
        with pytest.raises(ForeignReadOnly, match="never writes"):
            source.load(iter(()), dataset_meta(SMALL))
        with pytest.raises(ForeignReadOnly):
            source.append(iter(()))


def test_files_that_overlap_are_refused_naming_the_file_and_row_group(tmp_path: Path) -> None:
    table = export_table(ledger_with_holes()).slice(0, 6_000)
    folder = tmp_path / "overlap"
    folder.mkdir()
    pq.write_table(table.slice(0, 4_000), folder / "a.parquet", row_group_size=1_000)
    pq.write_table(table.slice(3_500, 2_500), folder / "b.parquet", row_group_size=1_000)  # repeats 500 events
    path = source_file(tmp_path, folder)
    first_b, last_b = table["global_position"][3_500].as_py(), table["global_position"][4_499].as_py()
    message = (
        f"{folder / 'b.parquet'} row group 0 is out of order: its 'global_position' {first_b:,}..{last_b:,} "
        f"does not follow row group 3 of {folder / 'a.parquet'} (up to {table['global_position'][3_999].as_py():,})"
    )
    with pytest.raises(SchemaMismatch) as raised, open_store(str(path)) as source:
        source.info()
    assert str(raised.value).startswith(message)
    code, _, err = run("info", str(path))
    assert code == 1 and one_error_line(err).startswith(f"Error: {message}")


def test_rows_unsorted_inside_a_row_group_are_refused_when_read(tmp_path: Path) -> None:
    table = export_table(ledger_with_holes()).slice(0, 3_000)
    order = list(range(3_000))
    order[2_100], order[2_101] = order[2_101], order[2_100]  # two events swapped in the third row group
    folder = tmp_path / "swapped"
    folder.mkdir()
    pq.write_table(table.take(order), folder / "one.parquet", row_group_size=1_000)
    with open_store(str(source_file(tmp_path, folder, mapped=False))) as source:
        with pytest.raises(
            SchemaMismatch, match=r"one.parquet row group 2 is not sorted by 'global_position' .* row 101"
        ):
            list(source.read())


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda t: t.replace('"global_position"', '"gpos"'), SchemaMismatch, "part-0.parquet has no column 'gpos' (envelope.position); its columns are global_position, "),
        (lambda t: t.replace('"currency_code"', '"currency_cd"'), InvalidParameter, "columns.currency = 'currency_cd' reads column 'currency_cd', which the files do not have"),
        (lambda t: t.replace('"CAST(amount_cents AS BIGINT)"', '"CAST(amount_cents AS"'), InvalidParameter, "columns.amount = 'CAST(amount_cents AS' is not a polars SQL expression"),
        (lambda t: t.replace('preset = "parquet"', 'preset = "parquet"\ncategory = "account"'), InvalidParameter, "preset parquet takes no option category; its options are where"),
        (lambda t: t.replace("exports/ledger", "exports/nothing"), StoreNotFound, "exports/nothing: it does not exist"),
        (lambda t: t.replace('Withdrawn = "withdrawn", ', ""), SchemaMismatch, "not in the dictionary"),
        (lambda t: t + '[snapshots]\nuri = "EXPORT/snaps"\n', InvalidParameter, "lies inside the dataset"),
        (lambda t: re.sub(r'^uri = ".*"$', 'uri = "s3://lake/ledger"', t, count=1, flags=re.M), InvalidParameter, "source.uri = 's3://lake/ledger': the parquet preset reads local files"),
    ],
)  # fmt: skip
def test_a_bad_source_file_is_one_clear_error(export: Path, tmp_path: Path, edit, error, message) -> None:  # type: ignore[no-untyped-def]
    path = source_file(tmp_path, export)
    path.write_text(edit(path.read_text()).replace("EXPORT", str(export)))
    with pytest.raises(error) as raised:
        with open_store(str(path)) as source:
            list(source.read())
    assert message in str(raised.value)
    code, _, err = run("state", str(path), "-p", "balances", "--out", str(tmp_path / "s.parquet"))
    assert code == 1 and message in one_error_line(err)
    assert not (export / "snaps").exists()


# -- catchup's own Parquet stores refuse an export's folder, and suggest the preset ----------


def test_an_export_folder_is_not_taken_for_a_store_and_the_preset_is_suggested(export: Path, tmp_path: Path) -> None:
    before = listing(export)
    hint = 'it holds Parquet files: to replay them, write a source file with preset = "parquet" (see docs/sources.md)'
    code, out, err = run("info", str(export))
    assert (code, out) == (1, "")
    assert one_error_line(err) == f"Error: {export} is not a catchup event store (it has no catchup.json), but {hint}"
    code, out, err = run("generate", str(export), "--events", "1k", "--accounts", "10", "--quiet")
    assert (code, out) == (1, "")
    assert one_error_line(err) == (
        f"Error: {export} exists and is not a catchup store; {hint}, or choose a new or empty folder to generate into"
    )
    assert listing(export) == before
    other = tmp_path / "notes"
    other.mkdir()
    (other / "readme.txt").write_text("not an export")
    code, _, err = run("generate", str(other), "--events", "1k", "--accounts", "10", "--quiet")
    assert one_error_line(err) == f"Error: {other} exists and is not a catchup store; choose a new or empty folder"


def test_a_column_added_later_in_the_export_is_still_one_dataset(tmp_path: Path) -> None:
    table = export_table(ledger_with_holes()).slice(0, 4_000)
    folder = tmp_path / "grown"
    folder.mkdir()
    pq.write_table(table.slice(0, 2_000), folder / "a.parquet", row_group_size=1_000)
    later = table.slice(2_000, 2_000)
    pq.write_table(later.append_column("region", pa.array(["eu"] * later.num_rows)), folder / "b.parquet")
    with open_store(str(source_file(tmp_path, folder))) as source:
        assert pa.Table.from_batches(list(source.read())).num_rows == 4_000
    path = source_file(tmp_path, folder, mapped=False, extra='[extra]\nregion = "region"')
    with pytest.raises(InvalidParameter, match="extra.region = 'region' reads column 'region', which the files do not"):
        open_store(str(path)).info()


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda t, p: pq.write_table(t, p, write_statistics=False), "row group 0 has no min/max statistics of 'global_position'"),
        (lambda t, p: pq.write_table(t.set_column(0, "global_position", t["global_position"].cast(pa.float64())), p), "column 'global_position' of .* is double, not an integer"),
        (lambda t, p: pq.write_table(t.set_column(0, "global_position", pa.array([None] + t["global_position"].to_pylist()[1:], pa.int64())), p), "row group 0 holds 1 null 'global_position' values"),
        (lambda t, p: pq.write_table(t.set_column(0, "global_position", pc.subtract(t["global_position"], 1)), p), "row group 0 holds 'global_position' 0; catchup's positions start at 1"),
    ],
)  # fmt: skip
def test_an_export_the_preset_cannot_read_is_named(tmp_path: Path, write, message) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "bad"
    folder.mkdir()
    write(export_table(ledger_with_holes()).slice(0, 500), folder / "x.parquet")
    with pytest.raises(SchemaMismatch, match=message):
        open_store(str(source_file(tmp_path, folder))).info()


def test_a_source_file_inside_the_dataset_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "lake"
    write_export(folder, export_table(ledger_with_holes()))
    path = folder / "ledger.toml"  # its default snapshot folder would be made inside the export
    path.write_text('[source]\nuri = "."\npreset = "parquet"\n[envelope]\nposition = "global_position"\n')
    before = listing(folder)
    code, _, err = run("info", str(path))
    assert code == 1 and "lies inside the dataset" in one_error_line(err)
    assert listing(folder) == before


def test_the_documented_source_file_reads_the_export(export: Path, tmp_path: Path) -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "sources.md").read_text()
    (example,) = [block for block in re.findall(r"```toml\n(.*?)```", page, re.S) if 'preset = "parquet"' in block]
    path = tmp_path / "documented.toml"
    path.write_text(example.replace('"exports/ledger/"', f'"{export}"'))
    with open_store(str(path)) as source:
        assert source.info().details["events"] == SMALL.events
        assert balances_digest(source) == balances_digest(open_store(str(source_file(tmp_path, export))))


def test_live_refuses_an_export_at_rest_in_one_line(export: Path, tmp_path: Path) -> None:
    path = source_file(tmp_path, export)
    code, _, err = run("live", str(path), "-p", "balances", "--interval", "5k", "--out", str(tmp_path / "r"))
    assert code == 1 and one_error_line(err) == (
        f"Error: {path} is a parquet source, read at rest: live mode follows the Postgres presets as their "
        "application writes; measure this one with catchup run"
    )
    assert not (tmp_path / "r").exists()
