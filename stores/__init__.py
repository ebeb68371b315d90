"""Event stores: one interface (stores.base.EventStore), a backend per URI scheme."""

from __future__ import annotations

from stores.base import READ_BATCH_SIZE, DatasetMeta, EventStore, StoreInfo
from stores.foreign.spec import is_source_file, names_a_preset
from stores.uri import backend_of, parquet_path

__all__ = ["READ_BATCH_SIZE", "DatasetMeta", "EventStore", "StoreInfo", "open_store"]


def open_store(uri: str) -> EventStore:
    """The store a URI names: a folder or parquet:PATH, postgresql://..., or a source file (.toml)

    Opening does not read or create anything yet; UnknownStoreURI for other schemes,
    InvalidParameter for bad query options or a bad source file.
    """
    if is_source_file(uri) or names_a_preset(uri):
        from stores.foreign.open import open_source

        return open_source(uri)
    if backend_of(uri) == "parquet":
        from stores.parquet import ParquetStore

        return ParquetStore(parquet_path(uri))
    from stores.postgres import PostgresStore

    return PostgresStore(uri)
