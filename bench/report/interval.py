"""The report's section "Which interval to run": advise's answer for the production settings given.

With --rto and --rate (and the rest of advise's settings) a report answers the question
its frontier leaves open: which k to run at production's rate and restart frequency. The
answer is bench.advise's, fitted over the report's catch-up runs (live runs measure
something else and are left out, which the section says), shown as advise shows it: the
headline, the reasons, the candidate table and a figure. When the runs cannot carry the
fit the section says why in one line and the rest of the report stands; a report of live
runs only cannot have the section at all, so asking for it there is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.advise.fit import CannotFit, fit_runs
from bench.advise.recommend import Advice, AdviceInputs, advise
from bench.advise.render import NOTE, candidate_cells, headline, inputs_line, storage_line
from bench.report.document import Block, Bullets, FigureBlock, Heading, Paragraph, RenderedFigure, Table
from bench.report.words import listing, plural
from bench.results.run_set import RunSet

TITLE = "Which interval to run"


@dataclass(frozen=True)
class IntervalSection:
    """What the section shows: the advice, or why there is none."""

    inputs: AdviceInputs
    advice: Advice | None
    refusal: str  # why the runs cannot carry the fit; "" with an advice
    fitted: tuple[str, ...]  # the names of the catch-up runs fitted
    left_out: tuple[str, ...]  # the names of the live runs, which advise does not fit


def interval_section(runset: RunSet, inputs: AdviceInputs) -> IntervalSection:
    """advise's answer over the catch-up runs of ``runset``; CannotFit when it has none."""
    catchup, live = runset.catchup_runs, runset.live_runs
    left_out = () if live is None else tuple(live.names)
    if catchup is None:
        raise CannotFit(
            f"{TITLE!r} (--rto, --rate) fits catch-up runs and these are all live ({listing(list(left_out))}); "
            "add a catch-up run (made by catchup run) or leave out --rto and --rate"
        )
    fitted = tuple(catchup.names)
    try:
        advice = advise(fit_runs(catchup.runs), inputs)
    except CannotFit as refusal:
        return IntervalSection(inputs, None, str(refusal), fitted, left_out)
    return IntervalSection(inputs, advice, "", fitted, left_out)


def interval_blocks(section: IntervalSection, figure: RenderedFigure | None, number: int) -> list[Block]:
    """The section's blocks; ``figure`` (drawn from its advice) becomes figure ``number``."""
    blocks: list[Block] = [Heading(TITLE)]
    advice = section.advice
    if advice is None:
        return [*blocks, Paragraph(f"No interval can be advised from these runs: {section.refusal}.")]
    runs = f"catch-up run{plural(section.fitted)} {listing(list(section.fitted))}"
    given = f"For {inputs_line(advice)}, fitted over the {runs}"
    if section.left_out:
        given += (
            f"; the live run{plural(section.left_out)} {listing(list(section.left_out))} "
            f"{'is' if len(section.left_out) == 1 else 'are'} left out (advise fits catch-up runs)"
        )
    blocks += [
        Paragraph(f"Advice: {headline(advice)}."),
        Paragraph(given + ". Why, in reading order:"),
        Bullets(advice.reasons),
    ]
    header, rows = candidate_cells(advice)
    recommended = frozenset(i for i, candidate in enumerate(advice.candidates) if candidate.recommended)
    note = f"{_sentence(NOTE)} {_sentence(storage_line(advice))}"
    blocks.append(Table(header, rows, note=note, highlight=recommended))
    if figure is not None:
        blocks.append(FigureBlock(figure, number))
    return blocks


def _sentence(text: str) -> str:
    return f"{text[0].upper()}{text[1:]}."
