"""A Parquet dataset seen from its footers: which files, which row groups, which positions.

The ``parquet`` preset reads any export with a position column, without a catchup
manifest. What it relies on is what a sorted export already has: per row group min/max
statistics of the position column (pyarrow, Spark, DuckDB and polars write them by
default). From those alone, without reading a row, it orders the files, proves that the
row groups do not overlap and rise across files, and knows which row groups a read of
(after, upto] needs. An export that is not sorted is refused with the file and the first
row group out of order, rather than read out of order or sorted in memory.

Only footers are read here: opening a 10 GB dataset costs one small read per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from stores.errors import SchemaMismatch, StoreNotFound, os_failure

SUFFIX = ".parquet"
_HOW = "the parquet preset reads files sorted by {column}: row groups that do not overlap and rise across files"


@dataclass(frozen=True)
class RowGroup:
    index: int  # in its file
    rows: int
    first: int  # the position column's min
    last: int  # and max


@dataclass(frozen=True)
class DataFile:
    path: Path
    name: str  # relative to the dataset folder, as messages and the identity show it
    size: int
    rows: int
    groups: tuple[RowGroup, ...]  # non-empty ones, in file order (which is position order)
    schema: pa.Schema

    @property
    def first(self) -> int:
        return self.groups[0].first

    @property
    def last(self) -> int:
        return self.groups[-1].last


@dataclass(frozen=True)
class Dataset:
    root: Path  # the folder (or the one file) the source file names
    position: str  # the position column
    files: tuple[DataFile, ...]  # in position order; files without rows left out
    columns: tuple[str, ...]  # the columns every file has, in the first file's order

    @property
    def rows(self) -> int:
        return sum(one.rows for one in self.files)

    @property
    def first(self) -> int:
        return self.files[0].first if self.files else 0

    @property
    def last(self) -> int:
        return self.files[-1].last if self.files else 0

    def groups_between(self, after: int, upto: int) -> list[tuple[DataFile, list[RowGroup]]]:
        """The row groups that may hold positions in (after, upto], file by file, judged by statistics."""
        chosen = []
        for one in self.files:
            if one.last <= after or one.first > upto:
                continue
            groups = [group for group in one.groups if group.last > after and group.first <= upto]
            if groups:
                chosen.append((one, groups))
        return chosen


def data_files(root: Path) -> list[Path]:
    """The dataset's .parquet files: ``root`` itself, or every one under it.

    Files and folders whose names start with '.' or '_' are not data (Spark's _SUCCESS and
    _temporary, _common_metadata, editors' dot files), as every Parquet reader agrees.
    """
    if not root.exists():
        raise StoreNotFound(
            f"no Parquet dataset at {root}: it does not exist; give a folder of {SUFFIX} files or one file"
        )
    if root.is_file():
        return [root]
    try:
        found = sorted(
            path
            for path in root.rglob(f"*{SUFFIX}")
            if path.is_file() and not any(part.startswith((".", "_")) for part in path.relative_to(root).parts)
        )
    except OSError as error:
        raise os_failure(error, "listing the Parquet dataset", root) from None
    if not found:
        raise StoreNotFound(f"no Parquet dataset at {root}: the folder holds no {SUFFIX} files")
    return found


def parquet_hint(folder: Path) -> str:
    """What to say of a folder that is no catchup store but holds Parquet files (an export,
    say): '' when it holds none. Looks two levels down only: it is said on the way to an error."""
    try:
        found = any(folder.glob(f"*{SUFFIX}")) or any(folder.glob(f"*/*{SUFFIX}"))
    except OSError:
        return ""
    if not found:
        return ""
    return 'it holds Parquet files: to replay them, write a source file with preset = "parquet" (see docs/sources.md)'


def open_dataset(root: Path, position: str) -> Dataset:
    """Every file's footer, checked: the position column is there, an integer, never null,
    with statistics, and the row groups are sorted. SchemaMismatch (one line) otherwise."""
    files = [_footer(path, root, position) for path in data_files(root)]
    # The columns every file has: an export whose schema grew (a column added later) is
    # still one dataset, and an expression may read only what all of its files hold.
    common = [name for name in files[0].schema.names if all(name in one.schema.names for one in files[1:])]
    held = sorted((one for one in files if one.groups), key=lambda one: (one.first, one.name))
    _check_order(held, position)
    return Dataset(root, position, tuple(held), tuple(common))


def _footer(path: Path, root: Path, position: str) -> DataFile:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        reason = " ".join(str(error).split())
        raise SchemaMismatch(f"{path} is not a readable Parquet file ({reason})") from None
    with parquet:
        schema = parquet.schema_arrow
        metadata = parquet.metadata
    name = path.name if path == root else str(path.relative_to(root))
    field = schema.field(position) if position in schema.names else None
    if field is None:
        raise SchemaMismatch(
            f"{path} has no column {position!r} (envelope.position); its columns are {', '.join(schema.names)}"
        )
    if not pa.types.is_integer(field.type):
        raise SchemaMismatch(
            f"column {position!r} of {path} is {field.type}, not an integer; envelope.position must name "
            "the integer column of the global order"
        )
    leaf = _leaf_index(metadata, position)
    groups = []
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        if group.num_rows == 0:
            continue
        stats = group.column(leaf).statistics
        if stats is None or not stats.has_min_max:
            raise SchemaMismatch(
                f"{path} row group {index} has no min/max statistics of {position!r}, which the parquet preset "
                "prunes and orders by; write the export with statistics (the default of pyarrow, Spark, DuckDB)"
            )
        if stats.null_count:
            raise SchemaMismatch(f"{path} row group {index} holds {stats.null_count:,} null {position!r} values")
        if int(stats.min) < 1:
            raise SchemaMismatch(
                f"{path} row group {index} holds {position!r} {int(stats.min):,}; catchup's positions start at 1"
            )
        groups.append(RowGroup(index, group.num_rows, int(stats.min), int(stats.max)))
    size = path.stat().st_size
    return DataFile(path, name, size, sum(one.rows for one in groups), tuple(groups), schema)


def _leaf_index(metadata: pq.FileMetaData, column: str) -> int:
    """The Parquet column chunk of a top-level column (leaves and fields differ once a column nests)."""
    if metadata.num_row_groups:
        group = metadata.row_group(0)
        for index in range(group.num_columns):
            if group.column(index).path_in_schema == column:
                return index
    return metadata.schema.names.index(column) if column in metadata.schema.names else 0


def _check_order(files: list[DataFile], position: str) -> None:
    """Each row group must start after the one before it ends, in its file and across files."""
    previous: tuple[DataFile, RowGroup] | None = None
    for one in files:
        for group in one.groups:
            if group.first > group.last:
                raise SchemaMismatch(f"{one.path} row group {group.index} has min above max of {position!r}")
            if previous is not None and group.first <= previous[1].last:
                before, last = previous
                where = f"row group {last.index}" + ("" if before is one else f" of {before.path}")
                raise SchemaMismatch(
                    f"{one.path} row group {group.index} is out of order: its {position!r} "
                    f"{group.first:,}..{group.last:,} does not follow {where} (up to {last.last:,}); "
                    + _HOW.format(column=repr(position))
                    + f"; sort the export by {position}"
                )
            previous = (one, group)


def unsorted_rows(one: DataFile, group: RowGroup, position: str, at: int, value: int, before: int) -> SchemaMismatch:
    """The error for rows out of order inside a row group, found while reading it."""
    return SchemaMismatch(
        f"{one.path} row group {group.index} is not sorted by {position!r} ({position} {value:,} follows "
        f"{before:,} at row {at:,}); " + _HOW.format(column=repr(position)) + f"; sort the export by {position}"
    )
