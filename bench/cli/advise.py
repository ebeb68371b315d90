"""``catchup advise``: the snapshot interval to run in production, with its reasons, and a check."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bench.advise.render import FORMATS
from bench.cli.options import QUIET, advice_options, progress, results_option

if TYPE_CHECKING:
    from bench.advise.recommend import Advice, AdviceInputs

VERIFY_OBSERVE_S = 1.0


@click.command()
@click.argument("runs", metavar="RUN [RUN ...]", nargs=-1, required=True)
@advice_options(needed=True)
@click.option("--format", "form", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format.")
@click.option(
    "--verify",
    is_flag=True,
    help="Measure the recommendation: a catchup run at its k, and a catchup live at k and --rate.",
)
@click.option("--store", help="The store --verify measures on (default: the one the runs name).")
@results_option("Where 'latest' is looked for, and where --verify writes its runs.")
@QUIET
def advise(
    runs: tuple[str, ...],
    inputs: AdviceInputs,
    form: str,
    verify: bool,
    store: str | None,
    results_dir: Path,
    quiet: bool,
) -> None:
    """Which snapshot interval to run in production, from catch-up runs of one projection.

    Fits catch-up time c(T) = L + T/μ_tail over every measured sample of the runs (the cold
    restarts when measured), then: the worst staleness with a snapshot every k while writes
    continue at --rate, (L + k/μ_tail)/(1 − λ/μ_tail); the largest k meeting --rto; with
    --restarts or --mtbf the cost optimum k* = sqrt(2λδμ_tail M) (Young; Daly's correction
    where it changes the answer). Recommends k* when it meets the RTO (at --peak-rate too),
    else the largest k that does, rounded down to 1, 2, 2.5 or 5 × 10^n; says so when none
    does. RUN is a run folder, its run.json, or latest (the newest catch-up run in
    --results). With --verify it measures the recommendation on the runs' store and
    warns where measured and predicted differ by more than 15%. The model: docs/advise.md.

    \b
    Example:
      catchup advise latest --rto 30s --rate 5k --restarts 4/day
      catchup advise results/20261128T101500Z-balances --rto 2s --rate 50k --peak-rate 200k
      catchup advise latest --rto 30s --rate 5k --log-size 500M --format markdown
      catchup advise latest --rto 2s --rate 50k --verify
    """
    from bench.advise.fit import fit_runs
    from bench.advise.recommend import advise as recommend
    from bench.advise.render import render
    from bench.advise.runs import resolve_runs

    advice = recommend(fit_runs(resolve_runs(runs, results_dir)), inputs)
    click.echo(render(advice, form))
    if verify:
        _verify(advice, store, results_dir, quiet)


def _verify(advice: Advice, store: str | None, results_dir: Path, quiet: bool) -> None:
    """A catchup run at the recommended k, and a catchup live at k and the rate; predicted against measured."""
    from bench.advise.check import catchup_checks, live_checks, plan
    from bench.cli.run import exit_on_divergence
    from bench.experiment_config import ExperimentConfig
    from bench.live.config import LiveConfig
    from bench.live.coordinator import execute_live
    from bench.runner import execute_run
    from stores.base import READ_BATCH_SIZE

    target = plan(advice, store)
    emit = progress(quiet)
    config = ExperimentConfig(
        intervals=(target.interval,),
        repeats=target.repeats,
        batch_size=target.batch_size or READ_BATCH_SIZE,
        cold=target.cold,
    )
    measured = execute_run(target.store, target.projection, config, results_dir=results_dir, emit=emit)
    click.echo("")
    click.echo(f"verify: catchup run at k={target.interval:,} on {target.store}: {measured.run.path}")
    checks = catchup_checks(advice, measured.run)
    exit_on_divergence([measured])
    live = execute_live(
        target.store,
        target.projection,
        # Only the time to caught up is compared: a second of tailing after it is enough.
        LiveConfig(
            interval=target.interval,
            rate=advice.inputs.rate,
            observe_s=VERIFY_OBSERVE_S,
            catchup_batch_size=target.batch_size or READ_BATCH_SIZE,
        ),
        results_dir=results_dir,
        emit=emit,
    )
    click.echo(f"verify: catchup live at k={target.interval:,} and {advice.inputs.rate:,.0f} events/s: {live.run.path}")
    checks += live_checks(advice, live.run)
    for check in checks:
        click.echo(f"  {check.line}")
    for check in checks:
        if check.warning:
            click.echo(f"warning: {check.warning}")
    if not live.verified:
        from bench.cli.exits import Exit
        from bench.live.model import DIVERGED

        click.echo(f"Error: {DIVERGED}", err=True)
        click.get_current_context().exit(Exit.DIVERGENCE)
