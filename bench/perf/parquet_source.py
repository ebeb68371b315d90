"""Benchmark: the parquet preset against a bare pyarrow + polars read of the same export.

    python -m bench.perf.parquet_source --events 2M --repeats 5 [--dir data/bench-export]

The export is the ledger as a data team writes it (other column names, PascalCase types,
'account-<n>' stream names, a hole after every 97 events), in files of 1M events and row
groups of 128k. Full read: ``source.read()`` of a source file mapping it onto the ledger
with [columns], against reading the same columns with ``ParquetFile.iter_batches`` and
evaluating the same polars SQL expressions by hand, conformed to the event schema. Tail
reads (10k, 100k events): ``source.read(after=...)`` against the same bare read of just
the row groups holding the tail. The ratio is bare seconds / catchup seconds.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.perf.timing import against_bare, dataset_arguments, median, timed_side_by_side
from generators import LedgerParams, generate
from stores.foreign.open import open_source
from stores.foreign.parquet_source import ForeignParquetSource
from stores.schema import EVENT_TYPES, conform, currency_dictionary

FILE_ROWS = 1 << 20
GROUP_ROWS = 1 << 17
HOLE_EVERY = 97
PASCAL = {name: "".join(part.title() for part in name.split("_")) for name in EVENT_TYPES}
COLUMNS = {
    "stream_id": "CAST(SPLIT_PART(stream_name, '-', 2) AS BIGINT)",
    "amount": "CAST(amount_cents AS BIGINT)",
    "currency": "currency_code",
    "counterparty": "counterparty_account",
    "correlation_id": "correlation",
}


def write_export(folder: Path, params: LedgerParams) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    pending: list[pa.Table] = []
    for batch in generate(params, batch_size=GROUP_ROWS):
        n = np.arange(written, written + batch.num_rows, dtype=np.int64)
        types = batch.column("event_type")
        pending.append(
            pa.table(
                {
                    "global_position": pa.array(n + 1 + n // HOLE_EVERY),
                    "stream_name": pc.binary_join_element_wise(
                        "account", batch.column("stream_id").cast(pa.string()), "-"
                    ),
                    "stream_position": batch.column("stream_version").cast(pa.int64()),
                    "event_type": pa.DictionaryArray.from_arrays(
                        types.indices, pa.array([PASCAL[name] for name in types.dictionary.to_pylist()])
                    ).cast(pa.string()),
                    "recorded_at": batch.column("occurred_at").cast(pa.timestamp("us")),
                    "amount_cents": batch.column("amount"),
                    "currency_code": batch.column("currency").cast(pa.string()),
                    "counterparty_account": batch.column("counterparty"),
                    "correlation": batch.column("correlation_id"),
                }
            )
        )
        written += batch.num_rows
        if sum(part.num_rows for part in pending) >= FILE_ROWS or written == params.events:
            part = pa.concat_tables(pending)
            pq.write_table(part, folder / f"part-{written:012d}.parquet", row_group_size=GROUP_ROWS)
            pending = []


def source_file(folder: Path, export: Path) -> Path:
    values = ", ".join(f'{pascal} = "{ours}"' for ours, pascal in PASCAL.items())
    mapped = "\n".join(f'{name} = "{expr}"' for name, expr in COLUMNS.items())
    path = folder / "export.toml"
    path.write_text(
        f'[source]\nuri = "{export}"\npreset = "parquet"\n[envelope]\nposition = "global_position"\n'
        f'stream_version = "stream_position"\noccurred_at = "recorded_at"\n[columns]\n{mapped}\n'
        f'event_type = {{ expr = "event_type", values = {{ {values} }} }}\n'
    )
    return path


def bare_select() -> tuple[list[str], list[pl.Expr]]:
    exprs = [pl.col("global_position").alias("position")]
    exprs += [pl.sql_expr(COLUMNS["stream_id"]).alias("stream_id"), pl.col("stream_position").alias("stream_version")]
    exprs.append(pl.col("event_type").replace({p: o for o, p in PASCAL.items()}).alias("event_type"))
    exprs.append(pl.col("recorded_at").alias("occurred_at"))
    exprs += [
        pl.sql_expr(COLUMNS[name]).alias(name) for name in ("amount", "currency", "counterparty", "correlation_id")
    ]
    columns = ["global_position", "stream_name", "stream_position", "event_type", "recorded_at", "amount_cents"]
    return [*columns, "currency_code", "counterparty_account", "correlation"], exprs


def bare_batches(chunks: Iterable[pa.RecordBatch], currencies: pa.Array) -> int:
    _, exprs = bare_select()
    rows = 0
    for batch in chunks:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        out = frame.select(exprs).to_arrow()
        out = out.set_column(3, "event_type", out.column("event_type").cast(pa.string()))
        out = out.set_column(6, "currency", out.column("currency").cast(pa.string()))
        for one in out.to_batches():
            rows += conform(one, currencies).num_rows
    return rows


def bare_read(files: list[Path], currencies: pa.Array, after: int = 0) -> int:
    columns, _ = bare_select()
    chunks = []
    for path in files:
        parquet = pq.ParquetFile(path)
        meta = parquet.metadata
        groups = [i for i in range(meta.num_row_groups) if meta.row_group(i).column(0).statistics.max > after]
        if not groups:
            continue
        for batch in parquet.iter_batches(batch_size=GROUP_ROWS, row_groups=groups, columns=columns):
            if after:
                held = batch.column(0).to_numpy()
                batch = batch.slice(int(np.searchsorted(held, after, side="right")))
            chunks.append(batch)
    return bare_batches(chunks, currencies)


def consume(batches: Iterable[pa.RecordBatch]) -> int:
    return sum(batch.num_rows for batch in batches)


def main() -> None:
    args = dataset_arguments(__doc__, repeats=5, dir_help="folder for the export, reused when it holds these events")
    params = LedgerParams(events=args.events, accounts=args.accounts)
    root = Path(args.dir or tempfile.mkdtemp(prefix="catchup-bench-"))
    export = root / "export"
    try:
        if (
            not export.is_dir()
            or sum(pq.ParquetFile(p).metadata.num_rows for p in export.glob("*.parquet")) != params.events
        ):
            shutil.rmtree(export, ignore_errors=True)
            write_export(export, params)
        files = sorted(export.glob("*.parquet"))
        with open_source(source_file(root, export)) as source:
            assert isinstance(source, ForeignParquetSource)
            info = source.info()
            dictionary = currency_dictionary(info.currencies)
            positions = source.event_positions()
            rows: list[tuple[str, int, float, float]] = []
            assert consume(source.read()) == bare_read(files, dictionary) == params.events
            ours, bare = timed_side_by_side(
                lambda: consume(source.read()), lambda: bare_read(files, dictionary), args.repeats
            )
            rows.append(("full read", params.events, median(ours), median(bare)))
            for tail in (10_000, 100_000):
                after = int(positions[-tail - 1])
                assert consume(source.read(after=after)) == bare_read(files, dictionary, after) == tail
                ours, bare = timed_side_by_side(
                    lambda after=after: consume(source.read(after=after)),  # type: ignore[misc]
                    lambda after=after: bare_read(files, dictionary, after),  # type: ignore[misc]
                    args.repeats,
                )
                rows.append((f"tail {tail:,}", tail, median(ours), median(bare)))
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"parquet preset, {params.events:,} events mapped onto the ledger, {args.repeats} repeats (median)")
    print(against_bare(rows))


if __name__ == "__main__":
    main()
