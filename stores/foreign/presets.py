"""The presets: one module per system, each knowing its table as a PgLayout.

A preset module defines ``layout(spec: SourceSpec) -> PgLayout``: the layout for this
source file (its options: a category, a tenant, an application name), raising
InvalidParameter for an option it cannot take. Recognising a system's tables in a
database (to suggest its preset) is stores.foreign.detect's, stated once for all.

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
