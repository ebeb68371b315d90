"""A live-mode writer: one process appending the seeded continuation at its share of the rate.

Each writer is its own process with its own store connection, as an application's
instances are. It appends what its share of the rate says is due, in small units (a
transaction on Postgres, a file on Parquet), and reports every commit to the coordinator
so that staleness can be measured from commit times. Pacing is by the cumulative count,
so a slow commit is caught up by the next one rather than lost; a writer that cannot keep
up shows as an achieved rate below the requested one, never as a silent change of load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

from generators.continuation import Continuation
from generators.params import params_from_json
from stores import open_store

# Per unit of work: Postgres commits every TICK as an application would; Parquet writes a
# file per tick, so its tick is longer, or the folder would fill with tiny files.
TICK_S = {"postgres": 0.01, "parquet": 0.1}
MAX_UNIT = 5_000  # events in one transaction or file at most


@dataclass(frozen=True)
class WriterSpec:
    store_uri: str
    generator_params: dict[str, Any]  # LedgerParams.to_json() of the store's dataset
    index: int
    rate: float  # this writer's share, events/s
    backend: str


@dataclass(frozen=True)
class Commit:
    writer: int
    first: int
    last: int
    count: int
    committed_at: float  # time.monotonic()


@dataclass(frozen=True)
class WriterReady:
    writer: int


@dataclass(frozen=True)
class WriterFailed:
    writer: int
    message: str  # one line


def run_writer(spec: WriterSpec, go: Event, stop: Event, reports: Queue, start_time: Any) -> None:
    """The writer process's body: get ready, wait for ``go``, append until ``stop``."""
    try:
        with open_store(spec.store_uri) as store:
            continuation = Continuation(params_from_json(spec.generator_params))
            continuation.advance_to(store.visible_head() + 1)  # the start-up cost, paid before the clock starts
            with store.live_appender() as appender:
                reports.put(WriterReady(spec.index))
                go.wait()
                _append_until(spec, appender, continuation, stop, reports, start_time.value)
    except KeyboardInterrupt:
        return  # Ctrl-C reaches every process of the group; the coordinator reports it
    except Exception as error:  # noqa: BLE001 - reported to the coordinator as one line, whatever it was
        reports.put(WriterFailed(spec.index, f"{type(error).__name__}: {' '.join(str(error).split())}"))
        raise SystemExit(1) from None


def _append_until(
    spec: WriterSpec, appender: Any, continuation: Continuation, stop: Event, reports: Queue, started: float
) -> None:
    tick = TICK_S.get(spec.backend, 0.05)
    written = 0
    next_tick = started
    while not stop.is_set():
        # One unit per tick, as an application commits what arrived meanwhile; a unit over
        # MAX_UNIT is split, and a writer behind its rate appends at once until it is level.
        due = int(spec.rate * (time.monotonic() - started)) - written
        while due > 0 and not stop.is_set():
            receipt = appender.append(min(due, MAX_UNIT), continuation.events_at)
            written += receipt.count
            due -= receipt.count
            reports.put(Commit(spec.index, receipt.first, receipt.last, receipt.count, receipt.committed_at))
        next_tick = max(next_tick + tick, time.monotonic())
        stop.wait(next_tick - time.monotonic())
