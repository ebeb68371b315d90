"""``catchup baseline save`` and ``catchup baseline list``: named baselines for compare."""

from __future__ import annotations

from pathlib import Path

import click

from bench.cli.compare import RESULTS


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
    from bench.results import load_run
    from bench.results.baselines import machine_name, save_baseline

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
    from bench.results.baselines import BASELINES_DIR, MACHINE_ENV, list_baselines, machine_name

    entries = list_baselines(results_dir)
    if not entries:
        click.echo(
            f"no baselines in {results_dir / BASELINES_DIR} (this machine is {machine_name()}; set {MACHINE_ENV})"
        )
        return
    for entry in entries:
        click.echo(
            f"{entry.machine}  {entry.name}  {entry.run.projection_name}  {entry.run.run_id}  {entry.run.created_at}"
        )
