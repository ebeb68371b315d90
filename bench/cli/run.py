"""``catchup run``: the catch-up experiment."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bench.cli.exits import Exit
from bench.cli.options import PROJECTION, QUIET, RESULTS_DIR, progress
from bench.cli.types import Count, IntervalList
from bench.experiment_config import DEFAULT_INTERVALS, DEFAULT_REPEATS, DEFAULT_WARMUP, ExperimentConfig
from bench.units import format_interval
from stores.base import READ_BATCH_SIZE

if TYPE_CHECKING:
    from bench.runner import RunOutcome


@click.command()
@click.argument("store")
@PROJECTION
@click.option(
    "--intervals",
    type=IntervalList(),
    default=",".join(format_interval(k) for k in DEFAULT_INTERVALS),
    show_default=True,
    help="Snapshot every k events, for each k; 0 means no snapshots.",
)
@click.option(
    "--repeats",
    type=Count(minimum=None),
    default=DEFAULT_REPEATS,
    show_default=True,
    metavar="N",
    help="Measured repeats per interval.",
)
@click.option(
    "--warmup",
    type=Count(minimum=None),
    default=DEFAULT_WARMUP,
    show_default=True,
    metavar="N",
    help="Unrecorded repeats first.",
)
@click.option("--label", help="Names the run folder (default: the projection's name).")
@RESULTS_DIR
@click.option(
    "--batch-size",
    type=Count(minimum=None),
    default=READ_BATCH_SIZE,
    show_default=True,
    metavar="N",
    help="Events per batch read from the store.",
)
@click.option(
    "--save-baseline",
    metavar="NAME",
    help="Also keep the run as baseline NAME of this machine, for compare baseline:NAME (only if verified).",
)
@click.option(
    "--cold",
    is_flag=True,
    help="Also catch up each case in a fresh process, the store's files evicted from the page cache first.",
)
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Go ahead without asking when the run would save over 1,000 snapshots or 1 GB.",
)
@QUIET
def run(
    store: str,
    projection: str,
    intervals: tuple[int, ...],
    repeats: int,
    warmup: int,
    label: str | None,
    out: Path,
    batch_size: int,
    save_baseline: str | None,
    cold: bool,
    yes: bool,
    quiet: bool,
) -> None:
    """Replay PROJECTION over STORE from event 0 and from snapshots every k events.

    For each interval: a snapshot pass (replay, snapshot cost), catch-up from the latest
    snapshot with an expected (k/2) and worst (k-1) tail, and verification that each
    caught-up state equals a full replay's. With --cold, each case is caught up again by a
    new process after the store's files are evicted from the page cache, timed from its
    start. Writes OUT/<stamp>-<label>/ and prints the
    summary. Exits 4 if a catch-up diverged from the full replay. The projection's
    snapshots in STORE are replaced and removed when the run ends.

    \b
    Example:
      catchup run data/ledger --projection balances --intervals 0,10k,100k,1M --repeats 5
      catchup run data/ledger -p myproject/projections.py:Ledger --label before-fix
      catchup run data/ledger -p balances --save-baseline main
      catchup run data/ledger -p balances --intervals 100k,1M --cold
      catchup run data/ledger -p balances --intervals 100 --yes
    """
    from bench.results.baselines import check_baseline_name, machine_name
    from bench.results.baselines import save_baseline as keep_baseline
    from bench.runner import execute_run

    if save_baseline is not None:
        check_baseline_name(save_baseline)  # before the work, not after it
    config = ExperimentConfig(intervals=intervals, repeats=repeats, warmup=warmup, batch_size=batch_size, cold=cold)
    if not yes:
        confirm_snapshot_volume(store, projection, config)
    outcome = execute_run(store, projection, config, label=label, results_dir=out, emit=progress(quiet))
    echo_outcome(outcome)
    exit_on_divergence([outcome])
    if save_baseline is not None:
        saved = keep_baseline(outcome.run, save_baseline, out)
        click.echo(f"baseline {save_baseline} of {machine_name()}: {saved}")


def confirm_snapshot_volume(store: str, projection: str, config: ExperimentConfig) -> None:
    """Before a run that saves many or large snapshots: ask at a terminal, else refuse without --yes."""
    from bench.projection_loader import load_projection
    from bench.run_plan import plan_snapshots
    from stores import open_store

    with open_store(store) as source:
        plan = plan_snapshots(source, load_projection(projection), config)
    if not plan.large:
        return
    if not sys.stdin.isatty():
        raise click.ClickException(f"{plan.describe()}; pass --yes to go ahead (or use larger --intervals)")
    click.echo(plan.describe(), err=True)
    if not click.confirm("Go ahead?", err=True):
        raise click.ClickException("not confirmed; nothing was run or written")


def echo_outcome(outcome: RunOutcome) -> None:
    """A finished run's summary table and where it was written."""
    from bench.cli.text import format_summary

    click.echo(format_summary(outcome.run))
    click.echo(f"results: {outcome.run.path}")


def exit_on_divergence(outcomes: list[RunOutcome]) -> None:
    """Each diverged check as an error line with its first differing rows, then exit 4."""
    diverged = [check for outcome in outcomes for check in outcome.result.checks if not check.ok]
    for check in diverged:
        click.echo(f"Error: {check.divergence_line}", err=True)
        for line in check.differing:
            click.echo(f"  {line}", err=True)
    if diverged:
        click.get_current_context().exit(Exit.DIVERGENCE)
