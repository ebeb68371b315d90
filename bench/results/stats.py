"""Summaries of repeated measurements: median and spread, a bootstrap CI, a noise check.

The median leads because a benchmark's errors are one-sided (a busy machine only ever
makes a repeat slower), so the mean is pulled by outliers the median ignores. The CI is
a percentile bootstrap of the median, seeded so the same values always print the same
interval and a rerun of a report never changes its numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from stores.errors import InvalidParameter

NOISE_CV = 0.10  # above this the repeats disagree too much for the median to mean much
NOISE_PREFIX = "noisy: "  # how a noise warning begins, so a report can set them apart from the others

# The bootstrap draws (resamples, n) values; past this many cells it goes in chunks of
# rows so a long series (per-batch timings) cannot ask for gigabytes at once.
_BOOTSTRAP_CELLS = 4_000_000


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    q1: float
    q3: float
    iqr: float
    min: float
    max: float
    mean: float
    stdev: float  # sample standard deviation (ddof=1); 0 for a single value
    cv: float  # stdev / |mean|; 0 for a single value or a zero mean
    ci_low: float  # 95% bootstrap confidence interval of the median
    ci_high: float

    def to_json(self) -> dict[str, Any]:
        return {key: (value if key == "n" else float(value)) for key, value in asdict(self).items()}

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        values: dict[str, Any] = {f.name: float(data[f.name]) for f in fields(cls)}
        values["n"] = int(data["n"])
        return cls(**values)


def summarize(values: Sequence[float], *, resamples: int = 2000, seed: int = 0) -> Summary:
    """Median, quartiles, extremes, mean, spread and a seeded 95% CI of the median."""
    data = np.asarray(values, dtype=np.float64).ravel()
    if data.size == 0:
        raise InvalidParameter("cannot summarise no values; give at least one measurement")
    if not np.all(np.isfinite(data)):
        bad = data[~np.isfinite(data)][0]
        raise InvalidParameter(f"cannot summarise a non-finite value ({bad}); measurements must be finite numbers")
    if resamples < 1:
        raise InvalidParameter(f"resamples {resamples} is below 1; use a whole number >= 1")
    n = int(data.size)
    q1, median, q3 = (float(q) for q in np.percentile(data, [25, 50, 75]))
    mean = float(data.mean())
    stdev = float(data.std(ddof=1)) if n > 1 else 0.0
    cv = stdev / abs(mean) if n > 1 and mean != 0 else 0.0
    ci_low, ci_high = _bootstrap_median_ci(data, resamples, seed) if n > 1 else (median, median)
    return Summary(
        n=n,
        median=median,
        q1=q1,
        q3=q3,
        iqr=q3 - q1,
        min=float(data.min()),
        max=float(data.max()),
        mean=mean,
        stdev=stdev,
        cv=cv,
        ci_low=ci_low,
        ci_high=ci_high,
    )


def _bootstrap_median_ci(data: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    rows = max(1, _BOOTSTRAP_CELLS // data.size)
    medians = np.empty(resamples)
    for start in range(0, resamples, rows):
        stop = min(start + rows, resamples)
        medians[start:stop] = np.median(rng.choice(data, size=(stop - start, data.size), replace=True), axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(low), float(high)


def is_noisy(summary: Summary) -> bool:
    return summary.cv > NOISE_CV


def noise_warning(what: str, summary: Summary) -> str | None:
    """One line saying the repeats of ``what`` disagree, or None when they agree well enough."""
    if not is_noisy(summary):
        return None
    return (
        f"{NOISE_PREFIX}{what} varies by CV {summary.cv:.1%} over {summary.n} repeats (> {NOISE_CV:.0%}); "
        "the machine may be busy, use more --repeats"
    )
