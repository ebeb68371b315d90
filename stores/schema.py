"""The event schema: defined once, here, for every store, generator and projection.

A batch that crosses a store boundary (``append`` in, ``read`` out) has exactly this
schema, including the dictionary values: ``event_type`` always uses EVENT_TYPES, and
``currency`` uses the store's own currency list. Fixing the dictionaries is what lets two
backends hand back byte-identical batches for the same events.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SCHEMA_VERSION = 1

# Order matters: the int8 code of a type is its index here, in every store.
EVENT_TYPES: tuple[str, ...] = (
    "account_opened",
    "deposited",
    "withdrawn",
    "transfer_debited",
    "transfer_credited",
    "fx_debited",
    "fx_credited",
)
EVENT_TYPE_CODE: dict[str, int] = {name: code for code, name in enumerate(EVENT_TYPES)}

DICT_TYPE = pa.dictionary(pa.int8(), pa.string())
EVENT_TYPE_DICTIONARY = pa.array(EVENT_TYPES, pa.string())
MAX_CURRENCIES = 127  # int8 dictionary indices

EVENT_SCHEMA = pa.schema(
    [
        pa.field("position", pa.int64(), nullable=False),
        pa.field("stream_id", pa.int64(), nullable=False),
        pa.field("stream_version", pa.int32(), nullable=False),
        pa.field("event_type", DICT_TYPE, nullable=False),
        pa.field("occurred_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("amount", pa.int64(), nullable=False),
        pa.field("currency", DICT_TYPE, nullable=False),
        pa.field("counterparty", pa.int64(), nullable=True),
        pa.field("correlation_id", pa.int64(), nullable=True),
    ]
)
COLUMNS: tuple[str, ...] = tuple(EVENT_SCHEMA.names)

# The envelope: what every event of a foreign source is, whatever the system, when no
# [columns] maps it onto the ledger (stores.foreign). ``data`` and ``metadata`` are the
# payload's JSON text; a source file's [extra] columns follow, as strings.
ENVELOPE_SCHEMA = pa.schema(
    [
        pa.field("position", pa.int64(), nullable=False),
        pa.field("stream", pa.string(), nullable=False),
        pa.field("stream_version", pa.int64(), nullable=False),
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("occurred_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("data", pa.string(), nullable=True),
        pa.field("metadata", pa.string(), nullable=True),
    ]
)
ENVELOPE_FIELDS: tuple[str, ...] = tuple(ENVELOPE_SCHEMA.names)
# Which schema a projection reads and a store hands out.
LEDGER, ENVELOPE = "ledger", "envelope"
EVENT_KINDS = (LEDGER, ENVELOPE)


def envelope_schema(extra: Sequence[str] = ()) -> pa.Schema:
    """The envelope with a source file's [extra] columns after it, as strings."""
    schema = ENVELOPE_SCHEMA
    for name in extra:
        schema = schema.append(pa.field(name, pa.string(), nullable=True))
    return schema


def dictionary_column(values: pa.Array, dictionary: pa.Array) -> pa.DictionaryArray:
    """Encode ``values`` (plain strings or a dictionary array) against a fixed dictionary.

    Dictionary arrays whose dictionary already equals ``dictionary`` pass through untouched,
    so the common case costs one comparison of a handful of strings. Otherwise only the
    small dictionary is re-mapped and the int8 indices are gathered through it.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        if values.dictionary.equals(dictionary) and values.type.index_type == pa.int8():
            return values
        remap = pc.index_in(values.dictionary.cast(pa.string()), value_set=dictionary)
        if remap.null_count:
            unknown = pc.filter(values.dictionary, pc.is_null(remap)).to_pylist()
            raise ValueError(f"values {unknown} are not in the dictionary {dictionary.to_pylist()}")
        indices = remap.cast(pa.int8()).take(values.indices)
    else:
        codes = pc.index_in(values, value_set=dictionary)
        if codes.null_count:
            unknown = sorted(set(pc.filter(values, pc.is_null(codes)).to_pylist()))
            raise ValueError(f"values {unknown} are not in the dictionary {dictionary.to_pylist()}")
        indices = codes.cast(pa.int8())
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def currency_dictionary(currencies: Sequence[str]) -> pa.Array:
    return pa.array(list(currencies), pa.string())


def conform(batch: pa.RecordBatch, currencies: pa.Array) -> pa.RecordBatch:
    """Return ``batch`` in EVENT_SCHEMA with the canonical dictionaries.

    Accepts the decoded form a database hands back (strings for the two dictionary
    columns, timestamps with or without the UTC zone); raises ValueError naming the
    first column that cannot be made to fit.
    """
    if batch.schema.equals(EVENT_SCHEMA) and _has_dictionaries(batch, currencies):
        return batch
    arrays = []
    for field in EVENT_SCHEMA:
        index = batch.schema.get_field_index(field.name)
        if index < 0:
            raise ValueError(f"column {field.name!r} is missing; expected columns {list(COLUMNS)}")
        column = batch.column(index)
        if field.name == "event_type":
            column = dictionary_column(column, EVENT_TYPE_DICTIONARY)
        elif field.name == "currency":
            column = dictionary_column(column, currencies)
        elif not column.type.equals(field.type):
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                raise ValueError(f"column {field.name!r} has type {column.type}, expected {field.type}") from error
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=EVENT_SCHEMA)


def _has_dictionaries(batch: pa.RecordBatch, currencies: pa.Array) -> bool:
    event_type = batch.column(3)
    currency = batch.column(6)
    return event_type.dictionary.equals(EVENT_TYPE_DICTIONARY) and currency.dictionary.equals(currencies)


def positions(batch: pa.RecordBatch) -> np.ndarray:
    """The position column as a zero-copy numpy view (positions are never null)."""
    return batch.column(0).to_numpy(zero_copy_only=True)
