"""The ledger invariants (docs/generating.md), checked on a table of events with polars.

Each check returns a list of problems (empty when the invariant holds), so a failing test
says which rule broke and where.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

TWO_LEG = {"transfer": ("transfer_debited", "transfer_credited"), "fx": ("fx_debited", "fx_credited")}
SIGN = {
    "account_opened": 0, "deposited": 1, "withdrawn": -1, "transfer_debited": -1,
    "transfer_credited": 1, "fx_debited": -1, "fx_credited": 1,
}  # fmt: skip


def frame(table: pa.Table) -> pl.DataFrame:
    return pl.from_arrow(table).with_columns(pl.col("event_type").cast(pl.String), pl.col("currency").cast(pl.String))


def stream_problems(df: pl.DataFrame) -> list[str]:
    problems = []
    per_stream = (
        df.sort("position")
        .group_by("stream_id")
        .agg(
            pl.col("event_type").first().alias("first_type"),
            (pl.col("event_type") == "account_opened").sum().alias("openings"),
            pl.col("stream_version").alias("versions"),
            pl.len().alias("n"),
        )
    )
    bad_first = per_stream.filter(pl.col("first_type") != "account_opened")
    if bad_first.height:
        problems.append(f"{bad_first.height} streams do not start with account_opened")
    if per_stream.filter(pl.col("openings") != 1).height:
        problems.append("a stream is opened more than once")
    contiguous = per_stream.with_columns((pl.col("versions") == pl.int_ranges(1, pl.col("n") + 1)).alias("ok"))
    if not contiguous["ok"].all():
        problems.append("stream_version is not 1..n in position order on some stream")
    return problems


def two_leg_problems(df: pl.DataFrame) -> list[str]:
    problems = []
    for name, (debit, credit) in TWO_LEG.items():
        legs = df.filter(pl.col("event_type").is_in([debit, credit])).sort("position")
        pairs = legs.group_by("correlation_id").agg(
            pl.len().alias("n"),
            pl.col("event_type").first().alias("first"),
            pl.col("event_type").last().alias("last"),
            pl.col("amount").first().alias("a1"),
            pl.col("amount").last().alias("a2"),
            pl.col("currency").first().alias("c1"),
            pl.col("currency").last().alias("c2"),
            pl.col("stream_id").first().alias("s1"),
            pl.col("stream_id").last().alias("s2"),
            pl.col("counterparty").first().alias("cp1"),
            pl.col("counterparty").last().alias("cp2"),
            (pl.col("position").last() - pl.col("position").first()).alias("gap"),
        )
        if legs["correlation_id"].null_count():
            problems.append(f"{name} leg without correlation_id")
        if pairs.filter((pl.col("n") != 2) | (pl.col("first") != debit) | (pl.col("last") != credit)).height:
            problems.append(f"{name}: not exactly a debit followed by a credit per correlation_id")
        if pairs.filter(pl.col("gap") != 1).height:
            problems.append(f"{name}: legs are not on consecutive positions")
        if name == "transfer":
            if pairs.filter((pl.col("a1") != pl.col("a2")) | (pl.col("c1") != pl.col("c2"))).height:
                problems.append("transfer legs differ in amount or currency")
            if pairs.filter(pl.col("s1") == pl.col("s2")).height:
                problems.append("transfer legs on the same stream")
            if pairs.filter((pl.col("cp1") != pl.col("s2")) | (pl.col("cp2") != pl.col("s1"))).height:
                problems.append("transfer counterparty does not name the other leg's stream")
        else:
            if pairs.filter(pl.col("s1") != pl.col("s2")).height:
                problems.append("fx legs on different streams")
            if pairs.filter(pl.col("c1") == pl.col("c2")).height:
                problems.append("fx legs in the same currency")
    singles = df.filter(
        ~pl.col("event_type").is_in(["transfer_debited", "transfer_credited", "fx_debited", "fx_credited"])
    )
    if (
        singles["correlation_id"].null_count() != singles.height
        or singles["counterparty"].null_count() != singles.height
    ):
        problems.append("single-event operations carry a correlation_id or counterparty")
    return problems


def money_problems(df: pl.DataFrame) -> list[str]:
    """Per currency, the sum of all balances equals the money that came in from outside:
    deposits - withdrawals + fx credits - fx debits (transfers only move money around)."""
    problems = []
    signed = df.with_columns(
        (pl.col("amount") * pl.col("event_type").replace_strict(SIGN, return_dtype=pl.Int64)).alias("signed")
    )
    balances = signed.group_by("stream_id", "currency").agg(pl.col("signed").sum().alias("balance"))
    total = balances.group_by("currency").agg(pl.col("balance").sum()).sort("currency")
    external = (
        signed.filter(~pl.col("event_type").str.starts_with("transfer"))
        .group_by("currency")
        .agg(pl.col("signed").sum().alias("balance"))
        .sort("currency")
    )
    if not total.equals(external):
        problems.append(f"balances {total.to_dicts()} != external flows {external.to_dicts()}")
    opened = df.filter(pl.col("event_type") == "account_opened")
    if opened.filter(pl.col("amount") != 0).height:
        problems.append("account_opened carries an amount")
    if df.filter((pl.col("event_type") != "account_opened") & (pl.col("amount") <= 0)).height:
        problems.append("a money movement with an amount <= 0")
    return problems


def log_problems(df: pl.DataFrame) -> list[str]:
    problems = []
    if not df["position"].equals(pl.Series("position", range(1, df.height + 1)), check_dtypes=False):
        problems.append("positions are not dense 1..N")
    if not df["occurred_at"].is_sorted():
        problems.append("occurred_at decreases somewhere")
    return problems


def all_problems(table: pa.Table) -> list[str]:
    df = frame(table)
    return stream_problems(df) + two_leg_problems(df) + money_problems(df) + log_problems(df)
