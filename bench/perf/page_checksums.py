"""Benchmark: what Parquet page checksums cost, on writes and on full reads.

    python -m bench.perf.page_checksums --events 1M --repeats 7

The same events, written with the store's options (stores.parquet_files.WRITE_OPTIONS:
zstd, row groups of ROW_GROUP_ROWS) with and without ``write_page_checksum``, and the
checksummed file read whole with and without ``page_checksum_verification``, and a
ParquetStore of those events read whole (``store.read()``, what a replay does) with and
without ``verify_pages``. Side by side in one run, alternating which side goes first;
the ratio is with / without (1.05 = 5% dearer).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.perf.timing import dataset_arguments, median, table, timed_side_by_side
from generators import LedgerParams, generate
from stores.base import DatasetMeta
from stores.parquet import ParquetStore
from stores.parquet_files import ROW_GROUP_ROWS, WRITE_OPTIONS
from stores.schema import EVENT_SCHEMA


def write(events: pa.Table, path: Path, checksums: bool) -> None:
    options = {**WRITE_OPTIONS, "write_page_checksum": checksums}
    with pq.ParquetWriter(path, EVENT_SCHEMA, compression="zstd", **options) as writer:
        writer.write_table(events, row_group_size=ROW_GROUP_ROWS)


def read(path: Path, verify: bool) -> int:
    parquet = pq.ParquetFile(path, page_checksum_verification=verify)
    return sum(parquet.read_row_group(i).num_rows for i in range(parquet.num_row_groups))


def store_read(store: ParquetStore) -> int:
    return sum(batch.num_rows for batch in store.read())


def main() -> None:
    args = dataset_arguments(__doc__, repeats=7, dir_help="folder for the two files (default: a temporary one)")
    params = LedgerParams(events=args.events, accounts=args.accounts)
    events = pa.Table.from_batches(list(generate(params)), schema=EVENT_SCHEMA)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="catchup-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    plain, summed = folder / "plain.parquet", folder / "summed.parquet"
    write(events, plain, checksums=False)
    write(events, summed, checksums=True)
    assert read(summed, verify=True) == read(summed, verify=False) == events.num_rows
    rows = []
    with_s, without_s = timed_side_by_side(
        lambda: write(events, summed, True), lambda: write(events, plain, False), args.repeats
    )
    rows.append(("write", median(with_s), median(without_s)))
    with_s, without_s = timed_side_by_side(lambda: read(summed, True), lambda: read(summed, False), args.repeats)
    rows.append(("full read", median(with_s), median(without_s)))
    checked = ParquetStore(folder / "store")
    checked.load(events.to_batches(), DatasetMeta({"id": "page-checksums"}, params.currencies), overwrite=True)
    unchecked = ParquetStore(folder / "store", verify_pages=False)
    with_s, without_s = timed_side_by_side(lambda: store_read(checked), lambda: store_read(unchecked), args.repeats)
    rows.append(("store.read()", median(with_s), median(without_s)))
    size = summed.stat().st_size - plain.stat().st_size
    print(f"{events.num_rows:,} events, {args.repeats} repeats each, medians; checksums add {size:,} bytes")
    print(
        table(
            ("operation", "with checksums s", "without s", "ratio"),
            [(name, f"{ours:.4f}", f"{bare:.4f}", f"{ours / bare:.3f}") for name, ours, bare in rows],
        )
    )


if __name__ == "__main__":
    main()
