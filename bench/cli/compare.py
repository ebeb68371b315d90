"""``catchup compare``: the regression gate."""

from __future__ import annotations

from pathlib import Path

import click

from bench.cli.exits import Exit
from bench.cli.options import results_option
from bench.cli.types import Percent
from bench.compare.judge import DEFAULT_ALPHA, DEFAULT_METRICS, METRICS, PASSED, REGRESSION, UNDECIDED
from bench.compare.render import FORMATS

# The gate's answer as an exit code.
GATE_EXITS = {PASSED: Exit.OK, REGRESSION: Exit.REGRESSION, UNDECIDED: Exit.ERROR}

RESULTS = results_option("The results folder whose baselines/ holds the named baselines.")
_METRIC_HELP = "; ".join(f"{metric.name}: {metric.meaning}" for metric in METRICS.values())


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
    help=f"What to compare; repeat for several. Default: {', '.join(DEFAULT_METRICS)}. Metrics: {_METRIC_HELP}.",
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
    from bench.compare.inputs import resolve_side
    from bench.compare.judge import CompareSettings, TooFewSamples, compare
    from bench.compare.render import render

    settings = CompareSettings(threshold=threshold, alpha=alpha, metrics=metrics or DEFAULT_METRICS, force=force)
    result = compare(resolve_side(baseline, results_dir), resolve_side(current, results_dir), settings)
    code = GATE_EXITS[result.outcome]
    click.echo(render(result, form, code))
    if result.outcome == UNDECIDED:  # said after the table, as the one-line error that makes the exit 1
        raise TooFewSamples(result.too_few_message() or UNDECIDED)
    click.get_current_context().exit(code)
