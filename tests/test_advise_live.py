"""Live runs given to ``catchup advise`` beside catch-up runs: the tail rate they measured while writes continued."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.advise.fit import LIVE, fit_runs, live_tail_rate
from bench.advise.model import worst_staleness
from bench.results import Run
from tests.cli_calls import one_error_line, run
from tests.runs import line_run
from tests.test_report_live import live_run
from tests.test_results import live_results, live_summary

# live_results' model: μ 12,000/s, δ 2 ms every K = 1,000, L 50 ms, T 1,000, λ 1,990/s, caught up at 1.2 s,
# corrected by CPU_RULE to μ_eff 9,375/s.
MU_PRIME = 1 / (1 / 12_000 + 0.002 / 1_000)
SHARE = 9_375 / MU_PRIME


def _model(**overrides: Any) -> dict[str, Any]:
    model: dict[str, Any] = dict(live_results()["model"])
    model.update(overrides)
    return model


def test_the_tail_rate_solves_the_live_model_at_the_measured_time() -> None:
    rate, note = live_tail_rate(live_summary())
    replayed = (1_000 + 1_990 * 1.2) / (1.2 - 0.05 / SHARE)  # r μ'
    assert note is None and rate == pytest.approx(1 / (SHARE / replayed - 0.002 / 1_000))
    # Without a correction the share is 1: the run had the machine's cores it needed.
    plain, _ = live_tail_rate(live_summary(model=_model(correction="none", effective_replay_rate=MU_PRIME)))
    assert plain == pytest.approx(1 / (1 / ((1_000 + 1_990 * 1.2) / (1.2 - 0.05)) - 0.002 / 1_000))
    # A run from before schema 4 (no correction recorded) counts as uncorrected.
    old, _ = live_tail_rate(live_summary(model=_model(effective_replay_rate=None, correction=None, cpu=None)))
    assert old == pytest.approx(plain)


def test_a_live_run_that_never_caught_up_measures_no_tail_rate() -> None:
    never = live_summary(caught_up=False, caught_up_s=None, lag_after_catchup_s=None, lag_growth_events_per_s=500.0)
    assert live_tail_rate(never) == (
        None,
        "it never caught up at 1.99k events/s: the tail replayed at 1.99k events/s or less there",
    )
    within = live_summary(caught_up_s=0.01)
    assert live_tail_rate(within) == (None, "it caught up within its snapshot load: no tail to measure")


@pytest.fixture
def line(tmp_path: Path) -> Run:
    return line_run(tmp_path, intervals=(0, 10_000, 100_000), head=1_000_000, noise_s=0.001)


def test_the_advice_replays_at_the_live_runs_median_and_keeps_the_lines_fixed_cost(line: Run, tmp_path: Path) -> None:
    slow = live_run(tmp_path, line, label="slow", caught_up_s=1.5)
    fast = live_run(tmp_path, line, label="fast", caught_up_s=1.3)
    never = live_run(
        tmp_path, line, label="never", caught_up=False, caught_up_s=None, lag_after_catchup_s=None,
        lag_growth_events_per_s=500.0,
    )  # fmt: skip
    fit = fit_runs([line, slow, fast, never])
    assert fit.live is not None
    rates = [live_tail_rate(run.live)[0] for run in (slow, fast)]  # type: ignore[arg-type]
    assert fit.live.tail_rate == pytest.approx(sum(rates) / 2)  # the median of two
    assert [drain.run_id for drain in fit.live.drains] == [slow.run_id, fast.run_id, never.run_id]
    assert fit.live.drains[2].tail_rate is None and fit.live.drains[2].note is not None
    assert fit.line.kind == LIVE and fit.line.tail_rate == fit.live.tail_rate
    assert fit.line.fixed_s == fit.catchup_line.fixed_s and fit.catchup_line.kind == "warm"

    code, out, err = run(
        "advise", str(line.path), str(slow.path), str(fast.path), str(never.path),
        "--rto", "30s", "--rate", "1k", "--format", "json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    advice = json.loads(out)
    assert advice["fit"]["line"] == LIVE and advice["fit"]["live"]["tail_rate"] == pytest.approx(fit.live.tail_rate)
    for candidate in advice["candidates"]:
        assert candidate["worst_s"] == pytest.approx(worst_staleness(fit.line, candidate["interval"], 1_000))
    (reason,) = [r for r in advice["reasons"] if r.startswith("while writes continued, live runs replayed")]
    assert f"{never.run_id} at 1.99k events/s: none (it never caught up at 1.99k events/s" in reason
    assert "the advice keeps L 20 ms and replays at μ_w" in reason


def test_live_runs_alone_or_of_other_data_are_refused(line: Run, tmp_path: Path) -> None:
    alone = live_run(tmp_path, line)
    code, out, err = run("advise", str(alone.path), "--rto", "30s", "--rate", "5k")
    assert (code, out) == (1, "")
    assert one_error_line(err) == (
        f"Error: {alone.path} is a live run; advise fits catch-up runs (made by catchup run) and takes live runs "
        "only beside them: give a catch-up run of the same projection and data too"
    )
    other = live_run(tmp_path, label="other")  # the synthetic dataset, not the line's d1
    code, out, err = run("advise", str(line.path), str(other.path), "--rto", "30s", "--rate", "5k")
    assert (code, out) == (1, "")
    assert one_error_line(err) == (
        f"Error: live run {other.run_id} (balances v1, dataset synthetic, head 30,000) is not of run "
        f"{line.run_id}'s projection and data (balances v1, dataset d1, head 1,000,000); give live runs of the same "
        "projection version over the same dataset"
    )
    never = live_run(
        tmp_path, line, label="never", caught_up=False, caught_up_s=None, lag_after_catchup_s=None,
        lag_growth_events_per_s=500.0,
    )  # fmt: skip
    code, out, err = run("advise", str(line.path), str(never.path), "--rto", "30s", "--rate", "5k")
    assert (code, out) == (1, "")
    assert one_error_line(err) == (
        f"Error: no live run measured a tail rate ({never.run_id}: it never caught up at 1.99k events/s: the tail "
        "replayed at 1.99k events/s or less there); give a live run that caught up, at a rate below the projection's"
    )
