"""The per-interval summary of a catch-up run, as run.json's ``summary`` list holds it.

One ``IntervalSummary`` per snapshot interval k (0 = no snapshots): the snapshot pass's
timings over the measured repeats (each a stats.Summary: median, IQR, CI, CV), its
snapshot count and bytes, and one ``CaseSummary`` per catch-up case (expected: tail k/2;
worst: tail k-1). At k = 0 catching up is the full replay from 0, so a case holds only
its total. Written by bench.summarize, read by the CLI, reports, compare and notebooks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.results import parse
from bench.results.schema import CASES
from bench.results.stats import Summary, noise_warning

# The snapshot pass's timed metrics, in run.json's order.
PASS_TIMINGS = (
    "replay_s",
    "fetch_s",
    "apply_s",
    "events_per_s",
    "snapshot_s",
    "snapshot_state_s",
    "snapshot_save_s",
    "overhead_pct",
)
# A catch-up's timed parts beside its total, measured when a snapshot was loaded (k > 0).
CASE_PARTS = ("load_s", "restore_s", "fetch_s", "apply_s")
# A cold restart's parts (bench.cold): they add up to its catch-up, from the spawn to caught-up.
COLD_PARTS = ("start_s", "import_s", "open_s", "load_s", "restore_s", "fetch_s", "apply_s")


@dataclass(frozen=True)
class ColdSummary:
    """A case caught up by a fresh process with the store's files evicted (``catchup run --cold``)."""

    catchup_s: Summary  # from the spawn to caught-up
    start_s: Summary  # the interpreter's start, to the first line of the restarted module
    import_s: Summary  # catchup's modules and the projection's
    open_s: Summary  # opening the store: the manifest read, or the connection and the status row
    load_s: Summary
    restore_s: Summary
    fetch_s: Summary
    apply_s: Summary
    evicted_bytes: float  # what the eviction dropped from the page cache before each restart (median)
    verified: bool

    @property
    def tail_s(self) -> float:
        """Median fetch + apply: the tail replay."""
        return self.fetch_s.median + self.apply_s.median

    def to_json(self) -> dict[str, Any]:
        return {
            "catchup_s": self.catchup_s.to_json(),
            **{name: getattr(self, name).to_json() for name in COLD_PARTS},
            "evicted_bytes": self.evicted_bytes,
            "verified": self.verified,
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> ColdSummary:
        return cls(
            catchup_s=parse.stats(data, "catchup_s", where),
            **{name: parse.stats(data, name, where) for name in COLD_PARTS},
            evicted_bytes=parse.amount(data, "evicted_bytes", where),
            verified=parse.flag(data, "verified", where),
        )


# How a cold restart's time splits, as show and the report print it: a label and its median seconds.
COLD_SPLIT: tuple[tuple[str, Callable[[ColdSummary], float]], ...] = (
    ("start", lambda cold: cold.start_s.median),
    ("imports", lambda cold: cold.import_s.median),
    ("open", lambda cold: cold.open_s.median),
    ("load", lambda cold: cold.load_s.median),
    ("restore", lambda cold: cold.restore_s.median),
    ("tail", lambda cold: cold.tail_s),
)


@dataclass(frozen=True)
class CaseSummary:
    """One catch-up case at one interval: from the latest snapshot, replay the tail."""

    tail_events: float
    snapshot_position: float
    catchup_s: Summary  # load + restore + tail replay
    speedup: float  # full replay / this catch-up, medians
    verified: bool
    # The parts, at k > 0; at k = 0 catching up is the full replay and has none.
    load_s: Summary | None = None
    restore_s: Summary | None = None
    fetch_s: Summary | None = None
    apply_s: Summary | None = None
    cold: ColdSummary | None = None  # measured by catchup run --cold, at k > 0

    @property
    def load_restore_s(self) -> float | None:
        """Median snapshot load + restore: the fixed cost of starting from a snapshot."""
        if self.load_s is None or self.restore_s is None:
            return None
        return self.load_s.median + self.restore_s.median

    def to_json(self) -> dict[str, Any]:
        content: dict[str, Any] = {
            "tail_events": self.tail_events,
            "snapshot_position": self.snapshot_position,
            "catchup_s": self.catchup_s.to_json(),
        }
        for name in CASE_PARTS:
            part = getattr(self, name)
            if part is not None:
                content[name] = part.to_json()
        content["speedup"] = self.speedup
        content["verified"] = self.verified
        if self.cold is not None:
            content["cold"] = self.cold.to_json()
        return content

    @classmethod
    def from_json(cls, data: Any, where: str) -> CaseSummary:
        parts = {name: parse.stats(data, name, where) for name in CASE_PARTS if isinstance(data, dict) and name in data}
        cold = data.get("cold") if isinstance(data, dict) else None
        return cls(
            tail_events=parse.count(data, "tail_events", where),
            snapshot_position=parse.count(data, "snapshot_position", where),
            catchup_s=parse.stats(data, "catchup_s", where),
            speedup=parse.amount(data, "speedup", where),
            verified=parse.flag(data, "verified", where),
            **parts,
            cold=None if cold is None else ColdSummary.from_json(cold, f"{where}.cold"),
        )


@dataclass(frozen=True)
class NoiseCheck:
    """One measurement of an interval whose repeats must agree: replay, snapshot time, a catch-up."""

    interval: int
    measurement: str  # "replay", "snapshot time", "catch-up (expected)", "cold catch-up (worst)"
    summary: Summary

    @property
    def what(self) -> str:
        return f"{self.measurement} at k={self.interval:,}"

    @property
    def warning(self) -> str | None:
        """The run's warning line when the repeats disagree (stats.noise_warning), else None."""
        return noise_warning(self.what, self.summary)


@dataclass(frozen=True)
class IntervalSummary:
    """One snapshot interval k of a catch-up run."""

    interval: int
    head: int
    snapshots: float  # snapshots taken in one pass (median over repeats; the same in each)
    snapshot_bytes: float  # bytes of all of them
    replay_s: Summary
    fetch_s: Summary
    apply_s: Summary
    events_per_s: Summary
    snapshot_s: Summary
    snapshot_state_s: Summary
    snapshot_save_s: Summary
    overhead_pct: Summary  # snapshot time / replay time, in percent
    full_replay_s: float  # the reference for speedups: the k=0 replay, or this pass's replay without snapshots
    expected: CaseSummary
    worst: CaseSummary
    verified: bool  # every check at this interval matched the full replay

    def noise_checks(self) -> tuple[NoiseCheck, ...]:
        """The measurements whose repeats are checked for noise: the run's warnings and a report's list of them."""
        checks = []
        for name in CASES:
            case = self.case(name)
            if self.interval:
                checks.append(NoiseCheck(self.interval, f"catch-up ({name})", case.catchup_s))
            if case.cold is not None:
                checks.append(NoiseCheck(self.interval, f"cold catch-up ({name})", case.cold.catchup_s))
        checks.append(NoiseCheck(self.interval, "replay", self.replay_s))
        if self.interval:
            checks.append(NoiseCheck(self.interval, "snapshot time", self.snapshot_s))
        return tuple(checks)

    def case(self, name: str) -> CaseSummary:
        """The catch-up case ``name``: one of bench.results.schema.CASES."""
        if name not in CASES:
            raise KeyError(f"no catch-up case {name!r}; the cases are {', '.join(CASES)}")
        case: CaseSummary = getattr(self, name)
        return case

    def to_json(self) -> dict[str, Any]:
        return {
            "interval": self.interval,
            "head": self.head,
            "snapshots": self.snapshots,
            "snapshot_bytes": self.snapshot_bytes,
            **{name: getattr(self, name).to_json() for name in PASS_TIMINGS},
            "full_replay_s": self.full_replay_s,
            "catchup": {"expected": self.expected.to_json(), "worst": self.worst.to_json()},
            "verified": self.verified,
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> IntervalSummary:
        # Read in run.json's order, so the first key that is wrong is the one named.
        interval = parse.count(data, "interval", where)
        head = parse.count(data, "head", where)
        catchup = parse.member(data, "catchup", where)
        return cls(
            interval=interval,
            head=head,
            snapshots=parse.count(data, "snapshots", where),
            snapshot_bytes=parse.count(data, "snapshot_bytes", where),
            **{name: parse.stats(data, name, where) for name in PASS_TIMINGS},
            full_replay_s=parse.amount(data, "full_replay_s", where),
            expected=CaseSummary.from_json(
                parse.member(catchup, "expected", f"{where}.catchup"), f"{where}.catchup.expected"
            ),
            worst=CaseSummary.from_json(parse.member(catchup, "worst", f"{where}.catchup"), f"{where}.catchup.worst"),
            verified=parse.flag(data, "verified", where),
        )


@dataclass(frozen=True)
class ColdRestart:
    """One case of one interval caught up by a fresh process, beside the same case warm."""

    interval: int
    case: str  # one of bench.results.schema.CASES
    warm_s: float  # the warm catch-up's median
    cold: ColdSummary

    @property
    def ratio(self) -> float:
        """Median cold catch-up / median warm catch-up."""
        return self.cold.catchup_s.median / max(self.warm_s, 1e-12)


def cold_restarts(summary: list[IntervalSummary]) -> list[ColdRestart]:
    """Every case a run caught up cold, in the summary's order (none for a run without --cold)."""
    return [
        ColdRestart(row.interval, name, row.case(name).catchup_s.median, cold)
        for row in summary
        for name in CASES
        if (cold := row.case(name).cold) is not None
    ]


def case_order_note(row: IntervalSummary) -> str | None:
    """What a worst case measured faster than the expected one means; None when it was not (or at k = 0).

    The worst tail (k-1 events) is about twice the expected one (k/2), so a worst case below
    the expected one is either noise (their 95% confidence intervals overlap: the extra events
    cost less than the noise, as when both tails are read in the same Parquet row groups) or a
    bias of the measurement (they do not). Said by ``catchup show`` and the report alike.
    """
    expected, worst = row.expected.catchup_s, row.worst.catchup_s
    if row.interval == 0 or worst.median >= expected.median:
        return None
    k = f"k={row.interval:,}"
    measured = f"worst {worst.median * 1e3:.2f} ms < expected {expected.median * 1e3:.2f} ms"
    if worst.ci_high >= expected.ci_low:
        return (
            f"{k}: {measured} is within the noise (their 95% CIs overlap): the worst tail's extra events "
            "cost less than the noise, so the two cases cost the same here"
        )
    return (
        f"{k}: {measured} beyond the noise (95% CIs {worst.ci_low * 1e3:.2f}-{worst.ci_high * 1e3:.2f} and "
        f"{expected.ci_low * 1e3:.2f}-{expected.ci_high * 1e3:.2f} ms do not overlap): a bias of the measurement, "
        "not of the projection"
    )


@dataclass(frozen=True)
class SummaryColumn:
    """One column of the summary table that ``catchup show`` prints and a report's results table shows.

    ``kind`` says how the value reads (each medium formats a kind its own way: the
    terminal in fixed decimals, a report in units); ``value`` is None where a row has
    no such value (load + restore at k = 0).
    """

    terminal: str  # the terminal's header
    report: str  # the report's header
    kind: str  # interval | count | bytes | percent | rate | seconds | estimate | speedup | verified
    value: Callable[[IntervalSummary], Any]


SUMMARY_COLUMNS = (
    SummaryColumn("interval", "k", "interval", lambda row: row.interval),
    SummaryColumn("snapshots", "snapshots", "count", lambda row: row.snapshots),
    SummaryColumn("snap MB", "bytes", "bytes", lambda row: row.snapshot_bytes),
    SummaryColumn("overhead", "overhead", "percent", lambda row: row.overhead_pct.median),
    SummaryColumn("replay ev/s", "replay rate", "rate", lambda row: row.events_per_s.median),
    SummaryColumn("fetch s", "fetch", "seconds", lambda row: row.fetch_s.median),
    SummaryColumn("apply s", "apply", "seconds", lambda row: row.apply_s.median),
    # An estimate is a Summary: its median with its 95% CI.
    SummaryColumn("catch-up exp s", "expected catch-up [95% CI]", "estimate", lambda row: row.expected.catchup_s),
    SummaryColumn("of which load", "load + restore", "seconds", lambda row: row.expected.load_restore_s),
    SummaryColumn("catch-up worst s", "worst catch-up", "seconds", lambda row: row.worst.catchup_s.median),
    SummaryColumn("vs full", "vs full", "speedup", lambda row: row.expected.speedup),
    SummaryColumn("verified", "verified", "verified", lambda row: row.verified),
)
