"""The presets: one module per system, each knowing its table as a PgLayout.

A preset module defines

* ``layout(spec: SourceSpec) -> PgLayout``: the layout for this source file (its
  options: a category, a tenant, an application name), raising InvalidParameter for an
  option it cannot take;
* ``DETECT``: an SQL query, run on any database, returning one text column, a row per
  table of this system found there (``'message_store.messages'``): how catchup
  recognises a database holding another system's events, to suggest the preset instead
  of offering to create a store of its own beside them.

The ``parquet`` preset is not here: it reads files, not SQL (stores.foreign.parquet_source).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from stores.foreign.layout import PgLayout
from stores.foreign.spec import SourceSpec

PG_PRESETS = ("messagedb", "marten", "eventsourcing", "table")


def preset_module(name: str) -> ModuleType:
    if name not in PG_PRESETS:
        raise ValueError(f"no Postgres preset {name!r}; presets are {', '.join(PG_PRESETS)}")
    return importlib.import_module(f"stores.foreign.{name}")


def layout_for(spec: SourceSpec) -> PgLayout:
    layout: PgLayout = preset_module(spec.preset).layout(spec)
    return layout


def detect_queries() -> dict[str, str]:
    """Each preset's DETECT query, by preset name (``table`` has none: any table may be one)."""
    found: dict[str, str] = {}
    for name in PG_PRESETS:
        query = getattr(preset_module(name), "DETECT", None)
        if query:
            found[name] = query
    return found
