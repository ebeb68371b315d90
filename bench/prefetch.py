"""Run an iterator in a background thread, a bounded number of items ahead.

Why: generating events (numpy) and writing them (Parquet encoding and compression, or a
COPY stream) both release the GIL for most of their work, so producing the next batch
while the consumer writes this one uses both cores. The bound keeps memory flat.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(source: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield the items of ``source`` in order, produced up to ``depth`` items ahead.

    An exception in the producer is raised in the consumer; closing the returned
    iterator (or abandoning it on an error) stops the producer.
    """
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            items.put(_Failure(error))

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # drain so a blocked put can see the stop flag
            try:
                items.get(timeout=0.1)
            except queue.Empty:
                pass
