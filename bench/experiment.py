"""The catch-up experiment of DESIGN.md, for one projection over one store.

For a store with head N and every interval k (0 = no snapshots), R measured repeats after
W warm-ups:

1. Snapshot pass: a fresh projection replays (0, N] and saves a snapshot at every
   multiple of k. Replay (fetch + apply) and snapshot seconds are timed apart.
2. Catch-up, two cases per k > 0: a restart lands half way between snapshots on
   average (``expected``: a tail of k/2 events) and just before the next one at worst
   (``worst``: a tail of k-1). The head H of each case is the highest one <= N whose
   latest snapshot s leaves exactly that tail; a fresh projection loads s and replays
   (s, H]. Catch-up seconds = load + tail replay.
3. Verify: every caught-up state (and every snapshot pass's final state) must have the
   digest of a full replay from 0 to the same position, taken once before the timed work.

The snapshots this writes replace the projection's snapshots in the store, and are
deleted when the run ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter

from bench.replay import ReplayClock, replay
from bench.results import Sample
from projections import Projection
from projections.digest import differing_rows
from stores.base import DEFAULT_BATCH_SIZE, EventStore
from stores.errors import InvalidParameter
from stores.snapshots import SnapshotStore

SNAPSHOT_PASS = "snapshot_pass"
CASES = ("expected", "worst")


@dataclass(frozen=True)
class ExperimentConfig:
    intervals: tuple[int, ...]
    repeats: int = 5
    warmup: int = 1
    batch_size: int = DEFAULT_BATCH_SIZE

    def __post_init__(self) -> None:
        if not self.intervals:
            raise InvalidParameter("--intervals is empty; give snapshot intervals such as 0,10k,100k")
        negative = [k for k in self.intervals if k < 0]
        if negative:
            raise InvalidParameter(f"--intervals: {negative[0]} is negative; use 0 (no snapshots) or a positive count")
        if len(set(self.intervals)) != len(self.intervals):
            raise InvalidParameter(f"--intervals {','.join(map(str, self.intervals))} repeats a value; list each once")
        if self.repeats < 1:
            raise InvalidParameter(f"--repeats {self.repeats}: use at least 1")
        if self.warmup < 0:
            raise InvalidParameter(f"--warmup {self.warmup}: use 0 or more")
        if self.batch_size < 1:
            raise InvalidParameter(f"--batch-size {self.batch_size}: use at least 1")


@dataclass(frozen=True)
class CatchupCase:
    name: str
    interval: int
    snapshot_position: int  # 0: no snapshot lies at or before the head, replay from 0
    head: int

    @property
    def tail(self) -> int:
        return self.head - self.snapshot_position


def catchup_cases(interval: int, head: int) -> list[CatchupCase]:
    if interval == 0:
        return []
    cases = []
    for name, tail in (("expected", interval // 2), ("worst", interval - 1)):
        tail = min(tail, head)
        snapshot = (head - tail) // interval * interval
        cases.append(CatchupCase(name, interval, snapshot, snapshot + tail))
    return cases


@dataclass
class Check:
    """One verified state: a catch-up case, or a snapshot pass's final state."""

    interval: int
    case: str
    position: int
    snapshot_position: int
    expected_digest: str
    ok: bool = True
    actual_digest: str = ""
    failed_repeats: int = 0
    differing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class ExperimentResult:
    head: int
    samples: list[Sample]
    checks: list[Check]

    @property
    def diverged(self) -> bool:
        return any(not check.ok for check in self.checks)


class Experiment:
    def __init__(
        self,
        store: EventStore,
        projection: type[Projection],
        config: ExperimentConfig,
        emit: Callable[[str], None] | None = None,
    ) -> None:
        self.store, self.projection, self.config = store, projection, config
        self.emit = emit or (lambda line: None)
        self.snapshots: SnapshotStore = store.snapshots()
        self.head = store.head()
        if self.head == 0:
            raise InvalidParameter(f"store {store.info().uri} holds no events; nothing to replay")
        self.samples: list[Sample] = []
        self.checks: dict[tuple[int, str], Check] = {}

    def run(self) -> ExperimentResult:
        self.snapshots.delete(self.projection.name)
        try:
            self._reference_digests()
            for number, interval in enumerate(self.config.intervals, 1):
                for repeat in range(-self.config.warmup, self.config.repeats):
                    self._repeat(number, interval, repeat)
                self.snapshots.delete(self.projection.name)
        finally:
            self.snapshots.delete(self.projection.name)
        return ExperimentResult(self.head, self.samples, list(self.checks.values()))

    # -- verification ---------------------------------------------------------------------

    def _reference_digests(self) -> None:
        """One untimed full replay, digesting the state at every position a check needs."""
        wanted: dict[int, list[Check]] = {}
        for interval in self.config.intervals:
            cases = catchup_cases(interval, self.head)
            for case in [CatchupCase(SNAPSHOT_PASS, interval, 0, self.head), *cases]:
                check = Check(interval, case.name, case.head, case.snapshot_position, expected_digest="")
                self.checks[(interval, case.name)] = check
                wanted.setdefault(case.head, []).append(check)
        reference = self.projection()

        def digest_at(position: int) -> None:
            digest = reference.digest()
            for check in wanted[position]:
                check.expected_digest = digest

        self.emit(f"reference: full replay of {self.head:,} events to verify against")
        replay(self.store, reference, batch_size=self.config.batch_size, stops=sorted(wanted), at_stop=digest_at)

    def _verify(self, interval: int, case: str, state: Projection) -> bool:
        check = self.checks[(interval, case)]
        digest = state.digest()
        if digest == check.expected_digest:
            return True
        if check.ok:  # the first divergence of this check: say where the states differ
            check.ok, check.actual_digest = False, digest
            reference = self.projection()
            replay(self.store, reference, upto=check.position, batch_size=self.config.batch_size)
            check.differing = differing_rows(reference.snapshot(), state.snapshot(), self.projection.key)
        check.failed_repeats += 1
        return False

    # -- measuring ----------------------------------------------------------------------

    def _repeat(self, number: int, interval: int, repeat: int) -> None:
        measured = repeat >= 0
        state, clock, snapshot_s, count, size = self._snapshot_pass(interval)
        pass_ok = self._verify(interval, SNAPSHOT_PASS, state)
        rate = clock.events / max(clock.replay_s, 1e-9)
        parts = [f"pass {clock.events:,} events {clock.replay_s:.3f} s ({rate / 1e6:.2f}M events/s)"]
        if interval:
            parts.append(f"{count} snapshots {size / 1e6:.1f} MB {snapshot_s:.3f} s")
        if measured:
            self._record_pass(interval, repeat, clock, snapshot_s, count, size)
        for case in catchup_cases(interval, self.head):
            caught, load_s, tail = self._catch_up(case)
            ok = self._verify(interval, case.name, caught)
            parts.append(f"{case.name} {load_s + tail.replay_s:.4f} s{'' if ok else ' DIVERGED'}")
            if measured:
                self._record_catchup(case, repeat, load_s, tail)
        which = (
            f"repeat {repeat + 1}/{self.config.repeats}" if measured else f"warm-up {repeat + self.config.warmup + 1}"
        )
        total = len(self.config.intervals)
        self.emit(f"[{number}/{total}] k={interval:,} {which}: {'; '.join(parts)}{'' if pass_ok else ' DIVERGED'}")

    def _snapshot_pass(self, interval: int) -> tuple[Projection, ReplayClock, float, int, int]:
        self.snapshots.delete(self.projection.name)
        state = self.projection()
        taken = [0.0, 0, 0]  # seconds, count, bytes

        def take(position: int) -> None:
            started = perf_counter()
            info = self.snapshots.save(self.projection.name, position, state.snapshot())
            taken[0] += perf_counter() - started
            taken[1] += 1
            taken[2] += info.size_bytes

        stops = range(interval, self.head + 1, interval) if interval else ()
        clock = replay(self.store, state, batch_size=self.config.batch_size, stops=stops, at_stop=take)
        return state, clock, float(taken[0]), int(taken[1]), int(taken[2])

    def _catch_up(self, case: CatchupCase) -> tuple[Projection, float, ReplayClock]:
        started = perf_counter()
        info = self.snapshots.latest(self.projection.name, at_or_before=case.head)
        if info is None:
            state = self.projection()
        else:
            state = self.projection.restore(self.snapshots.load(info))
        load_s = perf_counter() - started
        after = info.position if info is not None else 0
        tail = replay(self.store, state, after=after, upto=case.head, batch_size=self.config.batch_size)
        return state, load_s, tail

    def _record_pass(
        self, interval: int, repeat: int, clock: ReplayClock, snapshot_s: float, count: int, size: int
    ) -> None:
        replay_s = max(clock.replay_s, 1e-12)
        self._add(interval, repeat, SNAPSHOT_PASS, "replay_s", clock.replay_s, "s")
        self._add(interval, repeat, SNAPSHOT_PASS, "fetch_s", clock.fetch_s, "s")
        self._add(interval, repeat, SNAPSHOT_PASS, "apply_s", clock.apply_s, "s")
        self._add(interval, repeat, SNAPSHOT_PASS, "events", clock.events, "events")
        self._add(interval, repeat, SNAPSHOT_PASS, "events_per_s", clock.events / replay_s, "events/s")
        self._add(interval, repeat, SNAPSHOT_PASS, "snapshot_s", snapshot_s, "s")
        self._add(interval, repeat, SNAPSHOT_PASS, "snapshots", count, "snapshots")
        self._add(interval, repeat, SNAPSHOT_PASS, "snapshot_bytes", size, "bytes")
        self._add(interval, repeat, SNAPSHOT_PASS, "overhead_pct", 100.0 * snapshot_s / replay_s, "%")

    def _record_catchup(self, case: CatchupCase, repeat: int, load_s: float, tail: ReplayClock) -> None:
        phase = f"catchup_{case.name}"
        self._add(case.interval, repeat, phase, "catchup_s", load_s + tail.replay_s, "s")
        self._add(case.interval, repeat, phase, "load_s", load_s, "s")
        self._add(case.interval, repeat, phase, "fetch_s", tail.fetch_s, "s")
        self._add(case.interval, repeat, phase, "apply_s", tail.apply_s, "s")
        self._add(case.interval, repeat, phase, "tail_events", tail.events, "events")
        self._add(case.interval, repeat, phase, "snapshot_position", case.snapshot_position, "position")

    def _add(self, interval: int, repeat: int, phase: str, metric: str, value: float, unit: str) -> None:
        self.samples.append(Sample(interval, repeat, phase, metric, float(value), unit))
