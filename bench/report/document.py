"""A report as plain blocks, so the HTML and the Markdown twin say exactly the same things.

The content (bench.report.content, bench.report.tables) decides what to say; the
renderers (bench.report.html, bench.report.markdown) only decide how it looks; the
figures (bench.report.figures) arrive drawn and encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FORMATS = ("html", "md")


@dataclass(frozen=True)
class RenderedFigure:
    name: str  # file stem in figures/
    title: str
    caption: str
    png: bytes  # the file: caption drawn in, so it stands alone in slides
    svg: bytes
    embedded_png: bytes  # for a report, whose own caption sits under it


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""  # a line under the table: units, definitions
    highlight: frozenset[int] = frozenset()  # row numbers to mark (settings that differ between runs)
    # Optional header row above ``header``: (text, columns spanned); the Markdown twin,
    # which cannot span, names the group in each column's own header instead.
    groups: tuple[tuple[str, int], ...] = ()
    settings: bool = False  # label/value rows of text rather than columns of numbers


@dataclass(frozen=True)
class Alert:
    """What must not be missed: a divergence, apples against oranges, noise."""

    kind: Literal["error", "warning", "note"]
    title: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class FigureBlock:
    figure: RenderedFigure
    number: int


@dataclass(frozen=True)
class Collapsed:
    """Detail a reader opens if they want it, out of the way of the answer: a summary line over its content.

    HTML folds the content under the line (``<details>``); Markdown, which cannot fold, shows the
    line in bold and the content under it.
    """

    summary: str
    content: tuple[Block, ...]


Block = Heading | Paragraph | Bullets | Table | Alert | FigureBlock | Collapsed


@dataclass(frozen=True)
class Report:
    title: str
    byline: str  # who made it, when, from what
    blocks: tuple[Block, ...] = field(default_factory=tuple)
