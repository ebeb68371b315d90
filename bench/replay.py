"""Replay a range of events into a projection, timing fetch and apply apart.

Fetch is the time spent inside the store's iterator (reading, decoding, conforming);
apply is the time spent inside ``projection.apply``. Work done at a stop (a snapshot, a
digest) is timed by whoever does it, never counted as replay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from time import perf_counter

import numpy as np
import pyarrow as pa

from projections import Projection
from projections.base import missing_columns
from stores.base import READ_BATCH_SIZE, EventStore
from stores.errors import CatchupError, InvalidParameter
from stores.schema import ENVELOPE, positions


class ProjectionFailed(CatchupError):
    """The projection's own code raised while applying events."""


@dataclass
class ReplayClock:
    """Accumulates one replay's timings; mutable so a caller can add several ranges."""

    fetch_s: float = 0.0
    apply_s: float = 0.0
    events: int = 0

    @property
    def replay_s(self) -> float:
        return self.fetch_s + self.apply_s


def replay(
    store: EventStore,
    projection: Projection,
    *,
    after: int = 0,
    upto: int | None = None,
    batch_size: int = READ_BATCH_SIZE,
    stops: Iterable[int] = (),
    at_stop: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> ReplayClock:
    """Apply the events in (after, upto]; call ``at_stop(p)`` once every event <= p is applied.

    ``stops`` are ascending positions; batches are cut at them, so a stop sees the state at
    exactly that position. Stops above the last event read fire at the end.
    """
    check_fits(store, type(projection))
    pending = Stops(p for p in sorted(stops) if p > after and (upto is None or p <= upto))
    clock = apply_batches(
        store.read(after=after, upto=upto, batch_size=batch_size), projection, pending, at_stop, on_batch
    )
    while pending.current is not None:
        if at_stop is not None:
            at_stop(pending.current)
        pending.advance()
    return clock


def check_fits(store: EventStore, projection: type[Projection]) -> None:
    """InvalidParameter naming the columns ``projection`` reads that the store's events lack."""
    missing = missing_columns(projection, store.event_schema())
    if not missing:
        return
    kind = store.events_kind()
    if projection.events == kind:  # an envelope projection reading an [extra] column the file does not give
        remedy = "add them to the source file's [extra], or read only the columns it gives"
    elif kind == ENVELOPE:
        remedy = "map the ledger columns in the source file's [columns], or run a projection with events = 'envelope'"
    else:
        remedy = "run it over a source file without [columns] (its events are then the envelope)"
    raise InvalidParameter(
        f"projection {projection.name} reads {projection.events} events, but {store.info().uri} holds {kind} "
        f"events, without column(s) {', '.join(missing)}: {remedy}",
        "projection",
    )


class Stops:
    """Ascending positions to stop at, consumed as they are passed; may be endless (live mode)."""

    def __init__(self, positions: Iterable[int]) -> None:
        self._rest = iter(positions)
        self.current: int | None = next(self._rest, None)

    def advance(self) -> None:
        self.current = next(self._rest, None)


def apply_batches(
    batches: Iterable[pa.RecordBatch],
    projection: Projection,
    stops: Stops,
    at_stop: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    clock: ReplayClock | None = None,
) -> ReplayClock:
    """Apply ``batches`` in order, cut at each stop they reach, timing fetch and apply apart.

    A stop that the positions jump over (a position proven never to be written, in live
    mode) fires before the first batch past it: the state then holds every event up to it.
    """
    clock = clock if clock is not None else ReplayClock()
    apply = _guarded(projection)
    batches = iter(batches)
    while True:
        started = perf_counter()
        batch = next(batches, None)
        clock.fetch_s += perf_counter() - started
        if batch is None:
            break
        rows = batch.num_rows
        if stops.current is not None and int(positions(batch)[-1]) >= stops.current:
            cuts = positions(batch)
            start = 0
            while stops.current is not None and int(cuts[-1]) >= stops.current:
                end = int(np.searchsorted(cuts, stops.current, side="right"))
                if end > start:
                    started = perf_counter()
                    apply(batch.slice(start, end - start))
                    clock.apply_s += perf_counter() - started
                    start = end
                if at_stop is not None:
                    at_stop(stops.current)
                stops.advance()
            batch = batch.slice(start)
        if batch.num_rows:
            started = perf_counter()
            apply(batch)
            clock.apply_s += perf_counter() - started
        clock.events += rows
        if on_batch is not None:
            on_batch(rows)
    return clock


def _guarded(projection: Projection) -> Callable[[pa.RecordBatch], None]:
    """``projection.apply``, with an error from user code turned into one line naming the events."""
    apply = projection.apply

    def guarded(batch: pa.RecordBatch) -> None:
        try:
            apply(batch)
        except Exception as error:  # noqa: BLE001 - projection code may raise anything
            span = positions(batch)
            where = f"events {int(span[0]):,}..{int(span[-1]):,}" if len(span) else "an empty batch"
            raise ProjectionFailed(
                f"projection {projection.name} failed applying {where}: {type(error).__name__}: {error}"
            ) from error

    return guarded


@contextmanager
def projection_code(projection: type[Projection], what: str) -> Iterator[None]:
    """Around calls into a projection's own code (construct, snapshot, restore, digest):
    what it raises becomes one line naming the projection and the call."""
    try:
        yield
    except CatchupError:
        raise
    except Exception as error:  # noqa: BLE001 - projection code may raise anything
        raise ProjectionFailed(
            f"projection {projection.name} failed in {what}: {type(error).__name__}: {error}"
        ) from error


def restore(projection: type[Projection], table: pa.Table) -> Projection:
    """``projection.restore(table)``, with what it raises or wrongly returns as one line naming the class."""
    with projection_code(projection, "restore()"):
        state = projection.restore(table)
    if not isinstance(state, projection):
        raise ProjectionFailed(
            f"projection {projection.name}: {projection.__qualname__}.restore(table) returned "
            f"{type(state).__qualname__}, not a {projection.__qualname__}; restore must return an instance "
            "of its class holding the snapshot's state (a classmethod: return cls(...))"
        )
    return state
