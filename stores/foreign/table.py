"""The ``table`` preset: any Postgres table or view, every envelope column named in the file.

    [source]
    uri = "postgresql://app@db/prod"
    preset = "table"
    table = "public.account_events"          # schema-qualified or not (then public)
    [envelope]                               # SQL over the table's columns
    position = "id"                          # a unique, increasing, indexed column: the global order
    stream = "aggregate_id::text"
    stream_version = "version"
    event_type = "kind"
    occurred_at = "created_at"
    data = "payload::text"                   # optional; metadata too
    [columns]                                # optional: onto the ledger schema
    stream_id = "account_no"
    ...

The table is the user's; nothing says how its writers commit, so a live reader must take
the rule for concurrent commits (a hole waits until every transaction in flight when it
was seen has ended), as for any table written under a sequence.
"""

from __future__ import annotations

import re

from stores.errors import InvalidParameter
from stores.foreign.layout import Envelope, PgLayout
from stores.foreign.spec import SourceSpec

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")
# Needed in the envelope whatever the mode; the others are needed by the envelope mode,
# or, onto the ledger, only where [columns] does not give them.
_ALWAYS = ("position",)
_ENVELOPE_MODE = ("stream", "stream_version", "event_type", "occurred_at")
_LEDGER_DEFAULTS = ("stream_version", "occurred_at")
_KNOWN = ("position", "stream", "stream_version", "event_type", "occurred_at", "data", "metadata")


def layout(spec: SourceSpec) -> PgLayout:
    table = spec.option("table")
    if not table:
        raise InvalidParameter(f"{spec.name}: preset table needs source.table, the events table")
    schema, _, name = table.rpartition(".") if "." in table else ("public", "", table)
    if not (_NAME.fullmatch(schema) and _NAME.fullmatch(name)):
        raise InvalidParameter(f"{spec.name}: source.table = {table!r} is not a table name; use name or schema.name")
    given = spec.envelope
    unknown = sorted(set(given) - set(_KNOWN))
    if unknown:
        raise InvalidParameter(f"{spec.name}: envelope.{unknown[0]} is unknown; use {', '.join(_KNOWN)}")
    needed = list(_ALWAYS)
    needed += _ENVELOPE_MODE if not spec.mapped else [n for n in _LEDGER_DEFAULTS if n not in spec.columns]
    missing = [n for n in needed if n not in given]
    if missing:
        raise InvalidParameter(
            f"{spec.name}: preset table needs envelope.{', envelope.'.join(missing)} (SQL over the table's columns)"
        )
    qualified = f'"{schema}"."{name}"'
    return PgLayout(
        system="table",
        relation=qualified,
        envelope=Envelope(
            position=given["position"],
            stream=given.get("stream", "NULL"),
            stream_version=given.get("stream_version", "NULL"),
            event_type=given.get("event_type", "NULL"),
            occurred_at=given.get("occurred_at", "NULL"),
            data=given.get("data", "NULL"),
            metadata=given.get("metadata", "NULL"),
        ),
        table=f"{schema}.{name}",
    )
