"""``catchup state``: a projection's read model at a position, as Parquet."""

from __future__ import annotations

from pathlib import Path

import click

from bench.cli.options import PROJECTION
from bench.cli.types import Count


@click.command()
@click.argument("store")
@PROJECTION
@click.option(
    "--at", type=Count(minimum=None), metavar="POSITION", help="Replay up to this position (default: the head)."
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="A .parquet file to write.")
def state(store: str, projection: str, at: int | None, out: Path) -> None:
    """Write PROJECTION's state after replaying STORE up to a position, as Parquet.

    \b
    Example:
      catchup state data/ledger --projection balances --out balances.parquet
      catchup state data/ledger -p statement --at 500k --out statement-500k.parquet
    """
    from bench.state import write_state

    result = write_state(store, projection, out, at)
    click.echo(
        f"wrote {result.rows:,} rows of {result.projection} at position {result.position:,} to {result.path} "
        f"(digest {result.digest[:16]})"
    )
