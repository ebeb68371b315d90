"""The marten preset's SQL over Marten's own tables (tests/marten_schema.sql), written the
way a Marten application appends (tests/marten_writer.py): holes, tenants, archived
streams, the daemon's high-water mark, and the payloads catchup refuses."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from stores.errors import InvalidParameter
from stores.foreign import marten
from tests.data import SMALL, events_of
from tests.marten_db import envelope_rows, fresh_database, marten_layout, scalar
from tests.marten_writer import (
    DEFAULT_TENANT,
    HIGH_WATER_MARK,
    OTHER_TENANT,
    MartenWriter,
    Written,
    create_schema,
    set_high_water_mark,
    write_ledger,
)


@pytest.fixture(scope="module")
def marten_db(pg_url: str) -> Iterator[tuple[str, Written]]:
    """catchup_test_marten with SMALL's 30,000 events in schema public, PascalCase payloads."""
    with fresh_database(pg_url) as url:
        with psycopg.connect(url) as conn:
            create_schema(conn)
            written = write_ledger(conn, events_of(SMALL))
        yield url, written


def small_schema(url: str, schema: str, events: int = 300) -> Written:
    """Another schema of the test database holding a short ledger, for one test to alter."""
    with psycopg.connect(url) as conn:
        create_schema(conn, schema)
        return write_ledger(conn, events_of(SMALL).slice(0, events), schema=schema, casing="camel", seed=3)


def test_the_envelope_reads_every_ledger_event_in_order_across_the_holes(marten_db: tuple[str, Written]) -> None:
    url, written = marten_db
    rows = envelope_rows(url, marten_layout(url, tenant=DEFAULT_TENANT))
    events = events_of(SMALL)
    assert [row[0] for row in rows] == written.ledger_seq_ids
    # Real holes: rolled-back sessions and the other tenant's and archived events between.
    assert written.holes > 0 and written.highest_seq_id - len(rows) >= written.holes
    assert [row[3] for row in rows] == events.column("event_type").to_pylist()
    payloads = [json.loads(row[5]) for row in rows]
    amounts = [payload.get("Amount", 0) for payload in payloads]
    assert amounts == events.column("amount").to_pylist()
    assert [payload["Currency"] for payload in payloads] == events.column("currency").to_pylist()
    # Every stream's versions run 1, 2, 3, ... in global order, the stream its uuid's text.
    versions: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        versions[row[1]].append(row[2])
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    assert all(row[1] == json.loads(row[5])["AccountId"] for row in rows)
    assert len(versions) == len(set(events.column("stream_id").to_pylist()))
    assert [row[4] for row in rows] == events.column("occurred_at").to_pylist()


def test_metadata_is_the_headers_json_where_there_are_headers(marten_db: tuple[str, Written]) -> None:
    url, _ = marten_db
    rows = envelope_rows(url, marten_layout(url, tenant=DEFAULT_TENANT))
    with_headers = [row for row in rows if row[6] is not None]
    assert 0 < len(with_headers) < len(rows)
    assert all(json.loads(row[6])["user-name"].startswith("teller-") for row in with_headers)


def test_tenants_and_archived_events_are_filtered_as_the_options_say(marten_db: tuple[str, Written]) -> None:
    url, written = marten_db
    ledger = len(written.ledger_seq_ids)
    assert written.other_tenant > 0 and written.archived > 0

    def count(**options: Any) -> int:
        return len(envelope_rows(url, marten_layout(url, **options)))

    assert count() == ledger + written.other_tenant  # every tenant, archived left out
    assert count(include_archived=True) == ledger + written.other_tenant + written.archived
    assert count(tenant=DEFAULT_TENANT) == ledger
    assert count(tenant=DEFAULT_TENANT, include_archived=True) == ledger + written.archived
    assert count(tenant=OTHER_TENANT) == written.other_tenant
    assert count(tenant="nobody") == 0
    # The source file's own where narrows further.
    deposits = len(envelope_rows(url, marten_layout(url, tenant=DEFAULT_TENANT), where="type = 'deposited'"))
    assert deposits == events_of(SMALL).column("event_type").to_pylist().count("deposited")


def test_the_high_water_mark_is_the_daemons_row_or_null(marten_db: tuple[str, Written]) -> None:
    url, written = marten_db
    layout = marten_layout(url)
    assert layout.high_water_mark is not None
    assert scalar(url, layout.high_water_mark) is None  # the table is there, no daemon has run
    mark = written.ledger_seq_ids[len(written.ledger_seq_ids) * 2 // 3]
    with psycopg.connect(url) as conn:
        set_high_water_mark(conn, mark)
        set_high_water_mark(conn, mark - 500, name=f"{HIGH_WATER_MARK}:{OTHER_TENANT}")
        set_high_water_mark(conn, 1, name="Balances:All")  # a projection's own progress: not the mark
    try:
        assert scalar(url, layout.high_water_mark) == mark
        # A tenant's own row wins (per-tenant partitioning); without one, the store's.
        assert scalar(url, marten_layout(url, tenant=OTHER_TENANT).high_water_mark or "") == mark - 500
        assert scalar(url, marten_layout(url, tenant=DEFAULT_TENANT).high_water_mark or "") == mark
        # Events committed past the mark are there, and a read up to it leaves them.
        upto = envelope_rows(url, marten_layout(url, tenant=DEFAULT_TENANT), upto=mark)
        assert [row[0] for row in upto] == [s for s in written.ledger_seq_ids if s <= mark]
        assert len(upto) < len(written.ledger_seq_ids)
    finally:
        with psycopg.connect(url) as conn:
            conn.execute("DELETE FROM mt_event_progression")
            conn.commit()


def test_no_progression_table_means_no_mark(marten_db: tuple[str, Written]) -> None:
    url, _ = marten_db
    written = small_schema(url, "nodaemon")
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE nodaemon.mt_event_progression")
        conn.commit()
    layout = marten_layout(url, schema="NoDaemon")  # Marten lower-cases Events.DatabaseSchemaName
    assert layout.table == "nodaemon.mt_events"
    assert scalar(url, layout.high_water_mark or "") is None
    assert [row[0] for row in envelope_rows(url, marten_layout(url, schema="nodaemon", tenant=DEFAULT_TENANT))] == (
        written.ledger_seq_ids
    )
    # camelCase payloads (Casing.CamelCase) read the same way, with their own names.
    assert "accountId" in json.loads(envelope_rows(url, layout)[0][5])


def refused(url: str, layout: Any) -> list[str]:
    return [refusal.message for refusal in layout.refusals if scalar(url, refusal.sql)]


def test_binary_payloads_are_refused_unless_left_out(marten_db: tuple[str, Written]) -> None:
    url, _ = marten_db
    small_schema(url, "bin_payloads")
    assert refused(url, marten_layout(url, schema="bin_payloads")) == []
    with psycopg.connect(url) as conn:
        # An event type opted into binary serialisation: '{}' in data, the payload in bdata.
        event = {"stream": uuid.uuid4(), "alias": "statement_attached", "data": "{}", "at": datetime.now(UTC)}
        [seq_id] = MartenWriter(conn, "bin_payloads").append([event])
        conn.execute("UPDATE bin_payloads.mt_events SET bdata = '\\x0102'::bytea WHERE seq_id = %s", (seq_id,))
        conn.commit()
    messages = refused(url, marten_layout(url, schema="bin_payloads"))
    assert len(messages) == 1 and "bdata" in messages[0] and "where" in messages[0]
    assert refused(url, marten_layout(url, schema="bin_payloads", where="bdata IS NULL")) == []
    assert refused(url, marten_layout(url, schema="bin_payloads", tenant=OTHER_TENANT)) == []  # not among those read


def test_a_marten_8_table_without_bdata_or_headers_reads_and_is_not_refused(marten_db: tuple[str, Written]) -> None:
    url, _ = marten_db
    written = small_schema(url, "marten8")
    with psycopg.connect(url) as conn:
        conn.execute("ALTER TABLE marten8.mt_events DROP COLUMN bdata, DROP COLUMN headers")
        conn.commit()
    layout = marten_layout(url, schema="marten8", tenant=DEFAULT_TENANT)
    assert refused(url, layout) == []
    rows = envelope_rows(url, layout)
    assert [row[0] for row in rows] == written.ledger_seq_ids
    assert all(row[6] is None for row in rows)


def test_binary_data_and_per_tenant_sequences_are_refused(marten_db: tuple[str, Written]) -> None:
    url, _ = marten_db
    small_schema(url, "memorypack", events=20)
    with psycopg.connect(url) as conn:
        conn.execute(
            "ALTER TABLE memorypack.mt_events ALTER COLUMN data TYPE bytea USING convert_to(data::text, 'UTF8')"
        )
        # UseTenantPartitionedEvents: mt_events partitioned by tenant_id (the columns that matter).
        conn.execute("CREATE SCHEMA partitioned")
        conn.execute(
            "CREATE TABLE partitioned.mt_events (seq_id bigint, stream_id uuid, version bigint, data jsonb,"
            ' type varchar, "timestamp" timestamptz, tenant_id varchar, is_archived bool)'
            " PARTITION BY LIST (tenant_id)"
        )
        conn.commit()
    [message] = refused(url, marten_layout(url, schema="memorypack"))
    assert "not jsonb" in message
    [message] = refused(url, marten_layout(url, schema="partitioned"))
    assert "per tenant" in message and "source.tenant" in message
    assert refused(url, marten_layout(url, schema="partitioned", tenant="t1")) == []
    assert refused(url, marten_layout(url)) == []  # public: nothing to refuse


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"schema": "public; drop table mt_events"}, "is not a schema name"),
        ({"schema": "1abc"}, "is not a schema name"),
        ({"tenant": "a\nb"}, "is not a tenant id"),
    ],
)
def test_bad_options_are_one_line_errors(options: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidParameter, match=words) as error:
        marten_layout("postgresql://x@h/db", **options)
    assert "\n" not in str(error.value)


def test_tenant_values_are_quoted_not_spliced(marten_db: tuple[str, Written]) -> None:
    url, _ = marten_db
    tenant = "o'brien \\ co"
    layout = marten_layout(url, tenant=tenant)
    assert scalar(url, f"SELECT {marten.literal(tenant)}") == tenant
    assert envelope_rows(url, layout) == []
    assert scalar(url, layout.high_water_mark or "") is None


def test_string_stream_ids_read_as_their_text(marten_db: tuple[str, Written]) -> None:
    """StreamIdentity.AsString: stream_id is varchar ('account-17'), the envelope's stream as is."""
    url, _ = marten_db
    written = small_schema(url, "keyed", events=50)
    with psycopg.connect(url) as conn:
        conn.execute("ALTER TABLE keyed.mt_events DROP CONSTRAINT fkey_mt_events_stream_id_tenant_id")
        for table in ("mt_events", "mt_streams"):  # the extras' uuids map to the ledger's account numbers
            conn.execute(f"DELETE FROM keyed.{table} WHERE tenant_id <> '*DEFAULT*' OR is_archived")
        for table, column in (("mt_events", "stream_id"), ("mt_streams", "id")):
            conn.execute(
                f"ALTER TABLE keyed.{table} ALTER COLUMN {column} TYPE varchar"
                f" USING 'account-' || (('x' || right(replace({column}::text, '-', ''), 15))::bit(60)::bigint)"
            )
        conn.commit()
    rows = envelope_rows(url, marten_layout(url, schema="keyed", tenant=DEFAULT_TENANT))
    assert [row[0] for row in rows] == written.ledger_seq_ids
    assert [row[1] for row in rows] == [f"account-{n}" for n in events_of(SMALL).column("stream_id")[:50].to_pylist()]
