"""Postgres tells the truth and loses nothing: the head is what the table holds; a load drops
only the tables catchup made; a connection lost mid-read is one error line and no driver noise.

Real server, a schema per test (the pg_schema fixture drops it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from generators import dataset_meta
from stores import open_store
from stores.errors import SchemaMismatch, StoreNotEmpty
from stores.pg_ownership import MARKER
from stores.schema import EVENT_SCHEMA
from tests.cli_calls import run
from tests.data import SMALL, events_of, read_all
from tests.live_contract import HEAD0, append_plan

REPO = Path(__file__).resolve().parents[1]
SMALL_ARGS = ["--events", "5k", "--accounts", "100", "--currencies", "USD,EUR", "--seed", "3", "--quiet"]


def sql(pg_url: str, statement: str) -> list[tuple[object, ...]]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


# -- the head is what the table holds --------------------------------------------------------


@pytest.fixture
def dead_live_run(pg_store_uri, pg_schema: str, pg_url: str) -> str:  # type: ignore[no-untyped-def]
    """A store a live run left behind without end_live: 500 events, 50 drawn positions never
    committed (a writer that died holding them), then 100 more events, none in the status row."""
    uri = pg_store_uri("typed")
    with open_store(uri) as store:
        store.load(events_of(SMALL).slice(0, HEAD0).to_batches(max_chunksize=4_000), dataset_meta(SMALL))
        store.begin_live()
        append_plan(store, (200, 300))
        sql(pg_url, f"SELECT nextval('\"{pg_schema}\".event_positions') FROM generate_series(1, 50)")
        append_plan(store, (100,))
    return uri


def test_a_dead_live_runs_commits_are_in_the_head_info_and_reads(dead_live_run: str, pg_url: str) -> None:
    recorded = sql(pg_url, f"SELECT head FROM {open_store(dead_live_run).schema}.catchup_store")  # type: ignore[attr-defined]
    assert recorded == [(HEAD0,)]  # the status row is stale, as a killed live run leaves it
    with open_store(dead_live_run) as store:
        info = store.info()
        assert (info.complete, info.head) == (True, HEAD0 + 650)
        assert (info.details["events"], info.details["holes"]) == (HEAD0 + 600, 50)
        assert store.head() == HEAD0 + 650
        expected = pa.concat_tables([events_of(SMALL).slice(0, HEAD0 + 500), events_of(SMALL).slice(HEAD0 + 550, 100)])
        assert read_all(store).equals(expected.combine_chunks().cast(EVENT_SCHEMA))
        assert read_all(store, after=HEAD0 + 500).num_rows == 100  # a tail read past the hole
    code, out, err = run("info", dead_live_run)
    assert (code, err) == (0, "")
    assert re.search(r"^head +10,650$", out, re.M) and re.search(r"^holes +50$", out, re.M), out


def test_an_append_after_a_dead_live_run_follows_the_committed_events(dead_live_run: str) -> None:
    with open_store(dead_live_run) as store:
        # Positions after the stale recorded head but among the committed ones are refused as such.
        with pytest.raises(SchemaMismatch, match=f"follow the head {HEAD0 + 650}"):
            store.append(events_of(SMALL).slice(HEAD0, 10).to_batches())
        head = store.append(events_of(SMALL).slice(HEAD0 + 650, 50).to_batches())
        assert head == store.head() == HEAD0 + 700
        assert read_all(store, after=HEAD0 + 600).equals(events_of(SMALL).slice(HEAD0 + 600, 100).combine_chunks())


def test_a_run_replays_the_committed_events_not_the_recorded_head(dead_live_run: str, tmp_path: Path) -> None:
    code, out, err = run(
        "run", dead_live_run, "-p", "balances", "--intervals", "0", "--repeats", "1", "--out", str(tmp_path), "--quiet"
    )
    assert code == 0, err
    (folder,) = tmp_path.iterdir()
    run_json = json.loads((folder / "run.json").read_text())
    assert run_json["summary"][0]["head"] == HEAD0 + 650
    assert run_json["store"]["details"]["holes"] == 50


# -- a load touches only what catchup made ---------------------------------------------------


def _user_tables(pg_url: str, schema: str) -> None:
    sql(pg_url, f'CREATE SCHEMA "{schema}"')
    sql(pg_url, f'CREATE TABLE "{schema}".events (id int, note text)')
    sql(pg_url, f"INSERT INTO \"{schema}\".events VALUES (1, 'the user''s own')")
    sql(pg_url, f'CREATE TABLE "{schema}".snapshots (id int)')
    sql(pg_url, f'INSERT INTO "{schema}".snapshots VALUES (7)')


def test_generate_overwrite_refuses_and_keeps_a_users_events_and_snapshots_tables(
    pg_store_uri, pg_schema: str, pg_url: str
) -> None:  # type: ignore[no-untyped-def]
    _user_tables(pg_url, pg_schema)
    code, out, err = run("generate", pg_store_uri("typed"), *SMALL_ARGS, "--overwrite")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and err.startswith(f"Error: schema {pg_schema} of ")
    assert f'it holds table "{pg_schema}"."events" and table "{pg_schema}"."snapshots", not created by catchup' in err
    assert "choose a new or empty schema (?schema=NAME)" in err
    assert sql(pg_url, f'SELECT * FROM "{pg_schema}".events') == [(1, "the user's own")]
    assert sql(pg_url, f'SELECT * FROM "{pg_schema}".snapshots') == [(7,)]
    # Nothing of catchup's was left behind in the user's schema either.
    assert sql(pg_url, f"SELECT to_regclass('\"{pg_schema}\".catchup_store')") == [(None,)]


def test_a_users_snapshots_table_alone_is_refused_too(pg_store_uri, pg_schema: str, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    _user_tables(pg_url, pg_schema)
    sql(pg_url, f'DROP TABLE "{pg_schema}".events')
    with (
        open_store(pg_store_uri("typed")) as store,
        pytest.raises(StoreNotEmpty, match='it holds table ".*"."snapshots", not created by catchup'),
    ):
        store.load(events_of(SMALL).slice(0, 100).to_batches(), dataset_meta(SMALL), overwrite=True)
    assert sql(pg_url, f'SELECT * FROM "{pg_schema}".snapshots') == [(7,)]


def test_catchups_own_tables_are_marked_and_replaced(pg_store_uri, pg_schema: str, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    uri = pg_store_uri("typed")
    assert run("generate", uri, *SMALL_ARGS)[0] == 0
    with open_store(uri) as store:  # a snapshots table made by a save carries the marker too
        store.snapshots().save("balances", 1, pa.table({"x": [1]}))
    comments = dict(
        sql(
            pg_url,
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n "
            f"ON n.oid = c.relnamespace WHERE n.nspname = '{pg_schema}' AND c.relkind = 'r'",
        )
    )
    assert set(comments) == {"events", "snapshots", "catchup_store"}
    assert all(str(comment).startswith(MARKER) for comment in comments.values()), comments
    code, out, err = run("generate", uri, *SMALL_ARGS[:-1], "--seed", "4", "--quiet", "--overwrite")
    assert (code, err) == (0, "")
    with open_store(uri) as store:
        assert store.head() == 5_000 and store.info().fingerprint["params"]["seed"] == 4  # type: ignore[index]
        assert store.snapshots().list("balances") == []


def test_a_store_of_an_older_catchup_without_markers_is_still_replaced(
    pg_store_uri, pg_schema: str, pg_url: str
) -> None:  # type: ignore[no-untyped-def]
    uri = pg_store_uri("typed")
    assert run("generate", uri, *SMALL_ARGS)[0] == 0
    for table in ("events", "catchup_store"):  # as catchup made them before the marker
        sql(pg_url, f'COMMENT ON TABLE "{pg_schema}".{table} IS NULL')
    code, out, err = run("generate", uri, *SMALL_ARGS, "--overwrite")
    assert (code, err) == (0, "")
    assert str(sql(pg_url, f"SELECT obj_description('\"{pg_schema}\".events'::regclass, 'pg_class')")[0][0]).startswith(
        MARKER
    )


# -- a connection lost mid-read: one line, no driver noise -----------------------------------

# Reads in small batches; after the first, the server ends the reading session, as a
# restart does; then the next read meets the dead pooled connection too.
_READ_AND_LOSE = """
import sys, psycopg
from stores import open_store
from stores.errors import CatchupError
uri, admin = sys.argv[1], sys.argv[2]
store = open_store(uri)
try:
    with store:
        batches = store.read(batch_size=100)
        next(batches)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'catchup'")
        for batch in batches:
            pass
except CatchupError as error:
    print(f"Error: {error}", file=sys.stderr)
    sys.exit(1)
"""

# A read left suspended (as a replay is when a snapshot save fails) while the control
# connection is lost: the store closes; the read's generator is collected only at exit.
_ABANDON_AND_LOSE = """
import sys, psycopg
from stores import open_store
from stores.errors import CatchupError
uri, admin = sys.argv[1], sys.argv[2]
store = open_store(uri)
batches = store.read(batch_size=100)
next(batches)
with psycopg.connect(admin, autocommit=True) as conn:
    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'catchup'")
try:
    with store:
        store.snapshots().save("balances", 1, __import__("pyarrow").table({"x": [1]}))
except CatchupError as error:
    print(f"Error: {error}", file=sys.stderr)
    sys.exit(1)
"""


@pytest.mark.parametrize("script", [_READ_AND_LOSE, _ABANDON_AND_LOSE], ids=["mid-read", "abandoned-read"])
def test_a_lost_connection_is_one_error_line_and_no_exception_ignored(pg_store_uri, pg_url: str, script: str) -> None:  # type: ignore[no-untyped-def]
    uri = pg_store_uri("typed")
    with open_store(uri) as store:
        store.load(events_of(SMALL).to_batches(max_chunksize=8_000), dataset_meta(SMALL))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "default"}
    done = subprocess.run(
        [sys.executable, "-c", script, uri, pg_url], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and lines[0].startswith("Error: cannot connect to PostgreSQL at "), done.stderr
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr
