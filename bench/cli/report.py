"""``catchup report``: a report of one or more runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bench.cli.options import advice_options, results_option
from bench.report.document import FORMATS

if TYPE_CHECKING:
    from bench.advise.recommend import AdviceInputs
    from bench.report.write import WrittenReport


def echo_written(written: WrittenReport) -> None:
    for path in written.reports:
        click.echo(f"report: {path}")
    if written.figures:
        click.echo(f"figures: {written.figures[0].parent} ({len(written.figures)} files, PNG and SVG)")


@click.command()
@click.argument("runs", metavar="RUN [RUN ...]", nargs=-1, required=True)
@click.option(
    "--format",
    "formats",
    type=click.Choice(FORMATS),
    multiple=True,
    help="html (self-contained, figures embedded) or md (figures linked); repeat for both. "
    "Default: from --out's suffix, else html.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="A .html or .md file, or a folder for report.<format>. Default: the run's folder for one run, "
    "<results>/reports/<stamp>-<names>/ for several.",
)
@results_option("Where 'latest' is looked for.")
@advice_options(needed=False)
def report(
    runs: tuple[str, ...], formats: tuple[str, ...], out: Path | None, results_dir: Path, inputs: AdviceInputs | None
) -> None:
    """Write a report of one or more runs: the question, setup, results, figures and warnings.

    With several runs the figures overlay them (same dataset) or set them side by side
    (different datasets, which the report says first). Figures are written as PNG and SVG
    into figures/ beside the report. RUN is a run folder, its run.json, or latest (the
    newest catch-up run in --results). With --rto and --rate (and the other settings of
    catchup advise) the report gets a section "Which interval to run": advise's answer
    over its catch-up runs, with its reasons, candidates and a figure.

    \b
    Example:
      catchup report results/20261128T101500Z-balances
      catchup report results/*-parquet results/*-postgres --format html --format md
      catchup report results/20261128T101500Z-balances --out review/balances.md
      catchup report latest --rto 2s --rate 50k --restarts 4/day
    """
    from bench.advise.runs import resolve_runs
    from bench.report.write import write_report

    written = write_report(resolve_runs(runs, results_dir), out, formats or None, advice=inputs)
    echo_written(written)
