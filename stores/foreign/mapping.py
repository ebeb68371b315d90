"""The select list of a foreign read: the envelope, or the ledger columns [columns] maps.

Both lists are SQL over the layout's relation, so a mapping written for one preset reads
the same way on another (every Postgres preset exposes its payload as a jsonb ``data``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from stores.errors import InvalidParameter, SchemaMismatch
from stores.foreign.layout import PgLayout
from stores.foreign.spec import ColumnMap, SourceSpec
from stores.schema import COLUMNS, conform, envelope_schema

# The ledger columns a mapping must give; the others default (see _DEFAULTS).
REQUIRED = ("stream_id", "event_type", "amount", "currency")
_CASTS = {
    "position": "bigint",
    "stream_id": "bigint",
    "stream_version": "integer",
    "event_type": "text",
    "occurred_at": "timestamptz",
    "amount": "bigint",
    "currency": "text",
    "counterparty": "bigint",
    "correlation_id": "bigint",
}
_ENVELOPE_CASTS = {
    "position": "bigint",
    "stream": "text",
    "stream_version": "bigint",
    "event_type": "text",
    "occurred_at": "timestamptz",
    "data": "text",
    "metadata": "text",
}


def select_list(layout: PgLayout, spec: SourceSpec) -> list[tuple[str, str]]:
    """(SQL expression, output name) per column, in the order of the schema the read hands out."""
    if not spec.mapped:
        envelope = layout.envelope.expressions()
        listed = [(f"({envelope[name]})::{cast}", name) for name, cast in _ENVELOPE_CASTS.items()]
        return listed + [(f"({expr})::text", name) for name, expr in spec.extra.items()]
    unknown = sorted(set(spec.columns) - set(COLUMNS) - {"position"})
    if unknown:
        raise InvalidParameter(
            f"{spec.name}: columns.{unknown[0]} is not a ledger column; map any of {', '.join(COLUMNS[1:])}"
        )
    if "position" in spec.columns:
        raise InvalidParameter(
            f"{spec.name}: columns.position cannot be mapped: the position is the preset's global order"
        )
    missing = [name for name in REQUIRED if name not in spec.columns]
    if missing:
        raise InvalidParameter(
            f"{spec.name}: [columns] does not map {', '.join(missing)}; "
            f"a mapping onto the ledger gives at least {', '.join(REQUIRED)}"
        )
    defaults = {
        "position": layout.envelope.position,
        "stream_version": layout.envelope.stream_version,
        "occurred_at": layout.envelope.occurred_at,
        "counterparty": "NULL",
        "correlation_id": "NULL",
    }
    listed = []
    for name in COLUMNS:
        column = spec.columns.get(name)
        expr = _mapped(column) if column is not None else defaults[name]
        listed.append((f"({expr})::{_CASTS[name]}", name))
    return listed


def _mapped(column: ColumnMap) -> str:
    """The column's expression; with ``values``, a CASE that renames the source's values (others pass)."""
    if not column.values:
        return column.expr
    whens = " ".join(f"WHEN {literal(ours_from)} THEN {literal(ours)}" for ours_from, ours in column.values)
    return f"CASE ({column.expr}) {whens} ELSE ({column.expr}) END"


def literal(value: str) -> str:
    """A text literal (standard_conforming_strings, on by default since PostgreSQL 9.1)."""
    if "\x00" in value:
        raise InvalidParameter(f"value {value!r} holds a NUL character, which PostgreSQL text cannot hold")
    return "'" + value.replace("'", "''") + "'"


def render(listed: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f'{expr} AS "{name}"' for expr, name in listed)


class BatchFit:
    """Turns the batches a read returns into the source's schema, with one-line errors."""

    def __init__(self, spec: SourceSpec, currencies: tuple[str, ...]) -> None:
        self.spec = spec
        self.dictionary = pa.array(list(currencies), pa.string())
        self.envelope = envelope_schema(tuple(spec.extra))

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self.spec.mapped:
            try:
                return conform(batch, self.dictionary)
            except ValueError as error:
                raise SchemaMismatch(
                    f"events of {self.spec.name} do not map onto the ledger: {error}; "
                    "map them in [columns] (event_type values name the ledger's types) or leave them out "
                    "with source.where"
                ) from None
        arrays = []
        for field in self.envelope:
            column = batch.column(field.name)
            if not column.type.equals(field.type):
                column = column.cast(field.type)
            if not field.nullable and column.null_count:
                raise SchemaMismatch(
                    f"events of {self.spec.name} have no {field.name} in some rows; "
                    f"every event needs one: map it in [envelope] or leave such rows out with source.where"
                )
            arrays.append(column)
        return pa.RecordBatch.from_arrays(arrays, schema=self.envelope)
