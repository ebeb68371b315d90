"""A live-mode writer: one process appending the seeded continuation at its share of the rate.

Each writer is its own process with its own store connection, as an application's
instances are. It appends what its share of the rate says is due, in small units (a
transaction on Postgres, a file on Parquet), and reports every commit to the coordinator
so that staleness can be measured from commit times. Pacing is by the cumulative count,
so a slow commit is caught up by the next one rather than lost; a writer that cannot keep
up shows as an achieved rate below the requested one, never as a silent change of load.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
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


class Signal:
    """Start and stop for the writers: one shared double, no lock.

    0 = wait, > 0 = go (the start time, time.monotonic()), < 0 = stop. Not a
    multiprocessing.Event: setting an Event waits for every process asleep on it to wake,
    and a writer killed while asleep never does, so stopping the others would hang.
    """

    POLL_S = 0.002

    def __init__(self, shared: Any) -> None:
        self._shared = shared  # a multiprocessing RawValue("d")

    def go(self, started: float) -> None:
        self._shared.value = started

    def stop(self) -> None:
        self._shared.value = -1.0

    @property
    def stopped(self) -> bool:
        return self._shared.value < 0

    def wait_for_go(self) -> float | None:
        """The start time once the coordinator says go; None if it says stop first."""
        while self._shared.value == 0:
            time.sleep(self.POLL_S)
        return None if self.stopped else float(self._shared.value)

    def sleep(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking early on stop."""
        until = time.monotonic() + seconds
        while not self.stopped and time.monotonic() < until:
            time.sleep(min(self.POLL_S * 5, max(0.0, until - time.monotonic())))


class Reports:
    """The coordinator's end of the writers' pipes, one pipe per writer.

    Not one shared multiprocessing.Queue: a writer killed in the middle of a message
    would leave the queue's pipe holding half a message, and the next read would wait
    for the rest forever. With its own pipe, a dead writer's half message turns into
    EOF (the coordinator holds no copy of the writing end) and only that pipe is closed.
    """

    def __init__(self, connections: Iterable[Connection]) -> None:
        self._open = list(connections)
        self._ready: deque[object] = deque()

    def get(self, timeout: float) -> object:
        """The next report, waiting up to ``timeout`` seconds; queue.Empty when none came."""
        if not self._ready:
            self._fill(timeout)
        if not self._ready:
            raise queue.Empty
        return self._ready.popleft()

    def get_nowait(self) -> object:
        return self.get(0.0)

    def _fill(self, timeout: float) -> None:
        if not self._open:
            time.sleep(timeout)
            return
        for connection in wait(self._open, timeout):
            assert isinstance(connection, Connection)
            try:
                self._ready.append(connection.recv())
            except (EOFError, OSError):  # the writer is gone: nothing more will come this way
                self._open.remove(connection)
                connection.close()


def run_writer(spec: WriterSpec, signal: Signal, reports: Connection) -> None:
    """The writer process's body: get ready, wait for go, append until stop."""
    try:
        with open_store(spec.store_uri) as store:
            continuation = Continuation(params_from_json(spec.generator_params))
            continuation.advance_to(store.visible_head() + 1)  # the start-up cost, paid before the clock starts
            with store.live_appender() as appender:
                reports.send(WriterReady(spec.index))
                started = signal.wait_for_go()
                if started is not None:
                    _append_until(spec, appender, continuation, signal, reports, started)
    except KeyboardInterrupt:
        return  # Ctrl-C reaches every process of the group; the coordinator reports it
    except Exception as error:  # noqa: BLE001 - reported to the coordinator as one line, whatever it was
        reports.send(WriterFailed(spec.index, f"{type(error).__name__}: {' '.join(str(error).split())}"))
        raise SystemExit(1) from None


def _append_until(
    spec: WriterSpec, appender: Any, continuation: Continuation, signal: Signal, reports: Connection, started: float
) -> None:
    tick = TICK_S.get(spec.backend, 0.05)
    written = 0
    next_tick = started
    while not signal.stopped:
        # One unit per tick, as an application commits what arrived meanwhile; a unit over
        # MAX_UNIT is split, and a writer behind its rate appends at once until it is level.
        due = int(spec.rate * (time.monotonic() - started)) - written
        while due > 0 and not signal.stopped:
            receipt = appender.append(min(due, MAX_UNIT), continuation.events_at)
            written += receipt.count
            due -= receipt.count
            reports.send(Commit(spec.index, receipt.first, receipt.last, receipt.count, receipt.committed_at))
        next_tick = max(next_tick + tick, time.monotonic())
        signal.sleep(next_tick - time.monotonic())
