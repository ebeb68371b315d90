"""The report's section "Which interval to run": advise's answer for the production settings given.

With --rto and --rate (and the rest of advise's settings) a report answers the question
its frontier leaves open: which k to run at production's rate and restart frequency. The
answer is bench.advise's, one per projection over one dataset: the report's catch-up runs
are grouped as advise pools them (projection name and version, dataset and head), and
each live run joins the groups of its projection and data, as advise takes live runs
beside catch-up runs; a live run of no group is left out, which the section says. Each
answer is shown as advise shows it: the headline, the reasons, the candidate table and a
figure, under a heading of its own when there are several. When a group's runs cannot
carry the fit its answer says why in one line and the rest of the report stands; a report
of live runs only cannot have the section at all, so asking for it there is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.advise.fit import CannotFit, describe_run, fit_runs, pooling_key
from bench.advise.recommend import Advice, AdviceInputs, advise
from bench.advise.render import NOTE, candidate_cells, headline, inputs_line, storage_line
from bench.report.document import Block, Bullets, FigureBlock, Heading, Paragraph, RenderedFigure, Table
from bench.report.words import listing, plural
from bench.results import Run
from bench.results.run_set import RunSet

TITLE = "Which interval to run"


@dataclass(frozen=True)
class IntervalAnswer:
    """The advice for one projection over one dataset, or why there is none."""

    projection: str  # its name: what names its figure among several
    subject: str  # 'balances v1, dataset 1a2b3c, head 1,000,000': the answer's heading among several
    advice: Advice | None
    refusal: str  # why the runs cannot carry the fit; "" with an advice
    fitted: tuple[str, ...]  # the names of the catch-up runs fitted
    live: tuple[str, ...]  # the names of the live runs given beside them


@dataclass(frozen=True)
class IntervalSection:
    """What the section shows: an answer per projection and dataset, and the live runs of none."""

    inputs: AdviceInputs
    answers: tuple[IntervalAnswer, ...]
    left_out: tuple[str, ...]  # live runs of no catch-up run's projection and data

    def figure_subjects(self) -> list[tuple[Advice, str]]:
        """Each answer with an advice (each has a figure), in order, with what names its figure among several:
        the projection's name, numbered where two answers share it; "" when the answer is the only one."""
        if len(self.answers) == 1:
            return [(advice, "") for advice in (self.answers[0].advice,) if advice is not None]
        named = []
        seen: dict[str, int] = {}
        for answer in self.answers:
            projection = answer.projection
            seen[projection] = seen.get(projection, 0) + 1
            if answer.advice is not None:
                named.append(
                    (answer.advice, projection if seen[projection] == 1 else f"{projection}-{seen[projection]}")
                )
        return named


def interval_section(runset: RunSet, inputs: AdviceInputs) -> IntervalSection:
    """advise's answers over the runs of ``runset``, one per projection and dataset; CannotFit when none is a
    catch-up run."""
    names = dict(zip((id(run) for run in runset.runs), runset.names, strict=True))
    catchups = [run for run in runset.runs if not run.is_live]
    lives = [run for run in runset.runs if run.is_live]
    if not catchups:
        raise CannotFit(
            f"{TITLE!r} (--rto, --rate) fits catch-up runs and these are all live "
            f"({listing([names[id(run)] for run in lives])}); "
            "add a catch-up run (made by catchup run) or leave out --rto and --rate"
        )
    groups: dict[tuple[object, ...], list[Run]] = {}
    for run in catchups:
        groups.setdefault(pooling_key(run), []).append(run)
    answers = []
    joined: set[int] = set()
    for key, members in groups.items():
        beside = [run for run in lives if pooling_key(run)[:3] == key[:3]]
        joined.update(id(run) for run in beside)
        fitted = tuple(names[id(run)] for run in members)
        live = tuple(names[id(run)] for run in beside)
        about = (members[0].projection.name, describe_run(members[0]))
        try:
            answers.append(IntervalAnswer(*about, advise(fit_runs([*members, *beside]), inputs), "", fitted, live))
        except CannotFit as refusal:
            answers.append(IntervalAnswer(*about, None, str(refusal), fitted, live))
    left_out = tuple(names[id(run)] for run in lives if id(run) not in joined)
    return IntervalSection(inputs, tuple(answers), left_out)


def interval_blocks(section: IntervalSection, figures: Sequence[RenderedFigure], number: int) -> list[Block]:
    """The section's blocks; ``figures`` (one per advice, in order) are numbered from ``number``."""
    blocks: list[Block] = [Heading(TITLE)]
    several = len(section.answers) > 1
    if several:
        blocks.append(Paragraph(f"One answer per projection and dataset: {len(section.answers)} here."))
    if section.left_out:
        blocks.append(
            Paragraph(
                f"The live run{plural(section.left_out)} {listing(list(section.left_out))} "
                f"{'is' if len(section.left_out) == 1 else 'are'} left out: no catch-up run here is of "
                f"{'its' if len(section.left_out) == 1 else 'their'} projection and data."
            )
        )
    pending = iter(figures)
    for answer in section.answers:
        if several:
            blocks.append(Heading(answer.subject, 3))
        blocks += _answer_blocks(answer, next(pending, None) if answer.advice is not None else None, number)
        number += answer.advice is not None
    return blocks


def _answer_blocks(answer: IntervalAnswer, figure: RenderedFigure | None, number: int) -> list[Block]:
    advice = answer.advice
    if advice is None:
        return [Paragraph(f"No interval can be advised from these runs: {answer.refusal}.")]
    given = (
        f"For {inputs_line(advice)}, fitted over the catch-up run{plural(answer.fitted)} {listing(list(answer.fitted))}"
    )
    if answer.live:
        given += f", with the live run{plural(answer.live)} {listing(list(answer.live))} beside"
    blocks: list[Block] = [
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
