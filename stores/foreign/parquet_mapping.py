"""The parquet preset's select list: polars SQL expressions over the files' columns.

The Postgres presets map with SQL the server runs (stores.foreign.mapping); a Parquet
export has no server, so the same source file keys hold polars SQL expressions
(``polars.sql_expr``: ``CAST(amount_cents AS BIGINT)``, ``SPLIT_PART(stream_name, '-', 2)``),
evaluated batch by batch on Arrow data polars takes without a copy. Only the columns the
expressions name are read from the files.

[envelope] names the envelope: ``position`` must be a column of the files (row groups
are pruned and ordered by its statistics); the other fields may be any expression, and
default to a column of the field's own name when the files have one. With [columns], the
ledger's stream_version and occurred_at default to the envelope's, counterparty and
correlation_id to null, as in every preset.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from stores.errors import InvalidParameter, SchemaMismatch
from stores.foreign.mapping import REQUIRED
from stores.foreign.spec import ColumnMap, SourceSpec
from stores.schema import COLUMNS, ENVELOPE_FIELDS

# Envelope fields that may be left out: a source without payloads still has events.
_OPTIONAL = ("data", "metadata")
_LEDGER_DEFAULTS = {"stream_version": "stream_version", "occurred_at": "occurred_at"}
# The Arrow string types polars hands back, made plain strings for the schema's dictionaries.
_STRINGS = (pa.large_string(), pa.string_view())


@dataclass(frozen=True)
class ParquetMapping:
    """What to read from the files and how to turn it into the source's schema."""

    position: str  # the files' position column
    columns: tuple[str, ...]  # the file columns the expressions read (position first)
    select: tuple[pl.Expr, ...]  # aliased as the output schema's names, in its order
    where: pl.Expr | None
    where_columns: tuple[str, ...]
    currency: pl.Expr | None  # ledger mode: the currency expression (the dictionary is its distinct values)
    currency_columns: tuple[str, ...]
    json: tuple[str, ...]  # envelope columns whose structs are handed out as JSON text

    def apply(self, batch: pa.RecordBatch, where: str) -> pa.Table:
        """The batch's rows that meet source.where, mapped; the schema's casts are BatchFit's."""
        try:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            if self.where is not None:
                frame = frame.filter(self.where)
            frame = frame.select(self.select)
            for name in self.json:
                if isinstance(frame.schema[name], pl.Struct):
                    frame = frame.with_columns(pl.col(name).struct.json_encode())
        except pl.exceptions.PolarsError as error:
            raise SchemaMismatch(f"cannot map the events of {where}: {_first_line(error)}") from None
        table = frame.to_arrow()
        for index, field in enumerate(table.schema):
            if field.type in _STRINGS:
                table = table.set_column(index, field.name, table.column(index).cast(pa.string()))
        return table


def mapping_for(spec: SourceSpec, file_columns: tuple[str, ...]) -> ParquetMapping:
    """The mapping the source file asks for over files of these columns; InvalidParameter if it cannot be."""
    compiler = _Compiler(spec, file_columns)
    unknown = sorted(set(spec.envelope) - set(ENVELOPE_FIELDS))
    if unknown:
        raise compiler.bad(f"envelope.{unknown[0]} is not an envelope field; use {', '.join(ENVELOPE_FIELDS)}")
    position = spec.envelope.get("position", "position")
    if position not in file_columns:
        raise compiler.bad(
            f"envelope.position = {position!r} must name a column of the files (their global order, by whose "
            f"statistics row groups are pruned); their columns are {', '.join(file_columns)}"
        )
    envelope = {name: compiler.envelope_field(name) for name in ENVELOPE_FIELDS if name != "position"}
    select: list[pl.Expr] = [pl.col(position).alias("position")]
    currency: pl.Expr | None = None
    currency_columns: tuple[str, ...] = ()
    json: tuple[str, ...] = ()
    if spec.mapped:
        for name in COLUMNS[1:]:
            expr = compiler.ledger_column(name, envelope)
            if name == "currency":
                currency, currency_columns = expr, tuple(dict.fromkeys(expr.meta.root_names()))
            select.append(expr.alias(name))
    else:
        missing = [name for name, expr in envelope.items() if expr is None and name not in _OPTIONAL]
        if missing:
            raise compiler.bad(
                f"envelope.{missing[0]} is not given and the files have no column {missing[0]!r}; name it in "
                f"[envelope] (the files' columns are {', '.join(file_columns)}) or map the events with [columns]"
            )
        for name, found in envelope.items():
            select.append((found if found is not None else pl.lit(None, pl.String)).alias(name))
        select += [compiler.expression(f"extra.{name}", text).alias(name) for name, text in spec.extra.items()]
        json = _OPTIONAL
    where_text = spec.option("where")
    where = compiler.expression("source.where", where_text) if where_text else None
    where_columns = tuple(dict.fromkeys(where.meta.root_names())) if where is not None else ()
    return ParquetMapping(
        position, compiler.used(position), tuple(select), where, where_columns, currency, currency_columns, json
    )


class _Compiler:
    """Compiles the file's expressions, noting the columns they read, with one-line errors."""

    def __init__(self, spec: SourceSpec, file_columns: tuple[str, ...]) -> None:
        self.spec = spec
        self.file_columns = file_columns
        self._used: dict[str, None] = {}

    def bad(self, message: str) -> InvalidParameter:
        return InvalidParameter(f"source file {self.spec.path}: {message}")

    def used(self, position: str) -> tuple[str, ...]:
        return (position, *(name for name in self._used if name != position))

    def expression(self, key: str, text: str) -> pl.Expr:
        try:
            expr = pl.sql_expr(text)
            roots = expr.meta.root_names()
        except pl.exceptions.PolarsError as error:
            raise self.bad(f"{key} = {text!r} is not a polars SQL expression ({_first_line(error)})") from None
        missing = [name for name in dict.fromkeys(roots) if name not in self.file_columns]
        if missing:
            raise self.bad(
                f"{key} = {text!r} reads column {missing[0]!r}, which the files do not have; "
                f"their columns are {', '.join(self.file_columns)}"
            )
        self._used.update(dict.fromkeys(roots))
        return expr

    def envelope_field(self, name: str) -> pl.Expr | None:
        text = self.spec.envelope.get(name)
        if text is not None:
            return self.expression(f"envelope.{name}", text)
        if name not in self.file_columns:
            return None
        self._used[name] = None
        return pl.col(name)  # not through SQL: a column may be named like a keyword ('data', 'time')

    def ledger_column(self, name: str, envelope: dict[str, pl.Expr | None]) -> pl.Expr:
        column = self.spec.columns.get(name)
        if column is not None:
            return self._mapped(name, column)
        if name in REQUIRED:
            raise self.bad(
                f"[columns] does not map {name}; a mapping onto the ledger gives at least {', '.join(REQUIRED)}"
            )
        if name in _LEDGER_DEFAULTS:
            found = envelope[_LEDGER_DEFAULTS[name]]
            if found is None:
                raise self.bad(
                    f"[columns] does not map {name} and the envelope has no {_LEDGER_DEFAULTS[name]}; "
                    f"give columns.{name} or envelope.{_LEDGER_DEFAULTS[name]}"
                )
            return found
        return pl.lit(None, pl.Int64)

    def _mapped(self, name: str, column: ColumnMap) -> pl.Expr:
        expr = self.expression(f"columns.{name}", column.expr)
        if not column.values:
            return expr
        # Values not in the map pass unchanged (as the Postgres presets' CASE does), so an
        # unmapped type is named by the schema check rather than turned into a null.
        return expr.cast(pl.String).replace(dict(column.values))


def check_options(spec: SourceSpec) -> None:
    """[columns] onto the ledger names only ledger columns, never the position (the preset's options
    are checked with every preset's, in stores.foreign.spec)."""
    unknown = sorted(set(spec.columns) - set(COLUMNS))
    if unknown or "position" in spec.columns:
        name = unknown[0] if unknown else "position"
        raise InvalidParameter(
            f"{spec.name}: columns.{name} cannot be mapped; map any of {', '.join(COLUMNS[1:])} "
            "(the position is envelope.position)"
        )


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
