"""Own stores refuse foreign ground (issue 15, item 5), against real tables of three systems.

A database of our own (catchup_test_own) holds Message DB's ``message_store.messages``,
Marten's ``public.mt_events`` and the eventsourcing library's ``public.bank_events``, with
their columns and a few rows each. The CLI must never suggest "create one with catchup
generate" there, must refuse to generate beside them, and must leave the catalog as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from stores import open_store
from stores.foreign.detect import Found, about_rows, known_event_tables
from tests.cli_calls import one_error_line, run
from tests.conftest import with_options
from tests.foreign_data import database_checksum

DATABASE = "catchup_test_own"
GENERATE = ["--events", "2k", "--accounts", "20", "--currencies", "USD,EUR", "--seed", "5", "--quiet"]
ROWS = 3

_SYSTEMS_DDL = [
    "CREATE SCHEMA message_store",
    # Message DB's messages table (database/tables/messages.sql of @eventide/message-db).
    "CREATE TABLE message_store.messages (global_position bigserial NOT NULL, stream_name text NOT NULL, "
    "position bigint NOT NULL, type text NOT NULL, time timestamp without time zone DEFAULT "
    "(now() AT TIME ZONE 'utc') NOT NULL, data jsonb, metadata jsonb, id uuid NOT NULL)",
    # Marten's mt_events, as its documented DDL makes it.
    "CREATE TABLE public.mt_events (seq_id bigint NOT NULL PRIMARY KEY, id uuid NOT NULL, stream_id uuid, "
    "version bigint NOT NULL, data jsonb NOT NULL, type varchar(500) NOT NULL, timestamp timestamptz "
    "DEFAULT now() NOT NULL, tenant_id varchar DEFAULT '*DEFAULT*', mt_dotnet_type varchar, "
    "is_archived bool DEFAULT FALSE)",
    # The eventsourcing library's application recorder table for an application 'Bank'.
    "CREATE TABLE public.bank_events (notification_id bigserial, originator_id uuid NOT NULL, "
    "originator_version integer NOT NULL, topic text, state bytea, PRIMARY KEY (originator_id, originator_version))",
]


def _rows() -> list[str]:
    statements = []
    for n in range(1, ROWS + 1):
        stream = uuid.UUID(int=n)
        statements += [
            "INSERT INTO message_store.messages (stream_name, position, type, data, metadata, id) VALUES "
            f"('account-{stream}', 0, 'Deposited', '{{\"amount\": {n}}}', '{{}}', '{uuid.uuid4()}')",
            "INSERT INTO public.mt_events (seq_id, id, stream_id, version, data, type) VALUES "
            f"({n}, '{uuid.uuid4()}', '{stream}', 1, '{{\"Amount\": {n}}}', 'deposited')",
            "INSERT INTO public.bank_events (originator_id, originator_version, topic, state) VALUES "
            f"('{stream}', 1, 'bank:Deposited', convert_to('{{\"amount\": {n}}}', 'UTF8'))",
        ]
    return statements


def _database_url(pg_url: str, name: str) -> str:
    parts = urlsplit(pg_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _execute(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture(scope="module")
def systems_url(pg_url: str) -> Iterator[str]:
    """A database of our own holding the three systems' event tables, ANALYZEd."""
    _execute(pg_url, f"DROP DATABASE IF EXISTS {DATABASE}", f"CREATE DATABASE {DATABASE}")
    url = _database_url(pg_url, DATABASE)
    _execute(url, *_SYSTEMS_DDL, *_rows(), "ANALYZE")
    yield url
    _execute(pg_url, f"DROP DATABASE IF EXISTS {DATABASE}")


def catalog(url: str) -> list[tuple[object, ...]]:
    """Every schema and relation of the database with its comment: what a write would change."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT n.nspname, c.relname, c.relkind, obj_description(c.oid, 'pg_class') "
            "FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid "
            "WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1, 2"
        ).fetchall()


@pytest.fixture
def unchanged(systems_url: str) -> Iterator[None]:
    """The test must leave the database exactly as it found it: its catalog, and every row."""
    before, checksum = catalog(systems_url), database_checksum(systems_url)
    yield
    assert catalog(systems_url) == before
    assert database_checksum(systems_url) == checksum


# -- detection -------------------------------------------------------------------------------


def test_the_three_systems_tables_are_found_with_their_row_estimates(systems_url: str) -> None:
    with psycopg.connect(systems_url) as conn:
        found = known_event_tables(conn)
        only_message_store = known_event_tables(conn, "message_store")
    assert found == [
        Found("messagedb", "message_store", "messages", ROWS),
        Found("marten", "public", "mt_events", ROWS),
        Found("eventsourcing", "public", "bank_events", ROWS),
    ]
    assert only_message_store == found[:1]
    assert found[0].describe() == f"Message DB's message_store.messages (about {ROWS} rows)"


def test_look_alikes_are_not_taken_for_a_system(systems_url: str) -> None:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    _execute(
        systems_url,
        f"CREATE SCHEMA {schema}",
        # named like the systems' tables, but without their columns
        f"CREATE TABLE {schema}.mt_events (id bigint, data jsonb)",
        f"CREATE TABLE {schema}.audit_events (notification_id bigint, topic text)",
        f"CREATE TABLE {schema}.messages (global_position bigint)",  # not in message_store
        f"CREATE TABLE {schema}.xevents (notification_id bigint, originator_id uuid, originator_version int, "
        "topic text, state bytea)",  # not '<name>_events'
    )
    try:
        with psycopg.connect(systems_url) as conn:
            assert known_event_tables(conn, schema) == []
            assert len(known_event_tables(conn)) == 3
    finally:
        _execute(systems_url, f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.parametrize(
    ("rows", "shown"),
    [(None, "row count unknown"), (0, "about 0 rows"), (1, "about 1 row"), (999, "about 999 rows"),
     (1234, "about 1,200 rows"), (199_876, "about 200,000 rows")],
)  # fmt: skip
def test_row_estimates_are_shown_as_estimates(rows: int | None, shown: str) -> None:
    assert about_rows(rows) == shown


# -- the hint: never "create one" where a known system's events are ---------------------------

ALL_THREE = (
    "Message DB's message_store.messages (about 3 rows), Marten's public.mt_events (about 3 rows) and "
    "the eventsourcing library's public.bank_events (about 3 rows): to replay one, write a source file "
    'with preset = "messagedb", "marten" or "eventsourcing" (see docs/sources.md)'
)


@pytest.mark.usefixtures("unchanged")
def test_info_suggests_the_presets_instead_of_generate(systems_url: str) -> None:
    code, out, err = run("info", systems_url)
    assert (code, out) == (1, "")
    assert one_error_line(err) == (
        f"Error: no catchup event store in schema catchup of {systems_url}, but it holds {ALL_THREE}"
    )


@pytest.mark.usefixtures("unchanged")
def test_run_suggests_the_presets_and_writes_no_results(systems_url: str, tmp_path: Path) -> None:
    out_folder = tmp_path / "results"
    code, out, err = run(
        "run", systems_url, "-p", "balances", "--intervals", "1k", "--repeats", "1", "--out", str(out_folder)
    )
    assert (code, out) == (1, "")
    assert one_error_line(err) == (
        f"Error: no catchup event store in schema catchup of {systems_url}, but it holds {ALL_THREE}"
    )
    assert not out_folder.exists() or not any(out_folder.iterdir())


@pytest.mark.usefixtures("unchanged")
def test_the_store_api_gives_the_same_hint(systems_url: str) -> None:
    with open_store(with_options(systems_url, schema="ledger")) as store:
        with pytest.raises(Exception, match="no catchup event store in schema ledger of .*, but it holds Message DB's"):
            store.head()
        assert "create one with" not in str(store.not_found_error())


# -- generate refuses to write beside them ----------------------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_generate_into_message_store_refuses_naming_message_db(systems_url: str) -> None:
    uri = with_options(systems_url, schema="message_store")
    code, out, err = run("generate", uri, *GENERATE)
    assert (code, out) == (1, "")
    assert one_error_line(err) == (
        f"Error: schema message_store of {uri} is not a catchup store: it holds Message DB's "
        'message_store.messages (about 3 rows); to replay it, write a source file with preset = "messagedb" '
        "(see docs/sources.md), or choose a new or empty schema (?schema=NAME) to generate into"
    )


@pytest.mark.usefixtures("unchanged")
def test_generate_overwrite_into_public_refuses_naming_marten_and_eventsourcing(systems_url: str) -> None:
    uri = with_options(systems_url, schema="public")
    code, out, err = run("generate", uri, *GENERATE, "--overwrite")
    assert (code, out) == (1, "")
    assert one_error_line(err) == (
        f"Error: schema public of {uri} is not a catchup store: it holds Marten's public.mt_events (about 3 rows) "
        "and the eventsourcing library's public.bank_events (about 3 rows); to replay one, write a source file "
        'with preset = "marten" or "eventsourcing" (see docs/sources.md), or choose a new or empty schema '
        "(?schema=NAME) to generate into"
    )
    with psycopg.connect(systems_url) as conn:
        assert conn.execute("SELECT count(*) FROM public.mt_events").fetchone() == (ROWS,)


@pytest.fixture
def user_schema(systems_url: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    _execute(systems_url, f"CREATE SCHEMA {schema}")
    yield schema
    _execute(systems_url, f"DROP SCHEMA {schema} CASCADE")


def test_generate_refuses_a_schema_of_the_users_own_tables_views_and_sequences(
    systems_url: str, user_schema: str
) -> None:
    _execute(
        systems_url,
        f"CREATE TABLE {user_schema}.orders (id int)",
        f"CREATE VIEW {user_schema}.big_orders AS SELECT id FROM {user_schema}.orders WHERE id > 10",
        f"CREATE SEQUENCE {user_schema}.invoice_numbers",
    )
    before = catalog(systems_url)
    uri = with_options(systems_url, schema=user_schema)
    code, out, err = run("generate", uri, *GENERATE)
    assert (code, out) == (1, "")
    s = user_schema
    assert one_error_line(err) == (
        f'Error: schema {s} of {uri} is not a catchup store: it holds view "{s}"."big_orders", sequence '
        f'"{s}"."invoice_numbers" and table "{s}"."orders", not created by catchup (their comments do not start '
        "with 'created by catchup'); choose a new or empty schema (?schema=NAME), or move or drop them yourself"
    )
    assert catalog(systems_url) == before


def test_a_users_table_added_to_a_store_blocks_overwrite_and_the_store_stays(
    systems_url: str, user_schema: str
) -> None:
    uri = with_options(systems_url, schema=user_schema)
    assert run("generate", uri, *GENERATE)[0] == 0
    _execute(systems_url, f"CREATE TABLE {user_schema}.notes (note text)")
    code, _, err = run("generate", uri, *GENERATE, "--overwrite")
    assert code == 1
    assert f'it holds table "{user_schema}"."notes", not created by catchup (its comment does not' in err
    with open_store(uri) as store:
        assert store.info().details["events"] == 2000


def test_a_store_after_live_mode_is_still_catchups_own(systems_url: str, user_schema: str) -> None:
    uri = with_options(systems_url, schema=user_schema)
    assert run("generate", uri, *GENERATE)[0] == 0
    with open_store(uri) as store:
        store.begin_live()  # creates the position sequence, marked as catchup's
    with psycopg.connect(systems_url) as conn:
        comment = conn.execute(
            "SELECT obj_description(to_regclass(%s), 'pg_class')", (f"{user_schema}.event_positions",)
        ).fetchone()
    assert comment is not None and str(comment[0]).startswith("created by catchup")
    assert run("generate", uri, *GENERATE, "--overwrite")[0] == 0
    # A sequence of an older catchup, unmarked, is still the store's own.
    _execute(systems_url, f"COMMENT ON SEQUENCE {user_schema}.event_positions IS NULL")
    code, _, err = run("generate", uri, *GENERATE, "--overwrite")
    assert code == 0, err
