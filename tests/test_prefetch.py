from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bench.prefetch import prefetch


def test_items_arrive_in_order() -> None:
    assert list(prefetch(iter(range(1_000)), depth=3)) == list(range(1_000))


def test_a_producer_error_is_raised_in_the_consumer_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("generator broke")

    seen = []
    with pytest.raises(RuntimeError, match="generator broke"):
        for item in prefetch(failing()):
            seen.append(item)
    assert seen == [1, 2]


def test_closing_early_stops_the_producer() -> None:
    produced = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    items = prefetch(endless(), depth=2)
    assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]
    items.close()
    assert len(produced) <= 5 + 2 + 2  # at most the queue and one item in hand ahead
    assert all(t.name != "prefetch" for t in threading.enumerate())
