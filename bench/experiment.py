"""The catch-up experiment (docs/experiment.md), for one projection over one store.

For a store with head N and every interval k (0 = no snapshots), R measured repeats after
W warm-ups, taken round-robin (repeat 1 of every k, then repeat 2, ...):

1. Snapshot pass: a fresh projection replays (0, N] and saves a snapshot at every
   multiple of k. Replay (fetch + apply) and snapshot seconds are timed apart.
2. Catch-up, two cases per k > 0: a restart lands half way between snapshots on
   average (``expected``: a tail of k/2 events) and just before the next one at worst
   (``worst``: a tail of k-1). The head H of each case is the highest one <= N whose
   latest snapshot s leaves exactly that tail; a fresh projection loads s and replays
   (s, H]. Catch-up seconds = snapshot load + restore + tail replay. Within a repeat the
   cases are measured in a seeded shuffled order (``case_order``), each right after an
   untimed catch-up of itself, so that no case reads what another just warmed.
3. Cold (``config.cold``): after the warm cases of a measured repeat, each case again, in
   the same order, by a fresh process with the store's files evicted from the page cache
   (bench.cold), timed from the spawn to caught-up. No prelude: a cold start is meant to
   be cold.
4. Verify: every caught-up state (and every snapshot pass's final state) must have the
   digest of a full replay from 0 to the same position, taken once before the timed work.

The snapshots this writes replace the projection's snapshots in the store, and are
deleted when the run ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter

import pyarrow as pa

from bench.catchup_cases import CatchupCase, case_order, catchup_cases
from bench.cold import ColdOutcome, ColdRequest, RestartTarget, cold_catch_up
from bench.event_index import event_index
from bench.experiment_config import ExperimentConfig
from bench.progress import RateReporter
from bench.replay import ReplayClock, projection_code, replay, restore
from bench.results import SNAPSHOT_PASS, Sample, catchup_phase, cold_phase
from projections import Projection
from projections.digest import differing_rows
from stores.base import EventStore
from stores.errors import InvalidParameter, os_failure
from stores.snapshots import SnapshotStore

PROGRESS_EVERY_S = 5.0  # a pass shorter than this shows only its summary line


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

    @property
    def divergence_line(self) -> str:
        """One line saying where and how this check diverged from the full replay."""
        where = "snapshot pass" if self.case == SNAPSHOT_PASS else f"catch-up ({self.case})"
        first = self.differing[0] if self.differing else "no row-level difference found"
        return (
            f"divergence: k={self.interval:,} {where} at position {self.position:,} "
            f"(snapshot {self.snapshot_position:,}) in {self.failed_repeats} repeat(s): "
            f"digest {self.actual_digest[:12]} != full replay {self.expected_digest[:12]}; first difference: {first}"
        )


@dataclass
class PassTiming:
    """A snapshot pass: the replay, and the snapshots split into the projection's
    ``snapshot()`` (state_s) and the snapshot store's save (save_s: encode, write, sync)."""

    clock: ReplayClock = field(default_factory=ReplayClock)
    state_s: float = 0.0
    save_s: float = 0.0
    count: int = 0
    size_bytes: int = 0

    @property
    def snapshot_s(self) -> float:
        return self.state_s + self.save_s


@dataclass
class CatchupTiming:
    """A catch-up: the snapshot read from the store (load_s, inside the store), the
    projection's ``restore`` (restore_s), and the tail replay."""

    load_s: float = 0.0
    restore_s: float = 0.0
    tail: ReplayClock = field(default_factory=ReplayClock)

    @property
    def catchup_s(self) -> float:
        return self.load_s + self.restore_s + self.tail.replay_s


@dataclass
class ExperimentResult:
    head: int
    samples: list[Sample]
    checks: list[Check]
    warnings: list[str] = field(default_factory=list)  # about how it measured: what a cold restart kept warm

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
        restart: RestartTarget | None = None,
    ) -> None:
        if config.cold and restart is None:
            raise InvalidParameter(
                "cold restarts need restart, the store URI and projection spec a fresh process opens", "restart"
            )
        self.store, self.projection, self.config = store, projection, config
        self.restart = restart
        self.emit = emit or (lambda line: None)
        self.snapshots: SnapshotStore = store.snapshots()
        # Planned in counts of events, read by position (bench.event_index says why).
        self.index = event_index(store)
        self.head = self.index.events
        if self.head == 0:
            raise InvalidParameter(f"store {store.info().uri} holds no events; nothing to replay")
        self.samples: list[Sample] = []
        self.checks: dict[tuple[int, str], Check] = {}
        self.warnings: list[str] = []

    def run(self) -> ExperimentResult:
        self.snapshots.delete(self.projection.name)
        try:
            self._reference_digests()
            # Round-robin over the intervals, not all repeats of one interval in a row: a burst
            # of load from elsewhere on the machine then costs one repeat of several intervals,
            # which their medians absorb, instead of every repeat of one interval, which would
            # shift its median and could pass for a regression in compare.
            for repeat in range(-self.config.warmup, self.config.repeats):
                for number, interval in enumerate(self.config.intervals, 1):
                    self._repeat(number, interval, repeat)
        finally:
            self.snapshots.delete(self.projection.name)
        return ExperimentResult(self.head, self.samples, list(self.checks.values()), self.warnings)

    # -- verification ---------------------------------------------------------------------

    def _reference_digests(self) -> None:
        """One untimed full replay, digesting the state at every position a check needs."""
        wanted: dict[int, list[Check]] = {}
        for interval in self.config.intervals:
            cases = self._cases(interval)
            checked = [(SNAPSHOT_PASS, CatchupCase(SNAPSHOT_PASS, interval, 0, self.index.head))]
            checked += [(case.name, case) for case in cases]
            if self.config.cold:
                checked += [(cold_phase(case.name), case) for case in cases]
            for name, case in checked:
                check = Check(interval, name, case.head, case.snapshot_position, expected_digest="")
                self.checks[(interval, name)] = check
                wanted.setdefault(case.head, []).append(check)
        reference = self._fresh()

        def digest_at(position: int) -> None:
            digest = self._digest(reference)
            for check in wanted[position]:
                check.expected_digest = digest

        self.emit(f"reference: full replay of {self.head:,} events to verify against")
        progress = RateReporter("reference", self.head, self.emit, every=PROGRESS_EVERY_S)
        replay(
            self.store,
            reference,
            batch_size=self.config.batch_size,
            stops=sorted(wanted),
            at_stop=digest_at,
            on_batch=progress.update,
        )

    def _verify(self, interval: int, case: str, state: Projection) -> bool:
        return self._judge(interval, case, self._digest(state), state.snapshot)

    def _judge(self, interval: int, case: str, digest: str, actual: Callable[[], pa.Table]) -> bool:
        """Whether ``digest`` is the full replay's; ``actual`` gives the state's table if it is not."""
        check = self.checks[(interval, case)]
        if digest == check.expected_digest:
            return True
        if check.ok:  # the first divergence of this check: say where the states differ
            check.ok, check.actual_digest = False, digest
            reference = self._fresh()
            replay(self.store, reference, upto=check.position, batch_size=self.config.batch_size)
            with projection_code(self.projection, "snapshot()"):
                expected, table = reference.snapshot(), actual()
            check.differing = differing_rows(expected, table, self.projection.key)
        check.failed_repeats += 1
        return False

    def _fresh(self) -> Projection:
        with projection_code(self.projection, "__init__()"):
            return self.projection()

    def _digest(self, state: Projection) -> str:
        with projection_code(self.projection, "digest()"):
            return state.digest()

    # -- measuring ----------------------------------------------------------------------

    def _repeat(self, number: int, interval: int, repeat: int) -> None:
        measured = repeat >= 0
        state, taken = self._snapshot_pass(interval)
        pass_ok = self._verify(interval, SNAPSHOT_PASS, state)
        clock = taken.clock
        rate = clock.events / max(clock.replay_s, 1e-9)
        parts = [f"pass {clock.events:,} events {clock.replay_s:.3f} s ({rate / 1e6:.2f}M events/s)"]
        if interval:
            parts.append(f"{taken.count} snapshots {taken.size_bytes / 1e6:.1f} MB {taken.snapshot_s:.3f} s")
        if measured:
            self._record_pass(interval, repeat, taken)
        cases = case_order(self._cases(interval), self.config.case_order_seed, interval, repeat)
        for rank, case in enumerate(cases, 1):
            # The prelude: an untimed catch-up of this very case, so every timed case finds what a
            # catch-up warms already warm, whether it runs first after the snapshot pass or after
            # another case. Measured (bench/perf/case_order.py --preludes): a case timed first took
            # ~100 minor page faults that one timed second did not (memory for the tail's decode,
            # taken afresh from the OS); a snapshot load alone as prelude left them, this leaves none.
            self._catch_up(case)
            caught, catchup = self._catch_up(case)
            ok = self._verify(interval, case.name, caught)
            parts.append(f"{case.name} {catchup.catchup_s:.4f} s{'' if ok else ' DIVERGED'}")
            if measured:
                self._record_catchup(case, repeat, catchup, rank)
        if measured and self.config.cold:
            for rank, case in enumerate(cases, 1):
                cold = self._cold(case)
                ok = self._judge(interval, cold_phase(case.name), cold.digest, cold.caught_up_state)
                parts.append(f"cold {case.name} {cold.timing.catchup_s:.4f} s{'' if ok else ' DIVERGED'}")
                self._record_cold(case, repeat, cold, rank)
        which = (
            f"repeat {repeat + 1}/{self.config.repeats}" if measured else f"warm-up {repeat + self.config.warmup + 1}"
        )
        total = len(self.config.intervals)
        self.emit(f"[{number}/{total}] k={interval:,} {which}: {'; '.join(parts)}{'' if pass_ok else ' DIVERGED'}")

    def _snapshot_pass(self, interval: int) -> tuple[Projection, PassTiming]:
        self.snapshots.delete(self.projection.name)
        state = self._fresh()
        taken = PassTiming()

        def take(position: int) -> None:
            started = perf_counter()
            with projection_code(self.projection, "snapshot()"):
                table = state.snapshot()
            encoded = perf_counter()
            try:
                info = self.snapshots.save(self.projection.name, position, table)
            except OSError as error:  # the snapshot store names no file: the store stands in for it
                doing = f"saving the snapshot of {self.projection.name} at position {position:,} into"
                raise os_failure(error, doing, self.store.info().uri) from None
            taken.state_s += encoded - started
            taken.save_s += perf_counter() - encoded
            taken.count += 1
            taken.size_bytes += info.size_bytes

        stops = self.index.every(interval) if interval else []
        progress = RateReporter(f"k={interval:,} pass", self.head, self.emit, every=PROGRESS_EVERY_S)
        taken.clock = replay(
            self.store, state, batch_size=self.config.batch_size, stops=stops, at_stop=take, on_batch=progress.update
        )
        return state, taken

    def _cases(self, interval: int) -> list[CatchupCase]:
        """The catch-up cases of ``interval``, planned in counts of events, at the positions they fall on."""
        at = self.index.position
        return [
            CatchupCase(case.name, interval, at(case.snapshot_position), at(case.head))
            for case in catchup_cases(interval, self.head)
        ]

    def _catch_up(self, case: CatchupCase) -> tuple[Projection, CatchupTiming]:
        timing = CatchupTiming()
        started = perf_counter()
        info = self.snapshots.latest(self.projection.name, at_or_before=case.head)
        table = self.snapshots.load(info) if info is not None else None
        loaded = perf_counter()
        if table is None:
            state = self._fresh()
        else:
            state = restore(self.projection, table)
        timing.load_s, timing.restore_s = loaded - started, perf_counter() - loaded
        after = info.position if info is not None else 0
        timing.tail = replay(self.store, state, after=after, upto=case.head, batch_size=self.config.batch_size)
        return state, timing

    def _cold(self, case: CatchupCase) -> ColdOutcome:
        assert self.restart is not None, "checked in __init__"
        expected = self.checks[(case.interval, cold_phase(case.name))].expected_digest
        outcome = cold_catch_up(self.store, ColdRequest(self.restart, case.head, self.config.batch_size, expected))
        note = outcome.eviction.not_evicted
        if note is not None and f"cold restarts: {note}" not in self.warnings:
            self.warnings.append(f"cold restarts: {note}")
        return outcome

    def _record_pass(self, interval: int, repeat: int, taken: PassTiming) -> None:
        clock = taken.clock
        replay_s = max(clock.replay_s, 1e-12)
        for metric, value, unit in (
            ("replay_s", clock.replay_s, "s"),
            ("fetch_s", clock.fetch_s, "s"),
            ("apply_s", clock.apply_s, "s"),
            ("events", clock.events, "events"),
            ("events_per_s", clock.events / replay_s, "events/s"),
            ("snapshot_s", taken.snapshot_s, "s"),
            ("snapshot_state_s", taken.state_s, "s"),
            ("snapshot_save_s", taken.save_s, "s"),
            ("snapshots", taken.count, "snapshots"),
            ("snapshot_bytes", taken.size_bytes, "bytes"),
            ("overhead_pct", 100.0 * taken.snapshot_s / replay_s, "%"),
        ):
            self._add(interval, repeat, SNAPSHOT_PASS, metric, value, unit)

    def _record_catchup(self, case: CatchupCase, repeat: int, timing: CatchupTiming, rank: int) -> None:
        phase = catchup_phase(case.name)
        for metric, value, unit in (
            ("catchup_s", timing.catchup_s, "s"),
            ("load_s", timing.load_s, "s"),
            ("restore_s", timing.restore_s, "s"),
            ("fetch_s", timing.tail.fetch_s, "s"),
            ("apply_s", timing.tail.apply_s, "s"),
            ("tail_events", timing.tail.events, "events"),
            ("snapshot_position", case.snapshot_position, "position"),
            ("order", rank, "rank"),
        ):
            self._add(case.interval, repeat, phase, metric, value, unit)

    def _record_cold(self, case: CatchupCase, repeat: int, outcome: ColdOutcome, rank: int) -> None:
        timing, eviction = outcome.timing, outcome.eviction
        for metric, value, unit in (
            ("catchup_s", timing.catchup_s, "s"),
            ("start_s", timing.start_s, "s"),
            ("import_s", timing.import_s, "s"),
            ("open_s", timing.open_s, "s"),
            ("load_s", timing.load_s, "s"),
            ("restore_s", timing.restore_s, "s"),
            ("fetch_s", timing.fetch_s, "s"),
            ("apply_s", timing.apply_s, "s"),
            ("tail_events", timing.tail_events, "events"),
            ("snapshot_position", timing.snapshot_position, "position"),
            ("order", rank, "rank"),
            ("evicted_files", eviction.files, "files"),
            ("evicted_bytes", eviction.size_bytes, "bytes"),
        ):
            self._add(case.interval, repeat, cold_phase(case.name), metric, value, unit)

    def _add(self, interval: int, repeat: int, phase: str, metric: str, value: float, unit: str) -> None:
        self.samples.append(Sample(interval, repeat, phase, metric, float(value), unit))
