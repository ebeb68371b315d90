"""The ``eventsourcing`` preset over tables the Python eventsourcing library itself wrote.

The events come from ``tests.eventsourcing_writer``: a ``Bank`` application saving
``Account`` aggregates through the library's own Postgres recorder, with holes in
``notification_id`` left by saves that failed on a version conflict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pyarrow as pa
import pytest

from bench.replay import replay
from bench.results.folder import load_run
from generators import LedgerParams
from projections.balances import Balances
from stores import open_store
from stores.errors import InvalidParameter, SchemaMismatch, StoreNotFound
from stores.foreign import eventsourcing as preset
from stores.foreign.spec import load_spec
from stores.schema import ENVELOPE_SCHEMA, EVENT_SCHEMA
from tests.cli_calls import one_error_line, run
from tests.data import SMALL, events_of
from tests.eventsourcing_writer import DBNAME, ZLIB, Written, recreate_database, write_ledger
from tests.foreign_data import database_checksum

ZIPPED = LedgerParams(events=3_000, accounts=40, currencies=("USD", "EUR"), seed=3)
TYPES = {
    "Opened": "account_opened",
    "Deposited": "deposited",
    "Withdrawn": "withdrawn",
    "TransferDebited": "transfer_debited",
    "TransferCredited": "transfer_credited",
    "FxDebited": "fx_debited",
    "FxCredited": "fx_credited",
}
# The account number back from a uuid made with uuid.UUID(int=number): its last 15 hex digits.
NUMBER = "('x' || right(replace({}, '-', ''), 15))::bit(60)::bigint"


TYPE_TOTALS = str(Path(__file__).parent / "user_projections" / "type_totals.py") + ":TypeTotals"


@pytest.fixture(scope="module")
def bank(pg_url: str) -> Iterator[tuple[str, Written, Written]]:
    """Our database: SMALL written by the library in public.bank_events, ZIPPED compressed in zipped.bank_events."""
    url = recreate_database(pg_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA zipped")
    plain = write_ledger(pg_url, SMALL)
    zipped = write_ledger(pg_url, ZIPPED, env={"POSTGRES_SCHEMA": "zipped", "COMPRESSOR_TOPIC": ZLIB})
    yield url, plain, zipped
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)')


def source_file(
    tmp_path: Path, url: str, *, columns: str = "", name: str = "bank", application: str | None = "Bank", **options: str
) -> Path:
    settings = ({"application": application} if application else {}) | options
    lines = "\n".join(f'{key} = "{value}"' for key, value in settings.items())
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[source]\nuri = "{url}"\npreset = "eventsourcing"\n{lines}\n{columns}')
    return path


def mapping(payload: str) -> str:
    """[columns] onto the ledger, reading the payload from ``data`` (unwrapped) or ``stored`` (as written)."""
    if payload == "data":
        amount, currency = "data->>'amount'", "data->>'currency'"
        counterparty, correlation = "data->>'counterparty'", "coalesce(data->>'transfer_id', data->>'exchange_id')"
    else:
        amount, currency = "stored #>> '{amount,_data_}'", "stored->>'currency'"
        counterparty = "stored #>> '{counterparty,_data_}'"
        correlation = "coalesce(stored #>> '{transfer_id,_data_}', stored #>> '{exchange_id,_data_}')"
    values = ", ".join(f'{ours} = "{theirs}"' for ours, theirs in TYPES.items())
    return f"""[columns]
stream_id = "{NUMBER.format("originator_id::text")}"
amount = "coalesce(({amount})::numeric * 100, 0)::bigint"
currency = "{currency}"
counterparty = "{NUMBER.format(counterparty)}"
correlation_id = "{NUMBER.format(correlation)}"
event_type = {{ expr = "type", values = {{ {values} }} }}
"""


def envelope_rows(url: str, spec_path: Path, raw: bool = False) -> pa.Table:
    """The layout's envelope, read as the reader would: one SELECT through ADBC."""
    spec = load_spec(spec_path)
    layout = preset.raw_layout(spec) if raw else preset.server_layout(spec)
    listed = ", ".join(f"({expr}) AS {name}" for name, expr in layout.envelope.expressions().items())
    with adbc.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT {listed} FROM {layout.relation} ORDER BY notification_id")
        return cursor.fetch_arrow_table()


def by_stream(table: pa.Table) -> list[dict[str, object]]:
    """The ledger events without positions, in (stream, version) order: saves group events by account."""
    rows = table.drop(["position"]).to_pylist()
    return sorted(rows, key=lambda row: (row["stream_id"], row["stream_version"]))


def test_the_layout_reads_every_event_the_library_wrote_across_its_holes(
    bank: tuple[str, Written, Written], tmp_path: Path
) -> None:
    url, plain, _ = bank
    assert plain.failed_saves > 0 and plain.events == SMALL.events < plain.highest  # real holes
    table = envelope_rows(url, source_file(tmp_path, url))
    assert table.num_rows == SMALL.events
    positions = table.column("position").to_pylist()
    assert positions == sorted(positions) and positions[-1] == plain.highest
    ledger = {(row["stream_id"], row["stream_version"]): row for row in events_of(SMALL).to_pylist()}
    for row in table.to_pylist():
        number = UUID(row["stream"]).int
        theirs = ledger[(number, row["stream_version"])]
        assert row["event_type"] == f"tests.eventsourcing_writer:Account.{_pascal(theirs['event_type'])}"
        assert row["occurred_at"] == theirs["occurred_at"]  # the time kept inside state


def _pascal(ours: str) -> str:
    return {theirs: pascal for pascal, theirs in TYPES.items()}[ours]


def test_the_transcoders_wrappers_are_unwrapped_on_the_server_and_on_the_client(
    bank: tuple[str, Written, Written], tmp_path: Path
) -> None:
    url, _, _ = bank
    path = source_file(tmp_path, url)
    with psycopg.connect(url) as conn:
        stored = conn.execute(
            "SELECT convert_from(state, 'UTF8') FROM bank_events WHERE topic LIKE '%TransferDebited' LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
    assert '"amount":{"_type_":"decimal_str","_data_":' in stored and '{"_type_":"uuid_hex"' in stored
    server = envelope_rows(url, path)
    client = pa.Table.from_batches(
        [preset.decode_batch(batch, None) for batch in envelope_rows(url, path, raw=True).to_batches()]
    )
    assert client.schema.equals(ENVELOPE_SCHEMA) and client.num_rows == server.num_rows
    assert "_type_" not in "".join(server.column("data").to_pylist())
    assert client.column("occurred_at").equals(server.column("occurred_at").cast(pa.timestamp("us", tz="UTC")))
    ledger = {(r["stream_id"], r["stream_version"]): r for r in events_of(SMALL).to_pylist()}
    for ours, theirs, stream, version in zip(
        server.column("data").to_pylist(),
        client.column("data").to_pylist(),
        server.column("stream").to_pylist(),
        server.column("stream_version").to_pylist(),
        strict=True,
    ):
        assert json.loads(ours) == json.loads(theirs)
        event = ledger[(UUID(stream).int, version)]
        payload = json.loads(ours)
        if event["event_type"] != "account_opened":
            assert Decimal(payload["amount"]) == Decimal(event["amount"]) / 100
        if event["counterparty"] is not None:
            assert UUID(payload["counterparty"]).int == event["counterparty"]


def test_a_mapped_source_replays_to_the_same_balances_as_catchups_own_store(
    bank: tuple[str, Written, Written], tmp_path: Path
) -> None:
    url, plain, _ = bank
    with open_store(str(source_file(tmp_path, url, columns=mapping("data")))) as source:
        info = source.info()
        assert info.details["events"] == SMALL.events and info.details["highest_position"] == plain.highest
        assert info.backend == "foreign:eventsourcing" and info.currencies == tuple(sorted(SMALL.currencies))
        read = pa.Table.from_batches(list(source.read(batch_size=4_096)))
        assert read.schema.equals(EVENT_SCHEMA) and read.num_rows == SMALL.events
        assert by_stream(read) == by_stream(events_of(SMALL))
        projected = Balances()
        replay(source, projected)
        # A tail read reads by notification_id, holes and all.
        after = plain.highest - 1_000
        tail = pa.Table.from_batches(list(source.read(after=after)))
        positions = read.column("position").to_pylist()
        assert tail.column("position").to_pylist() == [p for p in positions if p > after]
    expected = Balances()
    for batch in events_of(SMALL).to_batches():
        expected.apply(batch)
    assert projected.digest() == expected.digest()


def test_the_envelope_is_what_projections_see_without_columns(
    bank: tuple[str, Written, Written], tmp_path: Path
) -> None:
    url, _, _ = bank
    with open_store(str(source_file(tmp_path, url))) as source:
        first = next(iter(source.read(batch_size=10))).to_pylist()[0]
    assert first["event_type"].endswith(":Account.Opened") and first["stream_version"] == 1
    assert json.loads(first["data"])["number"] == UUID(first["stream"]).int  # the account number, unwrapped JSON
    # Read through the reader, the envelope is decoded on the client (3x faster): the same
    # events, times and unwrapped payloads as the server's unwrapping gives.
    with open_store(str(source_file(tmp_path, url))) as source:
        client = pa.Table.from_batches(list(source.read()))
    server = envelope_rows(url, source_file(tmp_path, url))
    assert client.column("position").equals(server.column("position").cast(pa.int64()))
    assert client.column("occurred_at").to_pylist() == server.column("occurred_at").to_pylist()
    assert [json.loads(d) for d in client.column("data").to_pylist()] == [
        json.loads(d) for d in server.column("data").to_pylist()
    ]


def test_catchup_run_over_the_source_verifies_and_leaves_the_database_unchanged(
    bank: tuple[str, Written, Written], tmp_path: Path
) -> None:
    url, _, _ = bank
    path = source_file(tmp_path, url, columns=mapping("stored"))
    before = database_checksum(url)
    code, out, err = run(
        "run", str(path), "-p", "balances", "--intervals", "5000", "--repeats", "1", "--warmup", "0",
        "--out", str(tmp_path / "results"), "--quiet",
    )  # fmt: skip
    assert code == 0, err
    loaded = load_run(Path(re.search(r"^results: (.+)$", out, re.M).group(1)))  # type: ignore[union-attr]
    (row,) = loaded.summary
    assert row.verified and row.head == SMALL.events and row.snapshots == SMALL.events // 5_000
    assert database_checksum(url) == before


def test_compressed_state_is_refused_and_a_decode_hook_reads_it(
    bank: tuple[str, Written, Written], tmp_path: Path
) -> None:
    url, _, zipped = bank
    with psycopg.connect(url) as conn:
        first = conn.execute("SELECT state FROM zipped.bank_events ORDER BY notification_id LIMIT 1").fetchone()[0]  # type: ignore[index]
    assert first[:1] == b"\x78"  # zlib's header: the library's ZlibCompressor really compressed it
    with open_store(str(source_file(tmp_path, url, schema="zipped"))) as source:
        with pytest.raises(SchemaMismatch, match=r"zipped\.bank_events holds state that is not JSON .*source\.decode"):
            source.info()
    code, _, err = run("info", str(source_file(tmp_path, url, schema="zipped")))
    assert code != 0 and "not JSON (compressed or encrypted" in one_error_line(err)
    path = source_file(tmp_path, url, name="unzipped", schema="zipped", decode="tests.eventsourcing_writer:unzip")
    spec = load_spec(path)
    assert preset.layout(spec).refusals == ()
    hook = preset.decode_hook(spec)
    raw = envelope_rows(url, path, raw=True)
    assert pa.types.is_binary(raw.schema.field("data").type) and raw.column("occurred_at").null_count == raw.num_rows
    decoded = pa.Table.from_batches([preset.decode_batch(batch, hook) for batch in raw.to_batches()])
    assert decoded.num_rows == zipped.events == ZIPPED.events and decoded.column("occurred_at").null_count == 0
    ledger = {(r["stream_id"], r["stream_version"]): r for r in events_of(ZIPPED).to_pylist()}
    for row in decoded.to_pylist():
        event = ledger[(UUID(row["stream"]).int, row["stream_version"])]
        assert row["occurred_at"] == event["occurred_at"]
        assert json.loads(row["data"])["currency"] == event["currency"]
    # The reader runs the hook itself: the source reads as the decoded envelope, and runs.
    with open_store(str(path)) as source:
        read = pa.Table.from_batches(list(source.read()))
    assert read.equals(decoded)
    code, _, err = run("run", str(path), "-p", TYPE_TOTALS, "--intervals", "1000", "--repeats", "1", "--warmup", "0",
                       "--out", str(tmp_path / "results"), "--quiet")  # fmt: skip
    assert code == 0, err
    # Without the hook, decoding the raw bytes fails plainly rather than yielding garbage.
    with pytest.raises(ValueError, match="not UTF-8 JSON|timestamp"):
        preset.decode_batch(raw.to_batches()[0], None)


def test_a_hook_that_fails_names_the_position(bank: tuple[str, Written, Written], tmp_path: Path) -> None:
    url, _, _ = bank
    raw = envelope_rows(url, source_file(tmp_path, url), raw=True).slice(0, 5).to_batches()[0]

    def broken(state: bytes) -> bytes:
        raise RuntimeError("bad key")

    first = raw.column("position")[0].as_py()
    with pytest.raises(ValueError, match=f"decode hook failed on the state at position {first}: bad key"):
        preset.decode_batch(raw, broken)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"table": "bank_events"}, "source.application .* or source.table, not both"),
        ({"application": "Bank; DROP TABLE x"}, r"source.application = 'Bank; DROP TABLE x' is not a name"),
        ({"schema": "a-b"}, r"source.schema = 'a-b' is not a schema name"),
        ({"decode": "not a hook"}, r"source.decode = 'not a hook' is not module:function"),
        ({"decode": "tests.eventsourcing_writer:nothing_here"}, "cannot be imported"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path: Path, options: dict[str, str], message: str) -> None:
    spec = load_spec(source_file(tmp_path, "postgresql://postgres@127.0.0.1/x", **options))
    with pytest.raises(InvalidParameter, match=message):
        preset.layout(spec)
        preset.decode_hook(spec)


def test_a_decode_hook_cannot_be_combined_with_a_mapping(tmp_path: Path) -> None:
    path = source_file(
        tmp_path,
        "postgresql://postgres@127.0.0.1/x",
        columns=mapping("data"),
        decode="tests.eventsourcing_writer:unzip",
    )
    with pytest.raises(InvalidParameter, match=r"source.decode cannot be combined with \[columns\]"):
        preset.layout(load_spec(path))


def test_the_table_is_named_as_the_library_names_it(bank: tuple[str, Written, Written], tmp_path: Path) -> None:
    url, _, _ = bank
    spec = load_spec(source_file(tmp_path, url))
    assert preset.layout(spec).table == "public.bank_events"
    spec = load_spec(source_file(tmp_path, url, name="t", application=None, table="zipped.bank_events"))
    assert (preset.layout(spec).table, '"zipped"."bank_events"' in preset.layout(spec).relation) == (
        "zipped.bank_events",
        True,
    )
    with open_store(str(source_file(tmp_path, url, name="other", application="Shop"))) as source:
        with pytest.raises(StoreNotFound, match="no table public.shop_events .* preset eventsourcing"):
            source.info()
