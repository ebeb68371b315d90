"""``catchup demo``: the README's main job."""

from __future__ import annotations

from pathlib import Path

import click

from bench.cli.options import QUIET, RESULTS_DIR, progress
from bench.cli.report import echo_written
from bench.cli.run import echo_outcome, exit_on_divergence
from bench.cli.types import Count
from bench.demo import DEMO_EVENTS, DEMO_REPEATS, DEMO_STORE


@click.command()
@click.option(
    "--store",
    default=str(DEMO_STORE),
    show_default=True,
    help="Store for the demo events (a folder or postgresql://...); reused when it holds them, refused if others.",
)
@click.option("--overwrite", is_flag=True, help="Replace a --store that holds other events than the demo's.")
@RESULTS_DIR
@click.option(
    "--events",
    type=Count(minimum=None),
    default=DEMO_EVENTS,
    show_default=True,
    metavar="N",
    help="Events to generate.",
)
@click.option(
    "--repeats",
    type=Count(minimum=None),
    default=DEMO_REPEATS,
    show_default=True,
    metavar="N",
    help="Measured repeats per interval.",
)
@QUIET
def demo(store: str, out: Path, overwrite: bool, events: int, repeats: int, quiet: bool) -> None:
    """Generate 1M events into a Parquet folder, run balances and balances_per_event, report.

    Intervals 0, 10k and 100k; prints each summary and where the results are, then writes
    one report of both runs (HTML and Markdown, with figures) and prints its path.

    \b
    Example:
      catchup demo
      catchup demo --events 10M --store data/demo-10m
      catchup demo --store data/demo --overwrite
    """
    from bench.demo import run_demo

    outcome = run_demo(store, out, events, repeats, emit=progress(quiet), overwrite=overwrite)
    for each in outcome.runs:
        echo_outcome(each)
        click.echo("")
    echo_written(outcome.report)
    exit_on_divergence(outcome.runs)
