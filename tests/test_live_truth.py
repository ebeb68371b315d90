"""A live run that measured nothing like the load asked for is no success, and says so first.

Real faults: the Parquet store sits on a 2 MB tmpfs, so the writers' appends fail with
ENOSPC and every writer dies; and a rate far beyond what one writer on this machine can
append (1e9 events/s), so the achieved rate is below a tenth of the requested one.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.cli.exits import Exit
from bench.report.write import write_report
from bench.results import RATE_FAILED, LiveSummary, Run, list_runs, load_run
from tests.runs import make_ledger
from tests.test_cli import run as cli
from tests.test_results import live_results

FAST_FAIL = ["--interval", "1M", "--start-from", "zero", "--max-duration", "20", "--quiet"]


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 2 MB tmpfs: room for the 30,000-event store, not for what two writers at 1M events/s append."""
    folder = tmp_path_factory.mktemp("full-disk")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture(scope="module")
def writers_died(full_disk: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, Run]:
    """``catchup live`` on the full disk: (exit code, stdout, stderr, the run it wrote)."""
    store = make_ledger(full_disk / "ledger")
    results = tmp_path_factory.mktemp("died-results")
    code, out, err = cli(
        "live", store, "-p", "balances", "--rate", "1M", "--writers", "2", "--observe", "15", *FAST_FAIL,
        "--out", str(results),
    )  # fmt: skip
    (folder,) = list_runs(results)  # the folder is written: it is the evidence
    return code, out, err, load_run(folder)


def test_a_live_run_whose_writers_all_died_of_a_full_disk_exits_5(writers_died: tuple[int, str, str, Run]) -> None:
    code, out, err, run = writers_died
    live = run.live
    assert live is not None and live.every_writer_failed
    assert len(live.writer_failures) == 2
    assert all("No space left on device" in failure for failure in live.writer_failures)
    assert live.shortfall == (
        f"not a success: every writer failed (2 of 2), so the run measured {live.rate_achieved:,.0f} events/s "
        "of the 1,000,000 requested; the lag figures do not describe the load asked for"
    )
    assert code == Exit.LIVE_SHORTFALL == 5
    assert err == f"Error: live run {run.run_id} is {live.shortfall}\n"
    # Verification still ran on what the writers committed before the disk filled, and is reported.
    assert live.verified and "\nverified: yes; " in out
    assert out.splitlines()[0] == f"warning: {live.shortfall}"
    assert run.warnings[0] == live.shortfall


def test_show_leads_with_the_shortfall_once(writers_died: tuple[int, str, str, Run]) -> None:
    *_, run = writers_died
    assert run.live is not None
    code, out, err = cli("show", str(run.path))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"warning: {run.live.shortfall}"
    assert sum(run.live.shortfall in line for line in lines) == 1


def test_the_report_leads_with_the_shortfall(writers_died: tuple[int, str, str, Run], tmp_path: Path) -> None:
    *_, run = writers_died
    assert run.live is not None
    html_path, md_path = write_report([run], tmp_path / "report", ("html", "md")).reports
    html = html_path.read_text()
    first_alert = html.index('class="alert')
    assert html.index("Live run not a success") < html.index('class="alert', first_alert + 1)
    assert html.index("Live run not a success") < html.index(">The question</h2>")
    markdown = md_path.read_text()
    assert markdown.index("Live run not a success") < markdown.index("writer failure")
    assert markdown.count(run.live.shortfall) == 1


def test_a_rate_far_beyond_the_machine_is_no_success(tmp_path: Path) -> None:
    store = make_ledger(tmp_path / "ledger")
    code, out, err = cli(
        "live", store, "-p", "balances", "--rate", "1000M", "--writers", "1", "--observe", "0.5", *FAST_FAIL,
        "--max-duration", "3", "--out", str(tmp_path / "results"),
    )  # fmt: skip
    (folder,) = list_runs(tmp_path / "results")
    run = load_run(folder)
    live = run.live
    assert live is not None and live.writer_failures == () and live.verified
    assert live.rate_achieved < RATE_FAILED * 1e9
    assert live.shortfall == (
        f"not a success: the writers appended {live.rate_achieved:,.0f} events/s of the 1,000,000,000 requested, "
        "below 10% of it; the lag figures do not describe the load asked for"
    )
    assert (code, err) == (Exit.LIVE_SHORTFALL, f"Error: live run {run.run_id} is {live.shortfall}\n")
    assert out.splitlines()[0] == f"warning: {live.shortfall}" and "\nverified: yes; " in out


@pytest.mark.parametrize(
    ("changes", "failed"),
    [
        ({"rate_requested": 20_000.0, "rate_achieved": 2_000.0}, False),  # a tenth exactly: short, not failed
        ({"rate_requested": 20_000.0, "rate_achieved": 1_999.0}, True),
        ({"writers": 2, "writer_failures": ["writer 0: OSError: disk full"]}, False),  # one of two still wrote
        ({"writers": 2, "writer_failures": ["writer 0: OSError: disk full", "writer 1: killed"]}, True),
    ],
)
def test_the_shortfall_is_judged_at_a_tenth_and_at_every_writer(changes: dict[str, object], failed: bool) -> None:
    live = LiveSummary.from_json(live_results(**changes))
    assert (live.shortfall is not None) == failed
