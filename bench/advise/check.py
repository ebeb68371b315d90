"""``--verify``: the advice's predictions against a run measured at the recommended interval.

The CLI measures (a ``catchup run`` at k, and with a rate a ``catchup live`` at k and that
rate); this module says what to measure and sets each measurement against the model.
A catch-up run has no writes, so its cases are set against the line itself, c(T) = L +
T/μ_tail at each case's measured tail; a live run against (L + T/μ_tail)/(1 − λ/μ_tail)
at its tail and its writers' achieved rate, on the warm line (a live run catches up in a
running process, its files in the page cache), replaying at the live runs' μ_w when the
advice was given some.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.advise import model
from bench.advise.fit import CannotFit
from bench.advise.recommend import Advice
from bench.results import CASES, Run
from bench.units import format_interval, format_rate, format_seconds
from stores.errors import InvalidParameter

TOLERANCE = 0.15  # a measurement further than this from its prediction prints a warning


@dataclass(frozen=True)
class VerifyPlan:
    """What a verifying ``catchup run`` measures: the same projection, store and batch size as the runs."""

    interval: int
    store: str
    projection: str
    batch_size: int | None
    repeats: int
    cold: bool


@dataclass(frozen=True)
class Check:
    what: str
    predicted_s: float | None  # None: the model says it never catches up
    measured_s: float | None  # None: it did not catch up

    @property
    def difference(self) -> float | None:
        """measured / predicted − 1; None when either is missing."""
        if self.predicted_s is None or self.measured_s is None or self.predicted_s <= 0:
            return None
        return self.measured_s / self.predicted_s - 1

    @property
    def off(self) -> bool:
        """Further from the prediction than TOLERANCE, or one side never caught up and the other did."""
        difference = self.difference
        if difference is None:
            return (self.predicted_s is None) != (self.measured_s is None)
        return abs(difference) > TOLERANCE

    @property
    def line(self) -> str:
        difference = self.difference
        off = "" if difference is None else f" ({difference:+.1%})"
        return f"{self.what}: predicted {_seconds(self.predicted_s)}, measured {_seconds(self.measured_s)}{off}"

    @property
    def warning(self) -> str | None:
        if not self.off:
            return None
        return (
            f"{self.what}: the measurement is more than {TOLERANCE:.0%} from the prediction; the model "
            "does not hold here (refit with a run at this k, or measure more repeats)"
        )


def plan(advice: Advice, store: str | None) -> VerifyPlan:
    """What to measure for ``advice``; CannotFit when there is nothing to verify or nowhere to measure it."""
    fit = advice.fit
    if advice.interval is None:
        raise CannotFit(f"nothing to verify: no interval meets the RTO ({advice.binding})")
    if store is None and advice.interval > fit.head:
        raise InvalidParameter(
            f"the recommended k={format_interval(advice.interval)} exceeds the runs' head {fit.head:,}: a run there "
            f"takes no snapshot, so it cannot be measured here; give store, one of more than "
            f"{format_interval(advice.interval)} events",
            "store",
        )
    chosen = store or fit.store
    if not chosen:
        raise InvalidParameter("the runs name no store to verify on; give one as store", "store")
    if fit.projection_spec is None:
        raise CannotFit("the runs do not record their projection spec; measure again with catchup run")
    return VerifyPlan(
        interval=advice.interval,
        store=chosen,
        projection=fit.projection_spec,
        batch_size=fit.batch_size,
        repeats=fit.repeats or 3,
        cold=fit.cold is not None,
    )


def catchup_checks(advice: Advice, run: Run) -> list[Check]:
    """Each case of the verifying run at the recommended k against the line at its measured tail."""
    assert advice.interval is not None, "a verified advice has an interval"
    row = run.interval(advice.interval)
    if row is None:
        raise CannotFit(f"run {run.run_id} did not measure k={advice.interval:,}")
    if not row.snapshots:
        raise CannotFit(
            f"run {run.run_id} took no snapshot at k={advice.interval:,} (its store's head is {row.head:,}); "
            "verify on a store holding more events than k"
        )
    line = advice.fit.catchup_line
    checks = []
    for name in CASES:
        case = row.case(name)
        measured = case.cold.catchup_s.median if line.kind == "cold" and case.cold else case.catchup_s.median
        checks.append(
            Check(
                f"{line.kind} catch-up, {name} case (tail {case.tail_events:,.0f} events, no writes)",
                line.seconds(case.tail_events),
                measured,
            )
        )
    return checks


def live_checks(advice: Advice, run: Run) -> list[Check]:
    """A live run's time to caught up against the model at its tail and achieved rate, on the warm line."""
    live = run.live
    if live is None:
        raise CannotFit(f"run {run.run_id} is not a live run")
    # Warm: a live run catches up in a running process; at the live runs' μ_w when they were given.
    predicted = model.staleness(advice.fit.under_writes(advice.fit.warm), live.tail_events, live.rate_achieved)
    measured = live.caught_up_s if live.has_caught_up else None
    return [
        Check(
            f"live catch-up (tail {live.tail_events:,} events, writes at {format_rate(live.rate_achieved)})",
            predicted,
            measured,
        )
    ]


def _seconds(value: float | None) -> str:
    return "never" if value is None else format_seconds(value)
