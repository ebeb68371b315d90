"""The messagedb preset against a real Message DB, installed from its published SQL.

The ledger's events are written with Message DB's own ``write_message`` (tests/
messagedb_writer.py), with holes in ``global_position``, and read back through the
preset's layout: first as the SQL the layout stands for, then through catchup itself.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.replay import replay
from generators import dataset_meta
from projections.balances import Balances
from stores import open_store
from stores.errors import SchemaMismatch
from stores.foreign.layout import PgLayout
from stores.foreign.presets import layout_for
from stores.foreign.spec import parse_spec
from stores.schema import ENVELOPE_SCHEMA, EVENT_SCHEMA
from tests import messagedb_server, messagedb_writer
from tests.cli_calls import one_error_line, run
from tests.data import SMALL, events_of
from tests.foreign_data import database_checksum


@pytest.fixture(scope="module")
def mdb(pg_url: str) -> Iterator[tuple[str, messagedb_writer.Written]]:
    """A fresh Message DB holding the SMALL ledger (and a few audit messages); dropped after."""
    url = messagedb_server.install(pg_url)
    written = messagedb_writer.write_ledger(url, events_of(SMALL), chunk=4_000)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE message_store.messages")
    yield url, written
    messagedb_server.drop(pg_url)


def spec_of(url: str, tmp_path: Path, **options: object) -> object:
    return parse_spec({"source": {"uri": url, "preset": "messagedb", **options}}, tmp_path / "source.toml")


def layout_of(url: str, tmp_path: Path, **options: object) -> PgLayout:
    return layout_for(spec_of(url, tmp_path, **options))  # type: ignore[arg-type]


def layout_select(layout: PgLayout, after: int = 0, upto: int = 1 << 62, select: str | None = None) -> str:
    """The one query the reader builds from a layout (stores/foreign/pg_source.py's contract)."""
    env = layout.envelope
    if select is None:
        select = ", ".join(f"{expr} AS {name}" for name, expr in env.expressions().items())
    where = " AND ".join((*layout.filters, f"{env.position} > {after}", f"{env.position} <= {upto}"))
    return f"SELECT {select} FROM {layout.relation} WHERE {where} ORDER BY {env.position}"


def test_the_installed_message_db_is_the_published_one(mdb: tuple[str, messagedb_writer.Written]) -> None:
    url, _ = mdb
    published = (messagedb_server.package_dir() / "VERSION.txt").read_text().strip()
    assert messagedb_server.version(url) == published
    with psycopg.connect(url) as conn:
        indexdef = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'message_store' AND indexname = 'messages_category'"
        ).fetchone()
    assert indexdef is not None and "category((stream_name)" in indexdef[0]


def test_the_layout_reads_every_message_in_order_with_the_holes(
    mdb: tuple[str, messagedb_writer.Written], tmp_path: Path
) -> None:
    url, written = mdb
    layout = layout_of(url, tmp_path)
    assert layout.system == "messagedb" and layout.table == "message_store.messages" and not layout.filters
    with psycopg.connect(url) as conn:
        rows = conn.execute(layout_select(layout)).fetchall()
    positions = [row[0] for row in rows]
    assert len(rows) == written.events + written.audit
    assert positions == sorted(set(positions))
    # Rolled-back writes left holes: fewer events than the highest position.
    assert written.rolled_back > 0 and len(rows) < positions[-1]
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT last_value FROM message_store.messages_global_position_seq").fetchone()
    assert row is not None and positions[-1] + written.rolled_back >= row[0] > len(rows)


def test_a_tail_read_starts_after_the_position_and_skips_the_holes(
    mdb: tuple[str, messagedb_writer.Written], tmp_path: Path
) -> None:
    url, _ = mdb
    layout = layout_of(url, tmp_path)
    with psycopg.connect(url) as conn:
        every = [row[0] for row in conn.execute(layout_select(layout, select="global_position"))]
        after, upto = every[10_000], every[12_000]
        tail = [row[0] for row in conn.execute(layout_select(layout, after, upto, select="global_position"))]
    assert tail == every[10_001:12_001]


def test_the_envelope_is_message_db_s_columns(mdb: tuple[str, messagedb_writer.Written], tmp_path: Path) -> None:
    url, _ = mdb
    layout = layout_of(url, tmp_path, category="account")
    with psycopg.connect(url) as conn:
        # Another session time zone must not move the instants: time holds UTC.
        conn.execute("SET TimeZone = 'America/New_York'")
        envelope = conn.execute(layout_select(layout) + " LIMIT 3").fetchall()
        raw = conn.execute(
            "SELECT global_position, stream_name, position, type, time, data, metadata FROM message_store.messages"
            " WHERE stream_name LIKE 'account-%' ORDER BY global_position LIMIT 3"
        ).fetchall()
    for got, want in zip(envelope, raw, strict=True):
        position, stream, version, event_type, occurred_at, data, metadata = got
        assert (position, stream, version, event_type) == want[:4]
        assert occurred_at == want[4].replace(tzinfo=dt.UTC)
        assert isinstance(data, str) and isinstance(metadata, str)
    assert envelope[0][3] == "AccountOpened" and envelope[0][2] == 0
    assert envelope[0][1] == messagedb_writer.stream_name(1)


def test_a_category_reads_only_its_own_messages(mdb: tuple[str, messagedb_writer.Written], tmp_path: Path) -> None:
    url, written = mdb
    with psycopg.connect(url) as conn:
        for category, count in (("account", written.events), ("audit", written.audit)):
            rows = conn.execute(layout_select(layout_of(url, tmp_path, category=category))).fetchall()
            assert len(rows) == count
            assert {row[1].split("-", 1)[0] for row in rows} == {category}
        assert conn.execute(layout_select(layout_of(url, tmp_path, category="nosuch"))).fetchall() == []


def test_a_category_read_is_served_by_message_db_s_category_index(
    mdb: tuple[str, messagedb_writer.Written], tmp_path: Path
) -> None:
    url, _ = mdb
    layout = layout_of(url, tmp_path, category="audit")
    with psycopg.connect(url) as conn:
        plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + layout_select(layout)))
    assert "Index Scan using messages_category" in plan, plan
    assert "category" in plan.split("Index Cond:")[1], plan


def test_the_ledger_mapping_gives_back_the_generated_events(
    mdb: tuple[str, messagedb_writer.Written], tmp_path: Path
) -> None:
    """The [columns] of messagedb_writer, evaluated over the layout's relation, are the ledger."""
    url, _ = mdb
    layout = layout_of(url, tmp_path, category="account")
    columns = parse_spec(tomllib.loads(messagedb_writer.source_toml(url)), tmp_path / "s.toml").columns
    select = ", ".join(
        [f"{layout.envelope.position} AS position"]
        + [
            (
                f"CASE {m.expr} {' '.join(f'WHEN {k!r} THEN {v!r}' for k, v in m.values)} END AS {name}"
                if m.values
                else f"{m.expr} AS {name}"
            )
            for name, m in columns.items()
        ]
    )
    with psycopg.connect(url) as conn:
        rows = conn.execute(layout_select(layout, select=select)).fetchall()
    got = pa.Table.from_pylist([dict(zip(["position", *columns], row, strict=True)) for row in rows])
    want = events_of(SMALL)
    for name in ("stream_id", "stream_version", "amount", "counterparty", "correlation_id"):
        assert got[name].to_pylist() == want[name].to_pylist(), name
    for name in ("event_type", "currency"):
        assert got[name].to_pylist() == want[name].cast(pa.string()).to_pylist(), name
    assert got["occurred_at"].to_pylist() == want["occurred_at"].to_pylist()
    assert got["position"].to_pylist() != want["position"].to_pylist()  # the holes


# -- through catchup: the source file, opened as a store ----------------------------------


def source_file(tmp_path: Path, url: str, *, category: str | None = "account", mapped: bool = True) -> Path:
    path = tmp_path / "messages.toml"
    path.write_text(messagedb_writer.source_toml(url, category=category, mapped=mapped))
    return path


def own_store_balances(tmp_path: Path) -> str:
    """balances over catchup's own Parquet store of the same generated events."""
    with open_store(str(tmp_path / "own")) as own:
        own.load(events_of(SMALL).to_batches(max_chunksize=8_192), dataset_meta(SMALL))
        projection = Balances()
        replay(own, projection)
    return projection.digest()


def test_a_mapped_category_replays_to_the_balances_of_catchups_own_store(
    mdb: tuple[str, messagedb_writer.Written], tmp_path: Path
) -> None:
    url, written = mdb
    with open_store(str(source_file(tmp_path, url))) as source:
        info = source.info()
        assert info.backend == "foreign:messagedb" and info.layout == "ledger"
        assert info.details["events"] == written.events == SMALL.events
        assert info.head == info.details["highest_position"] > written.events  # positions are not counts
        assert "category" in info.details["relation"]
        read = pa.Table.from_batches(list(source.read(batch_size=4_096)))
        assert read.schema.equals(EVENT_SCHEMA) and read.num_rows == SMALL.events
        assert read.drop(["position"]).to_pylist() == events_of(SMALL).drop(["position"]).to_pylist()
        projection = Balances()
        replay(source, projection)
        assert projection.digest() == own_store_balances(tmp_path)
        # A tail read from a position in the middle gives exactly the events after it.
        middle = read["position"][20_000].as_py()
        tail = pa.Table.from_batches(list(source.read(after=middle)))
        assert tail["position"].to_pylist() == read["position"].to_pylist()[20_001:]


def test_without_columns_projections_see_message_db_s_envelope(
    mdb: tuple[str, messagedb_writer.Written], tmp_path: Path
) -> None:
    url, written = mdb
    with open_store(str(source_file(tmp_path, url, category=None, mapped=False))) as source:
        assert source.info().layout == "envelope" and source.info().details["events"] == written.events + written.audit
        table = pa.Table.from_batches(list(source.read()))
    assert table.schema.equals(ENVELOPE_SCHEMA)
    rows = table.to_pylist()
    categories = {row["stream"].split("-", 1)[0] for row in rows}
    assert categories == {"account", "audit"}
    first = next(row for row in rows if row["stream"].startswith("account-"))
    assert first["stream"] == messagedb_writer.stream_name(1) and first["stream_version"] == 0
    assert first["event_type"] == "AccountOpened"
    data = json.loads(first["data"])
    assert data["currency"] == events_of(SMALL)["currency"][0].as_py() and "amount" not in data
    assert json.loads(first["metadata"]) == {"schemaVersion": "1"}
    deposit = next(row for row in rows if row["event_type"] == "Deposited")
    assert isinstance(json.loads(deposit["data"])["amount"], int)
    assert {row["event_type"] for row in rows} == {*messagedb_writer.TYPE_NAMES.values(), "AuditRecorded"}
    assert all(row["occurred_at"].tzinfo is not None for row in rows[:10])


def test_a_mapped_read_of_every_category_names_the_unmapped_types(
    mdb: tuple[str, messagedb_writer.Written], tmp_path: Path
) -> None:
    url, _ = mdb
    with open_store(str(source_file(tmp_path, url, category=None))) as source, pytest.raises(SchemaMismatch) as raised:
        list(source.read())
    assert "AuditRecorded" in str(raised.value) and "\n" not in str(raised.value)


def test_catchup_run_on_the_source_file_verifies_and_leaves_message_db_unchanged(
    mdb: tuple[str, messagedb_writer.Written], tmp_path: Path
) -> None:
    url, written = mdb
    path = source_file(tmp_path, url)
    before = database_checksum(url)
    code, out, err = run(
        "run", str(path), "-p", "balances", "--intervals", "5000", "--repeats", "1", "--warmup", "0",
        "--out", str(tmp_path / "results"), "--quiet",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run("state", str(path), "-p", "balances", "--at", "12k", "--out", str(tmp_path / "b.parquet"))
    assert code == 0, err
    code, _, err = run("live", str(path), "-p", "balances", "--interval", "5k", "--observe", "0.3", "--out",
                       str(tmp_path / "live"))  # fmt: skip
    assert code == 0, err
    code, out, err = run("info", str(path))
    assert code == 0, err
    assert f"{written.events:,} events" in out
    assert database_checksum(url) == before
    assert any((tmp_path / "messages.snapshots").iterdir())  # catchup's own folder holds the snapshots


def test_the_source_read_benchmark_runs_on_a_message_db_source(
    mdb: tuple[str, messagedb_writer.Written],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench.perf import source_read

    url, written = mdb
    monkeypatch.setattr("sys.argv", ["source_read", str(source_file(tmp_path, url)), "--repeats", "1"])
    source_read.main()
    out = capsys.readouterr().out
    assert f"{written.events:,} events" in out
    for row in ("full read", "full replay of balances", "pyarrow.json", "json.loads"):
        assert re.search(rf"{re.escape(row)}.*\s[\d.]+x", out), out


TYPE_TOTALS = str(Path(__file__).parent / "user_projections" / "type_totals.py") + ":TypeTotals"


def test_an_envelope_projection_over_every_category_runs_verifies_and_counts_each_type(
    mdb: tuple[str, messagedb_writer.Written], tmp_path: Path
) -> None:
    url, written = mdb
    path = source_file(tmp_path, url, category=None, mapped=False)
    code, _, err = run(
        "run", str(path), "-p", TYPE_TOTALS, "--intervals", "10k", "--repeats", "1", "--warmup", "0",
        "--out", str(tmp_path / "results"), "--quiet",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = run("state", str(path), "-p", TYPE_TOTALS, "--out", str(tmp_path / "totals.parquet"))
    assert code == 0, err
    totals = {
        row["event_type"]: (row["events"], int(row["amount"]))
        for row in pq.read_table(tmp_path / "totals.parquet").to_pylist()
    }
    ledger = events_of(SMALL).to_pylist()
    for ours, pascal in messagedb_writer.TYPE_NAMES.items():
        chosen = [row["amount"] for row in ledger if row["event_type"] == ours]
        assert totals[pascal] == (len(chosen), sum(chosen))
    assert totals["AuditRecorded"] == (written.audit, 0)


def test_a_uri_with_preset_and_category_names_the_same_source(
    mdb: tuple[str, messagedb_writer.Written], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, written = mdb
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where a URI source's snapshots go
    with open_store(f"{url}?preset=messagedb&category=audit") as source:
        assert source.info().details["events"] == written.audit
        rows = pa.Table.from_batches(list(source.read())).to_pylist()
    assert len(rows) == written.audit and all(row["event_type"] == "AuditRecorded" for row in rows)
    code, out, err = run("info", f"{url}?preset=messagedb&category=account")
    assert code == 0, err
    assert f"{written.events:,} events" in out
    code, _, err = run("info", f"{url}?preset=messagedb&category=no-such")
    assert code != 0 and "source.category = 'no-such' is not a Message DB category" in one_error_line(err)
