"""Opening a source file: the foreign store its preset names."""

from __future__ import annotations

from pathlib import Path

from stores.foreign.source_base import ForeignSource
from stores.foreign.spec import load_spec, names_a_preset, spec_from_uri


def open_source(path: str | Path) -> ForeignSource:
    """The source a file (SOURCE.toml) or a URI with ``?preset=`` names."""
    spec = spec_from_uri(str(path)) if names_a_preset(str(path)) else load_spec(path)
    if spec.preset == "parquet":
        from stores.foreign.parquet_source import ForeignParquetSource

        return ForeignParquetSource(spec)
    from stores.foreign.pg_source import ForeignPgSource

    return ForeignPgSource(spec)
