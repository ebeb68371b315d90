"""Benchmark: reading a Parquet store through catchup against bare pyarrow, same rows.

    python -m bench.perf.parquet_read --events 10M --repeats 5 [--dir data/bench-10M]

Full read: ``store.read()`` against ``pq.ParquetFile(f).iter_batches()`` over every file.
Tail reads (10k, 100k, 1M events): ``store.read(after=head - tail)`` against a bare read of
just the row groups that hold the tail (found from the footers beforehand, so the bare
side does no pruning work at all) sliced to the tail. Side by side in one run; the ratio
is bare seconds / catchup seconds (1.0 = no overhead).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.generate import generate_into
from bench.perf.timing import against_bare, dataset_arguments, median, timed_side_by_side
from generators import LedgerParams
from stores.parquet import ParquetStore


def consume(batches: Iterable[pa.RecordBatch]) -> int:
    return sum(batch.num_rows for batch in batches)


def _read_after(store: ParquetStore, after: int) -> int:
    return consume(store.read(after=after))


def bare_full(files: list[Path]) -> int:
    return sum(consume(pq.ParquetFile(f).iter_batches(batch_size=131_072)) for f in files)


def tail_row_groups(files: list[Path], after: int) -> list[tuple[Path, list[int]]]:
    chosen = []
    for path in files:
        meta = pq.ParquetFile(path).metadata
        groups = [i for i in range(meta.num_row_groups) if meta.row_group(i).column(0).statistics.max > after]
        if groups:
            chosen.append((path, groups))
    return chosen


def bare_tail(chosen: list[tuple[Path, list[int]]], after: int) -> int:
    rows = 0
    for path, groups in chosen:
        part = pq.ParquetFile(path).read_row_groups(groups)
        first = part.column(0)[0].as_py()
        rows += part.slice(max(0, after - first + 1)).num_rows
    return rows


def main() -> None:
    args = dataset_arguments(__doc__, repeats=9, dir_help="store folder, reused when it holds these events")
    params = LedgerParams(events=args.events, accounts=args.accounts)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="catchup-bench-")) / "store"
    store = ParquetStore(folder)
    try:
        info = store.info()
        if not (info.complete and info.head == params.events and info.fingerprint and
                info.fingerprint["params"] == params.to_json()):  # fmt: skip
            generate_into(store, params, overwrite=True)
        files = sorted((folder / "events").iterdir())
        head = store.head()
        rows: list[tuple[str, int, float, float]] = []
        ours, bare = timed_side_by_side(lambda: consume(store.read()), lambda: bare_full(files), args.repeats)
        rows.append(("full read", head, median(ours), median(bare)))
        for tail in (10_000, 100_000, 1_000_000):
            after = head - tail
            chosen = tail_row_groups(files, after)
            assert consume(store.read(after=after)) == bare_tail(chosen, after) == tail
            ours, bare = timed_side_by_side(
                partial(_read_after, store, after),
                partial(bare_tail, chosen, after),
                args.repeats,
            )
            rows.append((f"tail {tail:,}", tail, median(ours), median(bare)))
    finally:
        if args.dir is None:
            shutil.rmtree(folder.parent, ignore_errors=True)
    print(f"read from Parquet, {params.events:,} events, {args.repeats} repeats (median)")
    print(against_bare(rows))


if __name__ == "__main__":
    main()
