"""``catchup report`` as a library call: load runs, draw the figures, write HTML and Markdown.

Where things go: a report of one run lives in the run's folder (``report.html``,
``report.md``, ``figures/``), next to the data it describes. A report of several runs
gets its own folder, ``<results>/reports/<UTC stamp>-<names>/``, so no run folder holds
a report about other runs. ``out`` overrides either; the figures go to ``figures/``
beside the report file. Files appear whole: each is written under a temporary name and
renamed, and ``figures/`` is swapped in as a folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench.report.content import build_report
from bench.report.document import FORMATS
from bench.report.figures import render_figures, render_interval_figure, write_figures
from bench.report.html import render_html
from bench.report.interval import interval_section
from bench.report.markdown import render_markdown
from bench.results import Run
from bench.results.atomic import write_file_whole, write_folder_whole
from bench.results.run_set import RunSet
from bench.results.schema import stamp
from stores.errors import CatchupError, InvalidParameter

if TYPE_CHECKING:
    from bench.advise.recommend import AdviceInputs

REPORTS_FOLDER = "reports"
FIGURES_FOLDER = "figures"
_SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}


class ReportError(CatchupError):
    """A report could not be written where it was asked for."""


@dataclass(frozen=True)
class WrittenReport:
    reports: list[Path]  # one per format, in the order asked
    figures: list[Path]


def write_report(
    runs: Sequence[Run],
    out: Path | None = None,
    formats: Sequence[str] | None = None,
    now: datetime | None = None,
    advice: AdviceInputs | None = None,
) -> WrittenReport:
    """Write the report of ``runs`` in each of ``formats`` (default: from ``out``'s suffix, else html).

    With ``advice`` (the production settings of ``catchup advise``) the report has the
    section "Which interval to run"; CannotFit when no run is a catch-up run.
    """
    runset = RunSet.of(runs)
    generated_at = (now or datetime.now(UTC)).astimezone(UTC)
    wanted = _formats(out, formats)
    targets = _targets(runset, out, wanted, generated_at)
    folder = targets[0].parent
    section = None if advice is None else interval_section(runset, advice)
    extra = [] if section is None else [render_interval_figure(*each) for each in section.figure_subjects()]
    figures = render_figures(runset)
    report = build_report(runset, figures, generated_at, section, extra)
    figures = [*extra, *figures]  # written in the order the report numbers them
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        final = write_folder_whole(folder / FIGURES_FOLDER, lambda fresh: written.extend(write_figures(figures, fresh)))
        figure_paths = [final / path.name for path in written]
        for target, kind in zip(targets, wanted, strict=True):
            text = render_html(report) if kind == "html" else render_markdown(report, FIGURES_FOLDER)
            write_file_whole(target, text)
    except OSError as error:
        raise ReportError(
            f"cannot write the report in {folder} ({type(error).__name__}: {error.strerror or error}); "
            "choose another --out"
        ) from None
    return WrittenReport(targets, figure_paths)


def _formats(out: Path | None, formats: Sequence[str] | None) -> list[str]:
    if formats:
        unknown = [kind for kind in formats if kind not in FORMATS]
        if unknown:
            raise InvalidParameter(f"report format {unknown[0]!r} is not known; use one of {', '.join(FORMATS)}")
        return list(dict.fromkeys(formats))
    if out is None or out.suffix == "" or out.is_dir():
        return ["html"]
    kind = _SUFFIXES.get(out.suffix.lower())
    if kind is None:
        raise InvalidParameter(
            f"out {out} ends in {out.suffix!r}; name a .html or .md file, or a folder, or pass formats",
            "out",
            "formats",
        )
    return [kind]


def _targets(runset: RunSet, out: Path | None, formats: list[str], generated_at: datetime) -> list[Path]:
    if out is not None and out.suffix and not out.is_dir():
        if len(formats) > 1:
            raise InvalidParameter(
                f"out {out} names one file but {len(formats)} formats were asked; give a folder", "out"
            )
        return [out]
    folder = out if out is not None else _default_folder(runset, generated_at)
    return [folder / f"report.{kind}" for kind in formats]


def _default_folder(runset: RunSet, generated_at: datetime) -> Path:
    first = runset.runs[0].path
    if first is None:
        raise InvalidParameter("these runs were not loaded from a folder; give out, where the report goes", "out")
    if runset.single:
        return first
    names = "-vs-".join(runset.names)[:80]
    return first.parent / REPORTS_FOLDER / f"{stamp(generated_at)}-{names}"
