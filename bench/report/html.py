"""The report as one self-contained HTML file: styles inline, figures as data: URIs.

Nothing is fetched: no scripts, fonts, stylesheets or images from anywhere, so the file
opens offline, from an e-mail attachment or a CI artifact, exactly as it was written.
"""

from __future__ import annotations

import base64
import re
from html import escape

from bench.report.document import Alert, Block, Bullets, Collapsed, FigureBlock, Heading, Paragraph, Report, Table
from bench.units import DIVERGED

_STYLE = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 0 auto; max-width: 1240px; padding: 24px 32px 64px; color: #1f2328; line-height: 1.5; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.25em; margin-top: 1.8em; }
h3 { margin-top: 1.4em; }
.byline { color: #59636e; margin-top: 0; }
nav { font-size: 0.92em; color: #59636e; }
nav a { color: #0969da; text-decoration: none; margin-right: 0.9em; }
.alert { border-left: 6px solid; border-radius: 4px; padding: 10px 16px; margin: 14px 0; }
.alert h2 { border: none; margin: 0 0 4px; font-size: 1.05em; }
.alert ul { margin: 4px 0; padding-left: 1.2em; }
.alert.error { background: #ffebe9; border-color: #cf222e; }
.alert.warning { background: #fff8c5; border-color: #bf8700; }
.alert.note { background: #ddf4ff; border-color: #0969da; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85em; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 7px; text-align: right; white-space: nowrap; }
th { background: #f6f8fa; }
td:first-child, th:first-child { text-align: left; }
table.settings td, table.settings th { text-align: left; white-space: normal; }
th.group { text-align: center; }
tr.differs td { background: #fff8c5; }
td.bad { color: #cf222e; font-weight: bold; }
p.table-note { font-size: 0.85em; color: #59636e; margin-top: 0; }
figure { margin: 22px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { font-size: 0.9em; color: #59636e; }
details { margin: 10px 0; }
details > summary { cursor: pointer; font-weight: 600; }
"""


def render_html(report: Report) -> str:
    sections = [block.text for block in report.blocks if isinstance(block, Heading) and block.level == 2]
    nav = " ".join(f'<a href="#{_anchor(title)}">{escape(title)}</a>' for title in sections)
    body = "\n".join(_block(block) for block in report.blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(report.title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f'<h1>{escape(report.title)}</h1>\n<p class="byline">{escape(report.byline)}</p>\n'
        f"<nav>{nav}</nav>\n{body}\n</body>\n</html>\n"
    )


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        anchor = f' id="{_anchor(block.text)}"' if block.level == 2 else ""
        return f"<h{block.level}{anchor}>{escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Alert):
        items = "".join(f"<li>{escape(line)}</li>" for line in block.lines)
        return (
            f'<section class="alert {block.kind}" role="{"alert" if block.kind == "error" else "note"}">'
            f"<h2>{escape(block.title)}</h2>{f'<ul>{items}</ul>' if items else ''}</section>"
        )
    if isinstance(block, Collapsed):
        content = "\n".join(_block(each) for each in block.content)
        return f"<details><summary>{escape(block.summary)}</summary>\n{content}\n</details>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, FigureBlock):
        figure = block.figure
        data = base64.b64encode(figure.embedded_png).decode("ascii")
        return (
            f'<figure id="figure-{block.number}"><img src="data:image/png;base64,{data}" '
            f'alt="{escape(figure.title)}"><figcaption><strong>Figure {block.number}. {escape(figure.title)}.'
            f"</strong> {escape(figure.caption)}</figcaption></figure>"
        )
    raise TypeError(f"no HTML for {type(block).__name__}")


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in table.header)
    if table.groups:  # a row above naming the run each block of columns belongs to
        spans = "".join(f'<th class="group" colspan="{span}">{escape(text)}</th>' for text, span in table.groups)
        head = f"{spans}</tr><tr>{head}"
    rows = []
    for number, row in enumerate(table.rows):
        marked = ' class="differs"' if number in table.highlight else ""
        cells = "".join(
            f'<td class="bad">{escape(cell)}</td>' if cell == DIVERGED else f"<td>{escape(cell)}</td>" for cell in row
        )
        rows.append(f"<tr{marked}>{cells}</tr>")
    note = f'<p class="table-note">{escape(table.note)}</p>' if table.note else ""
    kind = ' class="settings"' if table.settings else ""
    return (
        f'<div class="table-wrap"><table{kind}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{note}"
    )


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
