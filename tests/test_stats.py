from __future__ import annotations

import json

import numpy as np
import pytest

from bench.results.stats import NOISE_CV, Summary, is_noisy, noise_warning, summarize
from stores.errors import InvalidParameter

# Seven catch-up times in seconds, one slow repeat: a spread typical of a busy machine.
SPREAD = [1.92, 2.05, 1.98, 2.41, 2.01, 1.95, 2.88]


def test_centre_and_spread_match_numpy() -> None:
    s = summarize(SPREAD)
    q1, median, q3 = np.percentile(SPREAD, [25, 50, 75])
    assert s.n == 7
    assert s.median == pytest.approx(np.median(SPREAD)) == pytest.approx(median)
    assert (s.q1, s.q3) == (pytest.approx(q1), pytest.approx(q3))
    assert s.iqr == pytest.approx(q3 - q1)
    assert (s.min, s.max) == (1.92, 2.88)
    assert s.mean == pytest.approx(np.mean(SPREAD))
    assert s.stdev == pytest.approx(np.std(SPREAD, ddof=1))
    assert s.cv == pytest.approx(np.std(SPREAD, ddof=1) / np.mean(SPREAD))


def test_ci_contains_the_median_within_the_extremes() -> None:
    s = summarize(SPREAD)
    assert s.min <= s.ci_low <= s.median <= s.ci_high <= s.max
    assert s.ci_low < s.ci_high  # seven different values: the interval is not a point


def test_ci_is_the_same_for_the_same_seed_and_can_differ_for_another() -> None:
    values = np.random.default_rng(5).lognormal(0, 0.3, size=40).tolist()
    first, again = summarize(values, seed=3), summarize(values, seed=3)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    others = {(summarize(values, seed=seed).ci_low, summarize(values, seed=seed).ci_high) for seed in range(4, 12)}
    assert len(others | {(first.ci_low, first.ci_high)}) > 1


def test_ci_narrows_with_more_values() -> None:
    rng = np.random.default_rng(1)
    few = summarize(rng.normal(10, 1, size=10).tolist())
    many = summarize(rng.normal(10, 1, size=1_000).tolist())
    assert many.ci_high - many.ci_low < few.ci_high - few.ci_low


def test_bootstrap_in_chunks_matches_the_median_of_a_long_series() -> None:
    # 5,000 values x 2,000 resamples is past the one-matrix limit, so this goes in chunks.
    values = np.random.default_rng(2).normal(100, 5, size=5_000)
    s = summarize(values.tolist())
    assert s.ci_low < np.median(values) < s.ci_high
    assert s.ci_high - s.ci_low < 1.0  # the median of 5,000 values is known to well within 1


def test_one_value_has_no_spread_and_its_ci_is_the_value() -> None:
    s = summarize([3.5])
    assert (s.n, s.median, s.q1, s.q3, s.iqr, s.min, s.max, s.mean) == (1, 3.5, 3.5, 3.5, 0.0, 3.5, 3.5, 3.5)
    assert (s.stdev, s.cv, s.ci_low, s.ci_high) == (0.0, 0.0, 3.5, 3.5)
    assert noise_warning("replay", s) is None


def test_constant_values_are_not_noisy() -> None:
    s = summarize([0.25] * 9)
    assert (s.stdev, s.cv, s.ci_low, s.ci_high) == (0.0, 0.0, 0.25, 0.25)
    assert not is_noisy(s)
    assert noise_warning("replay", s) is None


def test_zero_mean_gives_cv_zero_not_a_division_error() -> None:
    s = summarize([-1.0, 1.0])
    assert s.cv == 0.0 and s.stdev > 0


def test_a_spread_sample_warns_in_one_line() -> None:
    s = summarize([1.0, 1.1, 1.3, 0.8, 1.2])
    assert s.cv > NOISE_CV and is_noisy(s)
    assert noise_warning("catch-up k=1,000", s) == (
        f"noisy: catch-up k=1,000 varies by CV {s.cv * 100:.1f}% over 5 repeats (> 10%); "
        "the machine may be busy, use more --repeats"
    )


def test_the_noise_threshold_is_strictly_above_ten_percent() -> None:
    just_below = Summary(5, 1, 1, 1, 0, 1, 1, 1, 0.0999, 0.0999, 1, 1)
    just_above = Summary(5, 1, 1, 1, 0, 1, 1, 1, 0.1001, 0.1001, 1, 1)
    assert (is_noisy(just_below), is_noisy(just_above)) == (False, True)


def test_no_values_is_an_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match="cannot summarise no values; give at least one measurement"):
        summarize([])


def test_non_finite_values_are_refused() -> None:
    with pytest.raises(InvalidParameter, match=r"non-finite value \(nan\)"):
        summarize([1.0, float("nan")])


def test_resamples_below_one_are_refused() -> None:
    with pytest.raises(InvalidParameter, match="resamples 0 is below 1"):
        summarize([1.0, 2.0], resamples=0)


def test_json_round_trip_through_text() -> None:
    s = summarize(SPREAD)
    data = json.loads(json.dumps(s.to_json()))
    assert isinstance(data["n"], int)
    assert all(isinstance(value, float) for key, value in data.items() if key != "n")
    assert Summary.from_json(data) == s
