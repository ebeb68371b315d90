"""The envelope: what every foreign event is, whatever the system, when no [columns] maps it.

Projections written for foreign events declare ``events = "envelope"`` and read these
columns (plus any ``[extra]`` columns the source file names, as strings); ``data`` and
``metadata`` are the payload's JSON text, parsed by the projection as it needs.
"""

from __future__ import annotations

import pyarrow as pa

from stores.foreign.layout import ENVELOPE_FIELDS

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
assert tuple(ENVELOPE_SCHEMA.names) == ENVELOPE_FIELDS


def envelope_schema(extra: tuple[str, ...] = ()) -> pa.Schema:
    """The envelope with the source file's [extra] columns after it, as strings."""
    schema = ENVELOPE_SCHEMA
    for name in extra:
        schema = schema.append(pa.field(name, pa.string(), nullable=True))
    return schema
