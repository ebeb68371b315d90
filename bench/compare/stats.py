"""Two sets of raw measurements of one thing: how far apart, and can the samples tell?

The test is the Mann-Whitney U test (two-sided), from scipy: it asks whether a value
drawn from one side tends to be larger than one drawn from the other, using only the
order of the values. That suits benchmark repeats, which are few (3 to 10), skewed
(a busy machine only ever makes a repeat slower) and not normal, where a t-test's
assumptions fail. scipy computes the exact p-value for small samples without ties.

The size of the change is the ratio of the medians, with a seeded percentile-bootstrap
95% confidence interval (both sides resampled), so the same runs always print the same
interval. The ratio says how much; the p-value says whether the samples can tell at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from stores.errors import InvalidParameter

RESAMPLES = 2000


@dataclass(frozen=True)
class SampleComparison:
    """Baseline against current for one measurement; ratio = current median / baseline median."""

    baseline: tuple[float, ...]
    current: tuple[float, ...]
    baseline_median: float
    current_median: float
    ratio: float  # inf when the baseline median is 0 and the current one is not
    ratio_ci_low: float
    ratio_ci_high: float
    p_value: float  # two-sided Mann-Whitney U
    smallest_p: float  # the lowest p-value the test can reach with these sample sizes

    def decidable(self, alpha: float) -> bool:
        """Whether the test could reach significance at ``alpha`` with this many values."""
        return self.smallest_p < alpha


def smallest_p_value(n_baseline: int, n_current: int) -> float:
    """The lowest two-sided exact Mann-Whitney p-value for these sizes: complete separation.

    Of the C(n1+n2, n1) equally likely orderings under no change, two are fully separated
    (all baseline below, or all above), so p cannot go below 2 / C(n1+n2, n1): with 3
    repeats a side that is 0.10, with 4 it is 0.029, with 5 it is 0.0079.
    """
    if n_baseline < 1 or n_current < 1:
        return 1.0
    return min(1.0, 2 / math.comb(n_baseline + n_current, n_baseline))


def repeats_needed(alpha: float) -> int:
    """The fewest repeats a side with which the test can reach p < alpha at all."""
    repeats = 1
    while smallest_p_value(repeats, repeats) >= alpha:
        repeats += 1
    return repeats


def compare_samples(
    baseline: Sequence[float], current: Sequence[float], *, resamples: int = RESAMPLES, seed: int = 0
) -> SampleComparison:
    before = np.asarray(baseline, dtype=np.float64).ravel()
    after = np.asarray(current, dtype=np.float64).ravel()
    for name, values in (("baseline", before), ("current", after)):
        if values.size == 0:
            raise InvalidParameter(f"the {name} has no values to compare; give at least one measurement")
        if not np.all(np.isfinite(values)):
            raise InvalidParameter(f"the {name} holds a non-finite value; measurements must be finite numbers")
    low, high = _ratio_interval(before, after, resamples, seed)
    return SampleComparison(
        baseline=tuple(float(v) for v in before),
        current=tuple(float(v) for v in after),
        baseline_median=float(np.median(before)),
        current_median=float(np.median(after)),
        ratio=_ratio(float(np.median(after)), float(np.median(before))),
        ratio_ci_low=low,
        ratio_ci_high=high,
        p_value=_p_value(before, after),
        smallest_p=smallest_p_value(before.size, after.size),
    )


def _p_value(before: np.ndarray, after: np.ndarray) -> float:
    if np.array_equal(np.unique(before), np.unique(after)) and np.unique(before).size == 1:
        return 1.0  # one identical value on both sides: scipy's normal approximation would divide by zero
    # Imported here: scipy.stats takes over a second to import, and only a comparison needs it.
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(before, after, alternative="two-sided", method="auto").pvalue)


def _ratio(numerator: float, denominator: float) -> float:
    if denominator == 0:
        return 1.0 if numerator == 0 else math.inf
    return numerator / denominator


def _ratio_interval(before: np.ndarray, after: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    base = np.median(rng.choice(before, size=(resamples, before.size), replace=True), axis=1)
    new = np.median(rng.choice(after, size=(resamples, after.size), replace=True), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(base == 0, np.where(new == 0, 1.0, np.inf), new / np.where(base == 0, 1.0, base))
    # Linear interpolation between two infinite ratios is inf - inf: take the nearest rank then.
    method: Literal["linear", "nearest"] = "linear" if np.all(np.isfinite(ratios)) else "nearest"
    low, high = np.percentile(ratios, [2.5, 97.5], method=method)
    return float(low), float(high)
