"""``catchup compare`` as a library: is the current run slower than the baseline, beyond noise?

Runs are paired by projection name. Each pair must have replayed the same dataset with the
same projection version, store and batch size, or the comparison is refused (``force``
overrides): a ratio between different work measures the difference in work. A different
projection *source* is expected (it is the change being measured) and is only noted.

For every interval both runs measured and every chosen metric, the raw repeats of the two
runs are compared (bench.compare.stats: Mann-Whitney U, ratio of medians with a bootstrap
CI), and given one verdict. ``slowdown`` is how many times longer the current takes (for a
rate, the inverse of the rate's ratio), so above 1 is always worse:

* slower / faster: the test finds a difference (p < alpha) and the slowdown is beyond the
  threshold (above 1 + t, or below 1 / (1 + t)). Only "slower" fails the gate.
* unchanged: any difference is within the threshold: the test found one that small, or
  found none and the ratio's 95% CI lies inside [1 / (1 + t), 1 + t].
* not significant: the test finds no difference, but the CI reaches past the threshold:
  the samples are too noisy to rule out a change beyond it. More repeats would tell.
* too few samples: with so few repeats the test cannot reach p < alpha at all.

There is no correction for testing many intervals and metrics at once (with 5 repeats a
Bonferroni correction would make a slowdown undetectable); the threshold is what keeps a
noisy machine's chance differences from failing the gate.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bench.compare.stats import SampleComparison, compare_samples, repeats_needed
from bench.results import CATCHUP_PHASES, COLD_PHASES, SNAPSHOT_PASS, Run, case_of_phase
from bench.results.run_set import describe_dataset
from stores.errors import CatchupError, InvalidParameter

DEFAULT_THRESHOLD = 0.10
DEFAULT_ALPHA = 0.05
PHASE_ORDER = (SNAPSHOT_PASS, *CATCHUP_PHASES, *COLD_PHASES)
# Every phase that catches up from a snapshot: in the run's own process, and in a fresh one (--cold).
CASE_PHASES = (*CATCHUP_PHASES, *COLD_PHASES)

SLOWER, FASTER, UNCHANGED, NOT_SIGNIFICANT, TOO_FEW = (
    "slower",
    "faster",
    "unchanged",
    "not significant",
    "too few samples",
)
VERDICTS = (SLOWER, FASTER, UNCHANGED, NOT_SIGNIFICANT, TOO_FEW)
# What the gate answers as a whole; the CLI gives each its exit code.
PASSED, REGRESSION, UNDECIDED = "passed", "regression", "undecided"
OUTCOMES = (PASSED, REGRESSION, UNDECIDED)


@dataclass(frozen=True)
class Metric:
    name: str
    phases: tuple[str, ...]
    higher_is_better: bool
    label: str
    meaning: str  # what it measures, for --help


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("replay_s", (SNAPSHOT_PASS,), False, "replay", "the snapshot pass's replay of the whole log"),
        Metric("events_per_s", (SNAPSHOT_PASS,), True, "replay rate", "that replay's events per second"),
        Metric(
            "catchup_s", CASE_PHASES, False, "catch-up", "snapshot load + restore + tail, both cases, warm and cold"
        ),
        Metric("snapshot_s", (SNAPSHOT_PASS,), False, "snapshot time", "taking and saving a pass's snapshots"),
        Metric("overhead_pct", (SNAPSHOT_PASS,), False, "snapshot overhead", "snapshot time / replay time"),
        Metric("fetch_s", PHASE_ORDER, False, "fetch", "time inside the store, pass and catch-ups"),
        Metric("apply_s", PHASE_ORDER, False, "apply", "time inside the projection, pass and catch-ups"),
        Metric("load_s", CASE_PHASES, False, "snapshot load", "reading the snapshot from the store"),
        Metric("restore_s", CASE_PHASES, False, "restore", "the projection's restore() of it"),
    )
}
# The full replay time at each interval and the catch-up times: what a user gates on.
DEFAULT_METRICS = ("replay_s", "catchup_s")


class NotComparable(CatchupError):
    """The two runs measured different work, so a ratio of their times means nothing."""


class TooFewSamples(CatchupError):
    """The runs have too few repeats for the test to decide anything."""


@dataclass(frozen=True)
class CompareSettings:
    threshold: float = DEFAULT_THRESHOLD  # a fraction: 0.10 is 10%
    alpha: float = DEFAULT_ALPHA
    metrics: tuple[str, ...] = DEFAULT_METRICS
    force: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.threshold) and 0 <= self.threshold < 10):
            raise InvalidParameter(
                f"threshold {self.threshold:.0%} is out of range; use a percentage from 0% to 999%, such as 10%",
                "threshold",
            )
        if not 0 < self.alpha < 1:
            raise InvalidParameter(
                f"alpha {self.alpha} is out of range; use a probability between 0 and 1, such as 0.05", "alpha"
            )
        if not self.metrics:
            raise InvalidParameter(f"no metric to compare; use one or more of {', '.join(METRICS)}")
        unknown = [name for name in self.metrics if name not in METRICS]
        if unknown:
            raise InvalidParameter(f"unknown metric {unknown[0]!r}; use one or more of {', '.join(METRICS)}")

    @property
    def limit(self) -> float:
        return 1 + self.threshold


@dataclass(frozen=True)
class Side:
    """One side of a comparison: what the user named, and the runs it holds."""

    given: str
    runs: tuple[Run, ...]


@dataclass(frozen=True)
class Finding:
    """One measurement of one interval, baseline against current, with its verdict."""

    projection: str
    interval: int
    phase: str
    metric: str
    stats: SampleComparison
    slowdown: float  # current time / baseline time; above 1 is worse, whatever the metric's direction
    slowdown_ci: tuple[float, float]
    verdict: str

    @property
    def measurement(self) -> str:
        label = METRICS[self.metric].label
        if self.phase != SNAPSHOT_PASS:
            cold = "cold " if self.phase in COLD_PHASES else ""
            return f"{label} ({cold}{case_of_phase(self.phase)})"
        # fetch and apply are measured in the pass and in the catch-ups: say which
        return f"{label} (pass)" if len(METRICS[self.metric].phases) > 1 else label


@dataclass(frozen=True)
class Pair:
    projection: str
    baseline: Run
    current: Run


@dataclass(frozen=True)
class CompareResult:
    baseline: Side
    current: Side
    settings: CompareSettings
    pairs: tuple[Pair, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = field(default=())

    def with_verdict(self, verdict: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.verdict == verdict]

    @property
    def regressions(self) -> list[Finding]:
        return self.with_verdict(SLOWER)

    @property
    def outcome(self) -> str:
        """The gate's answer, one of OUTCOMES: a regression; else undecided for want of repeats; else passed."""
        if self.regressions:
            return REGRESSION
        return UNDECIDED if self.with_verdict(TOO_FEW) else PASSED

    def too_few_message(self) -> str | None:
        """Said plainly when some measurement could not be decided for want of repeats."""
        undecided = self.with_verdict(TOO_FEW)
        if not undecided:
            return None
        worst = max(undecided, key=lambda finding: finding.stats.smallest_p)
        sizes = f"{len(worst.stats.baseline)} baseline and {len(worst.stats.current)} current repeats"
        return (
            f"too few samples to decide {len(undecided)} of {len(self.findings)} comparisons: with {sizes} "
            f"the smallest p-value Mann-Whitney U can reach is {worst.stats.smallest_p:.3g}, not below alpha "
            f"{self.settings.alpha:g}; run both with --repeats {max(5, repeats_needed(self.settings.alpha))} or more"
        )


def compare(baseline: Side, current: Side, settings: CompareSettings) -> CompareResult:
    """Pair the runs of both sides by projection and judge every shared measurement."""
    pairs, notes = _pairs(baseline, current)
    findings: list[Finding] = []
    for pair in pairs:
        notes += _check_comparable(pair, settings.force)
        findings += _judge_pair(pair, settings, notes)
    if not findings:
        raise NotComparable(
            f"the runs share no measurement of {', '.join(settings.metrics)}; "
            "choose --metric from what both measured, or compare runs of the same intervals"
        )
    return CompareResult(baseline, current, settings, tuple(pairs), tuple(findings), tuple(notes))


def verdict_of(stats: SampleComparison, slowdown: float, ci: tuple[float, float], settings: CompareSettings) -> str:
    if not stats.decidable(settings.alpha):
        return TOO_FEW
    significant = stats.p_value < settings.alpha
    if significant and slowdown > settings.limit:
        return SLOWER
    if significant and slowdown < 1 / settings.limit:
        return FASTER
    if significant or (ci[0] >= 1 / settings.limit and ci[1] <= settings.limit):
        return UNCHANGED
    return NOT_SIGNIFICANT


# -- pairing and refusals ---------------------------------------------------------------------


def _pairs(baseline: Side, current: Side) -> tuple[list[Pair], list[str]]:
    before, after = _by_projection(baseline), _by_projection(current)
    shared = [name for name in before if name in after]
    if not shared:
        raise NotComparable(
            f"no projection in both: the baseline holds {', '.join(before)}, the current holds {', '.join(after)}; "
            "compare runs of the same projection"
        )
    notes = [f"{name}: only in the baseline, not compared" for name in before if name not in after]
    notes += [f"{name}: only in the current, not compared" for name in after if name not in before]
    return [Pair(name, before[name], after[name]) for name in shared], notes


def _by_projection(side: Side) -> dict[str, Run]:
    found: dict[str, list[Run]] = defaultdict(list)
    for run in side.runs:
        found[run.projection_name].append(run)
    for name, runs in found.items():
        if len(runs) > 1:
            raise InvalidParameter(
                f"{side.given} holds {len(runs)} runs of {name} ({', '.join(run.run_id for run in runs)}); "
                "name one run folder per projection"
            )
    return {name: runs[0] for name, runs in found.items()}


def _check_comparable(pair: Pair, force: bool) -> list[str]:
    """Refuse a pair that measured different work; return notes on what differs harmlessly."""
    before, after = pair.baseline, pair.current
    differences = []
    if before.dataset_key != after.dataset_key or before.dataset_key[0] is None:
        differences.append(f"dataset ({describe_dataset(before)} against {describe_dataset(after)})")
    for what, value in (
        ("projection version", lambda run: run.projection.version),
        ("store", lambda run: f"{run.store.get('backend')} {run.store.get('layout')}"),
        ("batch size", lambda run: run.config.get("batch_size")),
    ):
        if value(before) != value(after):
            differences.append(f"{what} ({value(before)} against {value(after)})")
    if differences and not force:
        raise NotComparable(
            f"{pair.projection}: the baseline and the current differ in {'; '.join(differences)}; "
            "compare only runs of the same work, or pass --force to compare anyway"
        )
    notes = [f"{pair.projection}: compared despite a different {item} (--force)" for item in differences]
    if before.projection.source_sha256 != after.projection.source_sha256:
        notes.append(f"{pair.projection}: the projection's source differs: that is the change being measured")
    if _machine(before) != _machine(after):
        notes.append(
            f"{pair.projection}: measured on different machines ({_machine(before)} against {_machine(after)}); "
            "the ratios include the machine's difference"
        )
    return notes


def _machine(run: Run) -> str:
    return f"{run.environment.get('cpu_model')}, {run.environment.get('logical_cores')} cores"


# -- judging ------------------------------------------------------------------------------------


def _judge_pair(pair: Pair, settings: CompareSettings, notes: list[str]) -> list[Finding]:
    before, after = pair.baseline.sample_values(), pair.current.sample_values()
    intervals_before = _intervals(pair.baseline)
    intervals_after = _intervals(pair.current)
    for interval in intervals_before:
        if interval not in intervals_after:
            notes.append(f"{pair.projection}: k={interval:,} only in the baseline, not compared")
    for interval in intervals_after:
        if interval not in intervals_before:
            notes.append(f"{pair.projection}: k={interval:,} only in the current, not compared")
    findings = []
    for interval in (k for k in intervals_before if k in intervals_after):
        for phase in PHASE_ORDER:
            for name in settings.metrics:
                key = (interval, phase, name)
                if phase not in METRICS[name].phases or key not in before or key not in after:
                    continue
                if not any(before[key]) and not any(after[key]):
                    continue  # nothing measured on either side: snapshot time at k=0
                findings.append(_judge(pair.projection, key, before[key], after[key], settings))
    return findings


def _judge(
    projection: str, key: tuple[int, str, str], before: list[float], after: list[float], settings: CompareSettings
) -> Finding:
    interval, phase, name = key
    stats = compare_samples(before, after)
    ratio, low, high = stats.ratio, stats.ratio_ci_low, stats.ratio_ci_high
    if METRICS[name].higher_is_better:  # a rate: the time it stands for is its inverse
        ratio, low, high = _inverse(ratio), _inverse(high), _inverse(low)
    return Finding(
        projection, interval, phase, name, stats, ratio, (low, high), verdict_of(stats, ratio, (low, high), settings)
    )


def _inverse(value: float) -> float:
    if value == 0:
        return math.inf
    return 0.0 if math.isinf(value) else 1 / value


def _intervals(run: Run) -> list[int]:
    return _unique(int(k) for k in run.samples.column("interval").to_pylist())


def _unique(items: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(items))
