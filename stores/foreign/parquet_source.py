"""The ``parquet`` preset: any Parquet dataset with a position column, read and never written.

A data-lake export (Spark, DuckDB, polars, pyarrow) needs no catchup manifest: the files'
footers say which positions each row group holds (stores.foreign.parquet_dataset), so a
tail read opens only the row groups overlapping (after, upto], as catchup's own Parquet
store does, and an export that is not sorted is refused naming the file and row group.
[columns] and [envelope] are polars SQL expressions (stores.foreign.parquet_mapping).

The dataset's identity is built from what it holds, not where it lies: the files' names,
sizes and row counts, the first and last position, and a checksum of the first and last
events as read (mapping included). Nothing is written in the dataset's folder: snapshots
and run locks go to the source's own snapshot folder, which must lie outside it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from stores.base import READ_BATCH_SIZE, check_read_range, integer
from stores.errors import InvalidParameter, SchemaMismatch, StoreCorrupt
from stores.foreign.mapping import BatchFit
from stores.foreign.parquet_dataset import DataFile, Dataset, RowGroup, open_dataset, unsorted_rows
from stores.foreign.parquet_mapping import ParquetMapping, check_options, mapping_for
from stores.foreign.source_base import SAMPLE_ROWS, ForeignSource, SourceFacts
from stores.foreign.spec import SourceSpec
from stores.page_cache import Eviction, evict_files, files_under
from stores.parquet import READ_GROUPS

SYSTEM = "parquet"


class ForeignParquetSource(ForeignSource):
    backend = f"foreign:{SYSTEM}"

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        check_options(spec)
        if "://" in spec.uri:
            raise InvalidParameter(
                f"source file {spec.path}: source.uri = {spec.shown_uri!r}: the parquet preset reads local files "
                "(a folder of .parquet files or one file); mount or copy the dataset and name its path"
            )
        self.root = Path(spec.uri)
        snapshots, inside = Path(spec.snapshots_uri).resolve(), self.root.resolve()
        if snapshots == inside or inside in snapshots.parents:
            raise InvalidParameter(
                f"source file {spec.path}: snapshots.uri {snapshots} lies inside the dataset {self.root}, where "
                "catchup never writes; set [snapshots] uri to a folder outside it"
            )
        self._dataset: Dataset | None = None
        self._mapping: ParquetMapping | None = None

    # -- opening: footers only -----------------------------------------------------------

    def dataset(self) -> Dataset:
        if self._dataset is None:
            self._dataset = open_dataset(self.root, self.spec.envelope.get("position", "position"))
        return self._dataset

    def mapping(self) -> ParquetMapping:
        if self._mapping is None:
            self._mapping = mapping_for(self.spec, self.dataset().columns)
        return self._mapping

    def _measure(self) -> SourceFacts:
        dataset, mapping = self.dataset(), self.mapping()
        events, first, last = dataset.rows, dataset.first, dataset.last
        if mapping.where is not None:
            # Which events source.where keeps only the rows can say: one pass over the columns it reads.
            held = self._read_positions(dataset.last)
            self._positions = held
            events = int(held.size)
            first, last = (int(held[0]), int(held[-1])) if held.size else (0, 0)
        sample = self._sample(last)
        if self.spec.mapped and mapping.currency is not None:
            # The currency list scans the log: remembered for the same files, mapping and sample.
            key = {"files": self._files(), "first": first, "last": last, "sample": sample, "events": events}
            key |= {"mapping": {name: [c.expr, list(c.values)] for name, c in sorted(self.spec.columns.items())}}
            key |= {"where": self.spec.option("where"), "envelope": dict(sorted(self.spec.envelope.items()))}
            currency, columns = mapping.currency, mapping.currency_columns
            _, currencies = self._remembered(key, lambda: (events, self._distinct(currency, columns)))
        else:
            currencies = ()
        # Not the folder's name: the identity holds the relation, and a copy of the files is the same data.
        relation = f"{len(dataset.files)} Parquet file{'' if len(dataset.files) == 1 else 's'}"
        size = sum(one.size for one in dataset.files)
        return SourceFacts(SYSTEM, relation, events, first, last, sample, size, currencies)

    def _files(self) -> list[list[Any]]:
        return [[one.name, one.size, one.rows] for one in self.dataset().files]

    def identity(self) -> dict[str, Any]:
        identity = super().identity()
        identity["files"] = self._files()
        return identity

    def _sample(self, last: int) -> str:
        """An md5 of the first and last SAMPLE_ROWS events as this source reads them (mapping included)."""
        chosen = self.dataset().groups_between(0, last)
        flat = [(one, group) for one, groups in chosen for group in groups]
        parts = []
        for order in (flat, flat[::-1]):
            tables: list[pa.Table] = []
            rows = 0
            for one, group in order:
                if rows >= SAMPLE_ROWS:
                    break
                for table in self._mapped(one, [group], self.mapping().columns):
                    tables.append(table)
                    rows += table.num_rows
            sample = pa.concat_tables(tables) if tables else pa.table({})
            if order is not flat and sample.num_rows:
                sample = sample.sort_by("position")
            sample = (
                sample.slice(0, SAMPLE_ROWS) if order is flat else sample.slice(max(0, sample.num_rows - SAMPLE_ROWS))
            )
            text = json.dumps(sample.to_pylist(), default=str, sort_keys=True)
            parts.append(hashlib.md5(text.encode()).hexdigest())
        return ":".join(parts)

    # -- reading -------------------------------------------------------------------------

    def _groups(
        self, one: DataFile, groups: list[RowGroup], columns: tuple[str, ...], after: int = 0, upto: int | None = None
    ) -> Iterator[pa.Table]:
        """The row groups' rows of (after, upto], a few groups at a time, their order checked."""
        position = self.dataset().position
        try:
            size = one.path.stat().st_size
            parquet = pq.ParquetFile(one.path)
        except (OSError, pa.ArrowInvalid) as error:
            raise StoreCorrupt(f"cannot read {one.path}: {_first_line(error)}") from None
        if size != one.size:
            raise StoreCorrupt(f"{one.path} changed while catchup read the dataset ({one.size:,} bytes, now {size:,})")
        with parquet:
            for start in range(0, len(groups), READ_GROUPS):
                chunk = groups[start : start + READ_GROUPS]
                try:
                    table = parquet.read_row_groups([group.index for group in chunk], columns=list(columns))
                except (OSError, pa.ArrowInvalid) as error:
                    raise StoreCorrupt(f"cannot read {one.path}: {_first_line(error)}") from None
                held = table.column(position).to_numpy()
                steps = np.diff(held)
                if steps.size and not bool(np.all(steps > 0)):
                    at = int(np.argmax(steps <= 0)) + 1
                    offsets = np.cumsum([group.rows for group in chunk])
                    which = int(np.searchsorted(offsets, at, side="right"))
                    row = at - (int(offsets[which - 1]) if which else 0)
                    raise unsorted_rows(one, chunk[which], position, row, int(held[at]), int(held[at - 1]))
                lo = int(np.searchsorted(held, after, side="right"))
                hi = held.size if upto is None else int(np.searchsorted(held, upto, side="right"))
                if hi > lo:
                    yield table.slice(lo, hi - lo)

    def _mapped(
        self, one: DataFile, groups: list[RowGroup], columns: tuple[str, ...], after: int = 0, upto: int | None = None
    ) -> Iterator[pa.Table]:
        mapping = self.mapping()
        for table in self._groups(one, groups, columns, after, upto):
            for batch in table.to_batches():
                mapped = mapping.apply(batch, str(one.path))
                if mapped.num_rows:
                    yield mapped

    def _kept(self, columns: tuple[str, ...], upto: int) -> Iterator[tuple[DataFile, pl.DataFrame]]:
        """``columns`` (and what source.where reads) of the events up to ``upto`` that where keeps."""
        dataset, mapping = self.dataset(), self.mapping()
        read = tuple(dict.fromkeys((dataset.position, *columns, *mapping.where_columns)))
        for one, groups in dataset.groups_between(0, upto):
            for table in self._groups(one, groups, read, 0, upto):
                frame = pl.from_arrow(table)
                assert isinstance(frame, pl.DataFrame)
                if mapping.where is not None:
                    try:
                        frame = frame.filter(mapping.where)
                    except pl.exceptions.PolarsError as error:
                        raise SchemaMismatch(f"cannot apply source.where to {one.path}: {_first_line(error)}") from None
                yield one, frame

    def _read_positions(self, upto: int) -> np.ndarray:
        position = self.dataset().position
        found = [frame[position].to_numpy().astype(np.int64, copy=False) for _, frame in self._kept((), upto)]
        return np.concatenate(found) if found else np.zeros(0, np.int64)

    def _distinct(self, expr: pl.Expr, columns: tuple[str, ...]) -> tuple[str, ...]:
        """The sorted distinct non-null values of ``expr`` over the events read: the currency dictionary."""
        values: set[str] = set()
        for one, frame in self._kept(columns, self.dataset().last):
            try:
                found = frame.select(expr.cast(pl.String).unique().alias("v"))["v"].to_list()
            except pl.exceptions.PolarsError as error:
                raise SchemaMismatch(f"cannot map the currencies of {one.path}: {_first_line(error)}") from None
            values.update(str(one) for one in found if one is not None)
        return tuple(sorted(values))

    def read(
        self, after: int = 0, upto: int | None = None, batch_size: int = READ_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        after, batch_size = integer("after", after), integer("batch_size", batch_size)
        upto = None if upto is None else integer("upto", upto)
        check_read_range(after, upto, batch_size)
        facts = self.facts()  # checked now: a bad source fails where read() is called
        end = facts.last if upto is None else min(upto, facts.last)
        if end <= after:
            return iter(())
        return self._read(after, end, batch_size, BatchFit(self.spec, facts.currencies))

    def _read(self, after: int, upto: int, batch_size: int, fit: BatchFit) -> Iterator[pa.RecordBatch]:
        columns = self.mapping().columns
        for one, groups in self.dataset().groups_between(after, upto):
            for table in self._mapped(one, groups, columns, after, upto):
                for batch in table.to_batches(max_chunksize=batch_size):
                    if batch.num_rows:
                        yield fit(batch)

    def evict_page_cache(self) -> Eviction:
        # The dataset's files (reading them back is what a cold restart measures) and catchup's snapshots.
        snapshots = Path(self.spec.snapshots_uri)
        own = files_under(snapshots) if snapshots.is_dir() else []
        return evict_files([*(one.path for one in self.dataset().files), *own])


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
