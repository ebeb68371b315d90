"""``catchup live`` as a library call: catch up while writers keep appending, and measure staleness.

The run, in order:

1. **Setup (untimed).** Replay the log as it stands into a fresh projection, which
   measures the replay rate μ, and, starting from a snapshot, save the snapshot a
   projection snapshotting every K events would have left had it stopped a while ago
   (``starting_snapshot``: a tail of at least K/2). Loading it once measures L. These
   are the model's inputs.
2. **Writers start** (``writers`` processes, ``bench.live.writer``), each appending its
   share of ``rate`` in small commits, continuing the seeded generator.
3. **Catch-up and tail** (bench.live.tailing). A fresh projection loads the snapshot
   (or starts from zero) and tails the store, taking snapshots every K events, while a
   sampler records the lag every 100 ms. The run ends ``observe_s`` seconds after
   catching up, or at ``max_duration_s`` without catching up: never catching up is a
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
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.environment import collect_environment, peak_rss_bytes
from bench.event_index import EventIndex
from bench.live.config import WRITER_STOP_TIMEOUT_S, WRITERS_READY_TIMEOUT_S, LiveConfig, LiveFailed
from bench.live.cpu import CpuMeter, cores, local_server, window
from bench.live.model import live_warnings, measure
from bench.live.setup import Load, divergence, live_summary, setup
from bench.live.source_run import follow_source
from bench.live.tailing import Tailed, catch_up_and_tail, drain, timeseries_table
from bench.live.writer import Reports, Signal, WriterFailed, WriterReady, WriterSpec, run_writer
from bench.projection_loader import load_projection
from bench.replay import projection_code
from bench.results import DEFAULT_RESULTS_DIR, LiveSummary, Run, check_label, write_run
from bench.results.live import CpuWindow, LiveCpu
from bench.runner import config_block
from projections import Projection
from stores import open_store
from stores.base import EventStore, StoreInfo
from stores.errors import CatchupError, InvalidParameter
from stores.foreign.source_base import ForeignSource


@dataclass(frozen=True)
class LiveOutcome:
    run: Run
    verified: bool


def execute_live(
    store_uri: str,
    projection_spec: str,
    config: LiveConfig,
    *,
    label: str | None = None,
    results_dir: Path = DEFAULT_RESULTS_DIR,
    emit: Callable[[str], None] | None = None,
    on_writers_started: Callable[[list[int]], None] | None = None,
) -> LiveOutcome:
    """Run live mode and write ``results_dir/<stamp>-<label>/`` (run.json, samples, timeseries)."""
    say = emit or (lambda line: None)
    projection_cls = load_projection(projection_spec)
    check_label(label or f"live-{projection_cls.name}")
    created_at = datetime.now(UTC)
    environment = collect_environment()
    # Live mode saves and deletes the projection's snapshots too: it takes the run lock as a run does.
    with open_store(store_uri) as store, store.run_lock(projection_cls.name):
        info = store.readable_info()
        if isinstance(store, ForeignSource):
            if not config.follow:
                raise InvalidParameter(
                    f"rate and writers are for catchup's own stores: {info.uri} is a foreign source, written by "
                    "its own application; leave both out to follow it as it is written",
                    "rate",
                    "writers",
                )
            live, timeseries = follow_source(store, projection_cls, config, say)
        else:
            live, timeseries = _with_writers(store, store_uri, info, projection_cls, config, say, on_writers_started)
        description = store.describe()
    environment["peak_rss_bytes"] = peak_rss_bytes()
    run = write_run(
        results_dir,
        label=label or f"live-{projection_cls.name}",
        created_at=created_at,
        config=config_block(info.uri, projection_spec, projection_cls, config),
        environment=environment,
        store=description,
        dataset=info.fingerprint,
        summary=[],
        verification=[],
        warnings=live_warnings(live),
        samples=[],
        kind="live",
        live=live,
        timeseries=timeseries,
    )
    return LiveOutcome(run, live.verified)


def _with_writers(
    store: EventStore,
    store_uri: str,
    info: StoreInfo,
    projection_cls: type[Projection],
    config: LiveConfig,
    say: Callable[[str], None],
    on_writers_started: Callable[[list[int]], None] | None,
) -> tuple[LiveSummary, pa.Table]:
    """Live mode on catchup's own store: its writers append the seeded generator's continuation."""
    if config.follow:
        raise InvalidParameter(
            f"rate is needed: {info.uri} is one of catchup's own stores, whose writers append at that rate; "
            "only a source file is followed as its own application writes it",
            "rate",
        )
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
        return _run(store, store_uri, projection_cls, config, params, say, on_writers_started)
    finally:
        # Ctrl-C included: the writers are stopped by now; what they committed becomes the head.
        with suppress(CatchupError):
            store.end_live()
            snapshots.delete(projection_cls.name)


def _run(
    store: EventStore,
    store_uri: str,  # as given, password included: only the writer processes see it
    projection_cls: type[Projection],
    config: LiveConfig,
    params: dict[str, Any],
    say: Callable[[str], None],
    on_writers_started: Callable[[list[int]], None] | None,
) -> tuple[LiveSummary, pa.Table]:
    start_head = store.visible_head()
    server = local_server(store_uri)
    # catchup's own store: its n-th event is at position n (the holes dead writers left are few).
    prepared = setup(store, projection_cls, config, EventIndex(start_head, None), say, server)
    model, start_position, setup_cpu = prepared.model, prepared.start_position, prepared.cpu
    processes, signal, reports = _spawn_writers(store_uri, params, config, store.backend)
    try:
        _wait_ready(processes, reports, say)
        pids = [p.pid for p in processes if p.pid is not None]
        if on_writers_started is not None:
            on_writers_started(pids)
        say(f"writers: {config.writers} appending {config.rate:,.0f} events/s; catching up from {start_position:,}")
        meter = CpuMeter(pids, server=server)
        catchup_cpu: list[CpuWindow] = []
        started = meter.read()

        def caught_up() -> None:
            catchup_cpu.append(window(started, meter.read()))

        t0 = time.monotonic()
        signal.go(t0)
        tailed = catch_up_and_tail(
            store, projection_cls, config, start_head, start_position, t0, reports, say, caught_up
        )
        if not catchup_cpu:  # never caught up: the window is the whole run
            caught_up()
    finally:
        late = _stop_writers(processes, signal, reports)
    for report in late:
        tailed.sampler.take(report)
    say("writers stopped; reading to the final head")
    failures = _writer_failures(tailed, processes)
    drain(store, tailed.projection, tailed.reader)
    store_head = store.end_live()
    differing = divergence(store, projection_cls, tailed.projection, store_head, config.batch_size)
    timeseries = timeseries_table(tailed.sampler.rows)
    cpu = LiveCpu(cores=cores(), setup=setup_cpu, catchup=catchup_cpu[0])
    measured = measure(timeseries, model=model, within_events=config.batch_size, cpu=cpu)
    load = Load(config.writers, config.rate, tuple(tailed.reader.dead), tuple(failures))
    live = live_summary(
        config, measured, tailed, load, start_head=start_head, start_position=start_position,
        start_events=start_head, tail_events=start_head - start_position, differing=differing, final_head=store_head,
    )  # fmt: skip
    return live, timeseries


def _spawn_writers(
    store_uri: str, params: dict[str, Any], config: LiveConfig, backend: str
) -> tuple[list[Any], Signal, Reports]:
    """Start the writer processes, each with its own pipe for its reports; they wait for go."""
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited connections or threads
    signal = Signal(context.RawValue("d", 0.0))
    pipes = [context.Pipe(duplex=False) for _ in range(config.writers)]  # (receiving end, sending end)
    reports = Reports(receiver for receiver, _ in pipes)
    specs = [
        WriterSpec(store_uri, params, index, config.rate / config.writers, backend) for index in range(config.writers)
    ]
    processes = [
        context.Process(target=run_writer, args=(spec, signal, sender))
        for spec, (_, sender) in zip(specs, pipes, strict=True)
    ]
    for process, (_, sender) in zip(processes, pipes, strict=True):
        process.start()
        sender.close()  # the writer holds the only sending end: its death reads as EOF
    return processes, signal, reports


def _writer_failures(tailed: Tailed, processes: list[Any]) -> list[str]:
    """Each failure a writer reported, and each writer that exited badly without a word."""
    reported = {index for index, _ in tailed.sampler.failures}
    return [f"writer {index}: {message}" for index, message in tailed.sampler.failures] + [
        f"writer {index}: exited with code {process.exitcode} without a word (killed?)"
        for index, process in enumerate(processes)
        if process.exitcode not in (0, None) and index not in reported
    ]


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
