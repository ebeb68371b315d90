"""Small helpers the benchmark scripts share: arguments, repeated timing, medians, a printed table."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.units import parse_count


def timed(action: Callable[[], object], repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls (raw values, not only a summary)."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def timed_side_by_side(
    ours: Callable[[], object], bare: Callable[[], object], repeats: int
) -> tuple[list[float], list[float]]:
    """Seconds of ``repeats`` calls of each, alternating which goes first, so that drift on
    a shared machine (a neighbour starting, the CPU clock changing) falls on both sides."""
    ours_s: list[float] = []
    bare_s: list[float] = []
    for index in range(repeats):
        pair = [(ours, ours_s), (bare, bare_s)]
        for action, into in pair if index % 2 == 0 else reversed(pair):
            into.extend(timed(action, 1))
    return ours_s, bare_s


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def dataset_arguments(doc: str | None, repeats: int, dir_help: str) -> argparse.Namespace:
    """The knobs every Parquet benchmark takes; counts are parsed (10M, 100k)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", default="10M", type=parse_count)
    parser.add_argument("--accounts", default="100k", type=parse_count)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--dir", type=Path, default=None, help=dir_help)
    return parser.parse_args()


def against_bare(rows: Sequence[tuple[str, int, float, float]]) -> str:
    """The table of reads timed through catchup and bare: (name, events, catchup s, bare s) each."""
    return table(
        ["read", "events", "catchup s", "catchup events/s", "bare s", "bare events/s", "bare/catchup"],
        [
            [name, f"{n:,}", f"{o:.4f}", f"{n / o:,.0f}", f"{b:.4f}", f"{n / b:,.0f}", f"{b / o:.2f}x"]
            for name, n, o, b in rows
        ],
    )
