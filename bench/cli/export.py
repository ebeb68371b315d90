"""``catchup export``: a run's timings in another tool's format."""

from __future__ import annotations

from pathlib import Path

import click

from bench.export import FORMATS


@click.command()
@click.argument("run_path", metavar="RUN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=FORMATS[0],
    show_default=True,
    help="pytest-benchmark: its saved-JSON format, as --benchmark-json writes it.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (replaced whole if it exists). Default: stdout.",
)
def export(run_path: str, fmt: str, out: Path | None) -> None:
    """Export a catch-up run's timings for another tool.

    One benchmark per snapshot interval k and timing, its rounds the run's repeats:
    replay[k=...] (the snapshot pass's replay), snapshots[k=...] (their cost, k > 0),
    catchup_expected[k=...] and catchup_worst[k=...] (load + tail replay); grouped by
    projection. Live runs do not export.

    \b
    Example:
      catchup export results/20261128T101500Z-balances --out before.json
      catchup export results/20261129T090000Z-balances --out after.json
      pytest-benchmark compare before.json after.json
    """
    import json

    from bench.export import export_run, write_json
    from bench.results import load_run

    run = load_run(run_path)
    document = export_run(run, fmt)
    if out is None:
        click.echo(json.dumps(document, indent=4))
        return
    written = write_json(document, out)
    click.echo(f"exported {len(document['benchmarks'])} benchmarks of run {run.run_id} to {written} ({fmt} JSON)")
