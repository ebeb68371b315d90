"""``catchup clean``: remove the event files a dead load or append left unlisted."""

from __future__ import annotations

import click


@click.command()
@click.argument("store")
def clean(store: str) -> None:
    """Remove the event files in a Parquet STORE that its manifest does not list.

    Only files named as catchup names event files (events/part-NNNNNN.parquet) and not
    listed are removed: they are what a killed append or live run leaves. Listed files,
    snapshots and every other file stay. An incomplete store is refused: regenerate it
    with catchup generate STORE --overwrite, which removes them too.

    \b
    Example:
      catchup clean data/ledger
    """
    from stores import open_store
    from stores.errors import InvalidParameter
    from stores.parquet import ParquetStore

    with open_store(store) as target:
        if not isinstance(target, ParquetStore):
            raise InvalidParameter(f"{target.info().uri} is a {target.backend} store; clean works on Parquet stores")
        removed = target.remove_orphans()
    click.echo(f"removed {len(removed.paths):,} unlisted event file(s), {removed.size_bytes:,} bytes, from {store}")
