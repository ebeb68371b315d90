"""The messagedb preset's rules: the options it takes, the shape it insists on, the gap rule.

The gap rule is shown on a Message DB of its own (installed from the published SQL), as
the commits it is about need several sessions writing at once.
"""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import psycopg
import pytest

from stores import open_store
from stores.errors import InvalidParameter, SchemaMismatch, StoreNotFound
from stores.foreign import messagedb
from stores.foreign.layout import PgLayout
from stores.foreign.presets import layout_for
from stores.foreign.spec import parse_spec
from tests import messagedb_server
from tests.foreign_data import fresh_database


def layout_of(url: str, tmp_path: Path, **options: object) -> PgLayout:
    return layout_for(parse_spec({"source": {"uri": url, "preset": "messagedb", **options}}, tmp_path / "source.toml"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"category": "account-1"}, "is not a Message DB category"),
        ({"category": "x'; DROP TABLE y; --"}, "is not a Message DB category"),
        ({"schema": "public"}, "always message_store.messages"),
        ({"tenant": "a"}, "takes no option tenant"),
    ],
)
def test_options_it_cannot_take_are_one_line_errors(tmp_path: Path, options: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message) as raised:
        layout_of("postgresql://app@db/prod", tmp_path, **options)
    assert "\n" not in str(raised.value) and "source.toml" in str(raised.value)


def test_the_schema_option_may_name_message_store(tmp_path: Path) -> None:
    layout = layout_of("postgresql://app@db/prod", tmp_path, schema="message_store", category="account:command")
    assert layout.filters == ("message_store.category(stream_name) = 'account:command'",)


def test_category_filter_is_the_index_expression() -> None:
    assert messagedb.category_filter("account") == "message_store.category(stream_name) = 'account'"


def test_the_docstring_example_is_a_source_file_this_preset_reads(tmp_path: Path) -> None:
    doc = messagedb.__doc__ or ""
    example = doc.split("global one; ``data`` is jsonb)::", 1)[1].split("\n\n")[1]
    spec = parse_spec(tomllib.loads(textwrap.dedent(example)), tmp_path / "prod.toml")
    assert spec.preset == "messagedb" and spec.mapped
    assert dict(spec.columns["event_type"].values)["Deposited"] == "deposited"
    assert layout_for(spec).filters == (messagedb.category_filter("account"),)


def test_message_db_orders_commits_per_category_only(pg_url: str) -> None:
    """The gap rule the preset's docstring states, shown on the real write_message: a write
    to another category commits a later position while an earlier one is in flight, and a
    write to the same category cannot even draw a position until the first one ends."""
    url = messagedb_server.install(pg_url, "catchup_test_messagedb_gaps")
    options = "-c search_path=message_store,public"
    write = "SELECT write_message(gen_random_uuid()::varchar, %s, 'Deposited', '{\"amount\": 1}'::jsonb)"
    visible = "SELECT array_agg(global_position ORDER BY global_position) FROM messages"
    try:
        with (
            psycopg.connect(url, options=options) as first,
            psycopg.connect(url, options=options, autocommit=True) as other,
            psycopg.connect(url, options=options) as same,
            psycopg.connect(url, options=options, autocommit=True) as reader,
        ):
            first.execute(write, ("account-1",))
            (held,) = first.execute("SELECT max(global_position) FROM messages").fetchone() or (None,)
            other.execute(write, ("audit-1",))
            (seen,) = reader.execute(visible).fetchone() or (None,)
            assert seen is not None and held is not None and seen[-1] > held and held not in seen
            same.execute("SET lock_timeout = '300ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                same.execute(write, ("account-2",))  # waits on account's lock: no position drawn
            same.rollback()
            first.commit()
            (seen,) = reader.execute(visible).fetchone() or (None,)
            assert seen is not None and held in seen
    finally:
        messagedb_server.drop(pg_url, "catchup_test_messagedb_gaps")


def test_a_look_alike_table_whose_time_is_not_utc_wall_clock_is_refused(pg_url: str, tmp_path: Path) -> None:
    with fresh_database(pg_url, "messagedb_fake") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA message_store")
            conn.execute(
                "CREATE TABLE message_store.messages (global_position bigserial PRIMARY KEY, position bigint,"
                " time timestamptz, stream_name text, type text, data jsonb, metadata jsonb)"
            )
            conn.execute(
                "INSERT INTO message_store.messages (position, time, stream_name, type, data)"
                " VALUES (0, now(), 'account-1', 'Deposited', '{}')"
            )
        path = tmp_path / "fake.toml"
        path.write_text(f'[source]\nuri = "{url}"\npreset = "messagedb"\n')
        with pytest.raises(SchemaMismatch, match="not a timestamp without time zone") as raised:
            with open_store(str(path)) as source:
                source.info()
        assert "\n" not in str(raised.value) and 'preset = "table"' in str(raised.value)


def test_a_database_without_message_db_is_store_not_found_naming_the_table(pg_url: str, tmp_path: Path) -> None:
    with fresh_database(pg_url, "messagedb_none") as url:
        path = tmp_path / "none.toml"
        path.write_text(f'[source]\nuri = "{url}"\npreset = "messagedb"\ncategory = "account"\n')
        with pytest.raises(StoreNotFound, match="no table message_store.messages") as raised:
            with open_store(str(path)) as source:
                source.info()
        assert "messagedb" in str(raised.value)
