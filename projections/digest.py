"""Canonical state digests and the rows where two states differ.

A digest must not depend on row order, chunking, dictionary encoding or the garbage Arrow
leaves under null slots, or two equal states made by different code (a vectorised and a
per-event projection) would hash apart. So the state is decoded, sorted by every column,
and each column hashed from its values alone, with the schema (names and value types).
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

DIGEST_VERSION = "1"


def canonical(table: pa.Table) -> pa.Table:
    """Dictionaries decoded, large types narrowed, rows sorted by every column, one chunk."""
    columns = [_plain(column.combine_chunks()) for column in table.columns]
    table = pa.table(columns, names=table.column_names)
    if table.num_rows > 1 and table.num_columns:
        try:
            order = pc.sort_indices(table, [(name, "ascending") for name in table.column_names])
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError):  # nested columns have no order: sort by text
            rows = [repr(tuple(row.values())) for row in table.to_pylist()]
            order = pa.array(sorted(range(len(rows)), key=rows.__getitem__), pa.int64())
        table = table.take(order)
    return table.combine_chunks()


def table_digest(table: pa.Table) -> str:
    table = canonical(table)
    digest = hashlib.sha256(f"catchup-state-digest/{DIGEST_VERSION}\n".encode())
    for name, column in zip(table.column_names, table.columns, strict=True):
        array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        digest.update(f"{name}:{array.type}:{len(array)}\n".encode())
        _hash_values(digest, array)
    return digest.hexdigest()


def _plain(array: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    elif pa.types.is_large_binary(array.type):
        array = array.cast(pa.binary())
    return array


def _hash_values(digest: hashlib._Hash, array: pa.Array) -> None:
    if array.null_count:
        digest.update(np.asarray(array.is_valid().to_numpy(zero_copy_only=False)).tobytes())
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_binary(kind):
        wide = pc.fill_null(array, "" if pa.types.is_string(kind) else b"").cast(pa.large_binary())
        offsets = np.frombuffer(wide.buffers()[1], dtype=np.int64)[wide.offset : wide.offset + len(wide) + 1]
        digest.update(np.diff(offsets).tobytes())
        data = wide.buffers()[2]
        if data is not None and len(wide):
            digest.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
    elif pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind):
        digest.update(np.asarray(pc.fill_null(array, False if pa.types.is_boolean(kind) else 0).to_numpy()).tobytes())
    elif pa.types.is_temporal(kind):
        width = pa.int32() if kind.bit_width == 32 else pa.int64()
        _hash_values(digest, array.view(width) if not array.null_count else pc.fill_null(array.view(width), 0))
    else:  # nested and rarer types: slower, still canonical
        digest.update(repr(array.to_pylist()).encode())


def differing_rows(expected: pa.Table, actual: pa.Table, key: tuple[str, ...], limit: int = 5) -> list[str]:
    """Up to ``limit`` one-line descriptions of rows that differ, ordered by key."""
    left = pl.from_arrow(canonical(expected))
    right = pl.from_arrow(canonical(actual))
    assert isinstance(left, pl.DataFrame) and isinstance(right, pl.DataFrame)
    if left.columns != right.columns:
        return [f"columns differ: {left.columns} != {right.columns}"]
    if not key:
        missing = left.join(right, on=left.columns, how="anti", nulls_equal=True).head(limit)
        extra = right.join(left, on=left.columns, how="anti", nulls_equal=True).head(limit)
        lines = [f"only in the full replay: {row}" for row in missing.iter_rows(named=True)]
        lines += [f"only in the catch-up: {row}" for row in extra.iter_rows(named=True)]
        return lines[:limit]
    values = [c for c in left.columns if c not in key]
    joined = left.join(right, on=list(key), how="full", suffix="__catchup", coalesce=True, nulls_equal=True)
    differs = pl.lit(False)
    for column in values:
        differs = differs | pl.col(column).ne_missing(pl.col(f"{column}__catchup"))
    # Value columns of a key found on one side only come back null on the other side.
    rows = joined.filter(differs).sort(list(key)).head(limit)
    lines = []
    for row in rows.iter_rows(named=True):
        where = ", ".join(f"{k}={row[k]}" for k in key)
        changes = [f"{c}: full replay {row[c]!r}, catch-up {row[c + '__catchup']!r}" for c in values]
        changed = [text for c, text in zip(values, changes, strict=True) if row[c] != row[c + "__catchup"]]
        lines.append(f"{where}: {'; '.join(changed)}")
    return lines
