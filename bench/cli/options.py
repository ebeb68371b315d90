"""Options and helpers several commands share, and how a library parameter is spelled as a flag."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bench.cli.types import Count, Duration, Frequency, Rate, Size
from bench.results.schema import DEFAULT_RESULTS_DIR

if TYPE_CHECKING:
    from bench.advise.recommend import AdviceInputs

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


def results_option(purpose: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--results``, the folder of run folders a command reads (and writes): ``purpose`` is its help."""
    return click.option(
        "--results",
        "results_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=DEFAULT_RESULTS_DIR,
        show_default=True,
        help=purpose,
    )


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


# --- the production settings advise and report take -------------------------------------

# The names the advice options pass, in the order the commands list them.
ADVICE_PARAMETERS = ("rto", "rate", "peak_rate", "restarts", "mtbf", "log_size", "retain", "storage_budget")
DEFAULT_RETAIN = 2
_ADVICE_OPTIONS = (
    click.option("--rto", type=Duration(), help="The longest a restarted projection may be stale: 30s, 5m."),
    click.option("--rate", type=Rate(), help="Ingest rate λ in production, events/s: 5k, 2M."),
    click.option("--peak-rate", type=Rate(), help="A peak rate the RTO must hold at too."),
    click.option("--restarts", type=Frequency(), help="How often a restart or redeploy happens: 4/day, 1/h."),
    click.option("--mtbf", type=Duration(), help="Or the mean time between restarts: 6h."),
    click.option("--log-size", type=Count(), help="Events in production, for the full replay without snapshots: 500M."),
    click.option(
        "--retain", type=Count(), default=DEFAULT_RETAIN, show_default=True, metavar="N", help="Snapshots kept."
    ),
    click.option("--storage-budget", type=Size(), help="Bytes the kept snapshots may take: 10GB."),
)


def advice_options(*, needed: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The production settings (--rto, --rate, ...) as options, handed to the command as one ``inputs``.

    Defined once, so ``catchup advise`` and ``catchup report`` take the same names, types,
    help and checks. ``needed``: --rto and --rate are required (advise); else all may be
    left out and ``inputs`` is None (report without its "Which interval to run" section).
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def with_inputs(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in ADVICE_PARAMETERS}
            return command(*args, inputs=advice_inputs(given, needed=needed), **kwargs)

        for option in reversed(_ADVICE_OPTIONS):
            with_inputs = option(with_inputs)
        return with_inputs

    return decorate


def advice_inputs(given: Mapping[str, Any], *, needed: bool) -> AdviceInputs | None:
    """The AdviceInputs ``given`` spells; None when none was given and none is ``needed``; one-line usage errors."""
    from bench.advise.recommend import AdviceInputs

    if given["restarts"] is not None and given["mtbf"] is not None:
        raise click.UsageError("--restarts and --mtbf both given; give one: how often (4/day) or how long between (6h)")
    missing = [flag(name) for name in ("rto", "rate") if given[name] is None]
    if missing:
        others = [flag(name) for name in ADVICE_PARAMETERS[2:] if _was_given(name, given[name])]
        if needed or len(missing) == 1 or others:
            told = [flag(name) for name in ("rto", "rate") if given[name] is not None] + others
            raise click.UsageError(
                f"{' and '.join(missing)} missing{' (' + ', '.join(told) + ' given)' if told else ''}; "
                "the advice needs both the RTO and the ingest rate: --rto 30s --rate 5k"
            )
        return None
    restarts = given["restarts"]
    return AdviceInputs(
        rto_s=given["rto"],
        rate=given["rate"],
        peak_rate=given["peak_rate"],
        mtbf_s=given["mtbf"] if restarts is None else 1.0 / restarts,
        log_size=given["log_size"],
        retain=given["retain"],
        storage_budget=given["storage_budget"],
    )


def _was_given(name: str, value: Any) -> bool:
    """Whether the user gave option ``name`` (a default, such as --retain's, is not given)."""
    if name != "retain":
        return value is not None
    context = click.get_current_context(silent=True)
    source = None if context is None else context.get_parameter_source(name)
    return source not in (None, click.core.ParameterSource.DEFAULT)
