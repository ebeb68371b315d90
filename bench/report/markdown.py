"""The report as Markdown, for a pull request, a wiki or a terminal; figures linked from figures/."""

from __future__ import annotations

from bench.report.document import Alert, Block, Bullets, Collapsed, FigureBlock, Heading, Paragraph, Report, Table

_ALERT_WORD = {"error": "Error", "warning": "Warning", "note": "Note"}


def render_markdown(report: Report, figures_folder: str = "figures") -> str:
    parts = [f"# {report.title}", f"_{_text(report.byline)}_"]
    parts += [_block(block, figures_folder) for block in report.blocks]
    return "\n\n".join(parts) + "\n"


def _block(block: Block, figures_folder: str) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {block.text}"
    if isinstance(block, Paragraph):
        return _text(block.text)
    if isinstance(block, Bullets):
        return "\n".join(f"- {_text(item)}" for item in block.items)
    if isinstance(block, Alert):
        lines = [f"> **{_ALERT_WORD[block.kind]}: {_text(block.title)}**"]
        if block.lines:
            lines += [">", *(f"> - {_text(line)}" for line in block.lines)]
        return "\n".join(lines)
    if isinstance(block, Collapsed):  # nothing folds in Markdown: the line in bold, the content under it
        return "\n\n".join([f"**{_text(block.summary)}**", *(_block(each, figures_folder) for each in block.content)])
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, FigureBlock):
        figure = block.figure
        return (
            f"![Figure {block.number}. {figure.title}]({figures_folder}/{figure.name}.png)\n\n"
            f"**Figure {block.number}. {_text(figure.title)}.** {_text(figure.caption)} "
            f"([SVG]({figures_folder}/{figure.name}.svg))"
        )
    raise TypeError(f"no Markdown for {type(block).__name__}")


def _table(table: Table) -> str:
    def line(cells: tuple[str, ...], bold: bool = False) -> str:
        escaped = (_cell(cell) for cell in cells)
        return "| " + " | ".join(f"**{cell}**" if bold and cell else cell for cell in escaped) + " |"

    header = tuple(cell or " " for cell in _grouped_header(table))
    rows = [line(header), "|" + "|".join(":--" if i == 0 else "--:" for i in range(len(header))) + "|"]
    rows += [line(row, bold=number in table.highlight) for number, row in enumerate(table.rows)]
    if table.note:
        rows += ["", f"_{_text(table.note)}_"]
    return "\n".join(rows)


def _grouped_header(table: Table) -> tuple[str, ...]:
    if not table.groups:
        return table.header
    owners = [text for text, span in table.groups for _ in range(span)]
    return tuple(f"{owner}: {cell}" if owner else cell for owner, cell in zip(owners, table.header, strict=True))


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|").replace("\n", " ")


def _text(text: str) -> str:
    # Only what would change the meaning: emphasis markers and stray HTML.
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("<", "&lt;")
