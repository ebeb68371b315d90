"""``catchup compare``: statistics, verdicts, refusals, baselines and the three output formats.

Verdicts whose outcome hangs on exact numbers (a shift inside the noise, a change just
inside the threshold, too few repeats, the same code measured twice) are tested on
synthetic runs: real run folders written with ``write_run`` whose samples are chosen
here, so the outcome cannot depend on the machine. What real measurements can show
without racing the machine's noise — a projection doing several times the work is
slower, mismatched runs are refused — is tested on real runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from bench.compare.judge import (
    FASTER,
    NOT_SIGNIFICANT,
    PASSED,
    SLOWER,
    TOO_FEW,
    UNCHANGED,
    CompareSettings,
    NotComparable,
    Side,
    compare,
)
from bench.compare.stats import compare_samples, repeats_needed, smallest_p_value
from bench.results import Run, write_run
from bench.results.tables import PASS_METRICS
from generators import LedgerParams, dataset_meta, generate
from stores import open_store
from tests.data import SMALL
from tests.runs import make_ledger, make_run
from tests.test_cli import run as cli
from tests.test_report_live import live_run

USER = Path(__file__).parent / "user_projections"
WORKLOAD = f"{USER / 'workload.py'}:Workload"
HEAVIER = f"{USER / 'workload.py'}:HeavierWorkload"
FORGETFUL = f"{USER / 'impure.py'}:Forgetful"
CREATED = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)
BASE = [0.100, 0.102, 0.098, 0.104, 0.096]  # a full replay's repeats, CV 3%


# -- the statistics ----------------------------------------------------------------------------


def test_the_smallest_reachable_p_value_is_two_over_the_orderings() -> None:
    assert smallest_p_value(3, 3) == pytest.approx(0.1)
    assert smallest_p_value(4, 4) == pytest.approx(2 / 70)
    assert smallest_p_value(5, 5) == pytest.approx(2 / 252)
    assert smallest_p_value(1, 5) == pytest.approx(1 / 3)
    assert (repeats_needed(0.05), repeats_needed(0.01), repeats_needed(0.001)) == (4, 5, 7)


def test_fully_separated_samples_reach_the_exact_smallest_p_value() -> None:
    result = compare_samples(BASE, [v * 2 for v in BASE])
    assert result.p_value == pytest.approx(2 / 252)
    assert result.ratio == pytest.approx(2.0)
    assert 1.8 < result.ratio_ci_low <= 2.0 <= result.ratio_ci_high < 2.2
    assert result.decidable(0.05) and not compare_samples(BASE[:3], BASE[:3]).decidable(0.05)


def test_identical_constant_samples_do_not_differ_and_a_zero_baseline_is_an_infinite_ratio() -> None:
    same = compare_samples([5.0] * 5, [5.0] * 5)
    assert (same.p_value, same.ratio, same.ratio_ci_low, same.ratio_ci_high) == (1.0, 1.0, 1.0, 1.0)
    assert compare_samples([0.0] * 5, [1.0] * 5).ratio == float("inf")


def test_samples_must_be_finite_and_present() -> None:
    from stores.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match="the baseline has no values"):
        compare_samples([], [1.0])
    with pytest.raises(InvalidParameter, match="the current holds a non-finite value"):
        compare_samples([1.0], [float("nan")])


# -- verdicts on synthetic runs ----------------------------------------------------------------------


def synthetic_run(results: Path, label: str, replay: list[float], metric: str = "replay_s", **changes: Any) -> Run:
    """A run folder whose k=0 ``metric`` repeats are ``replay``; everything else fixed and plain."""
    projection = {"name": "balances", "version": "1", "source_sha256": "a" * 64, **changes.pop("projection", {})}
    samples = pa.table(
        {
            "interval": [0] * len(replay),
            "repeat": list(range(len(replay))),
            "phase": ["snapshot_pass"] * len(replay),
            "metric": [metric] * len(replay),
            "value": replay,
            "unit": [PASS_METRICS[metric]] * len(replay),
        }
    )
    content: dict[str, Any] = {
        "config": {"projection": projection, "repeats": len(replay), "batch_size": 131072, "intervals": [0]},
        "environment": {
            "cpu_model": "Test CPU",
            "logical_cores": 2,
            "git": {"commit": "c0ffee1234567", "dirty": False},
        },
        "store": {"uri": "data/ledger", "backend": "parquet", "layout": "files", "head": 1_000_000},
        "dataset": {"id": "d4b5722fc40519bc", "params": {"accounts": 10_000, "seed": 42}},
    }
    for key, value in changes.items():
        content[key] = {**content[key], **value}
    return write_run(
        results,
        label=label,
        created_at=CREATED,
        summary=[],
        verification=[],
        warnings=[],
        samples=samples,
        **content,
    )


def verdict(tmp_path: Path, baseline: list[float], current: list[float], **settings: Any) -> str:
    before = synthetic_run(tmp_path, "before", baseline)
    after = synthetic_run(tmp_path, "after", current)
    result = compare(Side("b", (before,)), Side("c", (after,)), CompareSettings(**settings))
    (finding,) = result.findings
    return finding.verdict


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ([v * 1.5 for v in BASE], SLOWER),  # every repeat 50% slower: p = 0.008, beyond 10%
        ([v * 0.6 for v in BASE], FASTER),
        ([0.106, 0.108, 0.107, 0.109, 0.105], UNCHANGED),  # significant (every repeat slower), but 1.07x
        ([0.101, 0.099, 0.103, 0.097, 0.1], UNCHANGED),  # no difference, and the CI rules out 10%
    ],
)
def test_verdicts_follow_significance_and_the_threshold(tmp_path: Path, current: list[float], expected: str) -> None:
    assert verdict(tmp_path, BASE, current) == expected


def test_the_same_code_measured_twice_is_unchanged_and_passes_the_gate(tmp_path: Path) -> None:
    # Synthetic, not two real runs: whether two real runs of one code land within a threshold
    # depends on this machine's noise that minute (bench.perf.gate measures how often they do).
    before = synthetic_run(tmp_path, "before", BASE)
    after = synthetic_run(tmp_path, "after", list(reversed(BASE)))
    result = compare(Side("b", (before,)), Side("c", (after,)), CompareSettings())
    assert [finding.verdict for finding in result.findings] == [UNCHANGED]
    assert result.outcome == PASSED and not result.notes


def test_a_small_shift_inside_the_noise_is_not_significant(tmp_path: Path) -> None:
    noisy = [0.080, 0.125, 0.100, 0.140, 0.070]  # CV 27%
    shifted = [0.1442, 0.0721, 0.0824, 0.1030, 0.1288]  # the same values 3% slower, in another order
    assert verdict(tmp_path, noisy, shifted) == NOT_SIGNIFICANT


def test_a_slowdown_within_the_threshold_is_not_a_regression_but_one_beyond_a_lower_threshold_is(
    tmp_path: Path,
) -> None:
    assert verdict(tmp_path, BASE, [v * 1.08 for v in BASE]) == UNCHANGED
    assert verdict(tmp_path, BASE, [v * 1.08 for v in BASE], threshold=0.05) == SLOWER
    before = synthetic_run(tmp_path / "cli", "before", BASE)
    after = synthetic_run(tmp_path / "cli", "after", [v * 1.08 for v in BASE])
    code, out, _ = cli("compare", str(before.path), str(after.path), "--threshold", "7.5%")
    assert code == 3 and out.splitlines()[-1].startswith("result: 1 slower beyond 7.5%: balances k=0 replay 1.08x")


def test_three_repeats_are_too_few_and_the_cli_says_so_plainly(tmp_path: Path) -> None:
    assert verdict(tmp_path / "a", BASE[:3], [v * 2 for v in BASE[:3]]) == TOO_FEW
    code, out, err = cli("compare", str(tmp_path / "a"), str(tmp_path / "a"))
    assert code == 1  # a folder of two runs of one projection: ambiguous
    before, after = sorted((tmp_path / "a").iterdir())
    code, out, err = cli("compare", str(before), str(after))
    assert code == 1
    assert err == (
        "Error: too few samples to decide 1 of 1 comparisons: with 3 baseline and 3 current repeats the smallest "
        "p-value Mann-Whitney U can reach is 0.1, not below alpha 0.05; run both with --repeats 5 or more\n"
    )
    assert out.splitlines()[-1] == "result: no measurement is significantly slower beyond 10% (1 too few samples)"


def test_the_table_is_exact(tmp_path: Path) -> None:
    synthetic_run(tmp_path, "before", BASE)
    synthetic_run(tmp_path, "after", [v * 1.5 for v in BASE], projection={"source_sha256": "b" * 64})
    before, after = sorted(tmp_path.iterdir(), key=lambda p: p.name, reverse=True)  # "before" sorts after "after"
    code, out, err = cli("compare", str(before), str(after))
    assert (code, err) == (3, "")
    assert out == (
        f"baseline  {before}: balances {before.name} (commit c0ffee1234, 5 repeats)\n"
        f"current   {after}: balances {after.name} (commit c0ffee1234, 5 repeats)\n"
        "Mann-Whitney U, two-sided (alpha 0.05) on each run's raw repeats; time ratio = current / baseline median "
        "(a rate inverted, so above 1 is slower), with a bootstrap 95% CI; threshold 10%\n"
        "\n"
        "projection  k  measurement  baseline  current  time ratio [95% CI]       p  verdict\n"
        "balances    0  replay          0.1 s   0.15 s     1.50 [1.41–1.59]  0.0079  slower\n"
        "\n"
        "note: balances: the projection's source differs: that is the change being measured\n"
        "result: 1 slower beyond 10%: balances k=0 replay 1.50x\n"
    )


def test_markdown_fits_a_pull_request_comment_and_json_carries_the_raw_values(tmp_path: Path) -> None:
    before = synthetic_run(tmp_path, "before", BASE)
    after = synthetic_run(tmp_path, "after", [v * 1.5 for v in BASE])
    code, out, _ = cli("compare", str(before.path), str(after.path), "--format", "markdown")
    lines = out.splitlines()
    assert code == 3
    assert lines[0] == "### catchup compare: 1 slower beyond 10%"
    assert "| projection | k | measurement | baseline | current | time ratio [95% CI] | p | verdict |" in lines
    assert "| balances | 0 | replay | 0.1 s | 0.15 s | 1.50 [1.41–1.59] | 0.0079 | **slower** |" in lines
    assert "**Result:** 1 slower beyond 10%: balances k=0 replay 1.50x." in lines
    code, out, _ = cli("compare", str(before.path), str(after.path), "--format", "json")
    data = json.loads(out)
    assert code == 3 and data["exit_code"] == 3
    assert data["counts"] == {SLOWER: 1, FASTER: 0, UNCHANGED: 0, NOT_SIGNIFICANT: 0, TOO_FEW: 0}
    (finding,) = data["comparisons"]
    assert finding["baseline"]["values"] == BASE and finding["verdict"] == SLOWER
    assert finding["time_ratio"] == pytest.approx(1.5) and finding["p_value"] == pytest.approx(2 / 252)


def test_a_lower_rate_is_judged_slower_by_the_time_it_stands_for(tmp_path: Path) -> None:
    rates = [1e6 / v for v in BASE]
    before = synthetic_run(tmp_path, "before", rates, metric="events_per_s")
    after = synthetic_run(tmp_path, "after", [v / 1.5 for v in rates], metric="events_per_s")
    code, out, _ = cli("compare", str(before.path), str(after.path), "--metric", "events_per_s")
    assert code == 3
    assert "balances    0  replay rate  10M events/s  6.67M events/s     1.50 [1.41–1.59]  0.0079  slower" in out
    code, out, err = cli("compare", str(before.path), str(after.path))  # the default metrics: not in these runs
    assert (code, out) == (1, "")
    assert err == (
        "Error: the runs share no measurement of replay_s, catchup_s; "
        "choose --metric from what both measured, or compare runs of the same intervals\n"
    )


@pytest.mark.parametrize(
    ("changes", "differs"),
    [
        ({"projection": {"version": "2"}}, "projection version (1 against 2)"),
        ({"store": {"backend": "postgres", "layout": "typed"}}, "store (parquet files against postgres typed)"),
        ({"config": {"batch_size": 1024}}, "batch size (131072 against 1024)"),
    ],
)
def test_runs_of_different_work_are_refused_unless_forced(tmp_path: Path, changes: dict, differs: str) -> None:
    before = synthetic_run(tmp_path, "before", BASE)
    after = synthetic_run(tmp_path, "after", BASE, **changes)
    code, out, err = cli("compare", str(before.path), str(after.path))
    assert (code, out) == (1, "")
    assert err == (
        f"Error: balances: the baseline and the current differ in {differs}; "
        "compare only runs of the same work, or pass --force to compare anyway\n"
    )
    code, out, err = cli("compare", str(before.path), str(after.path), "--force")
    assert code == 0 and f"note: balances: compared despite a different {differs} (--force)" in out


def test_bad_options_and_inputs_are_one_line_errors(tmp_path: Path) -> None:
    before = synthetic_run(tmp_path, "before", BASE)
    assert cli("compare", str(before.path), str(tmp_path / "nope")) == (
        1,
        "",
        f"Error: no run at {tmp_path / 'nope'}; give a run folder, its run.json, a folder of runs "
        "(one per projection) or baseline:NAME\n",
    )
    code, _, err = cli("compare", str(before.path), str(before.path), "--threshold", "ten")
    assert code == 2 and err.startswith("Error: Invalid value for '--threshold': 'ten' is not a percentage")
    code, _, err = cli("compare", str(before.path), str(before.path), "--metric", "speed")
    assert code == 2 and "'speed' is not one of 'replay_s', 'events_per_s', 'catchup_s'" in err
    code, _, err = cli("compare", str(before.path), str(before.path), "--alpha", "1.5")
    assert (code, err) == (
        1,
        "Error: --alpha 1.5 is out of range; use a probability between 0 and 1, such as 0.05\n",
    )
    live = live_run(tmp_path / "live")
    code, _, err = cli("compare", str(before.path), str(live.path))
    assert (code, err) == (1, f"Error: {live.path} is a live run; compare reads catch-up runs (made by catchup run)\n")


# -- real runs ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_ledger(tmp_path_factory.mktemp("compare") / "ledger")


def test_a_projection_doing_more_work_per_event_is_judged_slower_and_exits_3(ledger: str, tmp_path: Path) -> None:
    before = make_run(ledger, tmp_path, WORKLOAD, label="before", intervals=(0, 10_000), repeats=5)
    after = make_run(ledger, tmp_path, HEAVIER, label="after", intervals=(0, 10_000), repeats=5)
    code, out, err = cli("compare", str(before.path), str(after.path))
    assert (code, err) == (3, "")
    rows = [line for line in out.splitlines() if line.startswith("workload  ")]
    assert len(rows) == 4  # replay at k=0 and 10k, the expected and worst catch-up at 10k
    # The full replay costs several times more: every repeat slower. (A catch-up of a few ms may
    # meet a pause of the machine and miss significance; the gate needs one slower row to fail.)
    assert rows[0].startswith("workload      0  replay ") and rows[0].endswith("  0.0079  slower")
    assert not any(row.endswith("faster") for row in rows)
    assert "note: workload: the projection's source differs: that is the change being measured" in out
    assert out.splitlines()[-1].startswith("result: ") and " slower beyond 10%: workload k=0 replay " in out


def test_runs_over_different_datasets_are_refused(ledger: str, tmp_path: Path) -> None:
    other_params = LedgerParams(events=20_000, accounts=300, currencies=("USD",), seed=8)
    other = make_ledger(tmp_path / "other", other_params)
    before = make_run(ledger, tmp_path, "balances", label="before", intervals=(0,), repeats=1)
    after = make_run(other, tmp_path, "balances", label="after", intervals=(0,), repeats=1)
    with pytest.raises(NotComparable) as refused:
        compare(Side("b", (before,)), Side("c", (after,)), CompareSettings())
    assert str(refused.value) == (
        f"balances: the baseline and the current differ in dataset (30,000 events of dataset {before.dataset['id']} "
        f"(accounts 400, seed 7) against 20,000 events of dataset {after.dataset['id']} (accounts 300, seed 8)); "
        "compare only runs of the same work, or pass --force to compare anyway"
    )


def test_a_parquet_run_and_a_postgres_run_are_refused_as_different_stores(
    ledger: str, tmp_path: Path, pg_store_uri
) -> None:
    uri = pg_store_uri("jsonb")
    with open_store(uri) as store:
        store.load(generate(SMALL, batch_size=8_192), dataset_meta(SMALL))
    before = make_run(ledger, tmp_path, "balances", label="parquet", intervals=(0,), repeats=1)
    after = make_run(uri, tmp_path, "balances", label="postgres", intervals=(0,), repeats=1)
    with pytest.raises(NotComparable, match=r"differ in store \(parquet files against postgres jsonb\)"):
        compare(Side("b", (before,)), Side("c", (after,)), CompareSettings())


# -- baselines ----------------------------------------------------------------------------------------


def test_a_run_saved_as_baseline_is_compared_by_name_on_this_machine(
    ledger: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATCHUP_MACHINE", "ci-2core")
    results = tmp_path / "results"
    args = ("run", ledger, "-p", WORKLOAD, "--intervals", "0", "--repeats", "5", "-q", "--out", str(results))
    code, out, err = cli(*args, "--save-baseline", "main")
    assert (code, err) == (0, "")
    saved = results / "baselines" / "ci-2core" / "main" / "workload"
    assert out.splitlines()[-1] == f"baseline main of ci-2core: {saved}"
    assert sorted(p.name for p in saved.iterdir()) == ["run.json", "samples.parquet"]
    assert cli(*args, "--label", "current")[0] == 0
    (current,) = results.glob("*-current")
    code, out, err = cli("compare", "baseline:main", str(current), "--results", str(results), "--threshold", "100%")
    assert (code, err) == (0, "")
    baseline_run = json.loads((saved / "run.json").read_text())["run_id"]
    assert out.startswith(f"baseline  baseline:main: workload {baseline_run} (commit ")
    assert "workload    0  replay" in out

    code, out, err = cli("baseline", "list", "--results", str(results))
    assert code == 0 and out.startswith("ci-2core  main  workload  ")

    code, out, err = cli("compare", "baseline:release", str(current), "--results", str(results))
    assert (code, out) == (1, "")
    assert err == (
        f"Error: no baseline release for machine ci-2core in {results / 'baselines'} (baselines of ci-2core: main); "
        "save one with catchup run ... --save-baseline NAME\n"
    )
    monkeypatch.setenv("CATCHUP_MACHINE", "laptop")
    code, _, err = cli("compare", "baseline:main", str(current), "--results", str(results))
    assert err == (
        f"Error: no baseline main for machine laptop in {results / 'baselines'} (laptop has no baselines yet; "
        "main exists for ci-2core (set CATCHUP_MACHINE to use it)); save one with catchup run ... --save-baseline NAME\n"
    )


def test_saving_a_baseline_again_replaces_it_whole(
    ledger: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.results.baselines import load_baseline, save_baseline

    monkeypatch.setenv("CATCHUP_MACHINE", "box")
    first = make_run(ledger, tmp_path, "balances", label="first", intervals=(0,), repeats=1)
    second = make_run(ledger, tmp_path, "balances", label="second", intervals=(0,), repeats=1)
    save_baseline(first, "main", tmp_path)
    path = save_baseline(second, "main", tmp_path)
    assert [run.run_id for run in load_baseline("main", tmp_path)] == [second.run_id]
    assert sorted(p.name for p in path.parent.iterdir()) == ["balances"]  # no temporary or old copy left


def test_a_diverged_run_or_a_bad_name_never_becomes_a_baseline(ledger: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    code, out, err = cli("run", ledger, "-p", FORGETFUL, "--intervals", "0,10k", "--repeats", "1", "-q",
                         "--out", str(results), "--save-baseline", "main")  # fmt: skip
    assert code == 4 and not (results / "baselines").exists()
    code, out, err = cli("run", ledger, "-p", "balances", "--out", str(results), "--save-baseline", "a/b")
    assert (code, out) == (1, "")
    assert err == "Error: baseline name 'a/b' is not allowed; use 1 to 64 of A-Z a-z 0-9 _ . -\n"


# -- the gate's own benchmark ---------------------------------------------------------------------


def test_the_gate_benchmark_slows_a_projection_without_changing_its_name_or_state() -> None:
    from bench.perf.gate import slowed
    from projections import BalancesPerEvent
    from tests.data import events_of

    slow = slowed(BalancesPerEvent, 0.5)
    assert (slow.name, slow.version) == (BalancesPerEvent.name, BalancesPerEvent.version)
    plain, slower = BalancesPerEvent(), slow()
    for batch in events_of().to_batches(max_chunksize=5_000):
        plain.apply(batch)
        slower.apply(batch)
    assert slower.digest() == plain.digest()
