"""``catchup compare`` and ``catchup baseline``: thin over bench.compare and bench.baselines."""

from __future__ import annotations

from pathlib import Path

import click

from bench.baselines import MACHINE_ENV, list_baselines, machine_name, save_baseline
from bench.cli_types import Percent
from bench.compare import (
    DEFAULT_ALPHA,
    DEFAULT_METRICS,
    EXIT_REGRESSION,
    METRICS,
    CompareSettings,
    TooFewSamples,
    compare,
)
from bench.compare_format import FORMATS, render
from bench.compare_inputs import resolve_side
from bench.results import load_run
from bench.runner import DEFAULT_RESULTS

RESULTS = click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_RESULTS,
    show_default=True,
    help="The results folder whose baselines/ holds the named baselines.",
)


@click.command(name="compare")
@click.argument("baseline")
@click.argument("current")
@click.option(
    "--threshold",
    type=Percent(),
    default="10%",
    show_default=True,
    help="A slowdown is a regression only beyond this (and only when significant).",
)
@click.option(
    "--metric",
    "metrics",
    type=click.Choice(tuple(METRICS)),
    multiple=True,
    help=f"What to compare; repeat for several. Default: {', '.join(DEFAULT_METRICS)}.",
)
@click.option("--alpha", type=float, default=DEFAULT_ALPHA, show_default=True, help="Significance level of the U test.")
@click.option("--format", "form", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format.")
@click.option("--force", is_flag=True, help="Compare runs of different datasets, stores or projection versions.")
@RESULTS
def compare_command(
    baseline: str,
    current: str,
    threshold: float,
    metrics: tuple[str, ...],
    alpha: float,
    form: str,
    force: bool,
    results_dir: Path,
) -> None:
    """Is CURRENT slower than BASELINE? A CI gate: exits 3 on a significant slowdown.

    Each side is a run folder, its run.json, a folder of runs (one per projection) or
    baseline:NAME (saved with catchup run --save-baseline NAME on this machine). Runs are
    paired by projection; for each interval and metric the raw repeats are compared with a
    two-sided Mann-Whitney U test, and the verdict is slower, faster, unchanged, not
    significant or too few samples. Exits 0 when nothing is significantly slower beyond the
    threshold, 3 when something is, 1 when too few repeats leave a comparison undecided.
    Runs of different datasets, stores, batch sizes or projection versions are refused.

    \b
    Example:
      catchup compare baseline:main results/20261128T102000Z-balances
      catchup compare results/before results/after --threshold 5% --metric catchup_s
      catchup compare baseline:main results/ci --format markdown > comment.md
    """
    settings = CompareSettings(threshold=threshold, alpha=alpha, metrics=metrics or DEFAULT_METRICS, force=force)
    result = compare(resolve_side(baseline, results_dir), resolve_side(current, results_dir), settings)
    click.echo(render(result, form))
    if result.exit_code == EXIT_REGRESSION:
        click.get_current_context().exit(EXIT_REGRESSION)
    too_few = result.too_few_message()
    if too_few:  # said after the table, as the one-line error that makes the exit 1
        raise TooFewSamples(too_few)


@click.group(name="baseline")
def baseline_group() -> None:
    """Named baselines for compare, kept per machine under <results>/baselines/.

    The machine is $CATCHUP_MACHINE when set, else the host name.

    \b
    Example:
      catchup baseline save results/20261128T101500Z-balances main
      catchup baseline list
    """


@baseline_group.command(name="save")
@click.argument("run_path", metavar="RUN")
@click.argument("name")
@RESULTS
def save(run_path: str, name: str, results_dir: Path) -> None:
    """Keep RUN as baseline NAME of this machine (replacing its projection's run in NAME).

    \b
    Example:
      catchup baseline save results/20261128T101500Z-balances main
      CATCHUP_MACHINE=ci-2core catchup baseline save results/ci/20261128T101500Z-balances main
    """
    run = load_run(run_path)
    click.echo(f"baseline {name} of {machine_name()}: {save_baseline(run, name, results_dir)}")


@baseline_group.command(name="list")
@RESULTS
def list_command(results_dir: Path) -> None:
    """List the saved baselines: machine, name, projection, run and when it was made.

    \b
    Example:
      catchup baseline list
      catchup baseline list --results ci-results
    """
    entries = list_baselines(results_dir)
    if not entries:
        click.echo(f"no baselines in {results_dir / 'baselines'} (this machine is {machine_name()}; set {MACHINE_ENV})")
        return
    for entry in entries:
        click.echo(
            f"{entry.machine}  {entry.name}  {entry.run.projection_name}  {entry.run.run_id}  {entry.run.created_at}"
        )
