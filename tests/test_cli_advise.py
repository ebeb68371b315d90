"""``catchup advise`` on the command line: its exact output in each format, and its one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli_calls import one_error_line, run
from tests.runs import line_run

# L = 20 ms, μ_tail = 2M events/s, ±1 ms by repeat; μ = 1.6M events/s; δ = 4 ms, b = 50 kB; head 1M.
TABLE = """\
advice: snapshot every 100k events (rto: the RTO at the ingest rate: the largest k whose worst case meets it)
inputs: RTO 0.1 s, rate 50k events/s, a restart every 6 h, log 500M events, retain 2
runs: 20261201T100000Z-balances

- fit over 12 warm catch-ups of balances v1 (dataset d1, head 1,000,000): catch-up = 20 ms + tail / 2M events/s; \
R² 0.998, residuals RMS 816 µs, tails 5,000 to 99,999 events; the advice uses this warm line (catchup run --cold \
measures cold restarts)
- μ full replay 1.6M events/s (the median of 3 repeats of the k=0 pass); δ 4 ms and b 50 kB per snapshot (the median \
over k=10k,100k of each pass's seconds and bytes per snapshot; the state is assumed as measured)
- without snapshots, a new projection over 500M events replays for 5.21 min at μ; stale 5.38 min while writes \
continue at 50k events/s
- k_rto = μ_tail (RTO (1 − λ/μ_tail) − L) = 155k events at 50k events/s: the largest k whose worst case meets the \
RTO 0.1 s
- the cost optimum k* 4.16M would miss the RTO (worst 2.15 s at 50k events/s): k_rto binds
- recommended k = 100k: the RTO at the ingest rate: the largest k whose worst case meets it; worst staleness 71.8 ms \
at 50k events/s against the RTO 0.1 s; snapshots take 0.2% of a core; k* = sqrt(2 λ δ μ_tail M) = 4.16M (Young 1974) \
with a restart every 6 h

   k             expected    worst  measured worst  snapshot CPU  snapshots/day  meets RTO
----  ---------  --------  -------  --------------  ------------  -------------  ---------  --------------
 10k   measured   23.1 ms  25.6 ms           25 ms            2%        432,000        yes
 20k  predicted   25.6 ms  30.8 ms               -            1%        216,000        yes
 25k  predicted   26.9 ms  33.3 ms               -          0.8%        172,800        yes
 50k  predicted   33.3 ms  46.2 ms               -          0.4%         86,400        yes
100k   measured   46.2 ms  71.8 ms           70 ms          0.2%         43,200        yes  <- recommended
200k  predicted   71.8 ms  0.123 s               -          0.1%         21,600         NO

staleness = (L + tail/μ_tail) / (1 − λ/μ_tail) while writes continue (expected tail k/2, worst k); measured worst = \
a run's worst catch-up, without writes; snapshot CPU = λδ/k of one core
storage retained: 2 × 50 kB = 100 kB, whatever k (one snapshot holds the whole state)
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("advise-cli")
    line_run(folder, intervals=(0, 10_000, 100_000), head=1_000_000, noise_s=0.001)
    return folder


def advise(results: Path, *args: str) -> tuple[int, str, str]:
    return run("advise", "latest", "--results", str(results), *args)


def test_the_table(results: Path) -> None:
    code, out, err = advise(results, "--rto", "100ms", "--rate", "50k", "--restarts", "4/day", "--log-size", "500M")
    assert (code, err) == (0, "")
    assert out == TABLE


def test_a_run_folder_and_the_mtbf_give_the_same_advice(results: Path) -> None:
    folder = next(path for path in results.iterdir() if (path / "run.json").is_file())
    code, out, _ = run("advise", str(folder), "--rto", "0.1s", "--rate", "50000", "--mtbf", "6h", "--log-size", "500M")
    assert code == 0 and out == TABLE


def test_markdown_with_a_peak_rate(results: Path) -> None:
    code, out, err = advise(results, "--rto", "100ms", "--rate", "50k", "--peak-rate", "200k", "--format", "markdown")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        "**Advice: snapshot every 100k events (rto-at-peak: the RTO at the peak rate: the largest k whose worst case "
        "meets it there).**"
    )
    assert (
        lines[2]
        == "Inputs: RTO 0.1 s, rate 50k events/s, peak 200k events/s, retain 2. Runs: `20261201T100000Z-balances`."
    )
    header = "| k | source | expected | worst | worst at peak | measured worst | snapshot CPU | snapshots/day | meets RTO |   |"
    at = lines.index(header)
    assert lines[at + 1] == "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    assert lines[at + 2] == "| 10k | measured | 23.1 ms | 25.6 ms | 27.8 ms | 25 ms | 2% | 432,000 | yes |  |"
    assert (
        "| **100k** | **measured** | **46.2 ms** | **71.8 ms** | **77.8 ms** | **70 ms** | **0.2%** | **43,200** "
        "| **yes** | **<- recommended** |"
    ) in lines
    assert lines[-1] == "storage retained: 2 × 50 kB = 100 kB, whatever k (one snapshot holds the whole state)."


def test_json(results: Path) -> None:
    code, out, _ = advise(results, "--rto", "10s", "--rate", "5k", "--format", "json")
    assert code == 0
    advice = json.loads(out)
    assert (advice["interval"], advice["binding"]) == (10_000_000, "rto")
    assert advice["k_rto"] == pytest.approx(2e6 * (10 * (1 - 5_000 / 2e6) - 0.02))
    assert advice["fit"]["warm"]["tail_rate"] == pytest.approx(2e6)
    assert advice["reasons"][-2].startswith("k = 10M is beyond the largest measured k (100k): an extrapolation")
    recommended = [row for row in advice["candidates"] if row["recommended"]]
    assert [row["interval"] for row in recommended] == [10_000_000] and recommended[0]["meets_rto"]


def test_no_interval_meets_an_rto_below_the_fixed_cost(results: Path) -> None:
    code, out, err = advise(results, "--rto", "10ms", "--rate", "50k")
    assert (code, err) == (0, "")  # an answer, not an error: the reasons say why and what would
    assert out.splitlines()[0] == (
        "advice: no interval meets the RTO (fixed-cost: the fixed cost of a catch-up alone uses up the RTO: "
        "no k meets it)"
    )
    assert (
        "- no k meets the RTO 10 ms: at 50k events/s the fixed cost L 20 ms alone exceeds RTO × (1 − λ/μ_tail) = "
        "9.75 ms; what would: a longer RTO"
    ) in out
    assert "<- recommended" not in out


def test_a_rate_the_projection_cannot_keep_up_with(results: Path) -> None:
    code, out, _ = advise(results, "--rto", "30s", "--rate", "5M")
    assert code == 0
    assert out.splitlines()[0] == (
        "advice: no interval meets the RTO (never-catches-up: writes arrive at least as fast as the tail replays: "
        "no k catches up)"
    )
    assert "(μ_tail 2M events/s), so a restarted projection never catches up; what would: a faster projection" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--rto", "30x", "--rate", "5k"),
            "Error: Invalid value for '--rto': '30x' is not a duration; use a number with a unit: 500ms, 30s, 5m, "
            "2h or 1d (no unit: seconds). Try 'catchup advise --help'.",
        ),
        (
            ("--rto", "30s", "--rate", "fast"),
            "Error: Invalid value for '--rate': 'fast' is not a rate; use events per second such as 1000, 20k or "
            "1.5M. Try 'catchup advise --help'.",
        ),
        (
            ("--rto", "30s", "--rate", "5k", "--restarts", "4/fortnight"),
            "Error: Invalid value for '--restarts': '4/fortnight' is not a frequency; use a count per period: 4/day, "
            "1/h, 10/week (periods s, min, h, day, week). Try 'catchup advise --help'.",
        ),
        (
            ("--rto", "30s", "--rate", "5k", "--storage-budget", "10 parsecs"),
            "Error: Invalid value for '--storage-budget': '10 parsecs' is not a size; use a number of bytes with a "
            "unit: 500MB, 10GB, 1.5TB or 512MiB (no unit: bytes). Try 'catchup advise --help'.",
        ),
        (
            ("--rto", "0s", "--rate", "5k"),
            "Error: Invalid value for '--rto': '0s' is not above 0; use a number with a unit: 500ms, 30s, 5m, 2h or "
            "1d (no unit: seconds). Try 'catchup advise --help'.",
        ),
        (
            ("--rto", "30s", "--rate", "5k", "--restarts", "4/day", "--mtbf", "6h"),
            "Error: --restarts and --mtbf both given; give one: how often (4/day) or how long between (6h). "
            "Try 'catchup advise --help'.",
        ),
        (
            ("--rto", "30s", "--rate", "5k", "--peak-rate", "1k"),
            "Error: --peak-rate 1000 is below rate 5000; a peak is at least the ingest rate",
        ),
    ],
)
def test_bad_options_are_one_line(results: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = advise(results, *args)
    assert code in (1, 2) and out == ""
    assert one_error_line(err) == message
    assert code == (1 if "Try 'catchup" not in message else 2)


def test_runs_of_different_projections_are_refused(tmp_path: Path) -> None:
    first = line_run(tmp_path)
    other = line_run(tmp_path, projection="statement")
    code, out, err = run("advise", str(first.path), str(other.path), "--rto", "30s", "--rate", "5k")
    assert (code, out) == (1, "")
    assert one_error_line(err) == (
        f"Error: runs {first.run_id} (balances v1, dataset d1, head 2,000,000) and {other.run_id} (statement v1, "
        "dataset d1, head 2,000,000) differ; advise fits one projection over one dataset: give runs of the same "
        "projection version and data"
    )


def test_runs_of_different_datasets_are_refused(tmp_path: Path) -> None:
    first = line_run(tmp_path)
    other = line_run(tmp_path, dataset_id="d2", head=1_000_000)
    code, _, err = run("advise", str(first.path), str(other.path), "--rto", "30s", "--rate", "5k")
    assert code == 1
    assert "(balances v1, dataset d2, head 1,000,000) differ; advise fits one projection over one dataset" in err


def test_too_few_intervals_to_fit(tmp_path: Path) -> None:
    line_run(tmp_path, intervals=(0, 1))
    code, out, err = run("advise", "latest", "--results", str(tmp_path), "--rto", "30s", "--rate", "5k")
    assert (code, out) == (1, "")
    assert one_error_line(err) == (
        "Error: the warm catch-ups were measured at 1 distinct tail(s) and a line needs 2; measure at least two "
        "intervals with different tails: catchup run data/ledger -p balances --intervals 10k,1M"
    )


def test_latest_without_runs_and_a_missing_folder(tmp_path: Path) -> None:
    code, _, err = run("advise", "latest", "--results", str(tmp_path), "--rto", "30s", "--rate", "5k")
    assert code == 1
    assert one_error_line(err) == (
        f"Error: {tmp_path} holds no catch-up run for latest; make one with catchup run STORE -p NAME"
    )
    code, _, err = run("advise", str(tmp_path / "gone"), "--rto", "30s", "--rate", "5k")
    assert code == 1
    assert one_error_line(err) == f"Error: no run at {tmp_path / 'gone'}; a run is a folder holding run.json"


def test_verify_refuses_an_interval_beyond_the_head(results: Path, tmp_path: Path) -> None:
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    code, out, err = advise(copy, "--rto", "10s", "--rate", "5k", "--verify")
    assert code == 1 and out.startswith("advice: snapshot every 10M events")
    assert one_error_line(err) == (
        "Error: the recommended k=10M exceeds the runs' head 1,000,000: a run there takes no snapshot, so it cannot "
        "be measured here; give --store, one of more than 10M events"
    )
    assert sorted(path.name for path in copy.iterdir()) == sorted(path.name for path in results.iterdir())


def test_verify_with_no_interval_to_verify(results: Path) -> None:
    code, _, err = advise(results, "--rto", "10ms", "--rate", "50k", "--verify")
    assert code == 1
    assert one_error_line(err) == "Error: nothing to verify: no interval meets the RTO (fixed-cost)"
