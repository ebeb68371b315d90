"""Options and helpers several commands share, and how a library parameter is spelled as a flag."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from bench.results.schema import DEFAULT_RESULTS_DIR

PROJECTION = click.option(
    "--projection", "-p", required=True, help="Built-in name, package.module:Class or file.py:Class."
)
RESULTS_DIR = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_RESULTS_DIR,
    show_default=True,
    help="Folder that receives run folders (<UTC stamp>-<label>/).",
)
QUIET = click.option("--quiet", "-q", is_flag=True, help="No progress lines.")

# Library parameters whose flag is not their name with dashes (see ``flag``).
_FLAGS = {
    "max_duration_s": "--max-duration",
    "observe_s": "--observe",
    "formats": "--format",
    "rto_s": "--rto",
    "mtbf_s": "--mtbf",
}


def flag(parameter: str) -> str:
    """The command-line spelling of a library parameter: batch_size -> --batch-size."""
    return _FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def _stderr(line: str) -> None:
    click.echo(line, err=True)


def _quiet(line: str) -> None:
    """Progress goes nowhere with --quiet."""


def progress(quiet: bool) -> Callable[[str], None]:
    """Where a command's progress lines go: stderr, or nowhere with --quiet."""
    return _quiet if quiet else _stderr
