"""The Postgres event store: the shared contract in both layouts, plus what only Postgres has.

Every test runs against a real server in a schema of its own (the pg_schema fixture drops it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pyarrow as pa
import pytest

from generators import dataset_meta, generate
from stores import open_store
from stores.errors import (
    InvalidParameter,
    SchemaMismatch,
    StoreError,
    StoreIncomplete,
    StoreNotFound,
    StoreUnreachable,
)
from stores.pg_sql import select_range
from stores.pg_target import parse_target
from stores.postgres import PostgresStore
from stores.schema import EVENT_SCHEMA
from tests.conftest import with_options
from tests.data import SMALL, events_of, read_all
from tests.store_contract import StoreContract


class TestPostgresTypedStore(StoreContract):
    @pytest.fixture
    def store_uri(self, pg_store_uri) -> str:  # type: ignore[no-untyped-def]
        return pg_store_uri("typed")


class TestPostgresJsonbStore(StoreContract):
    @pytest.fixture
    def store_uri(self, pg_store_uri) -> str:  # type: ignore[no-untyped-def]
        return pg_store_uri("jsonb")


@pytest.fixture(params=["typed", "jsonb"])
def layout(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def loaded(pg_store_uri, layout: str) -> Iterator[PostgresStore]:  # type: ignore[no-untyped-def]
    with PostgresStore(pg_store_uri(layout)) as store:
        store.load(events_of(SMALL).to_batches(max_chunksize=8_000), dataset_meta(SMALL))
        yield store


def sql(pg_url: str, statement: str) -> list[tuple[object, ...]]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


def with_password(url: str, password: str) -> str:
    """``url`` with a password; the local test server trusts, so any password is let in."""
    parts = urlsplit(url)
    if parts.password:
        return url
    user = parts.username or "postgres"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}:{password}@{host}", parts.path, parts.query, ""))


# -- the URI -------------------------------------------------------------------------------


def test_uri_options_are_parsed_and_stripped_before_the_driver_sees_them() -> None:
    target = parse_target("postgres://me@db.example:6543/ledger?sslmode=disable&layout=jsonb&schema=Ledger_2")
    assert (target.layout, target.layout_given, target.schema) == ("jsonb", True, "Ledger_2")
    assert target.where == "db.example:6543"
    assert target.conninfo.startswith("postgresql://me@db.example:6543/ledger?")
    assert "sslmode=disable" in target.conninfo
    assert "layout" not in target.conninfo and "schema=" not in target.conninfo


def test_uri_defaults_and_socket_directories() -> None:
    target = parse_target("postgresql:///ledger?host=/var/run/postgresql")
    assert (target.layout, target.layout_given, target.schema) == ("typed", False, "catchup")
    assert target.where == "socket /var/run/postgresql/.s.PGSQL.5432"
    assert target.redacted == "postgresql:///ledger?host=/var/run/postgresql"
    assert "host=/var/run/postgresql" in target.conninfo


def test_constructing_does_not_connect() -> None:
    store = PostgresStore("postgresql://nobody:pw@127.0.0.1:1/none?schema=s")
    assert store.uri == "postgresql://nobody:***@127.0.0.1:1/none?schema=s"
    store.close()


@pytest.mark.parametrize("value", ["", "json", "TYPED"])
def test_a_bad_layout_is_refused_naming_it_and_the_choices(value: str) -> None:
    with pytest.raises(InvalidParameter, match=f"layout='{value}'.*layout=typed or layout=jsonb"):
        PostgresStore(f"postgresql://u@h/db?layout={value}")


@pytest.mark.parametrize("value", ["", "1st", "a-b", "a b", "x" * 64, "pg_temp", 'x";drop'])
def test_a_bad_schema_name_is_refused(value: str) -> None:
    with pytest.raises(InvalidParameter, match="is not an allowed schema name") as raised:
        PostgresStore(with_options("postgresql://u:secret@h/db", schema=value))
    assert "\n" not in str(raised.value) and "secret" not in str(raised.value)


def test_open_store_picks_postgres() -> None:
    store = open_store("postgres://u@h/db?layout=jsonb")
    assert isinstance(store, PostgresStore) and store.layout == "jsonb"


# -- errors ------------------------------------------------------------------------------


def test_unreachable_server_is_one_line_naming_the_server_without_the_password() -> None:
    store = PostgresStore("postgresql://user:secret@127.0.0.1:1/x?schema=s")
    for action in (store.info, store.head, lambda: store.read(), lambda: store.append([])):
        with pytest.raises(StoreUnreachable) as raised:
            action()
        message = str(raised.value)
        assert "127.0.0.1:1" in message and "user:***@" in message
        assert "secret" not in message and "\n" not in message
        assert raised.value.__cause__ is None  # no driver exception rides along


def test_password_in_the_query_is_redacted_too() -> None:
    store = PostgresStore("postgresql://user@127.0.0.1:1/x?password=secret&layout=typed")
    with pytest.raises(StoreUnreachable) as raised:
        store.info()
    assert "secret" not in str(raised.value) and "password=***" in str(raised.value)


def test_a_malformed_uri_is_refused_without_its_password() -> None:
    with pytest.raises(InvalidParameter, match="not a valid PostgreSQL URI") as raised:
        PostgresStore("postgresql://u:se%zzcret@h/db")
    assert "se%zzcret" not in str(raised.value) and "u:***@h" in str(raised.value)


def test_missing_database_is_unreachable(pg_url: str) -> None:
    parts = urlsplit(pg_url)
    url = urlunsplit((parts.scheme, parts.netloc, "/catchup_no_such_db", parts.query, ""))
    with pytest.raises(StoreUnreachable, match='database "catchup_no_such_db" does not exist'):
        PostgresStore(url).info()


def test_password_never_shows_in_info_or_describe(pg_store_uri) -> None:  # type: ignore[no-untyped-def]
    uri = with_password(pg_store_uri("typed"), "secret")
    password = str(urlsplit(uri).password)
    with PostgresStore(uri) as store:
        store.load(events_of(SMALL).slice(0, 100).to_batches(), dataset_meta(SMALL))
        info = store.info()
        assert ":***@" in info.uri and password not in json.dumps(store.describe())


def test_a_schema_without_a_store(pg_store_uri) -> None:  # type: ignore[no-untyped-def]
    with PostgresStore(pg_store_uri("typed")) as store:
        info = store.info()
        assert (info.exists, info.complete, info.head, info.size_bytes) == (False, False, 0, 0)
        for action in (store.head, lambda: store.read(), lambda: store.append([])):
            with pytest.raises(StoreNotFound, match="no catchup event store in schema t_.*catchup generate"):
                action()


def test_missing_events_table_is_not_found(loaded: PostgresStore, pg_url: str) -> None:
    sql(pg_url, f'DROP TABLE "{loaded.schema}".events')
    with PostgresStore(loaded.target.redacted) as again:
        with pytest.raises(StoreNotFound, match=f"schema {loaded.schema}"):
            again.read()


def test_wrong_columns_are_a_schema_mismatch_naming_the_difference(loaded: PostgresStore, pg_url: str) -> None:
    changed = "amount" if loaded.layout == "typed" else "data"
    sql(pg_url, f'ALTER TABLE "{loaded.schema}".events ALTER COLUMN {changed} TYPE text')
    sql(pg_url, f'ALTER TABLE "{loaded.schema}".events DROP COLUMN stream_version')
    with PostgresStore(loaded.target.redacted) as again:
        with pytest.raises(SchemaMismatch) as raised:
            again.read()
    message = str(raised.value)
    assert "column stream_version (integer) is missing" in message
    assert f"column {changed} is text, expected" in message


def test_uri_layout_must_match_the_stored_one(loaded: PostgresStore, pg_url: str) -> None:
    other = "jsonb" if loaded.layout == "typed" else "typed"
    with PostgresStore(with_options(pg_url, layout=other, schema=loaded.schema)) as wrong:
        with pytest.raises(SchemaMismatch, match=f"has the {loaded.layout} layout"):
            wrong.read()
    with PostgresStore(with_options(pg_url, schema=loaded.schema)) as unspecified:
        assert unspecified.info().layout == loaded.layout
        assert read_all(unspecified, after=29_000).equals(events_of(SMALL).slice(29_000))


def test_read_arguments_must_be_integers(loaded: PostgresStore) -> None:
    for kwargs in ({"after": 1.5}, {"upto": "10"}, {"after": True}, {"after": -1}, {"batch_size": 0}):
        with pytest.raises(InvalidParameter):
            loaded.read(**kwargs)  # type: ignore[arg-type]


# -- tables and plans ----------------------------------------------------------------------


def test_tables_have_the_layouts_columns_and_keys(loaded: PostgresStore, pg_url: str) -> None:
    columns = dict(
        sql(
            pg_url,
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            f"WHERE attrelid = '\"{loaded.schema}\".events'::regclass AND attnum > 0",
        )
    )
    if loaded.layout == "jsonb":
        assert columns["data"] == "jsonb" and "amount" not in columns
        payload = sql(pg_url, f'SELECT data FROM "{loaded.schema}".events WHERE position = 2')[0][0]
        assert set(payload) == {"amount", "currency", "counterparty", "correlation_id"}  # type: ignore[arg-type]
    else:
        assert columns["amount"] == "bigint" and columns["currency"] == "text"
    assert columns["occurred_at"] == "timestamp with time zone"
    indexes = {row[0] for row in sql(pg_url, f"SELECT indexdef FROM pg_indexes WHERE schemaname = '{loaded.schema}'")}
    assert any("UNIQUE INDEX events_pkey" in d and '("position")' in d for d in indexes)
    assert any("(stream_id, stream_version)" in d for d in indexes)


def test_a_tail_read_is_an_index_range_scan(loaded: PostgresStore, pg_url: str) -> None:
    head = loaded.head()
    plan = sql(pg_url, "EXPLAIN " + select_range(loaded.schema, loaded.layout, head - 1_000, head))
    text = "\n".join(str(row[0]) for row in plan)
    assert "Index Scan using events_pkey" in text, text
    assert "Seq Scan" not in text and "Sort" not in text


def test_the_status_row_tracks_the_load(loaded: PostgresStore, pg_url: str) -> None:
    row = sql(pg_url, f'SELECT layout, complete, head, currencies FROM "{loaded.schema}".catchup_store')
    assert row == [(loaded.layout, True, SMALL.events, list(SMALL.currencies))]
    assert loaded.last_load is not None and loaded.last_load.events == SMALL.events


# -- loads and appends ---------------------------------------------------------------------


def test_an_interrupted_load_leaves_an_incomplete_store(pg_store_uri, layout: str) -> None:  # type: ignore[no-untyped-def]
    def dies_after_one_batch() -> Iterator[pa.RecordBatch]:
        yield from events_of(SMALL).slice(0, 5_000).to_batches()
        raise RuntimeError("generator died")

    with PostgresStore(pg_store_uri(layout)) as store:
        with pytest.raises(RuntimeError, match="generator died"):
            store.load(dies_after_one_batch(), dataset_meta(SMALL))
        info = store.info()
        assert (info.exists, info.complete, info.layout) == (True, False, layout)
        with pytest.raises(StoreIncomplete, match="incomplete"):
            store.read()
        with pytest.raises(StoreIncomplete):
            store.append(events_of(SMALL).slice(0, 10).to_batches())


def test_repeated_stream_versions_fail_the_load_and_leave_it_incomplete(pg_store_uri) -> None:  # type: ignore[no-untyped-def]
    table = events_of(SMALL).slice(0, 1_000)
    versions = pa.array([1] * table.num_rows, pa.int32())
    streams = pa.array([7] * table.num_rows, pa.int64())
    broken = table.set_column(1, "stream_id", streams).set_column(2, "stream_version", versions)
    with PostgresStore(pg_store_uri("typed")) as store:
        with pytest.raises(SchemaMismatch, match=r"repeat a key.*\(stream_id, stream_version\)=\(7, 1\)"):
            store.load(broken.to_batches(), dataset_meta(SMALL))
        assert store.info().complete is False


def test_an_append_that_fails_half_way_leaves_nothing(loaded: PostgresStore) -> None:
    more = events_of(SMALL).slice(0, 2_000)
    shifted = more.set_column(0, "position", pa.array(range(SMALL.events + 1, SMALL.events + 2_001), pa.int64()))
    versions = pa.array(range(100_001, 102_001), pa.int32())  # clear of the loaded versions
    shifted = shifted.set_column(2, "stream_version", versions).cast(EVENT_SCHEMA)

    def dies() -> Iterator[pa.RecordBatch]:
        yield shifted.slice(0, 1_000).to_batches()[0]
        raise RuntimeError("writer died")

    with pytest.raises(RuntimeError, match="writer died"):
        loaded.append(dies())
    assert loaded.head() == SMALL.events
    assert read_all(loaded, after=SMALL.events - 1).num_rows == 1
    assert loaded.append(shifted.to_batches(max_chunksize=600)) == SMALL.events + 2_000
    assert read_all(loaded, after=SMALL.events).equals(shifted)


def test_append_then_read(pg_store_uri, layout: str) -> None:  # type: ignore[no-untyped-def]
    table = events_of(SMALL)
    with PostgresStore(pg_store_uri(layout)) as store:
        store.load(table.slice(0, 25_000).to_batches(max_chunksize=10_000), dataset_meta(SMALL))
        for start in range(25_000, SMALL.events, 1_000):
            assert store.append(table.slice(start, 1_000).to_batches()) == start + 1_000
        assert store.append([]) == SMALL.events
        assert read_all(store, after=24_500).equals(table.slice(24_500))
        assert store.info().head == SMALL.events


def test_an_abandoned_read_does_not_break_the_store(loaded: PostgresStore, pg_url: str) -> None:
    reader = loaded.read(batch_size=1_000)
    next(reader)
    reader.close()
    first = loaded.read(after=10, upto=20)
    second = loaded.read(after=20, upto=30)  # two reads open at once use two connections
    assert [b.num_rows for b in first] == [10] and [b.num_rows for b in second] == [10]
    loaded.close()
    # No session of the closed store may still hold a lock that would block the drop.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '5s'")
        conn.execute(f'DROP TABLE "{loaded.schema}".events')


def test_generated_events_round_trip(pg_store_uri, layout: str) -> None:  # type: ignore[no-untyped-def]
    with PostgresStore(pg_store_uri(layout)) as store:
        store.load(generate(SMALL, batch_size=3_000), dataset_meta(SMALL))
        batches = list(store.read(after=17, batch_size=4_096))
        assert all(0 < b.num_rows <= 4_096 for b in batches)
        assert pa.Table.from_batches(batches).equals(events_of(SMALL).slice(17))


def test_readers_see_an_append_whole_or_not_at_all(pg_store_uri) -> None:  # type: ignore[no-untyped-def]
    table = events_of(SMALL)
    uri = pg_store_uri("jsonb")
    with PostgresStore(uri) as store:
        store.load(table.slice(0, 10_000).to_batches(), dataset_meta(SMALL))
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            with PostgresStore(uri) as appender:
                for start in range(10_000, SMALL.events, 2_000):
                    appender.append(table.slice(start, 2_000).to_batches(max_chunksize=500))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)

    thread = threading.Thread(target=writer)
    with PostgresStore(uri) as reader:
        thread.start()
        seen = set()
        while thread.is_alive() or not seen:
            got = read_all(reader, after=9_000)
            assert got.num_rows % 2_000 == 1_000  # 1,000 loaded events plus whole appends
            assert got.equals(table.slice(9_000, got.num_rows))
            seen.add(got.num_rows)
        thread.join()
    assert not failures
    assert max(seen) <= SMALL.events - 9_000


def test_a_load_waiting_on_an_unfinished_read_fails_instead_of_hanging(
    loaded: PostgresStore, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stores.postgres

    monkeypatch.setattr(stores.postgres, "_LOCK_TIMEOUT_S", 1)
    # A read that is still streaming holds the events table just like this session does.
    with psycopg.connect(pg_url) as reader, reader.transaction():
        reader.execute(f"LOCK TABLE {loaded._events} IN ACCESS SHARE MODE")
        with pytest.raises(StoreError, match="another session holds the store"):
            loaded.load(generate(SMALL), dataset_meta(SMALL), overwrite=True)
    assert loaded.head() == SMALL.events
    assert read_all(loaded).equals(events_of(SMALL))


def test_events_of_another_schema_version_are_refused(loaded: PostgresStore, pg_url: str) -> None:
    sql(pg_url, f'UPDATE "{loaded.schema}".catchup_store SET schema_version = 2')
    with pytest.raises(SchemaMismatch, match="holds events of schema version 2; this catchup reads version 1"):
        loaded.head()
