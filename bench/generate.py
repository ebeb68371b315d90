"""Generate a ledger into a store: generation and writing overlap on two threads."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from bench.prefetch import prefetch
from generators import LedgerParams, dataset_meta, generate
from stores.base import EventStore
from stores.errors import StorageFailed, os_failure

# Events per batch the generator produces and the store writes; it does not change the events.
GENERATE_BATCH_SIZE = 262_144


_REMEDY = "generate again, with --overwrite, once the cause is fixed"


@dataclass(frozen=True)
class GenerateResult:
    events: int
    head: int
    seconds: float
    size_bytes: int
    fingerprint_id: str

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def generate_into(
    store: EventStore,
    params: LedgerParams,
    *,
    overwrite: bool = False,
    batch_size: int = GENERATE_BATCH_SIZE,
    on_progress: Callable[[int], None] | None = None,
) -> GenerateResult:
    """Replace the store's log with the events of ``params``; the store stays incomplete on failure."""
    meta = dataset_meta(params)
    started = time.perf_counter()

    def counted(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield batch
            if on_progress is not None:
                on_progress(batch.num_rows)

    where: str | None = None
    try:
        where = store.info().uri
        head = store.load(counted(prefetch(generate(params, batch_size=batch_size))), meta, overwrite=overwrite)
    except OSError as error:  # pyarrow's name no file: the store's place stands in for it
        failed = os_failure(error, "writing", where)
        raise StorageFailed(f"{failed}; nothing there reads as a complete store ({_REMEDY})") from None
    seconds = time.perf_counter() - started
    return GenerateResult(params.events, head, seconds, store.info().size_bytes, meta.fingerprint["id"])
