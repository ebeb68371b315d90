"""The envelope schema, as stores.schema defines it (stated there once, beside the ledger's)."""

from __future__ import annotations

from stores.schema import ENVELOPE_SCHEMA, envelope_schema

__all__ = ["ENVELOPE_SCHEMA", "envelope_schema"]
