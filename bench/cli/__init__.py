"""The ``catchup`` command line: parses, calls library code, turns errors into one line.

One module per command; each imports at its top only click and light modules (the
defaults it shows), and the library it calls inside the command, so ``catchup --help``
starts at once. Every error, usage or domain, is one line on stderr starting 'Error: ';
the exit codes are bench.cli.exits.Exit. A library message names its parameters as
Python spells them (``batch_size``); here they are spelled as flags (``--batch-size``).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Sequence
from typing import Any

import click

from bench import __version__
from bench.cli.advise import advise
from bench.cli.baseline import baseline_group
from bench.cli.clean import clean
from bench.cli.compare import compare_command
from bench.cli.demo import demo
from bench.cli.exits import INTERRUPTED, Exit
from bench.cli.export import export
from bench.cli.generate import generate
from bench.cli.info import info
from bench.cli.live import live
from bench.cli.options import flag
from bench.cli.report import report
from bench.cli.run import run
from bench.cli.show import show
from bench.cli.state import state
from bench.cli.verify import verify
from stores.errors import CatchupError, InvalidParameter, os_failure

__all__ = ["INTERRUPTED", "Exit", "cli", "main"]


class CatchupGroup(click.Group):
    """A click group whose every failure is one 'Error: ...' line and an exit code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        extra.pop("standalone_mode", None)
        try:
            # Not standalone: click hands back ctx.exit(code) as a return value instead of exiting.
            outcome = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.UsageError as error:
            hint = f" Try '{error.ctx.command_path} --help'." if error.ctx is not None else ""
            _fail(f"{error.format_message().rstrip('.')}.{hint}", Exit.USAGE)
        except click.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except InvalidParameter as error:
            _fail(error.spelled(flag), Exit.ERROR)
        except CatchupError as error:
            _fail(str(error), Exit.ERROR)
        except (click.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            _fail(INTERRUPTED, Exit.INTERRUPTED)
        except OSError as error:  # the last resort: library code translates the OS errors it expects
            _fail(str(os_failure(error, "at" if error.filename is not None else "(the OS named no file)")), Exit.ERROR)
        sys.exit(outcome if isinstance(outcome, int) else Exit.OK)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list with each command's first sentence whole (click cuts it at the line's width)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.short_help or _first_sentence(command.help or "")))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _first_sentence(text: str) -> str:
    paragraph = " ".join(inspect.cleandoc(text).split("\n\n")[0].split())
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[: end + 1]


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
      catchup advise latest --rto 30s --rate 5k --restarts 4/day
    """


for command in (
    generate,
    info,
    verify,
    clean,
    run,
    state,
    show,
    live,
    report,
    compare_command,
    advise,
    baseline_group,
    demo,
    export,
):
    cli.add_command(command)


def main() -> None:
    cli()
