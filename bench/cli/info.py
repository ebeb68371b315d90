"""``catchup info``: what a store holds."""

from __future__ import annotations

import click


@click.command()
@click.argument("store")
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
def info(store: str, as_json: bool) -> None:
    """Describe STORE: head, fingerprint, layout, size on disk, complete or not.

    \b
    Example:
      catchup info data/ledger
      catchup info 'postgresql://postgres@127.0.0.1/test?schema=catchup' --json
    """
    import dataclasses
    import json

    from bench.cli.text import format_info
    from stores import open_store

    with open_store(store) as source:
        description = source.info()
        if not description.exists:
            raise source.not_found_error()
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(description), indent=2))
    else:
        click.echo(format_info(description))
