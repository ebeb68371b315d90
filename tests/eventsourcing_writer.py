"""Ledger events written the way users of the Python ``eventsourcing`` library write them.

A ``Bank`` application saves ``Account`` aggregates whose ``@event`` methods record the
ledger's operations; the library's own Postgres recorder (``PERSISTENCE_MODULE =
eventsourcing.postgres``) writes them into ``<application name lowercased>_events``,
transcoding each event's attributes to JSON bytes in ``state``. That is what the
``eventsourcing`` preset reads, so the tests see the library's real bytes, not ours:

* the aggregate id is ``uuid.UUID(int=stream_id)``: reversible, so the preset's docs map
  it back with ``('x' || right(replace(originator_id::text, '-', ''), 15))::bit(60)::bigint``;
* amounts are ``Decimal`` major units (minor units / 100), so ``state`` holds
  ``{"_type_":"decimal_str","_data_":"12.34"}``; the counterparty and the transfer or
  exchange id are UUIDs (``uuid_hex``), the event time a ``datetime_iso``: the wrappers
  the preset must unwrap;
* attribute names are snake_case, as Python users write them; types are the event classes'
  names, PascalCase (``Opened``, ``Deposited``, ...), inside the topic
  ``tests.eventsourcing_writer:Account.Deposited``.

Holes: every few saves, a save that fails on a version conflict (a second ``Account`` with
an existing account's id, after a few events of a fresh account): the library's insert
draws ``notification_id`` values for the rows before the conflicting one, then the
transaction rolls back, so the global order skips them, as it does in production.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import psycopg
import pyarrow as pa
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from generators import LedgerParams, generate

DBNAME = "catchup_test_eventsourcing"
ZLIB = "eventsourcing.compressor:ZlibCompressor"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ids of the accounts that only ever appear in rolled-back saves: far above any ledger account.
_PHANTOM_BASE = 10**12


class Account(Aggregate):
    """A bank account; each method records one ledger event type."""

    @staticmethod
    def create_id(number: int, currency: str, timestamp: datetime) -> UUID:
        # The account number is the ledger's stream_id; the id carries it reversibly.
        return UUID(int=number)

    @event("Opened")
    def __init__(self, number: int, currency: str, timestamp: datetime) -> None:
        self.number = number

    @event("Deposited")
    def deposit(self, amount: Decimal, currency: str, timestamp: datetime) -> None:
        pass

    @event("Withdrawn")
    def withdraw(self, amount: Decimal, currency: str, timestamp: datetime) -> None:
        pass

    @event("TransferDebited")
    def debit_transfer(
        self, amount: Decimal, currency: str, counterparty: UUID, transfer_id: UUID, timestamp: datetime
    ) -> None:
        pass

    @event("TransferCredited")
    def credit_transfer(
        self, amount: Decimal, currency: str, counterparty: UUID, transfer_id: UUID, timestamp: datetime
    ) -> None:
        pass

    @event("FxDebited")
    def debit_fx(self, amount: Decimal, currency: str, exchange_id: UUID, timestamp: datetime) -> None:
        pass

    @event("FxCredited")
    def credit_fx(self, amount: Decimal, currency: str, exchange_id: UUID, timestamp: datetime) -> None:
        pass


class Bank(Application[UUID]):
    """The application: its name, lowercased, names the table (``bank_events``)."""


@dataclass(frozen=True)
class Written:
    events: int  # rows committed
    highest: int  # max(notification_id)
    failed_saves: int  # saves rolled back, each leaving a hole


def library_env(url: str, dbname: str = DBNAME, **more: str) -> dict[str, str]:
    """The library's environment for a libpq URL's server and ``dbname``."""
    parts = urlsplit(url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
    }
    env.update(more)
    return env


def database_url(url: str, dbname: str = DBNAME) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{dbname}", query="").geturl()


def recreate_database(url: str, dbname: str = DBNAME) -> str:
    """Drop and create our own database; returns its URL."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    return database_url(url, dbname)


def _minor(amount: int) -> Decimal:
    return Decimal(amount) / 100


def _time(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _record(accounts: dict[int, Account], row: dict[str, Any]) -> Account:
    """Apply one ledger event to its account through the aggregate's own method."""
    number, kind, currency = row["stream_id"], row["event_type"], row["currency"]
    when, amount = _time(row["occurred_at"]), _minor(row["amount"])
    if kind == "account_opened":
        account = accounts[number] = Account(number, currency, when)
        return account
    account = accounts[number]
    if kind == "deposited":
        account.deposit(amount, currency, when)
    elif kind == "withdrawn":
        account.withdraw(amount, currency, when)
    elif kind in ("transfer_debited", "transfer_credited"):
        transfer = account.debit_transfer if kind == "transfer_debited" else account.credit_transfer
        transfer(amount, currency, UUID(int=row["counterparty"]), UUID(int=row["correlation_id"]), when)
    elif kind in ("fx_debited", "fx_credited"):
        exchange = account.debit_fx if kind == "fx_debited" else account.credit_fx
        exchange(amount, currency, UUID(int=row["correlation_id"]), when)
    else:
        raise ValueError(f"unknown ledger event type {kind!r}")
    return account


def _rows(batches: Iterable[pa.RecordBatch]) -> Iterable[dict[str, Any]]:
    for batch in batches:
        columns = {
            "stream_id": batch.column("stream_id").to_pylist(),
            "event_type": batch.column("event_type").cast(pa.string()).to_pylist(),
            "occurred_at": batch.column("occurred_at").cast(pa.int64()).to_pylist(),
            "amount": batch.column("amount").to_pylist(),
            "currency": batch.column("currency").cast(pa.string()).to_pylist(),
            "counterparty": batch.column("counterparty").to_pylist(),
            "correlation_id": batch.column("correlation_id").to_pylist(),
        }
        for i in range(batch.num_rows):
            yield {name: values[i] for name, values in columns.items()}


def _fail_a_save(app: Bank, phantom: int, existing: int, when: datetime) -> None:
    """A save the library rejects on a version conflict, after drawing a few notification ids."""
    fresh = Account(phantom, "USD", when)
    for _ in range(phantom % 5 + 1):
        fresh.deposit(Decimal(1), "USD", when)
    duplicate = Account(existing, "USD", when)  # version 1 of an account that exists
    try:
        app.save(fresh, duplicate)
    except IntegrityError:
        return
    raise AssertionError("the conflicting save was accepted")


def write_ledger(
    url: str,
    params: LedgerParams,
    *,
    dbname: str = DBNAME,
    env: dict[str, str] | None = None,
    save_every: int = 2_000,
    fail_every: int = 3,
) -> Written:
    """Write the generated ledger through a ``Bank``; the database must exist.

    ``env`` adds library settings (POSTGRES_SCHEMA, COMPRESSOR_TOPIC, ...). Events are
    saved ``save_every`` at a time (one transaction each); every ``fail_every``-th save is
    followed by one that fails and leaves a hole.
    """
    app = Bank(env=library_env(url, dbname, **(env or {})))
    accounts: dict[int, Account] = {}
    dirty: dict[int, Account] = {}
    saves = failed = pending = 0
    last = _EPOCH
    try:
        for row in _rows(generate(params, batch_size=8_192)):
            account = _record(accounts, row)
            dirty[row["stream_id"]] = account
            last = _time(row["occurred_at"])
            pending += 1
            if pending >= save_every:
                app.save(*dirty.values())
                dirty.clear()
                pending = 0
                saves += 1
                if saves % fail_every == 0:
                    _fail_a_save(app, _PHANTOM_BASE + saves, min(accounts), last)
                    failed += 1
        if dirty:
            app.save(*dirty.values())
    finally:
        app.close()
    schema = (env or {}).get("POSTGRES_SCHEMA") or "public"
    with psycopg.connect(database_url(url, dbname)) as conn:
        count, highest = conn.execute(f'SELECT count(*), max(notification_id) FROM "{schema}".bank_events').fetchone()  # type: ignore[misc]
    return Written(events=count, highest=highest, failed_saves=failed)


def unzip(state: bytes) -> bytes:
    """A decode hook (``decode = "tests.eventsourcing_writer:unzip"``): the library's own ZlibCompressor."""
    from eventsourcing.compressor import ZlibCompressor

    return ZlibCompressor().decompress(state)
