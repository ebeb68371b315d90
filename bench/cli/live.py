"""``catchup live``: catch-up while writers keep appending."""

from __future__ import annotations

from pathlib import Path

import click

from bench.cli.exits import Exit
from bench.cli.options import PROJECTION, QUIET, RESULTS_DIR, progress
from bench.cli.types import Count, Rate
from bench.live.config import (
    DEFAULT_MAX_DURATION_S,
    DEFAULT_OBSERVE_S,
    DEFAULT_WRITERS,
    LIVE_BATCH_SIZE,
    START_FROM,
)
from stores.base import READ_BATCH_SIZE


@click.command()
@click.argument("store")
@PROJECTION
@click.option(
    "--interval",
    type=Count(minimum=None),
    required=True,
    metavar="K",
    help="Snapshot every K events while tailing.",
)
@click.option(
    "--rate",
    type=Rate(),
    help="Events per second all writers append together; k/M suffixes. Required, but for a source file: "
    "its own application writes it.",
)
@click.option(
    "--writers",
    type=Count(minimum=None),
    metavar="N",
    help=f"Writer processes (default {DEFAULT_WRITERS}).",
)
@click.option(
    "--start-from",
    type=click.Choice(START_FROM),
    default=START_FROM[0],
    show_default=True,
    help="Catch up from the last snapshot a K-interval projection would have left, or from event 0.",
)
@click.option(
    "--max-duration",
    type=float,
    default=DEFAULT_MAX_DURATION_S,
    show_default=True,
    metavar="SECONDS",
    help="Seconds before giving up on catching up (a result: the lag's growth rate is reported).",
)
@click.option(
    "--observe",
    type=float,
    default=DEFAULT_OBSERVE_S,
    show_default=True,
    metavar="SECONDS",
    help="Seconds to keep tailing after catching up.",
)
@click.option("--label", help="Names the run folder (default: live-<projection>).")
@RESULTS_DIR
@click.option(
    "--batch-size",
    type=Count(minimum=None),
    default=LIVE_BATCH_SIZE,
    show_default=True,
    metavar="N",
    help="Events per read while tailing; caught up means a lag within one batch.",
)
@click.option(
    "--catchup-batch-size",
    type=Count(minimum=None),
    default=READ_BATCH_SIZE,
    show_default=True,
    metavar="N",
    help="Events per batch while catching up far behind the head: as catchup run reads (its --batch-size).",
)
@QUIET
def live(
    store: str,
    projection: str,
    interval: int,
    rate: float | None,
    writers: int | None,
    start_from: str,
    max_duration: float,
    observe: float,
    label: str | None,
    out: Path,
    batch_size: int,
    catchup_batch_size: int,
    quiet: bool,
) -> None:
    """Catch PROJECTION up on STORE while writer processes keep appending events.

    Writers continue the store's seeded generator at --rate events/s in small commits
    (Postgres transactions, Parquet files). On a source file (your own event store) there
    are no writers of catchup's: leave out --rate and --writers, and catchup follows the
    log while your application writes it. The projection starts from its snapshot (or
    from zero), catches up, keeps tailing and snapshots every --interval events. Lag is
    sampled every 100 ms into timeseries.parquet. At the end the tailed state is checked
    against a full replay of the final log (exit 4 if they differ). A run in which every
    writer failed, or whose writers reached less than a tenth of --rate, is no success:
    its folder is still written, and the command exits 5. The events the writers
    appended stay in the store.

    \b
    Example:
      catchup live data/ledger -p balances --interval 100k --rate 20k --max-duration 30
      catchup live 'postgresql://postgres@127.0.0.1/test?schema=ledger' -p balances_per_event \\
          --interval 1M --rate 50k --writers 4 --start-from zero
      catchup live accounts.toml -p balances --interval 100k --observe 10
    """
    from bench.cli.text import format_summary
    from bench.live.config import LiveConfig
    from bench.live.coordinator import execute_live
    from bench.live.model import DIVERGED

    follow = rate is None and writers is None  # execute_live says which the store needs
    config = LiveConfig(
        interval=interval,
        rate=rate or 0.0,
        writers=0 if follow else DEFAULT_WRITERS if writers is None else writers,
        follow=follow,
        start_from=start_from,
        max_duration_s=max_duration,
        observe_s=observe,
        batch_size=batch_size,
        catchup_batch_size=catchup_batch_size,
    )
    outcome = execute_live(store, projection, config, label=label, results_dir=out, emit=progress(quiet))
    click.echo(format_summary(outcome.run))
    click.echo(f"results: {outcome.run.path}")
    if not outcome.verified:
        click.echo(f"Error: {DIVERGED}", err=True)
        click.get_current_context().exit(Exit.DIVERGENCE)
    shortfall = outcome.run.live.shortfall if outcome.run.live is not None else None
    if shortfall:
        click.echo(f"Error: live run {outcome.run.run_id} is {shortfall}", err=True)
        click.get_current_context().exit(Exit.LIVE_SHORTFALL)
