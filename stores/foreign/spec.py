"""The source file: a small TOML file naming a foreign event store and how to read it.

    [source]
    uri = "postgresql://app@db:5432/prod"   # password from the URI, PGPASSWORD or ~/.pgpass
    preset = "messagedb"                     # messagedb | marten | eventsourcing | table | parquet
    category = "account"                     # preset options: see each preset
    [columns]                                # optional: onto the ledger schema, as SQL expressions
    stream_id = "split_part(stream_name, '-', 2)::bigint"
    amount = "(data->>'amount')::bigint"
    event_type = { expr = "type", values = { Deposited = "deposited" } }
    [snapshots]
    uri = "snapshots/prod-accounts"          # catchup's own folder; default beside this file

Parsing checks shape only (known keys, types, a known preset); whether the tables and
columns exist is checked when the source is opened. Every error is one line naming the
file and the key. The URI is never shown with its password.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from stores.errors import InvalidParameter
from stores.uri import redact

SOURCE_SUFFIX = ".toml"
PRESETS = ("messagedb", "marten", "eventsourcing", "table", "parquet")
# Keys [source] may hold besides uri and preset: the presets' options.
SOURCE_OPTIONS = {
    "category": "messagedb: read one category (stream names '<category>-<id>')",
    "tenant": "marten: read one tenant_id",
    "include_archived": "marten: also read archived events (default false)",
    "schema": "marten: the schema of mt_events (default public); messagedb: message_store",
    "application": "eventsourcing: the application's name; its table is <application>_events",
    "table": "eventsourcing and table: the events table, schema-qualified or not",
    "decode": "eventsourcing: module:function turning a state bytea into JSON text",
    "where": "an SQL condition every event read must meet (parquet: a polars SQL one)",
}
# The [source] options each preset takes.
PRESET_OPTIONS: dict[str, tuple[str, ...]] = {
    "messagedb": ("category", "schema", "where"),
    "marten": ("schema", "tenant", "include_archived", "where"),
    "eventsourcing": ("application", "table", "schema", "decode", "where"),
    "table": ("table", "where"),
    "parquet": ("where",),
}
_ALL_SOURCE_KEYS = ("uri", "preset", *SOURCE_OPTIONS)
_TABLES = ("source", "columns", "snapshots", "envelope", "extra")
_COLUMN_KEYS = ("expr", "values")


@dataclass(frozen=True)
class ColumnMap:
    """One ledger column computed from the source: an SQL expression, and for the two
    dictionary columns (event_type, currency) optionally a map of the source's values."""

    expr: str
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SourceSpec:
    path: Path  # the TOML file
    uri: str = field(repr=False)  # may hold a password: show ``shown_uri``
    preset: str
    options: dict[str, Any]  # the [source] keys besides uri and preset
    columns: dict[str, ColumnMap]  # empty: projections receive the envelope
    envelope: dict[str, str]  # [envelope]: table and parquet presets name their envelope columns
    extra: dict[str, str]  # [extra]: columns passed through beside the envelope, name -> SQL
    snapshots_uri: str  # resolved: an absolute folder path
    label: str = ""  # a source named by a URI: the URI without its password; '' for a file

    @property
    def name(self) -> str:
        """What messages and results call the source: the file, or the URI without its password."""
        return self.label or str(self.path)

    @property
    def shown_uri(self) -> str:
        return redact(self.uri)

    @property
    def mapped(self) -> bool:
        """True when [columns] maps the events onto the ledger schema."""
        return bool(self.columns)

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


# Preset options a URI may carry (``postgresql://...?preset=messagedb&category=account``):
# the simple ones; a mapping, an envelope or a decode hook needs a source file.
URI_OPTIONS = ("category", "tenant", "include_archived", "application", "table")


def names_a_preset(uri: str) -> bool:
    """Whether a postgresql:// URI names a foreign source by ``?preset=``."""
    try:
        query = urlsplit(uri).query if "://" in uri else ""
    except ValueError:  # a URI urlsplit cannot split: the store's own parsing says why
        return False
    return any(key == "preset" for key, _ in parse_qsl(query, keep_blank_values=True))


def spec_from_uri(uri: str) -> SourceSpec:
    """The source a URI names with ``?preset=`` and preset options; the rest goes to libpq.

    Its snapshots go to catchup's cache folder ($XDG_CACHE_HOME or ~/.cache, then
    catchup/sources/), in a folder named after the preset and the URI without its password.
    """
    parts = urlsplit(uri)
    ours: dict[str, Any] = {}
    rest = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "preset" or key in URI_OPTIONS:
            ours[key] = value
        else:
            rest.append((key, value))
    preset = ours.pop("preset")
    if preset in ("table", "parquet"):
        raise InvalidParameter(
            f"{redact(uri)}: preset={preset} needs its envelope columns named in a source file (SOURCE.toml); "
            f"a URI can name {', '.join(p for p in PRESETS if p not in ('table', 'parquet'))}"
        )
    if "include_archived" in ours:
        flag = ours["include_archived"].lower()
        if flag not in ("true", "false"):
            raise InvalidParameter(f"{redact(uri)}: include_archived={flag!r}; use true or false")
        ours["include_archived"] = flag == "true"
    plain = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest, safe="/"), ""))
    name = hashlib.sha256(f"{redact(plain)}|{sorted(ours.items())}".encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "catchup" / "sources"
    document = {
        "source": {"uri": plain, "preset": preset, **ours},
        "snapshots": {"uri": str(cache / f"{preset}-{name}")},
    }
    return parse_spec(document, Path(redact(uri)))


def is_source_file(uri: str) -> bool:
    """Whether a store argument names a source file rather than a store."""
    return uri.lower().endswith(SOURCE_SUFFIX) and "://" not in uri


def load_spec(path: str | Path) -> SourceSpec:
    """The source file at ``path``; InvalidParameter (one line) when it cannot be one."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidParameter(f"source file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidParameter(f"source file {path} cannot be read: {error}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidParameter(f"source file {path} is not valid TOML: {error}") from None
    return parse_spec(document, path)


def parse_spec(document: dict[str, Any], path: Path, *, label: str = "") -> SourceSpec:
    """``label``: what messages call a source named by a URI rather than by a file at ``path``."""

    def bad(message: str) -> InvalidParameter:
        return InvalidParameter(f"{label}: {message}" if label else f"source file {path}: {message}")

    unknown = sorted(set(document) - set(_TABLES))
    if unknown:
        raise bad(f"unknown table [{unknown[0]}]; use [{'], ['.join(_TABLES)}]")
    source = _table(document, "source", bad, required=True)
    for key in source:
        if key not in _ALL_SOURCE_KEYS:
            raise bad(f"unknown key source.{key}; use one of {', '.join(_ALL_SOURCE_KEYS)}")
    preset = source.get("preset")
    if preset not in PRESETS:
        raise bad(f"source.preset = {preset!r} is not a preset; use one of {', '.join(PRESETS)}")
    uri = source.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        what = "a folder or file path of the Parquet dataset" if preset == "parquet" else "postgresql://..."
        raise bad(f"source.uri is missing; give {what}")
    if preset != "parquet" and not uri.lower().startswith(("postgresql://", "postgres://")):
        raise bad(f"source.uri = {redact(uri)!r} is not a postgresql:// URI, which preset {preset} reads")
    options = {key: value for key, value in source.items() if key not in ("uri", "preset")}
    for key, value in options.items():
        if key not in PRESET_OPTIONS[preset]:
            raise bad(f"preset {preset} takes no option {key}; its options are {', '.join(PRESET_OPTIONS[preset])}")
        if key == "include_archived":
            if not isinstance(value, bool):
                raise bad(f"source.{key} must be true or false")
        elif not isinstance(value, str) or not value.strip():
            raise bad(f"source.{key} must be a non-empty string ({SOURCE_OPTIONS[key]})")
    if preset == "parquet" and uri.lower().startswith("parquet:"):
        uri = uri[len("parquet:") :]
    if preset == "parquet" and "://" not in uri and not Path(uri).is_absolute():
        uri = str((path.parent / uri).resolve())
    columns = {name: _column(name, value, bad) for name, value in _table(document, "columns", bad).items()}
    envelope = _strings(_table(document, "envelope", bad), "envelope", bad)
    extra = _strings(_table(document, "extra", bad), "extra", bad)
    for name in extra:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise bad(f"extra.{name} is not a column name; use lower-case letters, digits and _")
    snapshots = _table(document, "snapshots", bad)
    for key in snapshots:
        if key != "uri":
            raise bad(f"unknown key snapshots.{key}; use snapshots.uri")
    snapshots_uri = snapshots.get("uri")
    if snapshots_uri is not None and (not isinstance(snapshots_uri, str) or not snapshots_uri.strip()):
        raise bad("snapshots.uri must be a folder path")
    if snapshots_uri is None:
        folder = path.parent / f"{path.stem}.snapshots"
    else:
        if "://" in snapshots_uri:
            raise bad(f"snapshots.uri = {redact(snapshots_uri)!r}: snapshots of a source go to a local folder")
        folder = Path(snapshots_uri) if Path(snapshots_uri).is_absolute() else path.parent / snapshots_uri
    return SourceSpec(
        path=path,
        uri=uri,
        preset=preset,
        options=options,
        columns=columns,
        envelope=envelope,
        extra=extra,
        snapshots_uri=str(folder.resolve()),
        label=label,
    )


def _table(document: dict[str, Any], name: str, bad: Any, *, required: bool = False) -> dict[str, Any]:
    table = document.get(name)
    if table is None:
        if required:
            raise bad(f"no [{name}] table; it needs at least uri and preset")
        return {}
    if not isinstance(table, dict):
        raise bad(f"{name} must be a table ([{name}])")
    return table


def _strings(table: dict[str, Any], name: str, bad: Any) -> dict[str, str]:
    for key, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise bad(f"{name}.{key} must be an SQL expression (a non-empty string)")
    return dict(table)


def _column(name: str, value: Any, bad: Any) -> ColumnMap:
    if isinstance(value, str) and value.strip():
        return ColumnMap(value)
    if not isinstance(value, dict):
        raise bad(f"columns.{name} must be an SQL expression or {{ expr = ..., values = {{ ... }} }}")
    for key in value:
        if key not in _COLUMN_KEYS:
            raise bad(f"unknown key columns.{name}.{key}; use expr and values")
    expr = value.get("expr")
    if not isinstance(expr, str) or not expr.strip():
        raise bad(f"columns.{name}.expr must be an SQL expression")
    values = value.get("values", {})
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise bad(f"columns.{name}.values must map the source's values to ours: {{ Deposited = 'deposited' }}")
    return ColumnMap(expr, tuple(sorted(values.items())))
