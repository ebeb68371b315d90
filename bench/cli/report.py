"""``catchup report``: a report of one or more runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bench.report.document import FORMATS

if TYPE_CHECKING:
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
def report(runs: tuple[str, ...], formats: tuple[str, ...], out: Path | None) -> None:
    """Write a report of one or more runs: the question, setup, results, figures and warnings.

    With several runs the figures overlay them (same dataset) or set them side by side
    (different datasets, which the report says first). Figures are written as PNG and SVG
    into figures/ beside the report.

    \b
    Example:
      catchup report results/20261128T101500Z-balances
      catchup report results/*-parquet results/*-postgres --format html --format md
      catchup report results/20261128T101500Z-balances --out review/balances.md
    """
    from bench.report.write import write_report
    from bench.results import load_run

    written = write_report([load_run(path) for path in runs], out, formats or None)
    echo_written(written)
