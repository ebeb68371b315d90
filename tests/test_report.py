"""Figures and reports from small real runs: images, content, warnings, self-containment, CLI."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.colors import to_rgba
from PIL import Image

from bench.cli.text import format_summary
from bench.report.content import run_findings
from bench.report.figure_axes import add_caption
from bench.report.figures import CATCHUP_FIGURE_NAMES, draw_figure, render_figures
from bench.report.frontier import frontier_points
from bench.report.write import write_report
from bench.results import IntervalSummary, Run, load_run
from bench.results.run_set import RunSet
from bench.results.stats import summarize
from bench.units import format_memory, format_seconds
from generators import LedgerParams
from stores.errors import InvalidParameter
from tests.data import SMALL
from tests.runs import interval_summary, make_ledger, make_run
from tests.test_cli import run as cli

FORGETFUL = f"{Path(__file__).parent / 'user_projections' / 'impure.py'}:Forgetful"
OTHER = LedgerParams(events=20_000, accounts=300, currencies=("USD", "EUR"), seed=8)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report-results")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_ledger(tmp_path_factory.mktemp("report-ledger") / "ledger")


@pytest.fixture(scope="module")
def balances(ledger: str, results: Path) -> Run:
    return make_run(ledger, results, "balances", intervals=(0, 1_000, 10_000))


@pytest.fixture(scope="module")
def per_event(ledger: str, results: Path) -> Run:
    return make_run(ledger, results, "balances_per_event", intervals=(0, 1_000, 10_000))


@pytest.fixture(scope="module")
def other_dataset(tmp_path_factory: pytest.TempPathFactory, results: Path) -> Run:
    store = make_ledger(tmp_path_factory.mktemp("report-other") / "ledger", OTHER)
    return make_run(store, results, "balances", label="other", intervals=(0, 2_000))


def _png(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    image.load()
    return image


class _References(HTMLParser):
    """Every attribute that could make a browser fetch something, and every tag name."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.references += [value or "" for name, value in attrs if name in ("src", "href", "srcset", "poster", "data")]


def _parse(html: str) -> _References:
    parser = _References()
    parser.feed(html)
    return parser


# --- figures -----------------------------------------------------------------------------


def test_every_figure_is_a_valid_non_empty_png_and_svg(balances: Run) -> None:
    written = write_report([balances])  # one run: into its own folder
    assert written.reports == [balances.path / "report.html"]
    rendered = render_figures(RunSet.of([balances]))
    assert [figure.name for figure in rendered] == list(CATCHUP_FIGURE_NAMES)
    for figure in rendered:
        for content in (figure.png, figure.embedded_png):
            image = _png(content)
            assert image.width >= 800 and image.height >= 500
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
            assert colours is not None and len(colours) > 50  # drawn, not a blank canvas
        root = ElementTree.fromstring(figure.svg)
        assert root.tag.endswith("svg") and len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 20
        # the file carries its caption drawn in; the embedded copy leaves it to the report
        assert figure.png != figure.embedded_png
    on_disk = sorted(path.name for path in written.figures)
    assert on_disk == sorted(f"{name}.{kind}" for name in CATCHUP_FIGURE_NAMES for kind in ("png", "svg"))
    assert all(path.stat().st_size > 10_000 for path in written.figures)
    assert written.figures[0].parent == balances.path / "figures"


def test_figures_have_titles_and_axes_labelled_with_units(balances: Run) -> None:
    runset = RunSet.of([balances])
    for name in CATCHUP_FIGURE_NAMES:
        figure = draw_figure(runset, name)
        assert figure.get_suptitle(), name
        for axes in figure.axes:
            assert "(" in axes.get_xlabel() or "%" in axes.get_xlabel(), (name, axes.get_xlabel())
            assert axes.get_ylabel(), name
    catchup = draw_figure(runset, "catchup_vs_interval").axes[0]
    assert catchup.get_xscale() == "log"  # 1k and 10k span a decade
    assert catchup.get_xlabel() == "snapshot interval k (events)"
    labels = catchup.get_legend_handles_labels()[1]
    assert labels == [
        "balances: full replay from 0",
        "balances: expected (tail k/2)",
        "balances: worst (tail k-1)",
    ]
    # the reference line sits at the run's full replay time
    (line,) = [line for line in catchup.get_lines() if line.get_label() == "balances: full replay from 0"]
    assert line.get_ydata()[0] == pytest.approx(balances.full_replay_s)


def test_runs_of_one_dataset_share_axes_and_runs_of_different_datasets_do_not(
    balances: Run, per_event: Run, other_dataset: Run
) -> None:
    same = draw_figure(RunSet.of([balances, per_event]), "catchup_vs_interval")
    assert len(same.axes) == 1
    assert {label.split(":")[0] for label in same.axes[0].get_legend_handles_labels()[1]} == {
        "balances",
        "balances_per_event",
    }
    apart = draw_figure(RunSet.of([balances, other_dataset]), "catchup_vs_interval")
    assert len(apart.axes) == 2
    assert [axes.get_title(loc="left").split(":")[0] for axes in apart.axes] == ["balances", "other"]
    assert len(draw_figure(RunSet.of([balances, other_dataset]), "snapshot_cost").axes) == 4


def test_the_frontier_marks_exactly_the_undominated_intervals(balances: Run) -> None:
    base = balances.summary[0]
    summary = [
        _row(base, 0, overhead=0.0, catchup=1.0),
        _row(base, 1_000, overhead=500.0, catchup=0.01),
        _row(base, 10_000, overhead=50.0, catchup=0.05),
        _row(base, 100_000, overhead=60.0, catchup=0.2),  # 10k is cheaper and faster
        _row(base, 200_000, overhead=50.0, catchup=0.06),  # as cheap as 10k, slower
    ]
    run = replace(balances, summary=summary)
    points = frontier_points(run)
    assert [(p.interval, p.pareto) for p in points] == [
        (0, True),
        (10_000, True),
        (200_000, False),
        (100_000, False),
        (1_000, True),
    ]


def _row(base: IntervalSummary, k: int, overhead: float, catchup: float) -> IntervalSummary:
    """``base`` at interval ``k`` with the given median overhead and expected catch-up."""
    return replace(
        base,
        interval=k,
        overhead_pct=summarize([overhead]),
        expected=replace(base.expected, catchup_s=summarize([catchup])),
    )


# --- the report --------------------------------------------------------------------------


def no_external_reference(html: str) -> bool:
    """No url(), @import or http(s) outside the embedded figures, whose base64 may spell 'http' by chance."""
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:", html)
    return "url(" not in text and "@import" not in text and "http" not in text


def test_the_html_report_is_self_contained_and_says_what_a_reviewer_needs(balances: Run, tmp_path: Path) -> None:
    (path,) = write_report([balances], tmp_path / "one.html").reports
    html = path.read_text()
    parsed = _parse(html)
    assert parsed.references and all(ref.startswith(("data:image/png;base64,", "#")) for ref in parsed.references)
    assert not {"script", "link", "iframe", "object", "embed"} & set(parsed.tags)
    assert no_external_reference(html)
    assert parsed.tags.count("img") == len(CATCHUP_FIGURE_NAMES)
    head = balances.head
    assert f"<h1>Catch-up of balances over {head:,} events (Parquet)</h1>" in html
    for section in ("The question", "The answer in brief", "Setup", "Results", "Figures", "Method", "Environment"):
        assert f">{section}</h2>" in html
    assert balances.store["uri"] in html and "balances v1 (vectorised, projections.balances.Balances)" in html
    assert balances.environment["cpu_model"] in html
    for row in balances.summary:  # every interval's expected catch-up, formatted as the table shows it
        assert format_seconds(row.expected.catchup_s.median) in html
    assert len(balances.verification) == 7 and "Verified: all 7 checked states" in html
    assert "Pareto-optimal intervals" in html


def test_warnings_come_before_the_results_they_qualify(ledger: str, results: Path, tmp_path: Path) -> None:
    diverged = make_run(ledger, results, FORGETFUL, intervals=(0, 10_000), repeats=1)
    (path,) = write_report([diverged], tmp_path).reports
    html = path.read_text()
    alert = html.index('class="alert error"')
    assert alert < html.index(">The question</h2>") < html.index(">Results</h2>")
    assert "Divergence: a state caught up from a snapshot differs from the full replay" in html
    assert "one repeat only" in html[: html.index(">The question</h2>")]
    assert '<td class="bad">DIVERGED</td>' in html
    assert "Verification FAILED" in html


def test_runs_over_different_datasets_are_said_to_differ_not_overlaid(
    balances: Run, other_dataset: Run, tmp_path: Path
) -> None:
    (html_path, md_path) = write_report([balances, other_dataset], tmp_path, ("html", "md")).reports
    html, markdown = html_path.read_text(), md_path.read_text()
    assert "Different datasets" in html and "Different datasets" in markdown
    statement = (
        "These runs did not replay the same events, so their figures are drawn side by side, not overlaid, "
        f"and their numbers are not comparable one to one (balances: 30,000 events of dataset {balances.dataset['id']} "
        f"(accounts 400, seed 7); other: 20,000 events of dataset {other_dataset.dataset['id']} (accounts 300, seed 8))."
    )
    assert statement in html
    assert html.index("Different datasets") < html.index(">The question</h2>")
    assert "compare shapes, not values" in html


def test_runs_of_one_dataset_are_compared_side_by_side(balances: Run, per_event: Run, tmp_path: Path) -> None:
    (path,) = write_report([balances, per_event], tmp_path / "both.html").reports
    html = path.read_text()
    assert "<h1>Catch-up compared: balances vs balances_per_event</h1>" in html
    assert "Different datasets" not in html
    assert "What differs between these runs" in html and "projection and projection source" in html
    assert f"All runs replayed the same 30,000 events of dataset {balances.dataset['id']}" in html
    assert '<th class="group" colspan="4">balances</th><th class="group" colspan="4">balances_per_event</th>' in html
    assert ">balances in full</h3>" in html and ">balances_per_event in full</h3>" in html


def test_a_parquet_run_and_a_postgres_run_of_one_dataset_overlay(
    balances: Run, results: Path, pg_store_uri, tmp_path: Path
) -> None:
    from generators import dataset_meta, generate
    from stores import open_store

    uri = pg_store_uri("typed")
    with open_store(uri) as store:
        store.load(generate(SMALL, batch_size=8_192), dataset_meta(SMALL))
    postgres = make_run(uri, results, "balances", label="postgres", intervals=(0, 1_000, 10_000), repeats=1)
    runset = RunSet.of([balances, postgres])
    assert runset.same_dataset and runset.differing_settings() == ["store backend", "repeats"]
    assert len(draw_figure(runset, "catchup_vs_interval").axes) == 1
    (path,) = write_report([balances, postgres], tmp_path).reports
    html = path.read_text()
    assert "store backend and repeats (marked in the setup table)" in html
    assert "Parquet / files" in html and "Postgres / typed" in html


def test_the_markdown_twin_links_figures_that_exist(balances: Run, tmp_path: Path) -> None:
    (path,) = write_report([balances], tmp_path / "review" / "balances.md").reports
    markdown = path.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert links == [f"figures/{name}.png" for name in CATCHUP_FIGURE_NAMES]
    assert all((path.parent / link).is_file() for link in links)
    for section in ("The question", "The answer in brief", "Setup", "Results", "Figures", "Method", "Environment"):
        assert f"\n## {section}\n" in markdown
    assert "| k | snapshots | bytes |" in markdown
    assert not (path.parent / "report.html").exists()


def test_reporting_again_replaces_the_figures_and_leaves_no_temporary_files(balances: Run, tmp_path: Path) -> None:
    write_report([balances], tmp_path)
    write_report([balances], tmp_path, ("html", "md"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures", "report.html", "report.md"]
    assert len(list((tmp_path / "figures").iterdir())) == 2 * len(CATCHUP_FIGURE_NAMES)


def test_a_run_given_twice_is_refused(balances: Run) -> None:
    with pytest.raises(InvalidParameter, match=f"run {balances.run_id} is given twice; give each run once"):
        RunSet.of([balances, load_run(balances.path)])


# --- the CLI -----------------------------------------------------------------------------


def test_report_prints_where_it_wrote(balances: Run, tmp_path: Path) -> None:
    code, out, err = cli("report", str(balances.path), "--out", str(tmp_path))
    assert (code, err) == (0, "")
    assert out == (
        f"report: {tmp_path / 'report.html'}\nfigures: {tmp_path / 'figures'} ({2 * len(CATCHUP_FIGURE_NAMES)} files, PNG and SVG)\n"
    )


def test_report_of_several_runs_goes_to_its_own_folder(balances: Run, per_event: Run, results: Path) -> None:
    code, out, err = cli("report", str(balances.path), str(per_event.path), "--format", "md", "--format", "html")
    assert code == 0, err
    md, html = (Path(line.split(": ", 1)[1]) for line in out.splitlines()[:2])
    assert md.parent == html.parent and md.parent.parent == results / "reports"
    assert md.parent.name.endswith("-balances-vs-balances_per_event") and md.name == "report.md"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "Error: no run at nowhere; a run is a folder holding run.json"),
        (
            ["RUN", "--out", "x.pdf"],
            "Error: --out x.pdf ends in '.pdf'; name a .html or .md file, or a folder, or pass --format",
        ),
        (
            ["RUN", "--format", "pdf"],
            "Error: Invalid value for '--format': 'pdf' is not one of 'html', 'md'. Try 'catchup report --help'.",
        ),
        (["RUN", "RUN"], "Error: run {id} is given twice; give each run once"),
        (
            ["RUN", "--out", "x.md", "--format", "html", "--format", "md"],
            "Error: --out x.md names one file but 2 formats were asked; give a folder",
        ),
    ],
)
def test_report_refuses_bad_input_in_one_line(balances: Run, args: list[str], message: str) -> None:
    code, out, err = cli("report", *(str(balances.path) if arg == "RUN" else arg for arg in args))
    assert code in (1, 2) and out == ""
    assert err == message.format(id=balances.run_id) + "\n"


def test_report_into_an_unwritable_place_is_one_line(balances: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = cli("report", str(balances.path), "--out", str(blocker / "report.html"))
    assert code == 1
    assert err.startswith(f"Error: cannot write the report in {blocker} (") and err.endswith("; choose another --out\n")


# --- corrections a reader asked for (issue 14) -------------------------------------------


def _close_frontier(base: IntervalSummary) -> list[IntervalSummary]:
    """Points a reader found crowded: 0 and 1M both at 0% and a full replay; 10k and 100k almost on one spot."""
    return [
        _row(base, 0, overhead=0.0, catchup=0.300),
        _row(base, 1_000_000, overhead=0.0, catchup=0.298),
        _row(base, 100_000, overhead=16.5, catchup=0.0660),
        _row(base, 10_000, overhead=17.0, catchup=0.0655),
        _row(base, 1_000, overhead=158.0, catchup=0.0190),
    ]


def _label_boxes(figure) -> list:  # type: ignore[no-untyped-def]
    figure.draw_without_rendering()  # the labels are placed when the figure is drawn
    (axes,) = figure.axes
    return [(text.get_text(), text.get_window_extent(), axes.bbox) for text in axes.texts]


def test_frontier_labels_never_overlap_even_where_points_are_close(balances: Run) -> None:
    run = replace(balances, summary=_close_frontier(balances.summary[0]))
    figure = draw_figure(RunSet.of([run]), "frontier")
    for stage in ("embedded", "captioned"):
        boxes = _label_boxes(figure)
        assert sorted(text for text, _, _ in boxes) == sorted(["0 (none)", "1M", "100k", "10k", "1k"])
        for number, (text, box, inside) in enumerate(boxes):
            assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1, text
            for other, other_box, _ in boxes[number + 1 :]:
                assert not box.overlaps(other_box), (stage, text, other)
        add_caption(figure, "a caption of three lines " * 12)  # the axes shrink; the labels must stay apart


def test_the_frontier_marks_where_its_overhead_axis_turns_from_linear_to_log(balances: Run) -> None:
    figure = draw_figure(RunSet.of([balances]), "frontier")
    (axes,) = figure.axes
    assert axes.get_xscale() == "symlog"
    marks = [artist for artist in axes.get_children() if artist.get_gid() == "axis-break"]
    # on each spine (y 0 and 1 in axes units), a white gap and two slashes, halfway between 0% and 1%
    assert len(marks) == 6
    assert {(float(m.get_xdata()[0]), float(m.get_ydata()[0])) for m in marks} == {(0.5, 0.0), (0.5, 1.0)}
    assert sorted(m.get_color() for m in marks) == ["black"] * 4 + ["white"] * 2
    (frontier,) = [f for f in render_figures(RunSet.of([balances])) if f.name == "frontier"]
    assert frontier.caption.endswith(
        " The overhead axis is linear from 0% to 1% and logarithmic above, where the // marks the change, so that "
        "0% (no snapshots) stays on it."
    )


def test_the_frontier_legend_says_what_the_points_look_like(balances: Run) -> None:
    base = balances.summary[0]
    dominated = [  # as the frontier test above: 100k and 200k are beaten on both counts
        _row(base, 0, overhead=0.0, catchup=1.0),
        _row(base, 1_000, overhead=500.0, catchup=0.01),
        _row(base, 10_000, overhead=50.0, catchup=0.05),
        _row(base, 100_000, overhead=60.0, catchup=0.2),
        _row(base, 200_000, overhead=50.0, catchup=0.06),
    ]
    (axes,) = draw_figure(RunSet.of([replace(balances, summary=dominated)]), "frontier").axes
    handles, labels = axes.get_legend_handles_labels()
    assert labels == ["balances: Pareto-optimal (filled)", "balances: beaten on both counts (hollow)"]
    filled, hollow = handles
    colour = to_rgba(filled.get_markeredgecolor())
    assert to_rgba(filled.get_markerfacecolor()) == colour and filled.get_linestyle() == "-"
    assert to_rgba(hollow.get_markerfacecolor()) == to_rgba("white") and hollow.get_linestyle() == "None"
    assert list(filled.get_xdata()) == [0.0, 50.0, 500.0] and list(hollow.get_xdata()) == [50.0, 60.0]
    # with every point Pareto-optimal, the legend names no hollow point
    (axes,) = draw_figure(RunSet.of([replace(balances, summary=_close_frontier(base)[2:])]), "frontier").axes
    assert axes.get_legend_handles_labels()[1] == ["balances: Pareto-optimal (filled)"]


def test_the_snapshot_cost_figure_leaves_out_an_interval_above_the_head(ledger: str, results: Path) -> None:
    run = make_run(ledger, results, "balances", label="beyond", intervals=(0, 1_000, 10_000, 100_000), repeats=1)
    assert run.head == 30_000 and run.interval(100_000) is not None
    runset = RunSet.of([run])
    figure = draw_figure(runset, "snapshot_cost")
    figure.draw_without_rendering()
    for axes in figure.axes:
        assert [label.get_text() for label in axes.get_xticklabels()] == ["1k", "10k"]
        ticks = [label.get_text() for label in axes.get_yticklabels()]
        assert len(ticks) == len(set(ticks)), ticks
        assert all(100_000 not in line.get_xdata() for line in axes.get_lines())
    (cost,) = [f for f in render_figures(runset) if f.name == "snapshot_cost"]
    assert cost.caption.endswith(
        " Left out, as no snapshot is taken at an interval larger than the head: k=100k (head 30,000 events)."
    )
    # The answer in brief lists no such interval as Pareto-optimal, and says why it is left out.
    (optimal,) = [line for line in run_findings(run) if line.startswith("Pareto-optimal intervals")]
    listed = optimal.split(": ", 1)[1].split(" (")[0].split(", ")
    assert "100k" not in listed and set(listed) <= {"0", "1k", "10k"} and listed
    assert (
        " (k=100k exceeds the head, 30,000 events: no snapshot was taken, so it is a replay from event 0 and "
        "not a choice here). " in optimal
    )


def test_memory_reads_in_one_unit_on_the_terminal_and_in_the_report(balances: Run, tmp_path: Path) -> None:
    assert (format_memory(384 * 2**20), format_memory(403e6), format_memory(15.5 * 2**30)) == (
        "384 MiB",
        "384 MiB",
        "15.5 GiB",
    )
    rss = balances.environment["peak_rss_bytes"]
    assert f"; peak RSS {format_memory(rss)}\n" in format_summary(balances)
    (path,) = write_report([balances], tmp_path / "memory.md").reports
    markdown = path.read_text()
    assert f"| peak memory (RSS) | {format_memory(rss)} |" in markdown
    assert f"| memory | {format_memory(balances.environment['memory_bytes'])} |" in markdown


def test_the_question_agrees_with_one_projection_or_several(balances: Run, per_event: Run, tmp_path: Path) -> None:
    (one,) = write_report([balances], tmp_path / "one.md").reports
    assert "how long does the balances projection take to catch up" in one.read_text()
    (two,) = write_report([balances, per_event], tmp_path / "two.md").reports
    assert "how long do the balances and balances\\_per\\_event projections take to catch up" in two.read_text()


def _noisy_run(balances: Run) -> Run:
    """``balances`` with synthetic rows, two of whose measurements are noisy: replay at 1k, expected catch-up at 10k."""
    rows = [
        interval_summary(0),
        interval_summary(1_000, replay_s=summarize([1.0, 1.5, 2.0])),  # CV 33.3%
        interval_summary(10_000),
    ]
    rows[2] = replace(rows[2], expected=replace(rows[2].expected, catchup_s=summarize([0.010, 0.012, 0.014])))
    noise = [line for row in rows for check in row.noise_checks() if (line := check.warning)]
    other = "one repeat only: no spread or confidence interval; use --repeats 5 or more"
    return replace(balances, summary=rows, warnings=[*noise, other])


def test_noise_is_one_line_on_top_and_its_list_is_folded_near_the_end(balances: Run, tmp_path: Path) -> None:
    run = _noisy_run(balances)
    assert len([w for w in run.warnings if w.startswith("noisy: ")]) == 2
    html_path, md_path = write_report([run], tmp_path, ("html", "md")).reports
    html, markdown = html_path.read_text(), md_path.read_text()
    line = (
        "Noise: 2 of 9 measurements vary by more than 10% over their repeats (CV); the noisiest is replay at "
        "k=1,000, at CV 33.3%. The full list is under Noisy measurements, near the end."
    )
    for text, question in ((html, ">The question</h2>"), (markdown, "## The question")):
        top = text[: text.index(question)]
        assert line in top and "one repeat only" in top  # the other warnings stay where they were
        assert "noisy: " not in top and "varies by CV" not in top
    assert html.index(">Method</h2>") < html.index(">Noisy measurements</h2>") < html.index(">Environment</h2>")
    folded = html[html.index("<details>") : html.index("</details>")]
    assert folded.startswith("<details><summary>2 of 9 measurements noisy, noisiest first</summary>")
    cells = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>", folded)
    assert cells == [("replay at k=1,000", "33.3%", "3"), ("catch-up (expected) at k=10,000", "16.7%", "3")]
    end = markdown[markdown.index("## Noisy measurements") : markdown.index("## Environment")]
    assert "**2 of 9 measurements noisy, noisiest first**" in end
    assert "| replay at k=1,000 | 33.3% | 3 |" in end and "| catch-up (expected) at k=10,000 | 16.7% | 3 |" in end
    assert "<details>" not in markdown


def test_a_report_without_noise_has_no_noise_line_or_section(balances: Run, tmp_path: Path) -> None:
    rows = [interval_summary(0), interval_summary(1_000), interval_summary(10_000)]
    (path,) = write_report([replace(balances, summary=rows, warnings=[])], tmp_path).reports
    html = path.read_text()
    assert "Noise:" not in html and "Noisy measurements" not in html and "<details>" not in html


def test_the_noise_of_several_runs_names_the_run(balances: Run, per_event: Run, tmp_path: Path) -> None:
    (path,) = write_report([_noisy_run(balances), _noisy_run(per_event)], tmp_path / "noise.md").reports
    markdown = path.read_text()
    assert (
        "Noise: 4 of 18 measurements vary by more than 10% over their repeats (CV); the noisiest is replay at "
        "k=1,000 in balances, at CV 33.3%." in markdown
    )
    assert "| measurement | run | CV | repeats | median [95% CI] |" in markdown
    assert "| replay at k=1,000 | balances\\_per\\_event | 33.3% | 3 |" in markdown


def test_the_noise_a_report_lists_is_the_noise_the_run_warned_of(balances: Run) -> None:
    checks = [check for row in balances.summary for check in row.noise_checks()]
    # k=0: its replay; each k > 0: replay, snapshot time and the two catch-up cases (no --cold here)
    assert [check.what for check in checks] == [
        "replay at k=0",
        *(
            f"{what} at k={k:,}"
            for k in (1_000, 10_000)
            for what in ("catch-up (expected)", "catch-up (worst)", "replay", "snapshot time")
        ),
    ]
    warned = [w for w in balances.warnings if w.startswith("noisy: ")]
    assert [check.warning for check in checks if check.warning] == warned
