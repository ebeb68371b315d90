"""``catchup verify``: check everything a store holds, one line per check."""

from __future__ import annotations

import click

from bench.cli.exits import Exit
from bench.cli.options import QUIET


@click.command()
@click.argument("store")
@QUIET
def verify(store: str, quiet: bool) -> None:
    """Check that STORE holds what it says: files, checksums, positions, events.

    Parquet: the manifest, every file's size, footer and sha256, and every page checksum
    in a full read. Every store: positions increase up to the head (holes are listed),
    and a generated store's events equal those its fingerprint regenerates. Prints one
    line per check; exits 1 with the first failure, 0 when all hold.

    \b
    Example:
      catchup verify data/ledger
      catchup verify 'postgresql://postgres@127.0.0.1/test?schema=catchup' --quiet
    """
    from bench.progress import RateReporter
    from bench.verify import Finding, verify_store
    from stores import open_store

    def show(finding: Finding) -> None:
        click.echo(f"{finding.check:<9}  {'ok' if finding.ok else 'FAILED'}: {finding.detail}")

    with open_store(store) as source:
        total = source.info().head
        reporter = None if quiet else RateReporter("verify", total, lambda line: click.echo(line, err=True))
        outcome = verify_store(source, on_finding=show, on_events=reporter.update if reporter else None)
    if reporter:
        reporter.finish()
    failure = outcome.first_failure
    if failure is None:
        click.echo(f"verified: {outcome.uri} holds what it says")
        return
    click.echo(f"Error: store {outcome.uri} failed verification: {failure.check}: {failure.detail}", err=True)
    click.get_current_context().exit(Exit.ERROR)
