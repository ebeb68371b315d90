"""``catchup show``: a run's summary table, again."""

from __future__ import annotations

import click


@click.command()
@click.argument("run_path", metavar="RUN")
def show(run_path: str) -> None:
    """Print the summary table of a run folder (or its run.json).

    \b
    Example:
      catchup show results/20261128T101500Z-balances
    """
    from bench.cli.text import format_summary
    from bench.results import load_run

    click.echo(format_summary(load_run(run_path)))
