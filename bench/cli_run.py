"""The experiment commands: ``run``, ``state``, ``show`` and ``demo``. Thin: parse, call, print."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from bench.baselines import check_baseline_name, machine_name
from bench.baselines import save_baseline as keep_baseline
from bench.cli_report import echo_written
from bench.cli_types import Count, IntervalList
from bench.demo import DEMO_EVENTS, DEMO_STORE, run_demo
from bench.experiment import ExperimentConfig
from bench.results import load_run
from bench.runner import DEFAULT_RESULTS, RunOutcome, execute_run
from bench.state import write_state
from bench.summary import divergence_line, format_summary
from stores.base import DEFAULT_BATCH_SIZE

EXIT_DIVERGENCE = 4

PROJECTION = click.option(
    "--projection", "-p", required=True, help="Built-in name, package.module:Class or file.py:Class."
)
RESULTS_DIR = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_RESULTS,
    show_default=True,
    help="Folder that receives run folders (<UTC stamp>-<label>/).",
)
QUIET = click.option("--quiet", "-q", is_flag=True, help="No progress lines.")


def _stderr(line: str) -> None:
    click.echo(line, err=True)


def _quiet(line: str) -> None:
    """Progress goes nowhere with --quiet."""


def quiet_or_stderr(quiet: bool) -> Callable[[str], None]:
    return _quiet if quiet else _stderr


def _report(outcome: RunOutcome) -> None:
    click.echo(format_summary(outcome.run))
    click.echo(f"results: {outcome.run.path}")


def _exit_on_divergence(outcomes: list[RunOutcome]) -> None:
    diverged = [check for outcome in outcomes for check in outcome.result.checks if not check.ok]
    for check in diverged:
        click.echo(f"Error: {divergence_line(check)}", err=True)
        for line in check.differing:
            click.echo(f"  {line}", err=True)
    if diverged:
        click.get_current_context().exit(EXIT_DIVERGENCE)


@click.command()
@click.argument("store")
@PROJECTION
@click.option(
    "--intervals",
    type=IntervalList(),
    default="0,10k,100k,1M",
    show_default=True,
    help="Snapshot every k events, for each k; 0 means no snapshots.",
)
@click.option(
    "--repeats", type=Count(minimum=None), default=5, show_default=True, help="Measured repeats per interval."
)
@click.option("--warmup", type=Count(minimum=None), default=1, show_default=True, help="Unrecorded repeats first.")
@click.option("--label", help="Names the run folder (default: the projection's name).")
@RESULTS_DIR
@click.option(
    "--batch-size",
    type=Count(minimum=None),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Events per batch read from the store.",
)
@click.option(
    "--save-baseline",
    metavar="NAME",
    help="Also keep the run as baseline NAME of this machine, for compare baseline:NAME (only if verified).",
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
    quiet: bool,
) -> None:
    """Replay PROJECTION over STORE from event 0 and from snapshots every k events.

    For each interval: a snapshot pass (replay, snapshot cost), catch-up from the latest
    snapshot with an expected (k/2) and worst (k-1) tail, and verification that each
    caught-up state equals a full replay's. Writes OUT/<stamp>-<label>/ and prints the
    summary. Exits 4 if a catch-up diverged from the full replay. The projection's
    snapshots in STORE are replaced and removed when the run ends.

    \b
    Example:
      catchup run data/ledger --projection balances --intervals 0,10k,100k,1M --repeats 5
      catchup run data/ledger -p myproject/projections.py:Ledger --label before-fix
      catchup run data/ledger -p balances --save-baseline main
    """
    if save_baseline is not None:
        check_baseline_name(save_baseline)  # before the work, not after it
    config = ExperimentConfig(intervals=intervals, repeats=repeats, warmup=warmup, batch_size=batch_size)
    outcome = execute_run(store, projection, config, label=label, results_dir=out, emit=quiet_or_stderr(quiet))
    _report(outcome)
    _exit_on_divergence([outcome])
    if save_baseline is not None:
        saved = keep_baseline(outcome.run, save_baseline, out)
        click.echo(f"baseline {save_baseline} of {machine_name()}: {saved}")


@click.command()
@click.argument("store")
@PROJECTION
@click.option("--at", type=Count(minimum=None), help="Replay up to this position (default: the head).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="A .parquet file to write.")
def state(store: str, projection: str, at: int | None, out: Path) -> None:
    """Write PROJECTION's state after replaying STORE up to a position, as Parquet.

    \b
    Example:
      catchup state data/ledger --projection balances --out balances.parquet
      catchup state data/ledger -p statement --at 500k --out statement-500k.parquet
    """
    result = write_state(store, projection, out, at)
    click.echo(
        f"wrote {result.rows:,} rows of {result.projection} at position {result.position:,} to {result.path} "
        f"(digest {result.digest[:16]})"
    )


@click.command()
@click.argument("run_path", metavar="RUN")
def show(run_path: str) -> None:
    """Print the summary table of a run folder (or its run.json).

    \b
    Example:
      catchup show results/20261128T101500Z-balances
    """
    click.echo(format_summary(load_run(run_path)))


@click.command()
@click.option(
    "--store",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEMO_STORE,
    show_default=True,
    help="Parquet folder for the demo events; reused when it already holds them.",
)
@RESULTS_DIR
@click.option("--events", type=Count(minimum=None), default=DEMO_EVENTS, show_default=True, help="Events to generate.")
@click.option(
    "--repeats", type=Count(minimum=None), default=3, show_default=True, help="Measured repeats per interval."
)
@QUIET
def demo(store: Path, out: Path, events: int, repeats: int, quiet: bool) -> None:
    """Generate 1M events into a Parquet folder, run balances and balances_per_event, report.

    Intervals 0, 10k and 100k; prints each summary and where the results are, then writes
    one report of both runs (HTML and Markdown, with figures) and prints its path.

    \b
    Example:
      catchup demo
      catchup demo --events 10M --store data/demo-10m
    """
    outcome = run_demo(store, out, events, repeats, emit=quiet_or_stderr(quiet))
    for each in outcome.runs:
        _report(each)
        click.echo("")
    echo_written(outcome.report)
    _exit_on_divergence(outcome.runs)
