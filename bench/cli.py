"""The ``catchup`` command line: parses, calls library code, turns errors into one line.

Exit codes: 0 success, 1 error, 2 usage, 3 a regression found by ``compare``, 4 a
divergence found by ``run``. Every error, usage or domain, is one line on stderr starting 'Error: '.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click

from bench import __version__
from bench.cli_compare import baseline_group, compare_command
from bench.cli_export import export
from bench.cli_live import live
from bench.cli_report import report
from bench.cli_run import EXIT_DIVERGENCE, demo, run, show, state
from bench.cli_types import Count, UtcTime
from bench.compare import EXIT_REGRESSION
from bench.generate import DEFAULT_BATCH_SIZE, generate_into
from bench.info import format_info
from bench.progress import RateReporter, human_count
from generators import LedgerParams, OperationMix
from generators.currencies import parse_currencies
from stores import open_store
from stores.base import not_found
from stores.errors import CatchupError

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
INTERRUPTED = (
    "interrupted; a store being generated is left marked incomplete, a run being measured writes no results, "
    "a live run stops its writers and writes no results"
)


class CatchupGroup(click.Group):
    """A click group whose every failure is one 'Error: ...' line and an exit code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        extra.pop("standalone_mode", None)
        try:
            # Not standalone: click hands back ctx.exit(code) as a return value instead of exiting.
            outcome = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.UsageError as error:
            hint = f" Try '{error.ctx.command_path} --help'." if error.ctx is not None else ""
            _fail(f"{error.format_message().rstrip('.')}.{hint}", EXIT_USAGE)
        except click.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except CatchupError as error:
            _fail(str(error), EXIT_ERROR)
        except (click.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            _fail(INTERRUPTED, EXIT_INTERRUPTED)
        sys.exit(outcome if isinstance(outcome, int) else 0)


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {' '.join(message.split())}", err=True)
    sys.exit(code)


@click.group(
    name="catchup", cls=CatchupGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="catchup")
def cli() -> None:
    """Measure how long projections take to catch up, with and without snapshots.

    \b
    Example:
      catchup demo
      catchup generate data/ledger --events 1M
      catchup run data/ledger --projection balances --intervals 0,10k,100k
      catchup show results/<run>
      catchup compare baseline:main results/<run>
    """


@cli.command()
@click.argument("store")
@click.option(
    "--events", type=Count(minimum=None), default="1M", show_default=True, help="Events to generate (k/M/G suffixes)."
)
@click.option(
    "--accounts",
    type=Count(minimum=None),
    default="10k",
    show_default=True,
    help="Accounts (streams); each opens with account_opened.",
)
@click.option(
    "--currencies", default="4", show_default=True, help="A count (most traded first) or ISO 4217 codes: USD,EUR."
)
@click.option(
    "--skew", type=float, default=1.1, show_default=True, help="Zipf exponent of account activity; 0 is uniform."
)
@click.option(
    "--mix",
    default=str(OperationMix()),
    show_default=True,
    help="Operation weights: deposit, withdrawal, transfer, fx.",
)
@click.option(
    "--seed", type=Count(minimum=None), default=42, show_default=True, help="Random seed; same seed, same events."
)
@click.option(
    "--start",
    type=UtcTime(),
    default="2026-01-01T00:00:00Z",
    show_default=True,
    help="Business time of the first event (UTC unless a zone is given).",
)
@click.option(
    "--rate",
    type=float,
    default=1000.0,
    show_default=True,
    help="Simulated events per second of business time (spaces occurred_at).",
)
@click.option(
    "--batch-size",
    type=Count(minimum=1),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Events per generated batch (does not change the events).",
)
@click.option("--overwrite", is_flag=True, help="Replace the events of an existing store.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def generate(
    store: str,
    events: int,
    accounts: int,
    currencies: str,
    skew: float,
    mix: str,
    seed: int,
    start: datetime,
    rate: float,
    batch_size: int,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Generate a deterministic ledger event log into STORE.

    STORE is a folder (or parquet:PATH) or postgresql://user@host/db?layout=typed|jsonb&schema=NAME.

    \b
    Example:
      catchup generate data/ledger --events 10M --accounts 100k --seed 7
      catchup generate 'postgresql://postgres@127.0.0.1/test?layout=jsonb' --events 1M
    """
    params = LedgerParams(
        events=events,
        accounts=accounts,
        currencies=parse_currencies(currencies),
        skew=skew,
        mix=OperationMix.parse(mix),
        seed=seed,
        start=start,
        rate=rate,
    )
    with open_store(store) as target:
        reporter = None if quiet else RateReporter("generate", events, lambda line: click.echo(line, err=True))
        result = generate_into(
            target,
            params,
            overwrite=overwrite,
            batch_size=batch_size,
            on_progress=reporter.update if reporter else None,
        )
        uri = target.info().uri
    if reporter:
        reporter.finish()
    click.echo(
        f"generated {result.events:,} events into {uri} in {result.seconds:.2f} s "
        f"({human_count(result.events_per_s)} events/s), {result.size_bytes / 1e6:,.1f} MB, "
        f"fingerprint {result.fingerprint_id}"
    )


@cli.command()
@click.argument("store")
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
def info(store: str, as_json: bool) -> None:
    """Describe STORE: head, fingerprint, layout, size on disk, complete or not.

    \b
    Example:
      catchup info data/ledger
      catchup info 'postgresql://postgres@127.0.0.1/test?schema=catchup' --json
    """
    with open_store(store) as source:
        description = source.info()
    if not description.exists:
        raise not_found(description.uri)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(description), indent=2))
    else:
        click.echo(format_info(description))


for command in (run, state, show, live, report, compare_command, baseline_group, demo, export):
    cli.add_command(command)
assert len({EXIT_ERROR, EXIT_USAGE, EXIT_REGRESSION, EXIT_DIVERGENCE, EXIT_INTERRUPTED}) == 5


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
