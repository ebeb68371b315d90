"""catchup advise's library: the formulas against hand-computed values, the fit, the rounding, the recommendation."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from bench.advise import model
from bench.advise.fit import COLD, WARM, CannotFit, Fit, Line, fit_line, fit_runs
from bench.advise.recommend import BINDING, AdviceInputs, advise, readable_between, readable_floor
from bench.advise.runs import LATEST, resolve_runs
from bench.results import ResultsError
from bench.units import approx_interval, format_duration, parse_duration, parse_frequency, parse_size
from stores.errors import InvalidParameter
from tests.runs import line_run

# L = 0.5 s, μ_tail = 1M events/s: every value below is worked out by hand from these.
LINE = Line(WARM, fixed_s=0.5, tail_rate=1e6, r2=1.0, tails=(0.0, 1.0), residuals=(0.0, 0.0))


def test_worst_and_expected_staleness_while_writes_continue() -> None:
    # 1 − λ/μ_tail = 1 − 200k/1M = 0.8: w(1M) = (0.5 + 1)/0.8, expected (0.5 + 0.5)/0.8.
    assert model.worst_staleness(LINE, 1_000_000, 200_000) == pytest.approx(1.875)
    assert model.expected_staleness(LINE, 1_000_000, 200_000) == pytest.approx(1.25)
    assert model.worst_staleness(LINE, 1_000_000, 0) == pytest.approx(1.5)  # no writes: the line itself


def test_a_rate_at_or_above_the_tail_rate_never_catches_up() -> None:
    assert model.worst_staleness(LINE, 10_000, 1e6) is None
    assert model.expected_staleness(LINE, 10_000, 2e6) is None
    assert model.rto_interval(LINE, 30.0, 1e6) is None


def test_the_largest_interval_meeting_the_rto() -> None:
    # k_rto = 1M × (2 × 0.8 − 0.5) = 1.1M; its worst case is the RTO exactly.
    assert model.rto_interval(LINE, 2.0, 200_000) == pytest.approx(1_100_000)
    assert model.worst_staleness(LINE, 1_100_000, 200_000) == pytest.approx(2.0)
    # The fixed cost alone exceeds RTO × (1 − λ/μ_tail) = 0.4 s: 1M × (0.4 − 0.5) < 0.
    assert model.rto_interval(LINE, 0.5, 200_000) == pytest.approx(-100_000)


def test_young_and_daly_optima() -> None:
    # sqrt(2 × 5,000 × 0.004 × 1M × 21,600) = sqrt(8.64e11) = 929,516.
    assert model.young_interval(5_000, 0.004, 1e6, 21_600) == pytest.approx(929_516.0, rel=1e-6)
    # C = λδ/μ_tail = 2e-5 s is tiny against M: Daly's terms move k by 13 events of 929,516.
    assert model.daly_interval(5_000, 0.004, 1e6, 21_600) == pytest.approx(929_502.7, rel=1e-6)
    # C = 1,000 × 10 / 1,000 = 10 s against M = 30 s: τ = sqrt(600)(1 + sqrt(1/6)/3 + 1/54) − 10 = 18.28 s.
    assert model.young_interval(1_000, 10.0, 1_000, 30.0) == pytest.approx(24_494.9, rel=1e-5)
    assert model.daly_interval(1_000, 10.0, 1_000, 30.0) == pytest.approx(18_283.5, rel=1e-4)
    # C >= 2M: Daly's interval is M itself, μ_tail M events.
    assert model.daly_interval(1_000, 100.0, 1_000, 30.0) == pytest.approx(30_000)


def test_snapshot_cost_and_count_and_the_full_replay() -> None:
    assert model.snapshot_share(5_000, 0.004, 100_000) == pytest.approx(0.0002)  # λδ/k
    assert model.snapshots_per_day(5_000, 100_000) == pytest.approx(4_320)
    assert model.full_replay_s(500_000_000, 1.6e6) == pytest.approx(312.5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1), (1.9, 1), (2, 2), (4.9, 2), (7, 5), (24.9, 20), (25, 25), (49, 25), (999_999, 500_000)]
    + [(1_000_000, 1_000_000), (3_241_723, 2_500_000), (0.5, None), (0, None)],
)
def test_intervals_round_down_to_readable_values(value: float, expected: int | None) -> None:
    assert readable_floor(value) == expected


def test_the_readable_values_between_two_intervals() -> None:
    assert readable_between(10_000, 1_000_000) == [
        10_000, 20_000, 25_000, 50_000, 100_000, 200_000, 250_000, 500_000, 1_000_000
    ]  # fmt: skip
    assert readable_between(1, 30) == [1, 2, 5, 10, 20, 25]  # 2.5 is no whole number of events


def test_the_exact_line_is_recovered_from_raw_samples(tmp_path: Path) -> None:
    run = line_run(tmp_path, fixed_s=0.02, tail_rate=2e6, replay_rate=1.6e6, snapshot_s=0.004)
    fit = fit_runs([run])
    assert fit.line is fit.warm and fit.line.kind == WARM
    assert fit.warm.fixed_s == pytest.approx(0.02, rel=1e-9)
    assert fit.warm.tail_rate == pytest.approx(2e6, rel=1e-9)
    assert fit.warm.r2 == pytest.approx(1.0)
    assert fit.warm.n == 3 * 2 * 3  # three k > 0, two cases, three repeats
    assert max(abs(r) for r in fit.warm.residuals) < 1e-12
    assert fit.replay_rate == pytest.approx(1.6e6)
    assert fit.snapshot_s == pytest.approx(0.004)
    assert fit.snapshot_bytes == pytest.approx(50_000)
    assert fit.measured == (10_000, 100_000, 1_000_000)
    assert fit.measured_worst(1_000_000) == pytest.approx(0.02 + 999_999 / 2e6)


def test_noise_leaves_residuals_and_lowers_r2(tmp_path: Path) -> None:
    fit = fit_runs([line_run(tmp_path, noise_s=0.01)])
    assert 0.9 < fit.warm.r2 < 1.0
    assert fit.warm.rms_residual_s == pytest.approx(0.01 * math.sqrt(2 / 3), rel=1e-6)  # jitter −0.01, 0, +0.01


def test_two_runs_pool_their_samples(tmp_path: Path) -> None:
    first = line_run(tmp_path, intervals=(0, 10_000))
    second = line_run(tmp_path, intervals=(1_000_000,), created_at=None, replay_rate=1.0e6)
    fit = fit_runs([first, second])
    assert fit.warm.n == 12 and fit.measured == (10_000, 1_000_000)
    assert fit.warm.tail_rate == pytest.approx(2e6)
    assert fit.replay_rate == pytest.approx(1.6e6)  # μ from the k=0 pass only


def test_without_a_k0_pass_the_replay_rate_is_every_pass(tmp_path: Path) -> None:
    fit = fit_runs([line_run(tmp_path, intervals=(10_000, 100_000), replay_rate=1.2e6)])
    assert fit.replay_rate == pytest.approx(1.2e6)
    assert "no k=0 measured" in fit.replay_rate_from


def test_cold_restarts_give_the_line_the_advice_uses(tmp_path: Path) -> None:
    fit = fit_runs([line_run(tmp_path, cold=(0.3, 1e6))])
    assert fit.line is fit.cold and fit.line.kind == COLD
    assert (fit.line.fixed_s, fit.line.tail_rate) == (pytest.approx(0.3), pytest.approx(1e6))
    assert fit.warm.fixed_s == pytest.approx(0.02)
    advice = advise(fit, AdviceInputs(rto_s=2.0, rate=5_000))
    assert advice.reasons[0].startswith("fit over 18 cold restarts (a fresh process, page cache evicted) of balances")
    assert advice.reasons[0].endswith(
        "the advice uses this cold line, as a restart is cold (warm catch-ups: 20 ms + tail / 2M events/s)"
    )
    # k_rto on the cold line: 1M × (2 × (1 − 0.005) − 0.3) = 1.69M.
    assert advice.k_rto == pytest.approx(1_690_000)


def test_a_fit_needs_two_distinct_tails(tmp_path: Path) -> None:
    with pytest.raises(CannotFit) as refusal:
        fit_runs([line_run(tmp_path, intervals=(0, 1))])  # k = 1: both cases replay a tail of 0 events
    assert str(refusal.value) == (
        "the warm catch-ups were measured at 1 distinct tail(s) and a line needs 2; measure at least two "
        "intervals with different tails: catchup run data/ledger -p balances --intervals 10k,1M"
    )
    with pytest.raises(CannotFit, match=r"at 1 distinct tail\(s\) and a line needs 2; measure at least two .*tails$"):
        fit_line([(10.0, 0.1), (10.0, 0.2)])  # no remedy given: the sentence still ends


def test_a_falling_line_is_refused() -> None:
    with pytest.raises(CannotFit, match=r"does not grow with the tail \(slope -1e-06 s/event over tails of 0 to"):
        fit_line([(0.0, 0.5), (100_000.0, 0.4)])


def test_a_live_run_and_runs_of_different_things_are_refused(tmp_path: Path) -> None:
    first = line_run(tmp_path)
    other_projection = line_run(tmp_path, projection="statement")
    other_version = line_run(tmp_path, version=2)
    other_data = line_run(tmp_path, dataset_id="d2")
    for other, differs in ((other_projection, "statement v1"), (other_version, "balances v2"), (other_data, "d2")):
        with pytest.raises(CannotFit) as refusal:
            fit_runs([first, other])
        message = str(refusal.value)
        assert message.startswith(f"runs {first.run_id} (balances v1, dataset d1, head 2,000,000) and {other.run_id} (")
        assert differs in message and message.endswith("give runs of the same projection version and data")
    from dataclasses import replace

    with pytest.raises(CannotFit, match="is a live run; advise fits catch-up runs"):
        fit_runs([replace(first, kind="live")])


def test_latest_is_the_newest_catchup_run(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    line_run(tmp_path, created_at=datetime(2026, 12, 1, tzinfo=UTC))
    newest = line_run(tmp_path, created_at=datetime(2026, 12, 2, tzinfo=UTC))
    assert [run.run_id for run in resolve_runs([LATEST], tmp_path)] == [newest.run_id]
    with pytest.raises(ResultsError, match="holds no catch-up run for latest"):
        resolve_runs([LATEST], tmp_path / "empty")


# The recommendation, over a fit of L = 0.02 s, μ_tail = 2M events/s, δ = 4 ms, b = 50 kB.
@pytest.fixture(scope="module")
def fit(tmp_path_factory: pytest.TempPathFactory) -> Fit:
    return fit_runs([line_run(tmp_path_factory.mktemp("advise"))])


def test_without_a_restart_rate_the_rto_binds(fit: Fit) -> None:
    advice = advise(fit, AdviceInputs(rto_s=2.0, rate=50_000))
    # k_rto = 2M × (2 × 0.975 − 0.02) = 3.86M, rounded down to 2.5M.
    assert advice.k_rto == pytest.approx(3_860_000)
    assert (advice.interval, advice.binding) == (2_500_000, "rto")
    assert advice.k_young is None
    assert any("no restart rate given" in reason for reason in advice.reasons)


def test_the_cost_optimum_when_it_meets_the_rto(fit: Fit) -> None:
    advice = advise(fit, AdviceInputs(rto_s=30.0, rate=5_000, mtbf_s=21_600))
    # k* = sqrt(2 × 5,000 × 0.004 × 2M × 21,600) = 1,314,534, rounded down to 1M.
    assert advice.k_young == pytest.approx(1_314_534, rel=1e-6)
    assert (advice.interval, advice.binding) == (1_000_000, "cost-optimum")
    assert "Daly" not in advice.reasons[-3] + advice.reasons[-2] + advice.reasons[-1]  # it rounds the same


def test_the_rto_binds_when_the_cost_optimum_misses_it(fit: Fit) -> None:
    advice = advise(fit, AdviceInputs(rto_s=0.5, rate=5_000, mtbf_s=30 * 86_400))
    # k* = sqrt(2 × 5,000 × 0.004 × 2M × 2.592M) = 14.4M; k_rto = 2M × (0.5 × 0.9975 − 0.02) = 957.5k.
    assert advice.k_young == pytest.approx(14_400_000, rel=1e-6)
    assert (advice.interval, advice.binding) == (500_000, "rto")
    assert any("would miss the RTO" in reason for reason in advice.reasons)


def test_the_peak_rate_can_bind(fit: Fit) -> None:
    advice = advise(fit, AdviceInputs(rto_s=2.0, rate=50_000, peak_rate=1_500_000))
    # At the peak k_rto = 2M × (2 × 0.25 − 0.02) = 960k.
    assert advice.k_rto == pytest.approx(960_000)
    assert (advice.interval, advice.binding) == (500_000, "rto-at-peak")


def test_never_catching_up_is_said_with_what_would(fit: Fit) -> None:
    for inputs in (AdviceInputs(rto_s=30.0, rate=2e6), AdviceInputs(rto_s=30.0, rate=5_000, peak_rate=3e6)):
        advice = advise(fit, inputs)
        assert (advice.interval, advice.binding) == (None, "never-catches-up")
        assert "never catches up" in advice.reasons[-1] and "partitioned replay" in advice.reasons[-1]
        assert not any(candidate.meets_rto for candidate in advice.candidates)


def test_an_rto_the_fixed_cost_alone_exceeds(fit: Fit) -> None:
    advice = advise(fit, AdviceInputs(rto_s=0.015, rate=5_000))
    assert (advice.interval, advice.binding) == (None, "fixed-cost")
    assert "the fixed cost L 20 ms alone exceeds RTO × (1 − λ/μ_tail) = 15 ms" in advice.reasons[-1]


def test_a_storage_budget_too_small_for_the_snapshots_kept(fit: Fit) -> None:
    advice = advise(fit, AdviceInputs(rto_s=2.0, rate=50_000, retain=3, storage_budget=100_000))
    assert (advice.interval, advice.binding) == (None, "storage-budget")
    assert advice.storage_bytes == pytest.approx(150_000)
    assert advise(fit, AdviceInputs(rto_s=2.0, rate=50_000, retain=2, storage_budget=100_000)).interval == 2_500_000


def test_daly_is_shown_where_it_changes_the_rounded_answer(tmp_path: Path) -> None:
    # A slow projection (μ_tail 2,000 events/s) whose snapshot costs 20 s, restarted every 40 s.
    run = line_run(tmp_path, fixed_s=0.0, tail_rate=2_000, snapshot_s=20.0, head=100_000, intervals=(0, 1_000, 10_000))
    slow = fit_runs([run])
    # λ = 500: C = 500 × 20 / 2,000 = 5 s; Young 2,000 sqrt(2 × 5 × 40) = 40,000 -> 25k;
    # Daly 2,000 (20 (1 + sqrt(1/16)/3 + 1/144) − 5) = 33,611 -> 25k too: not shown.
    same = advise(slow, AdviceInputs(rto_s=3600.0, rate=500, mtbf_s=40.0))
    assert same.k_young == pytest.approx(40_000)
    assert same.k_daly == pytest.approx(2_000 * (20 * (1 + 0.25 / 3 + 1 / 144) - 5))
    assert same.interval == 25_000 and not any("Daly" in reason for reason in same.reasons)
    # λ = 1,000: C = 10 s; Young 2,000 sqrt(800) = 56,569 -> 50k; Daly 44,024 -> 25k: said beside k*.
    changed = advise(slow, AdviceInputs(rto_s=3600.0, rate=1_000, mtbf_s=40.0))
    assert changed.k_young == pytest.approx(56_568.5, rel=1e-5)
    assert changed.k_daly == pytest.approx(44_024, rel=1e-4)
    assert changed.interval == 50_000
    assert any("Daly's higher-order estimate (2006) rounds to 25k" in reason for reason in changed.reasons)


def test_never_a_recommendation_whose_worst_case_exceeds_the_rto(fit: Fit) -> None:
    line = fit.line
    for rto, rate, peak, mtbf in itertools.product(
        (0.03, 0.1, 1.0, 2.0, 30.0), (1_000, 50_000, 1e6), (None, 1.5e6), (None, 3600.0, 1e7)
    ):
        advice = advise(fit, AdviceInputs(rto_s=rto, rate=rate, peak_rate=peak, mtbf_s=mtbf))
        assert advice.binding in BINDING
        if advice.interval is None:
            continue
        for at in (rate, *([peak] if peak else [])):
            worst = model.worst_staleness(line, advice.interval, at)
            assert worst is not None and worst <= rto, (rto, rate, peak, mtbf, advice.interval)
        assert readable_floor(advice.interval) == advice.interval


def test_the_candidates_mark_measured_and_recommended(fit: Fit) -> None:
    advice = advise(fit, AdviceInputs(rto_s=2.0, rate=50_000))
    ks = [candidate.interval for candidate in advice.candidates]
    assert ks[:9] == readable_between(10_000, 1_000_000)
    assert ks[9:] == [2_000_000, 2_500_000, 5_000_000]  # one readable step past k_rto, where the RTO stops holding
    assert [c.interval for c in advice.candidates if c.measured] == [10_000, 100_000, 1_000_000]
    assert [c.interval for c in advice.candidates if c.recommended] == [2_500_000]
    assert [c.interval for c in advice.candidates if not c.meets_rto] == [5_000_000]


def test_inputs_are_checked() -> None:
    with pytest.raises(InvalidParameter, match=r"^rto_s 0 s is not above 0"):
        AdviceInputs(rto_s=0, rate=5_000)
    with pytest.raises(InvalidParameter, match=r"^peak_rate 1000 is below rate 5000"):
        AdviceInputs(rto_s=1, rate=5_000, peak_rate=1_000)
    with pytest.raises(InvalidParameter, match=r"^retain 0 is below 1"):
        AdviceInputs(rto_s=1, rate=5_000, retain=0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30s", 30.0), ("5m", 300.0), ("5min", 300.0), ("2h", 7200.0), ("1d", 86400.0), ("1.5", 1.5)],
)
def test_durations_parse_with_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "size"), [("10GB", 1e10), ("500MB", 5e8), ("512MiB", 512 * 2**20), ("1.5TB", 1.5e12), ("1000", 1e3)]
)
def test_sizes_parse_with_units(text: str, size: float) -> None:
    assert parse_size(text) == pytest.approx(size)


def test_frequencies_and_the_words_they_refuse() -> None:
    assert parse_frequency("4/day") == pytest.approx(4 / 86_400)
    assert parse_frequency("1/h") == pytest.approx(1 / 3_600)
    assert parse_frequency("10/week") == pytest.approx(10 / 604_800)
    for parse, bad in (
        (parse_duration, "30x"),
        (parse_duration, "-1s"),
        (parse_size, "10 parsecs"),
        (parse_frequency, "4"),
    ):
        with pytest.raises(ValueError):
            parse(bad)


def test_long_times_and_computed_intervals_read_as_said() -> None:
    assert [format_duration(s) for s in (45.0, 312.5, 21_600.0, 3 * 86_400.0)] == ["45 s", "5.21 min", "6 h", "3 days"]
    assert [approx_interval(k) for k in (4_156_922.3, 155_000.0, 870.0)] == ["4.16M", "155k", "870"]
