"""The report's section "Which interval to run": advise's answer, its table and figure; absent without the options."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bench.advise import model
from bench.advise.fit import fit_runs
from bench.advise.recommend import Advice, AdviceInputs, advise
from bench.advise.render import headline
from bench.cli import cli
from bench.cli.options import ADVICE_PARAMETERS
from bench.report.figures import CATCHUP_FIGURE_NAMES, render_interval_figure
from bench.report.interval_figure import MEASURED_GID, RECOMMENDED_GID, RTO_GID, interval_figure
from bench.report.write import write_report
from bench.results import Run
from tests.cli_calls import one_error_line, run
from tests.runs import line_run
from tests.test_report_live import live_run

# The line of tests.runs.line_run: L = 20 ms, μ_tail = 2M events/s; measured at k = 10k, 100k, 1M.
AT_50K = AdviceInputs(rto_s=0.1, rate=50_000, peak_rate=200_000)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interval-results")


@pytest.fixture(scope="module")
def on_line(results: Path) -> Run:
    return line_run(results)


def _advice(run_: Run, inputs: AdviceInputs = AT_50K) -> Advice:
    return advise(fit_runs([run_]), inputs)


def _lines(figure: Figure, gid: str) -> list[Line2D]:
    return [line for axes in figure.axes for line in axes.get_lines() if line.get_gid() == gid]


def test_the_section_says_what_advise_says_with_its_table_and_figure(on_line: Run, tmp_path: Path) -> None:
    advice = _advice(on_line)
    # the peak binds: k_rto = 2M (0.1 s × (1 − 200k/2M) − 20 ms) = 140k, read as 100k
    assert (advice.interval, advice.binding) == (100_000, "rto-at-peak")
    written = write_report([on_line], tmp_path, ["md", "html"], advice=AT_50K)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    section = markdown[markdown.index("## Which interval to run") : markdown.index("## Setup")]
    assert markdown.index("## The answer in brief") < markdown.index("## Which interval to run")
    assert f"Advice: {headline(advice)}.".replace("_", "\\_") in section
    assert "For RTO 0.1 s, rate 50k events/s, peak 200k events/s, retain 2, fitted over the catch-up run" in section
    for reason in advice.reasons:
        assert f"- {reason}".replace("_", "\\_").replace("*", "\\*") in section
    header = "| k | source | expected | worst | worst at peak | measured worst | snapshot CPU | snapshots/day |"
    assert header in section
    rows = [line for line in section.splitlines() if line.startswith("| ") and "measured" in line.split("|")[2]]
    assert [row.split("|")[1].strip().strip("*") for row in rows] == ["10k", "100k", "1M"]  # measured ones marked
    (recommended,) = [line for line in section.splitlines() if "recommended" in line and line.startswith("|")]
    assert recommended.startswith("| **100k** | **measured** |")  # bold: the highlighted row
    assert "![Figure 1. Which interval to run](figures/which_interval.png)" in section
    assert "![Figure 2. Catch-up time by snapshot interval](figures/catchup_vs_interval.png)" in markdown
    names = sorted(path.name for path in written.figures)
    assert names == sorted(f"{n}.{kind}" for n in ("which_interval", *CATCHUP_FIGURE_NAMES) for kind in ("png", "svg"))
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<a href="#which-interval-to-run">Which interval to run</a>' in html
    assert '<h2 id="which-interval-to-run">Which interval to run</h2>' in html
    assert html.count("<img ") == 1 + len(CATCHUP_FIGURE_NAMES)
    assert '<tr class="differs"><td>100k</td><td>measured</td>' in html  # the recommended row, marked


def test_the_figure_draws_the_rto_the_recommended_k_and_the_measured_points(on_line: Run) -> None:
    advice = _advice(on_line)
    figure = interval_figure(advice)
    (axes,) = figure.axes
    assert axes.get_xscale() == "log" and axes.get_xlabel() == "snapshot interval k (events)"
    (rto,) = _lines(figure, RTO_GID)
    assert list(rto.get_ydata()) == [0.1, 0.1]
    (marked,) = _lines(figure, RECOMMENDED_GID)
    assert list(marked.get_xdata()) == [100_000, 100_000]
    assert marked.get_label() == "recommended k = 100k"
    (points,) = _lines(figure, MEASURED_GID)
    assert list(points.get_xdata()) == [10_000, 100_000, 1_000_000]
    measured = [advice.fit.measured_worst(k) for k in (10_000, 100_000, 1_000_000)]
    assert list(points.get_ydata()) == pytest.approx(measured)
    # the measured worst catch-ups (tail k-1, no writes) lie on the λ = 0 curve
    assert measured == pytest.approx(
        [model.worst_staleness(advice.fit.line, k, 0.0) for k in (1e4, 1e5, 1e6)], rel=0.05
    )
    curves = {line.get_label(): line for line in axes.get_lines()}
    at_rate, at_peak = curves["worst case at λ = 50k events/s"], curves["worst case at the peak 200k events/s"]
    assert at_peak.get_linestyle() == "--" and "without writes (λ = 0): the fitted catch-up line" in curves
    k, worst = at_rate.get_xdata()[100], at_rate.get_ydata()[100]
    assert worst == pytest.approx(model.worst_staleness(advice.fit.line, k, 50_000))
    assert at_peak.get_ydata()[100] == pytest.approx(model.worst_staleness(advice.fit.line, k, 200_000))
    rendered = render_interval_figure(advice)
    assert rendered.name == "which_interval" and rendered.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "RTO" in rendered.caption and "recommended k" in rendered.caption


def test_without_the_options_the_report_is_unchanged(on_line: Run, tmp_path: Path) -> None:
    code, out, err = run("report", str(on_line.path), "--out", str(tmp_path / "cli"), "--format", "md")
    assert code == 0, err
    write_report([on_line], tmp_path / "library", ["md"], advice=None)
    through_cli = (tmp_path / "cli" / "report.md").read_text(encoding="utf-8")
    library = (tmp_path / "library" / "report.md").read_text(encoding="utf-8")
    assert "Which interval to run" not in through_cli
    # The same but for the minute each was generated in (two writes may straddle one).
    when = re.compile(r"^_Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", re.M)
    assert when.sub("_Generated", through_cli) == when.sub("_Generated", library)
    assert sorted(path.stem for path in (tmp_path / "cli" / "figures").glob("*.png")) == sorted(CATCHUP_FIGURE_NAMES)
    assert "![Figure 1. Catch-up time by snapshot interval]" in through_cli


def test_no_interval_meets_the_rto_the_section_says_so_and_the_figure_marks_none(on_line: Run) -> None:
    inputs = AdviceInputs(rto_s=0.01, rate=50_000)  # under L = 20 ms
    advice = _advice(on_line, inputs)
    assert advice.interval is None and advice.binding == "fixed-cost"
    figure = interval_figure(advice)
    assert _lines(figure, RECOMMENDED_GID) == [] and len(_lines(figure, RTO_GID)) == 1
    assert "no interval meets the RTO" in [text.get_text() for text in figure.axes[0].texts]
    never = interval_figure(_advice(on_line, AdviceInputs(rto_s=30, rate=5e6)))  # λ above μ_tail
    assert any("never catches up at 5M events/s" in text.get_text() for text in never.axes[0].texts)


def test_runs_that_cannot_be_fitted_get_one_line_and_the_rest_of_the_report(results: Path, tmp_path: Path) -> None:
    only_zero = line_run(results / "zero", intervals=(0,))
    written = write_report([only_zero], tmp_path, ["md"], advice=AT_50K)
    markdown = written.reports[0].read_text(encoding="utf-8")
    section = markdown[markdown.index("## Which interval to run") : markdown.index("## Setup")].strip().splitlines()
    assert section[0] == "## Which interval to run" and len([line for line in section if line]) == 2
    assert section[-1].startswith("No interval can be advised from these runs: the warm catch-ups were measured at 0")
    assert "which_interval.png" not in markdown and "## Results" in markdown


def test_live_runs_of_the_same_data_are_fitted_beside_others_left_out_and_alone_an_error(
    on_line: Run, tmp_path: Path
) -> None:
    live = live_run(tmp_path / "runs", on_line)
    other = live_run(tmp_path / "runs", label="elsewhere")  # the synthetic dataset: no catch-up run of its data
    written = write_report([on_line, live, other], tmp_path / "both", ["md"], advice=AT_50K)
    markdown = written.reports[0].read_text(encoding="utf-8")
    section = markdown[markdown.index("## Which interval to run") : markdown.index("## Setup")]
    assert "fitted over the catch-up run balances, with the live run live beside" in section
    assert "while writes continued, live runs replayed the tail at μ\\_w" in section
    assert "The live run elsewhere is left out: no catch-up run here is of its projection and data." in section
    code, out, err = run("report", str(live.path), "--out", str(tmp_path / "alone"), "--rto", "2s", "--rate", "50k")
    assert code != 0 and out == ""
    assert one_error_line(err) == (
        "Error: 'Which interval to run' (--rto, --rate) fits catch-up runs and these are all live (live); "
        "add a catch-up run (made by catchup run) or leave out --rto and --rate"
    )
    assert not (tmp_path / "alone").exists()


def test_one_answer_per_projection_each_with_its_figure(on_line: Run, results: Path, tmp_path: Path) -> None:
    statement = line_run(results / "statement", projection="statement", tail_rate=1e6)
    written = write_report([on_line, statement], tmp_path, ["md"], advice=AT_50K)
    markdown = written.reports[0].read_text(encoding="utf-8")
    section = markdown[markdown.index("## Which interval to run") : markdown.index("## Setup")]
    assert "One answer per projection and dataset: 2 here." in section
    headings = [line for line in section.splitlines() if line.startswith("### ")]
    assert headings == [
        "### balances v1, dataset d1, head 2,000,000",
        "### statement v1, dataset d1, head 2,000,000",
    ]
    for run_, name, number in ((on_line, "balances", 1), (statement, "statement", 2)):
        advice = _advice(run_)
        part = section[section.index(f"### {name}") :]
        assert part.startswith(f"### {name}") and f"Advice: {headline(advice)}." in part
        assert f"![Figure {number}. Which interval to run: {name}](figures/which_interval-{name}.png)" in section
    assert "![Figure 3. Catch-up time by snapshot interval]" in markdown
    assert {path.name for path in written.figures} >= {"which_interval-balances.png", "which_interval-statement.svg"}


def test_the_cli_writes_the_section_for_latest(on_line: Run, tmp_path: Path) -> None:
    results = on_line.path.parent if on_line.path else tmp_path
    out = tmp_path / "latest.md"
    code, printed, err = run(
        "report",
        "latest",
        "--results",
        str(results),
        "--out",
        str(out),
        "--rto",
        "100ms",
        "--rate",
        "50k",
        "--peak-rate",
        "200k",
    )
    assert code == 0, err
    assert printed.startswith(f"report: {out}\n")
    assert "Advice: snapshot every 100k events" in out.read_text(encoding="utf-8")


def test_the_shared_options_have_the_same_help_in_advise_and_report() -> None:
    commands = {name: cli.commands[name] for name in ("advise", "report")}
    records = {}
    for name, command in commands.items():
        context = click.Context(command, info_name=name)
        by_name = {param.name: param for param in command.params}
        records[name] = [by_name[option].get_help_record(context) for option in ADVICE_PARAMETERS]
    assert records["advise"] == records["report"]
    assert all(record is not None and record[1] for record in records["report"])
    assert [record[0].split()[0] for record in records["report"] if record] == [
        "--rto",
        "--rate",
        "--peak-rate",
        "--restarts",
        "--mtbf",
        "--log-size",
        "--retain",
        "--storage-budget",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rto", "2s"), "Error: --rate missing (--rto given); the advice needs both the RTO and the ingest rate"),
        (("--rate", "50k"), "Error: --rto missing (--rate given); the advice needs both the RTO and the ingest rate"),
        (("--retain", "3"), "Error: --rto and --rate missing (--retain given); the advice needs both the RTO and"),
        (
            ("--rto", "2s", "--rate", "50k", "--restarts", "4/day", "--mtbf", "6h"),
            "Error: --restarts and --mtbf both given; give one: how often (4/day) or how long between (6h).",
        ),
        (
            ("--rto", "2s", "--rate", "50k", "--peak-rate", "1k"),
            "Error: --peak-rate 1000 is below rate 50000; a peak is at least the ingest rate",
        ),
    ],
)
def test_report_refuses_half_the_settings_in_one_line(
    on_line: Run, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, out, err = run("report", str(on_line.path), "--out", str(tmp_path), *args)
    assert code != 0 and out == ""
    assert one_error_line(err).startswith(message)
    assert not (tmp_path / "report.html").exists()
