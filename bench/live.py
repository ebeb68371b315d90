"""``catchup live`` as a library call: catch up while writers keep appending, and measure staleness.

The run, in order:

1. **Setup (untimed).** Replay the log as it stands into a fresh projection, which
   measures the replay rate μ, and, starting from a snapshot, save the snapshot a
   projection snapshotting every K events would have left had it stopped a while ago
   (``starting_snapshot``: a tail of at least K/2). Loading it once measures L. These
   are the model's inputs.
2. **Writers start** (``--writers`` processes, ``bench.live_writer``), each appending its
   share of ``--rate`` in small commits, continuing the seeded generator.
3. **Catch-up and tail.** A fresh projection loads the snapshot (or starts from zero),
   then tails the store through ``stores.tail.TailReader``, which never skips a position
   that may still commit, taking snapshots every K events. A sampler thread records
   time, head, position and lag every 100 ms. The run ends ``--observe`` seconds after
   catching up, or at ``--max-duration`` without catching up: never catching up is a
   result, reported with the rate at which the lag grows.
4. **Stop and verify.** Writers stop; the projection reads to the final head; its digest
   must equal a full replay's, which proves no event was lost or applied twice.

Staleness in seconds is the age of the oldest committed event not yet applied, from the
commit times writers report; the events already in the log at the start count as
appended at the start (the moment the projection restarts is when it starts being stale).
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench import __version__
from bench.environment import collect_environment, peak_rss_bytes
from bench.live_summary import ModelInputs, summarize_live
from bench.live_writer import Commit, Reports, Signal, WriterFailed, WriterReady, WriterSpec, run_writer
from bench.projection_loader import load_projection
from bench.replay import Stops, apply_batches, projection_code, replay
from bench.results import TIMESERIES_SCHEMA, Run, check_label, write_run
from bench.runner import DEFAULT_RESULTS, describe_projection
from projections import Projection
from stores import open_store
from stores.base import DEFAULT_BATCH_SIZE, EventStore
from stores.errors import CatchupError, InvalidParameter
from stores.tail import TailReader

START_FROM = ("snapshot", "zero")
SAMPLE_PERIOD_S = 0.1
LIVE_BATCH_SIZE = 16_384
WRITERS_READY_TIMEOUT_S = 120.0
WRITER_STOP_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 60.0


class LiveFailed(CatchupError):
    """The live run could not go on: every writer failed, or the end could not be read."""


@dataclass(frozen=True)
class LiveConfig:
    interval: int  # K: snapshot every K events while tailing
    rate: float  # λ: events/s appended by all writers together
    writers: int = 2
    start_from: str = "snapshot"
    max_duration_s: float = 60.0
    observe_s: float = 5.0  # after catching up, keep tailing this long to measure the lag
    batch_size: int = LIVE_BATCH_SIZE

    def __post_init__(self) -> None:
        if self.interval < 1:
            raise InvalidParameter(f"--interval {self.interval} is below 1; snapshot every k >= 1 events")
        if not self.rate > 0:
            raise InvalidParameter(f"--rate {self.rate:g} is not above 0; give events per second, e.g. 50000")
        if not 1 <= self.writers <= 64:
            raise InvalidParameter(f"--writers {self.writers} is out of range; use 1 to 64 writer processes")
        if self.start_from not in START_FROM:
            raise InvalidParameter(f"--start-from {self.start_from!r} is not known; use snapshot or zero")
        if not self.max_duration_s > 0:
            raise InvalidParameter(f"--max-duration {self.max_duration_s:g} is not above 0; give seconds")
        if self.observe_s < 0:
            raise InvalidParameter(f"--observe {self.observe_s:g} is negative; give seconds >= 0")
        if self.batch_size < 1:
            raise InvalidParameter(f"--batch-size {self.batch_size} is below 1")


@dataclass(frozen=True)
class LiveOutcome:
    run: Run
    verified: bool


class StalenessClock:
    """Commits not yet fully applied, for the age of the oldest unapplied event."""

    def __init__(self, start_head: int, started_at: float) -> None:
        self.start_head = start_head
        self.started_at = started_at
        self.head = start_head
        self.appended = 0
        self._pending: list[Commit] = []

    def record(self, commit: Commit) -> None:
        self.head = max(self.head, commit.last)
        self.appended += commit.count
        self._pending.append(commit)

    def lag_s(self, position: int, now: float) -> float:
        if position < self.start_head:
            return now - self.started_at
        self._pending = [c for c in self._pending if c.last > position]
        return now - min(c.committed_at for c in self._pending) if self._pending else 0.0


class Sampler(threading.Thread):
    """Every period: drain the writers' reports, then record one row of the time series."""

    def __init__(self, reports: Reports, clock: StalenessClock, reader: TailReader, period_s: float) -> None:
        super().__init__(name="catchup-live-sampler", daemon=True)
        self.reports, self.clock, self.reader, self.period_s = reports, clock, reader, period_s
        self.rows: list[tuple[float, int, int, int, float, int]] = []
        self.failures: list[tuple[int, str]] = []  # (writer, one line)
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        next_at = self.clock.started_at
        while not self.halt.is_set():
            self.sample()
            next_at += self.period_s
            self.halt.wait(max(0.0, next_at - time.monotonic()))

    def drain(self) -> None:
        while True:
            try:
                self.take(self.reports.get_nowait())
            except queue.Empty:
                return

    def take(self, report: object) -> None:
        if isinstance(report, Commit):
            self.clock.record(report)
        elif isinstance(report, WriterFailed):
            self.failures.append((report.writer, report.message))

    def sample(self) -> None:
        with self.lock:
            self.drain()
            now = time.monotonic()
            position = self.reader.position
            head = max(self.clock.head, position)
            lag_s = self.clock.lag_s(position, now)
            self.rows.append((now - self.clock.started_at, head, position, head - position, lag_s, self.clock.appended))

    def lag_events(self) -> int:
        with self.lock:
            return max(self.clock.head, self.reader.position) - self.reader.position


def execute_live(
    store_uri: str,
    projection_spec: str,
    config: LiveConfig,
    *,
    label: str | None = None,
    results_dir: Path = DEFAULT_RESULTS,
    emit: Callable[[str], None] | None = None,
    on_writers_started: Callable[[list[int]], None] | None = None,
) -> LiveOutcome:
    """Run live mode and write ``results_dir/<stamp>-<label>/`` (run.json, samples, timeseries)."""
    say = emit or (lambda line: None)
    projection_cls = load_projection(projection_spec)
    check_label(label or f"live-{projection_cls.name}")
    created_at = datetime.now(UTC)
    environment = collect_environment()
    with open_store(store_uri) as store:
        info = store.readable_info()
        params = (info.fingerprint or {}).get("params")
        if not params:
            raise InvalidParameter(
                f"{info.uri} holds events without generator parameters; live mode continues the seeded "
                "generator, so generate the store with catchup generate"
            )
        snapshots = store.snapshots()
        with projection_code(projection_cls, "snapshots delete"):
            snapshots.delete(projection_cls.name)
        store.begin_live()
        try:
            measured = _run(store, store_uri, projection_cls, config, params, say, on_writers_started)
        finally:
            # Ctrl-C included: the writers are stopped by now; what they committed becomes the head.
            with suppress(CatchupError):
                store.end_live()
                snapshots.delete(projection_cls.name)
        description = store.describe()
    environment["peak_rss_bytes"] = peak_rss_bytes()
    timeseries = measured.pop("_timeseries")
    live = {
        "interval": config.interval,
        "writers": config.writers,
        "start_from": config.start_from,
        "max_duration_s": config.max_duration_s,
        **measured,
    }
    run = write_run(
        results_dir,
        label=label or f"live-{projection_cls.name}",
        created_at=created_at,
        config={
            "catchup_version": __version__,
            "store": info.uri,
            "projection": describe_projection(projection_spec, projection_cls),
            **asdict(config),
        },
        environment=environment,
        store=description,
        dataset=info.fingerprint,
        summary=[],
        verification=[],
        warnings=_warnings(live),
        samples=[],
        kind="live",
        live=live,
        timeseries=timeseries,
    )
    return LiveOutcome(run, bool(live["verified"]))


def _run(
    store: EventStore,
    store_uri: str,  # as given, password included: only the writer processes see it
    projection_cls: type[Projection],
    config: LiveConfig,
    params: dict[str, Any],
    say: Callable[[str], None],
    on_writers_started: Callable[[list[int]], None] | None,
) -> dict[str, Any]:
    start_head = store.visible_head()
    model, start_position = _setup(store, projection_cls, config, start_head, say)
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited connections or threads
    signal = Signal(context.RawValue("d", 0.0))
    pipes = [context.Pipe(duplex=False) for _ in range(config.writers)]  # (receiving end, sending end)
    reports = Reports(receiver for receiver, _ in pipes)
    specs = [
        WriterSpec(store_uri, params, index, config.rate / config.writers, store.backend)
        for index in range(config.writers)
    ]
    processes = [
        context.Process(target=run_writer, args=(spec, signal, sender))
        for spec, (_, sender) in zip(specs, pipes, strict=True)
    ]
    for process, (_, sender) in zip(processes, pipes, strict=True):
        process.start()
        sender.close()  # the writer holds the only sending end: its death reads as EOF
    try:
        _wait_ready(processes, reports, say)
        if on_writers_started is not None:
            on_writers_started([p.pid for p in processes if p.pid is not None])
        say(f"writers: {config.writers} appending {config.rate:,.0f} events/s; catching up from {start_position:,}")
        t0 = time.monotonic()
        signal.go(t0)
        result = _catch_up_and_tail(store, projection_cls, config, start_head, start_position, t0, reports, say)
    finally:
        late = _stop_writers(processes, signal, reports)
    sampler, projection, reader, snapshots_taken = result
    for report in late:
        sampler.take(report)
    say("writers stopped; reading to the final head")
    reported = {index for index, _ in sampler.failures}
    failures = [f"writer {index}: {message}" for index, message in sampler.failures] + [
        f"writer {index}: exited with code {process.exitcode} without a word (killed?)"
        for index, process in enumerate(processes)
        if process.exitcode not in (0, None) and index not in reported
    ]
    _drain(store, projection, reader)
    store_head = store.end_live()
    verified = _verify(store, projection_cls, projection, store_head, config.batch_size)
    timeseries = _timeseries(sampler)
    measured = summarize_live(timeseries, model=model, rate_requested=config.rate, within_events=config.batch_size)
    return {
        **measured,
        "start_head": start_head,
        "start_position": start_position,
        "tail_events": start_head - start_position,
        "snapshots": snapshots_taken,
        "dead_positions": list(reader.dead),
        "writer_failures": failures,
        "verified": verified,
        "final_head": store_head,
        "_timeseries": timeseries,
    }


def _stop_writers(processes: list[Any], signal: Signal, reports: Reports) -> list[object]:
    """Stop every writer, reading their last reports meanwhile: a child cannot exit while its
    queue's pipe is full, so joining without reading would wait for the timeout."""
    signal.stop()
    late: list[object] = []
    deadline = time.monotonic() + WRITER_STOP_TIMEOUT_S
    while any(p.is_alive() for p in processes) and time.monotonic() < deadline:
        try:
            late.append(reports.get(timeout=0.05))
        except queue.Empty:
            pass
    for process in processes:
        if process.is_alive():
            process.terminate()
        process.join()
    while True:
        try:
            late.append(reports.get_nowait())
        except queue.Empty:
            return late


def _setup(
    store: EventStore, projection_cls: type[Projection], config: LiveConfig, head: int, say: Callable[[str], None]
) -> tuple[ModelInputs, int]:
    """Measure μ on the log as it stands; leave the snapshot a K-interval projection would have."""
    start_position = starting_snapshot(head, config.interval) if config.start_from == "snapshot" else 0
    snapshots = store.snapshots()
    with projection_code(projection_cls, "__init__"):
        projection = projection_cls()

    def save(position: int) -> None:
        with projection_code(projection_cls, "snapshot"):
            state = projection.snapshot()
        snapshots.save(projection_cls.name, position, state)

    say(f"setup: replaying {head:,} events to measure the replay rate")
    stops = [start_position] if start_position > 0 else []
    # The full-replay rate, as ``catchup run`` measures it: the model's μ.
    clock = replay(store, projection, after=0, upto=head, batch_size=DEFAULT_BATCH_SIZE, stops=stops, at_stop=save)
    replay_rate = clock.events / clock.replay_s if clock.replay_s > 0 else float("inf")
    load_s = 0.0
    if start_position > 0:
        started = time.perf_counter()
        _load(store, projection_cls, start_position)
        load_s = time.perf_counter() - started
    say(f"setup: replay rate {replay_rate / 1e6:.2f}M events/s; snapshot at {start_position:,} loads in {load_s:.3f} s")
    return ModelInputs(replay_rate, load_s, head - start_position), start_position


def starting_snapshot(head: int, interval: int) -> int:
    """Where a restarted projection's last snapshot lies: the catch-up experiment's expected case.

    A projection snapshotting every K events that stopped at a random moment has, on
    average, K/2 events after its last snapshot; the highest multiple of K at or below
    head - K/2 leaves a tail of K/2 to 3K/2 events (0 when the log is shorter than K/2).
    """
    return max(0, (head - interval // 2) // interval * interval)


def _load(store: EventStore, projection_cls: type[Projection], position: int) -> Projection:
    snapshots = store.snapshots()
    info = snapshots.latest(projection_cls.name, at_or_before=position)
    if info is None or info.position != position:
        raise LiveFailed(f"the starting snapshot at {position:,} is missing; the store changed during setup")
    table = snapshots.load(info)
    with projection_code(projection_cls, "restore"):
        return projection_cls.restore(table)


def _wait_ready(processes: list[Any], reports: Reports, say: Callable[[str], None]) -> None:
    ready: set[int] = set()
    deadline = time.monotonic() + WRITERS_READY_TIMEOUT_S
    while len(ready) < len(processes):
        try:
            report = reports.get(timeout=0.5)
        except queue.Empty:
            dead = [i for i, p in enumerate(processes) if not p.is_alive() and i not in ready]
            if dead or time.monotonic() > deadline:
                raise LiveFailed(f"writer {dead[0] if dead else '?'} did not start; see the lines above") from None
            continue
        if isinstance(report, WriterReady):
            ready.add(report.writer)
        elif isinstance(report, WriterFailed):
            raise LiveFailed(f"writer {report.writer} failed to start: {report.message}")
    say(f"writers ready: {len(ready)}")


def _catch_up_and_tail(
    store: EventStore,
    projection_cls: type[Projection],
    config: LiveConfig,
    start_head: int,
    start_position: int,
    t0: float,
    reports: Reports,
    say: Callable[[str], None],
) -> tuple[Sampler, Projection, TailReader, int]:
    if start_position > 0:
        projection = _load(store, projection_cls, start_position)
    else:
        with projection_code(projection_cls, "__init__"):
            projection = projection_cls()
    reader = TailReader(store, after=start_position, batch_size=config.batch_size)
    sampler = Sampler(reports, StalenessClock(start_head, t0), reader, SAMPLE_PERIOD_S)
    sampler.start()
    snapshots = store.snapshots()
    taken = 0

    def save(position: int) -> None:
        nonlocal taken
        with projection_code(projection_cls, "snapshot"):
            state = projection.snapshot()
        snapshots.save(projection_cls.name, position, state)
        taken += 1

    stops = Stops(count((start_position // config.interval + 1) * config.interval, config.interval))
    caught_at: float | None = None
    last_note = t0
    try:
        while True:
            before = reader.position
            apply_batches(_for_a_while(reader.poll()), projection, stops, save)
            now = time.monotonic()
            if caught_at is None and reader.position >= start_head and sampler.lag_events() <= config.batch_size:
                caught_at = now
                say(f"caught up after {now - t0:.2f} s at position {reader.position:,}")
            if caught_at is not None and now - caught_at >= config.observe_s:
                break
            if now - t0 >= config.max_duration_s:
                if caught_at is None:
                    say(f"not caught up after {config.max_duration_s:g} s (--max-duration); stopping")
                break
            if sampler.failures and len(sampler.failures) >= config.writers:
                say("every writer failed; stopping")
                break
            if now - last_note >= 5.0:
                last_note = now
                say(f"t={now - t0:.0f} s position {reader.position:,} lag {sampler.lag_events():,} events")
            if reader.position == before:
                time.sleep(0.002)  # nothing new: do not spin on the store
    finally:
        sampler.halt.set()
        sampler.join()
    sampler.sample()  # the state at the stop
    return sampler, projection, reader, taken


def _for_a_while(batches: Iterator[pa.RecordBatch], budget_s: float = 0.2) -> Iterator[pa.RecordBatch]:
    """The batches of one poll, cut short after ``budget_s`` so the loop looks at the clock and the lag."""
    until = time.monotonic() + budget_s
    for batch in batches:
        yield batch
        if time.monotonic() >= until:
            return


def _drain(store: EventStore, projection: Projection, reader: TailReader) -> None:
    """After the writers stopped: apply everything they committed (holes settle once their transactions end)."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    target = store.visible_head()
    reader.batch_size = max(reader.batch_size, DEFAULT_BATCH_SIZE)  # no longer measured: read in big batches
    while reader.position < target:
        before = reader.position
        apply_batches(reader.poll(), projection, Stops(()))
        if time.monotonic() > deadline:
            raise LiveFailed(f"could not read to the final head {target:,} within {DRAIN_TIMEOUT_S:g} s")
        if reader.position == before:
            time.sleep(0.01)  # waiting for a hole to settle


def _verify(
    store: EventStore, projection_cls: type[Projection], tailed: Projection, head: int, batch_size: int
) -> bool:
    """Digest of the tailed state against a full replay of what the store holds: nothing lost, nothing twice."""
    with projection_code(projection_cls, "__init__"):
        fresh = projection_cls()
    replay(store, fresh, after=0, upto=head, batch_size=max(batch_size, DEFAULT_BATCH_SIZE))
    with projection_code(projection_cls, "digest"):
        return tailed.digest() == fresh.digest()


def _timeseries(sampler: Sampler) -> pa.Table:
    """The sampler's rows (in TIMESERIES_SCHEMA's column order) as the table run.json's folder keeps."""
    columns: list[list[Any]] = [list(column) for column in zip(*sampler.rows, strict=True)]
    return pa.table(columns or [[] for _ in TIMESERIES_SCHEMA], schema=TIMESERIES_SCHEMA)


def _warnings(live: dict[str, Any]) -> list[str]:
    warnings = []
    if live["rate_requested"] and live["rate_achieved"] < 0.9 * live["rate_requested"]:
        warnings.append(
            f"the writers appended {live['rate_achieved']:,.0f} events/s of the {live['rate_requested']:,.0f} "
            "requested: the store or machine could not take more, so this run measured the lower rate"
        )
    if not live["caught_up"]:
        growth = live.get("lag_growth_events_per_s")
        warnings.append(
            f"never caught up within {live['max_duration_s']:g} s"
            + (f"; the lag grows by {growth:,.0f} events/s" if growth is not None else "")
        )
    for failure in live["writer_failures"]:
        warnings.append(f"a writer failed: {failure}")
    if live["dead_positions"]:
        warnings.append(
            f"{len(live['dead_positions'])} position(s) were reserved but never committed (a writer died or rolled "
            "back); the projection skipped them once no transaction could still commit them"
        )
    if not live["verified"]:
        warnings.append("divergence: the tailed state differs from a full replay of the final log")
    return warnings
