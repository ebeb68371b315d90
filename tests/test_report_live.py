"""The report of live runs: the staleness figure, the live section, and reports mixing live and catch-up runs.

The live runs here are SYNTHETIC FIXTURES OF THE RESULTS FORMAT: written with ``write_run(kind="live", ...)``
from a hand-made ``live`` dict and a constructed timeseries table (tests.test_results), not by
``catchup live``. Their numbers are plausible, not measured; the tests check how a run in that
format is drawn and described.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from PIL import Image

from bench.cli.text import format_summary
from bench.report.figures import CATCHUP_FIGURE_NAMES, FIGURE_NAMES, draw_figure, figures_for, render_figures
from bench.report.live import live_question
from bench.report.write import write_report
from bench.results import LiveSummary, Run, write_run
from bench.results.run_set import RunSet
from stores.errors import InvalidParameter
from tests.runs import make_ledger, make_run
from tests.test_cli import run as cli
from tests.test_report import _parse, no_external_reference
from tests.test_results import CREATED, live_results, timeseries_table


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-results")


@pytest.fixture(scope="module")
def catchup(tmp_path_factory: pytest.TempPathFactory, results: Path) -> Run:
    """A real, small catch-up run, whose dataset the synthetic live runs claim to start from."""
    ledger = make_ledger(tmp_path_factory.mktemp("live-ledger") / "ledger")
    return make_run(ledger, results, "balances", intervals=(0, 1_000, 10_000), repeats=1)


def live_run(results: Path, catchup: Run | None = None, *, label: str = "live", **live: Any) -> Run:
    """A synthetic live run (see the module docstring); on ``catchup``'s dataset when given."""
    timeseries = live.pop("timeseries", None)
    content = live_results(**live)
    # the model's λ is the rate the writers achieved
    content["model"] = {"append_rate": content["rate_achieved"], **content["model"]}
    if timeseries is None:
        timeseries = timeseries_table(
            duration_s=content["duration_s"], rate=content["rate_achieved"], caught_up_s=content["caught_up_s"]
        )
    return write_run(
        results,
        label=label,
        created_at=CREATED,
        config={
            "catchup_version": "test",
            "projection": {"name": "balances", "version": 1, "kind": "vectorised", "class": "Balances"},
        },
        environment=dict(catchup.environment) if catchup else {"cpu_model": "synthetic cpu", "logical_cores": 4},
        store=dict(catchup.store) if catchup else {"uri": "parquet:/synthetic/ledger", "backend": "parquet"},
        dataset=dict(catchup.dataset) if catchup and catchup.dataset else {"id": "synthetic", "params": {"seed": 7}},
        summary=[],
        verification=[],
        warnings=[],
        samples=[],
        kind="live",
        live=LiveSummary.from_json(content),
        timeseries=timeseries,
    )


NEVER = {
    "caught_up": False,
    "caught_up_s": None,
    "lag_after_catchup_s": None,
    "lag_growth_events_per_s": 800.0,
    "duration_s": 5.0,
    "max_duration_s": 5.0,
    "rate_requested": 20_000.0,
    "rate_achieved": 19_500.0,
    "peak_lag_events": 5_000,
    "peak_lag_s": 0.26,
    "model": {
        "replay_rate": 12_000.0,
        "load_s": 0.05,
        "tail_events": 1_000,
        "append_rate": 19_500.0,
        "predicted_caught_up_s": None,
        "measured_caught_up_s": None,
    },
}


def _png(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    image.load()
    return image


# --- the figure ----------------------------------------------------------------------------


def test_the_staleness_figure_is_a_valid_png_and_svg_with_axes_labelled_in_units(tmp_path: Path) -> None:
    runset = RunSet.of([live_run(tmp_path)])
    assert figures_for(runset) == ["staleness"] and FIGURE_NAMES[-1] == "staleness"
    (rendered,) = render_figures(runset)
    assert rendered.name == "staleness" and rendered.title == "Staleness over time"
    assert "100 ms" in rendered.caption and "caught up" in rendered.caption and "peak" in rendered.caption
    for content in (rendered.png, rendered.embedded_png):
        image = _png(content)
        assert image.width >= 800 and image.height >= 500
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 50
    root = ElementTree.fromstring(rendered.svg)
    assert root.tag.endswith("svg") and len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 20
    figure = draw_figure(runset, "staleness")
    assert figure.get_suptitle() == "Staleness over time while events keep arriving"
    seconds, events = figure.axes
    for axes in (seconds, events):
        assert axes.get_xlabel() == "time since the writers started (s)"
    assert seconds.get_ylabel().startswith("lag (s;") and events.get_ylabel() == "lag (events behind the head)"


def test_the_caught_up_line_sits_at_caught_up_s(tmp_path: Path) -> None:
    run = live_run(tmp_path, caught_up_s=1.2)
    figure = draw_figure(RunSet.of([run]), "staleness")
    for axes in figure.axes:
        (line,) = [line for line in axes.get_lines() if line.get_label() == "live: caught up at 1.2 s"]
        assert list(line.get_xdata()) == [1.2, 1.2] and line.get_linestyle() == "--"
    assert not [text for axes in figure.axes for text in axes.texts if "never" in text.get_text()]
    # the lag drawn is the timeseries', second by second
    (lag,) = [line for line in figure.axes[0].get_lines() if line.get_label() == "live: lag"]
    assert list(lag.get_ydata()) == run.timeseries.column("lag_s").to_pylist()


def test_a_run_that_never_caught_up_says_so_on_the_figure(tmp_path: Path) -> None:
    run = live_run(tmp_path, **NEVER)
    figure = draw_figure(RunSet.of([run]), "staleness")
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert texts == ["never caught up within 5 s (lag grows by 800 events/s)"]
    assert not [line for axes in figure.axes for line in axes.get_lines() if "caught up at" in str(line.get_label())]


def test_a_lag_spanning_decades_is_drawn_on_symlog_with_zero_kept(tmp_path: Path) -> None:
    rows = 101
    lag_events = [max(0, 40_000 - 1_000 * step) for step in range(rows)]
    table = pa.table(
        {
            "t_s": [step / 10 for step in range(rows)],
            "head": [40_000 + 2_000 * step for step in range(rows)],
            "position": [40_000 + 2_000 * step - lag for step, lag in enumerate(lag_events)],
            "lag_events": lag_events,
            "lag_s": [lag / 10_000 for lag in lag_events],
            "appended": [2_000 * step for step in range(rows)],
        }
    )
    figure = draw_figure(RunSet.of([live_run(tmp_path, timeseries=table, caught_up_s=4.0)]), "staleness")
    seconds, events = figure.axes
    assert seconds.get_yscale() == events.get_yscale() == "symlog"
    assert seconds.get_ylim()[0] == 0 and events.get_ylim()[0] == 0


def test_a_catch_up_figure_of_live_runs_only_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="figure frontier draws catch-up runs and these runs have none"):
        draw_figure(RunSet.of([live_run(tmp_path)]), "frontier")


# --- the report ----------------------------------------------------------------------------


def test_a_report_of_one_live_run_has_the_live_section_and_no_catch_up_figures(tmp_path: Path) -> None:
    run = live_run(tmp_path / "results")
    written = write_report([run], tmp_path / "report", ("html", "md"))
    assert sorted(path.name for path in written.figures) == ["staleness.png", "staleness.svg"]
    html, markdown = (path.read_text() for path in written.reports)
    assert "<h1>Live catch-up of balances from 30,000 events at 2k events/s (Parquet)</h1>" in html
    assert "while events keep arriving at 2k events/s: does it catch up, how long does it take, how stale" in html
    assert ">Live</h3>" in html and ">Catch-up</h3>" not in html
    assert (
        "Caught up with the head 1.2 s after the writers started, starting from a snapshot at position 29,000 "
        "with a tail of 1,000 events, while 2 writer(s) appended 1.99k events/s." in html
    )
    assert "Peak lag: 1.15 s (3,400 events behind the head)." in html
    assert (
        "After catching up the lag stayed at p50 50 ms, p95 90 ms, p99 0.1 s (max 0.12 s), against a sampling period of 0.1 s."
        in html
    )
    assert "predicted catching up after 0.13 s; measured 1.2 s, 9.23x the prediction." in html
    assert "The writers appended 1.99k events/s of the 2k events/s asked (100%)." in html
    assert "Verified: the tailing projection" in html
    for setting in ("snapshot interval k", "rate requested", "writers", "start from", "max duration"):
        assert f"<td>{setting}</td>" in html
    assert "intervals k" not in html and "repeats (after warm-up)" not in html
    assert _parse(html).tags.count("img") == 1
    assert re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown) == ["figures/staleness.png"]
    assert "could not keep up" not in html and 'class="alert' not in html


def test_a_run_that_never_caught_up_gets_the_models_verdict(tmp_path: Path) -> None:
    run = live_run(tmp_path / "results", **NEVER, dead_positions=[30_017, 30_400], writer_failures=["writer 2: lost"])
    (path,) = write_report([run], tmp_path / "never.html").reports
    html = path.read_text()
    assert "The projection never caught up within 5 s (lag grows by 800 events/s)" in html
    assert "λ = 19.5k events/s is at or above the replay rate μ = 12k events/s (λ ≥ μ)" in html
    assert "predicted it would never catch up (λ ≥ μ); it did not catch up." in html
    question = html.index(">The question</h2>")
    assert -1 < html.index("1 writer failure: fewer events arrived than planned") < question
    assert -1 < html.index("2 dead positions skipped as never committed: 30,017, 30,400") < question
    assert "<td>never (within 5 s)</td>" in html and "<td>never (λ ≥ μ)</td>" in html


def test_writers_below_90_percent_of_the_rate_are_a_plain_warning(tmp_path: Path) -> None:
    run = live_run(tmp_path / "results", rate_requested=50_000.0, rate_achieved=30_000.0)
    (path,) = write_report([run], tmp_path / "slow.html").reports
    html = path.read_text()
    warning = html.index('class="alert warning"')
    assert warning < html.index(">The question</h2>")
    assert "The writers could not keep up with the requested rate" in html
    assert (
        "The writers could not keep up: they appended 30k events/s, 60% of the 50k events/s asked, so this test "
        "measured a lower rate than asked" in html
    )
    assert "30k events/s (60%) SHORT" in html
    assert "warning: the writers could not keep up" in format_summary(run)


def test_a_failed_live_verification_is_an_error_first(tmp_path: Path) -> None:
    (path,) = write_report([live_run(tmp_path / "results", verified=False)], tmp_path / "bad.html").reports
    html = path.read_text()
    assert html.index('class="alert error"') < html.index(">The question</h2>")
    assert "Verification FAILED: the tailing projection" in html and "<td>DIVERGED</td>" not in html
    assert '<td class="bad">DIVERGED</td>' in html


def test_a_report_mixing_a_catch_up_run_and_a_live_run_of_one_dataset_has_all_five_figures(
    catchup: Run, results: Path, tmp_path: Path
) -> None:
    live = live_run(results, catchup, label="live-2k")
    runset = RunSet.of([catchup, live])
    assert runset.same_dataset and live.head == catchup.head == 30_000
    assert figures_for(runset) == list(FIGURE_NAMES)
    assert len(draw_figure(runset, "catchup_vs_interval").axes) == 1  # the live run is not drawn there
    labels = draw_figure(runset, "catchup_vs_interval").axes[0].get_legend_handles_labels()[1]
    assert labels and all(label.startswith("balances:") for label in labels)
    written = write_report([catchup, live], tmp_path, ("html", "md"))
    assert sorted(path.name for path in written.figures) == sorted(
        f"{name}.{kind}" for name in FIGURE_NAMES for kind in ("png", "svg")
    )
    html = written.reports[0].read_text()
    parsed = _parse(html)
    assert parsed.references and all(ref.startswith(("data:image/png;base64,", "#")) for ref in parsed.references)
    assert not {"script", "link", "iframe", "object", "embed"} & set(parsed.tags)
    assert no_external_reference(html)
    assert parsed.tags.count("img") == len(FIGURE_NAMES)
    assert "Different datasets" not in html
    assert "<h1>Catch-up compared: balances vs live-2k</h1>" in html
    assert "how long does the balances projection take to catch up with the event log" in html
    assert "while events keep arriving at 2k events/s" in html
    assert "The catch-up run (balances) answers the first question, the live run (live-2k) the second." in html
    assert ">Catch-up</h3>" in html and ">Live</h3>" in html
    assert f"All runs started from the same 30,000 events of dataset {catchup.dataset['id']}" in html
    assert "Pareto-optimal intervals" in html and "Caught up with the head 1.2 s" in html
    assert "<td>kind of run</td><td>catch-up</td><td>live</td>" in html
    assert "Figure 5. Staleness over time." in html


def test_show_prints_a_short_live_summary(tmp_path: Path) -> None:
    run = live_run(tmp_path, **NEVER)
    code, out, err = cli("show", str(run.path))
    assert (code, err) == (0, "")
    assert out == format_summary(run) + "\n"
    lines = out.splitlines()
    assert (
        lines[0]
        == f"live run {run.run_id}: balances over parquet:/synthetic/ledger (parquet), snapshot every 1,000 events"
    )
    assert "never caught up within 5 s (lag grows by 800 events/s)" in lines
    assert "model: replay rate 12,000 events/s, predicted never (rate >= replay rate), measured never" in lines
    caught = format_summary(live_run(tmp_path, label="fine")).splitlines()
    assert "caught up at 1.200 s" in caught
    assert "lag after catch-up: p50 0.050 s, p95 0.090 s, p99 0.100 s, max 0.120 s" in caught
    assert caught[-1] == "verified: yes; final head 39,950; 0 dead position(s); 0 writer failure(s)"


def test_catch_up_figures_are_unchanged_for_catch_up_runs(catchup: Run) -> None:
    assert figures_for(RunSet.of([catchup])) == list(CATCHUP_FIGURE_NAMES)


def test_the_live_question_agrees_with_one_projection_or_several(tmp_path: Path) -> None:
    one = live_run(tmp_path / "results", label="one")
    second = live_run(tmp_path / "results", label="other")
    other = replace(second, config={**second.config, "projection": {"name": "statement"}})
    assert live_question(RunSet.of([one])).startswith(
        "After a restart or a redeploy, the balances projection catches up while events keep arriving at 2k "
        "events/s: does it catch up, how long does it take, how stale is it meanwhile? Writer processes append "
        "events at that rate while the projection, started from its latest snapshot"
    )
    assert live_question(RunSet.of([one, other])).startswith(
        "After a restart or a redeploy, the balances and statement projections catch up while events keep arriving "
        "at 2k events/s: do they catch up, how long do they take, how stale are they meanwhile? Writer processes "
        "append events at that rate while each projection, started from its latest snapshot"
    )
