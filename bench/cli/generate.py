"""``catchup generate``: a deterministic ledger into a store."""

from __future__ import annotations

from datetime import datetime

import click

from bench.cli.options import QUIET
from bench.cli.types import Count, Rate, UtcTime
from bench.generate import GENERATE_BATCH_SIZE
from generators.params import OperationMix


@click.command()
@click.argument("store")
@click.option(
    "--events",
    type=Count(minimum=None),
    default="1M",
    show_default=True,
    metavar="N",
    help="Events to generate (k/M/G suffixes).",
)
@click.option(
    "--accounts",
    type=Count(minimum=None),
    default="10k",
    show_default=True,
    metavar="N",
    help="Accounts (streams); each opens with account_opened.",
)
@click.option(
    "--currencies", default="4", show_default=True, help="A count (most traded first) or ISO 4217 codes: USD,EUR."
)
@click.option(
    "--skew", type=float, default=1.1, show_default=True, help="Zipf exponent of account activity; 0 is uniform."
)
@click.option(
    "--mix",
    default=str(OperationMix()),
    show_default=True,
    help="Operation weights: deposit, withdrawal, transfer, fx.",
)
@click.option(
    "--seed",
    type=Count(minimum=None),
    default=42,
    show_default=True,
    metavar="SEED",
    help="Random seed; same seed, same events.",
)
@click.option(
    "--start",
    type=UtcTime(),
    default="2026-01-01T00:00:00Z",
    show_default=True,
    help="Business time of the first event (UTC unless a zone is given).",
)
@click.option(
    "--rate",
    type=Rate(),
    default="1000",
    show_default=True,
    help="Events per second of simulated business time (spaces occurred_at); k/M suffixes.",
)
@click.option(
    "--batch-size",
    type=Count(minimum=1),
    default=GENERATE_BATCH_SIZE,
    show_default=True,
    metavar="N",
    help="Events per generated batch (does not change the events).",
)
@click.option("--overwrite", is_flag=True, help="Replace the events of an existing store.")
@QUIET
def generate(
    store: str,
    events: int,
    accounts: int,
    currencies: str,
    skew: float,
    mix: str,
    seed: int,
    start: datetime,
    rate: float,
    batch_size: int,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Generate a deterministic ledger event log into STORE.

    STORE is a folder (or parquet:PATH) or postgresql://user@host/db?layout=typed|jsonb&schema=NAME.

    \b
    Example:
      catchup generate data/ledger --events 10M --accounts 100k --seed 7
      catchup generate 'postgresql://postgres@127.0.0.1/test?layout=jsonb' --events 1M
    """
    from bench.generate import generate_into
    from bench.progress import RateReporter, human_count
    from generators import LedgerParams
    from generators.currencies import parse_currencies
    from stores import open_store

    params = LedgerParams(
        events=events,
        accounts=accounts,
        currencies=parse_currencies(currencies),
        skew=skew,
        mix=OperationMix.parse(mix),
        seed=seed,
        start=start,
        rate=rate,
    )
    with open_store(store) as target:
        reporter = None if quiet else RateReporter("generate", events, lambda line: click.echo(line, err=True))
        result = generate_into(
            target,
            params,
            overwrite=overwrite,
            batch_size=batch_size,
            on_progress=reporter.update if reporter else None,
        )
        uri = target.info().uri
    if reporter:
        reporter.finish()
    click.echo(
        f"generated {result.events:,} events into {uri} in {result.seconds:.2f} s "
        f"({human_count(result.events_per_s)} events/s), {result.size_bytes / 1e6:,.1f} MB, "
        f"fingerprint {result.fingerprint_id}"
    )
