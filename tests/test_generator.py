from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from generators import LedgerParams, OperationMix, dataset_meta, fingerprint, generate
from generators.currencies import parse_currencies
from generators.ledger import BLOCK_EVENTS
from stores.errors import InvalidParameter
from stores.schema import EVENT_SCHEMA
from tests.ledger_checks import all_problems, frame

MULTI_BLOCK = LedgerParams(events=3 * BLOCK_EVENTS + 1_234, accounts=2_000, seed=11)


def table(params: LedgerParams, **kwargs: int) -> pa.Table:
    return pa.Table.from_batches(list(generate(params, **kwargs)), schema=EVENT_SCHEMA)


@pytest.fixture(scope="module")
def reference() -> pa.Table:
    return table(MULTI_BLOCK)


def test_same_seed_gives_identical_events(reference: pa.Table) -> None:
    assert table(MULTI_BLOCK).equals(reference)


@pytest.mark.parametrize(("batch_size", "chunk_blocks"), [(1, 16), (999, 1), (65_536, 2), (10**6, 3), (4_096, 100)])
def test_batch_and_chunk_sizes_do_not_change_the_events(
    reference: pa.Table, batch_size: int, chunk_blocks: int
) -> None:
    if batch_size == 1:  # one event per batch: check a prefix, the whole log would take long
        batches = generate(MULTI_BLOCK, batch_size=1, chunk_blocks=chunk_blocks)
        prefix = pa.Table.from_batches([next(batches) for _ in range(3_000)])
        assert prefix.equals(reference.slice(0, 3_000))
        return
    assert table(MULTI_BLOCK, batch_size=batch_size, chunk_blocks=chunk_blocks).equals(reference)


def test_another_seed_gives_other_events(reference: pa.Table) -> None:
    other = table(LedgerParams(events=MULTI_BLOCK.events, accounts=2_000, seed=12))
    assert not other.equals(reference)
    assert other.column("position").equals(reference.column("position"))


def test_batches_have_the_schema_and_the_size_asked_for() -> None:
    batches = list(generate(LedgerParams(events=10_000, accounts=50), batch_size=3_000))
    assert [b.num_rows for b in batches] == [3_000, 3_000, 3_000, 1_000]
    assert all(b.schema.equals(EVENT_SCHEMA) for b in batches)


def test_ledger_invariants_hold(reference: pa.Table) -> None:
    assert all_problems(reference) == []
    assert frame(reference)["stream_id"].n_unique() == MULTI_BLOCK.accounts


@pytest.mark.parametrize(
    "params",
    [
        LedgerParams(events=5_000, accounts=5_000, seed=1),  # every event an opening
        LedgerParams(events=20_000, accounts=1, currencies=("USD",), seed=2),  # no transfer partner, no fx
        LedgerParams(events=20_000, accounts=300, skew=0.0, seed=3),
        LedgerParams(events=20_000, accounts=300, skew=1.0, seed=4),
        LedgerParams(
            events=20_000, accounts=300, currencies=parse_currencies("12"), mix=OperationMix.parse("fx=1"), seed=5
        ),
    ],
    ids=["all-openings", "one-account", "uniform", "skew-1", "fx-only"],
)
def test_ledger_invariants_hold_at_the_edges(params: LedgerParams) -> None:
    assert all_problems(table(params)) == []


def test_operation_mix_is_followed() -> None:
    params = LedgerParams(events=200_000, accounts=100, mix=OperationMix.parse("deposit=1,withdrawal=1,transfer=2"))
    types = frame(table(params))["event_type"].value_counts().to_dicts()
    counts = {row["event_type"]: row["count"] for row in types}
    operations = counts["deposited"] + counts["withdrawn"] + counts["transfer_debited"]
    assert counts.get("fx_debited", 0) == 0
    assert counts["transfer_debited"] / operations == pytest.approx(0.5, abs=0.01)
    assert counts["deposited"] / counts["withdrawn"] == pytest.approx(1.0, abs=0.03)


def test_skew_concentrates_activity_on_few_accounts() -> None:
    def busiest_share(skew: float) -> float:
        df = frame(table(LedgerParams(events=100_000, accounts=1_000, skew=skew, seed=9)))
        counts = df["stream_id"].value_counts()["count"]
        return counts.max() / df.height

    assert busiest_share(0.0) < 0.01 < 0.05 < busiest_share(1.5)


def test_occurred_at_follows_start_and_rate() -> None:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    df = frame(table(LedgerParams(events=10_000, accounts=10, start=start, rate=100.0)))
    first, last = df["occurred_at"][0], df["occurred_at"][-1]
    assert start <= first < datetime(2025, 6, 1, 0, 0, 0, 10_000, tzinfo=UTC)
    assert (last - start).total_seconds() == pytest.approx(100.0, abs=0.011)


def test_fingerprint_names_generator_version_and_every_parameter() -> None:
    fp = fingerprint(MULTI_BLOCK)
    assert fp["generator"] == "catchup.generators.ledger" and fp["version"] == "1"
    assert fp["params"]["events"] == MULTI_BLOCK.events and fp["params"]["seed"] == 11
    assert fingerprint(LedgerParams(events=MULTI_BLOCK.events, accounts=2_000, seed=11))["id"] == fp["id"]
    assert fingerprint(LedgerParams(events=MULTI_BLOCK.events, accounts=2_001, seed=11))["id"] != fp["id"]
    assert dataset_meta(MULTI_BLOCK).currencies == MULTI_BLOCK.currencies


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"events": 0}, "events 0: must be a whole number of at least 1"),
        ({"events": -5}, "events -5: must be a whole number of at least 1"),
        ({"events": 10, "accounts": 11}, "accounts 11 exceeds events 10"),
        ({"skew": -1.0}, "skew -1.0: use a Zipf exponent from 0"),
        ({"rate": 0.0}, "rate 0 is out of range: for 1,000,000 events"),
        ({"start": datetime(2026, 1, 1)}, "start 2026-01-01T00:00:00: give a time zone"),
    ],
)
def test_bad_parameters_are_refused_with_the_rule(kwargs: dict, message: str) -> None:
    # The library names the parameters as Python spells them; the CLI spells them as flags.
    with pytest.raises(InvalidParameter) as caught:
        LedgerParams(**kwargs)
    assert str(caught.value).startswith(message)
    spelled = caught.value.spelled(lambda name: f"--{name}")
    assert spelled.startswith("--" + message.replace(" events 10", " --events 10"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("USD,XXX", "unknown ISO 4217 code XXX"),
        ("0", "use a count from 1 to 127"),
        ("USD,USD", "names a code twice"),
        ("", "use a count from 1 to 127 or ISO 4217 codes"),
    ],
)
def test_bad_currencies_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        parse_currencies(text)


def test_currency_codes_and_counts() -> None:
    assert parse_currencies("3") == ("USD", "EUR", "JPY")
    assert parse_currencies("chf, usd") == ("CHF", "USD")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deposit=1,loan=2", "use NAME=WEIGHT with NAME one of"),
        ("deposit=x", "is not a number"),
        ("deposit=0", "add up to 0"),
        ("deposit=-1,fx=2", "must be >= 0"),
    ],
)
def test_bad_mix_is_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        OperationMix.parse(text)
