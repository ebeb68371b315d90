"""Preset ``eventsourcing``: the Python eventsourcing library's ``<application>_events`` table.

The library's Postgres recorder (``eventsourcing.postgres``, 9.x) keeps an application's
events in ``<schema>.<application name lowercased>_events``: ``originator_id`` uuid (text
with ``ORIGINATOR_ID_TYPE=text``), ``originator_version`` bigint (1-based),
``topic`` text, ``state`` bytea and ``notification_id`` bigserial, the global order
(uniquely indexed; holes where an insert rolled back). The schema is ``POSTGRES_SCHEMA``,
default public. Options: ``application = "Bank"`` (the table is ``bank_events``) or
``table = "bank_events"`` / ``"myschema.bank_events"``, and ``schema``.

What the envelope holds:

* ``event_type`` is the topic, ``module:Class.Event`` (``bank.domain:Account.Deposited``);
  the relation also has a column ``type``, the topic's last part (``Deposited``), so a
  mapping can say ``event_type = { expr = "type", values = { Deposited = "deposited" } }``;
* ``data`` (envelope) is ``state`` as JSON text with the transcoder's wrappers unwrapped:
  the library writes a Decimal as ``{"_type_":"decimal_str","_data_":"12.34"}``, a UUID as
  ``uuid_hex``, a datetime as ``datetime_iso``; ``data`` holds just ``"12.34"``. On the
  server every top-level wrapper is unwrapped (whatever its ``_data_``); client-side
  (decode_batch) every wrapper whose ``_data_`` is a string, number, boolean or null;
* the relation has two jsonb columns for [columns]: ``data``, unwrapped
  (``(data->>'amount')::numeric``), and ``stored``, the JSON as the library wrote it
  (``(stored #>> '{amount,_data_}')::numeric``), which is 2x faster (figures below);
* ``occurred_at`` is the event's own ``timestamp``, which the library keeps inside ``state``
  (there is no time column); ``stream`` is ``originator_id::text``. A uuid made from an
  integer (``uuid.UUID(int=n)``) maps back with
  ``('x' || right(replace(originator_id::text, '-', ''), 15))::bit(60)::bigint``.

Compressed or encrypted state (``COMPRESSOR_TOPIC``, ``CIPHER_TOPIC``/``CIPHER_KEY``) is
not JSON; opening such a table is refused, one line, when a sample (the first and last
100 rows) has a state not starting with ``{``. Naming ``decode = "module:function"`` (a
function from the stored bytes to JSON bytes or text, e.g. the application's compressor's
``decompress``) lifts the refusal; the server cannot run it, so then the layout reads
``raw_layout``'s ``data``, the raw ``state`` bytea, with ``client_decode`` set to
``decode_batch`` with the hook: the reader runs it on each batch, which fills ``data``
and ``occurred_at`` client-side. A mapping ([columns]) needs the JSON on the server, so it
cannot be combined with ``decode``: that is an InvalidParameter.

Where the JSON is parsed, measured (``python -m bench.perf.eventsourcing_decode --events
200k --repeats 5``: 200k events written by the library, PostgreSQL 15, ADBC
``fetch_arrow_table``, medians; 2 cores shared with other work, so ratios varied by about
a quarter between runs):

* a mapping reads on the server (it is SQL). From ``stored``: 193k rows/s; from ``data``:
  92k, since unwrapping rebuilds every object (jsonb_each + jsonb_object_agg; a regexp over
  the text managed only 15-20k). catchup's replay of a ``stored`` mapping into balances ran
  at 143k rows/s against 135k for a bare ADBC read of the same SQL (1.06x; 0.92x in
  another run). So: the
  server path, and a mapping should read ``stored``;
* the same fields extracted on the server (``convert_from(state, 'UTF8')::jsonb #>> ...``)
  213k rows/s, against 153k for raw bytea (950k rows/s fetched alone) parsed by polars
  ``json_path_match``: unlike the issue's figure, parsing on the client did not win here
  (over four runs the server was as fast, 0.97x, to 1.5x faster);
* the envelope: unwrapped on the server and sent as text 83k rows/s, raw bytea through
  ``decode_batch`` (Arrow's RE2 regexp, one pass) 260k: the client wins 3x. Hence
  ``layout`` reads an envelope with ``raw_layout`` and ``decode_batch`` as its
  ``client_decode``, and a mapping with ``server_layout``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from stores.errors import InvalidParameter
from stores.foreign.layout import Envelope, PgLayout, Refusal
from stores.foreign.spec import SourceSpec
from stores.schema import ENVELOPE_SCHEMA

SYSTEM = "eventsourcing"
COLUMNS = ("notification_id", "originator_id", "originator_version", "topic", "state")
SAMPLE = 100  # rows at each end of the table whose state must look like JSON

# A transcoder wrapper with a scalar _data_ (a JSON string, number, true, false or null),
# exactly as the library's JSONTranscoder writes it (no spaces, _type_ first). Inside a JSON
# string a quote is always escaped, so '{"_type_"' can only start a real object.
_WRAPPER = r'\{"_type_":"(?:[^"\\]|\\.)*","_data_":("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null)\}'
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_HOOK = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")

# The event's time, which the library keeps in state (a datetime_iso wrapper, or plain text
# when an application registered its own transcoding): read from ``stored``, not ``data``.
_TIMESTAMP = "coalesce(e.stored #>> '{timestamp,_data_}', e.stored ->> 'timestamp')::timestamptz"

Hook = Callable[[bytes], bytes | str]


def layout(spec: SourceSpec) -> PgLayout:
    """A mapping reads on the server; the envelope, decoded on the client (3x faster, and the
    only way with a decode hook, which the server cannot run)."""
    if spec.mapped and spec.option("decode") is None:
        return server_layout(spec)
    raw = raw_layout(spec)
    return dataclasses.replace(raw, client_decode=functools.partial(decode_batch, hook=decode_hook(spec)))


def server_layout(spec: SourceSpec) -> PgLayout:
    """The envelope unwrapped on the server, and the relation's ``data``/``stored`` for [columns]."""
    return _layout(spec, data="e.data::text", occurred_at=_TIMESTAMP, refuse=True)


def raw_layout(spec: SourceSpec) -> PgLayout:
    """The envelope with ``data`` the raw ``state`` bytea and no time: for ``decode_batch``.

    Without a hook the non-JSON refusal still applies (decode_batch would fail on such
    state); a mapping cannot be read this way (its SQL needs the JSON on the server).
    """
    hook = spec.option("decode")
    if hook is not None:
        _check_hook_name(spec, hook)
    if spec.mapped:
        raise InvalidParameter(
            f"{spec.name}: source.decode cannot be combined with [columns]: a mapping needs the "
            "JSON on the server; read the envelope (no [columns]) with a decode hook"
        )
    return _layout(spec, data="e.state", occurred_at="NULL::timestamptz", refuse=hook is None)


def _layout(spec: SourceSpec, *, data: str, occurred_at: str, refuse: bool) -> PgLayout:
    schema, table = _table_of(spec)
    qualified = f'"{schema}"."{table}"'
    # The raw read must not parse state on the server at all: it may not even be text.
    relation = f"{qualified} AS e" if data == "e.state" else _relation(qualified)
    return PgLayout(
        system=SYSTEM,
        relation=relation,
        envelope=Envelope(
            position="notification_id",
            stream="originator_id::text",
            stream_version="originator_version",
            event_type="topic",
            occurred_at=occurred_at,
            data=data,
        ),
        refusals=(_not_json(qualified, f"{schema}.{table}"),) if refuse else (),
        required_columns=COLUMNS,
        table=f"{schema}.{table}",
    )


def _table_of(spec: SourceSpec) -> tuple[str, str]:
    """(schema, table): from ``table`` or ``application``, as the library names it."""
    application, table, schema = spec.option("application"), spec.option("table"), spec.option("schema")
    if (application is None) == (table is None):
        raise InvalidParameter(
            f"{spec.name}: preset eventsourcing needs source.application (its table is "
            "<application>_events) or source.table, not both"
        )
    if table is not None:
        named_schema, _, name = str(table).rpartition(".")
        if named_schema and schema is not None and named_schema != schema:
            raise InvalidParameter(
                f"{spec.name}: source.table = {table!r} names schema {named_schema!r} but "
                f"source.schema = {schema!r}; give one"
            )
        schema = named_schema or schema
        key, value = "table", name
    else:
        # The library's factory: table name = application name lowercased + "_events".
        key, value = "application", str(application)
    if not _IDENTIFIER.fullmatch(value):
        raise InvalidParameter(f"{spec.name}: source.{key} = {value!r} is not a name; use letters, digits and _")
    schema = "public" if schema is None else str(schema)
    if not _IDENTIFIER.fullmatch(schema):
        raise InvalidParameter(
            f"{spec.name}: source.schema = {schema!r} is not a schema name; use letters, digits and _"
        )
    return schema, value if key == "table" else f"{value.lower()}_events"


def _relation(qualified: str) -> str:
    """The table with ``type`` and ``data`` (jsonb, top-level wrappers unwrapped) beside its columns.

    The unwrapping rebuilds the object from ``jsonb_each``: measured 5x faster than a
    regexp over the text (PostgreSQL's regexp engine managed 20k rows/s). ``data`` is
    computed in a LATERAL subquery fenced by OFFSET 0, so it runs once per row however
    many select-list expressions read it (a plain subquery would be flattened and the
    expression copied into each use); the outer query's position conditions still reach
    the table's index.
    """
    wrapper = (
        "jsonb_typeof(w.value) = 'object' AND w.value ? '_type_' AND w.value ? '_data_' "
        "AND (w.value - '_type_' - '_data_') = '{}'::jsonb"
    )
    unwrapped = (
        f"coalesce((SELECT jsonb_object_agg(w.key, CASE WHEN {wrapper} THEN w.value->'_data_' ELSE w.value END) "
        "FROM jsonb_each(s.stored) AS w), '{}'::jsonb)"
    )
    # One fenced LATERAL subquery with both outputs: the planner drops an output nobody reads
    # (replaced by NULL), so a mapping that reads only ``stored`` never pays for unwrapping;
    # the inner fence parses state once for both.
    return (
        "(SELECT t.notification_id, t.originator_id, t.originator_version, t.topic, t.state, "
        "regexp_replace(t.topic, '^.*[:.]', '') AS type, d.stored, d.data "
        f"FROM {qualified} AS t CROSS JOIN LATERAL (SELECT s.stored, CASE WHEN s.stored IS NULL THEN NULL ELSE "
        f"{unwrapped} END AS data FROM (SELECT convert_from(t.state, 'UTF8')::jsonb AS stored OFFSET 0) AS s "
        "OFFSET 0) AS d) AS e"
    )


def _not_json(qualified: str, shown: str) -> Refusal:
    sample = f"(SELECT state FROM {qualified} ORDER BY notification_id {{}} LIMIT {SAMPLE})"
    return Refusal(
        sql=(
            f"SELECT EXISTS (SELECT 1 FROM ({sample.format('ASC')} UNION ALL {sample.format('DESC')}) AS s "
            "WHERE length(s.state) = 0 OR get_byte(s.state, 0) <> 123)"
        ),
        message=(
            f"table {shown} holds state that is not JSON (compressed or encrypted: COMPRESSOR_TOPIC or "
            'CIPHER_TOPIC is set); name a decode hook, source.decode = "module:function", turning the stored '
            "bytes into JSON"
        ),
    )


def _check_hook_name(spec: SourceSpec, hook: str) -> None:
    if not _HOOK.fullmatch(hook):
        raise InvalidParameter(
            f"{spec.name}: source.decode = {hook!r} is not module:function (e.g. myapp.codec:decode)"
        )


def decode_hook(spec: SourceSpec) -> Hook | None:
    """The function ``decode`` names, imported; None when the file names none."""
    name = spec.option("decode")
    if name is None:
        return None
    _check_hook_name(spec, name)
    module_name, _, attribute = name.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        message = f"{spec.name}: source.decode = {name!r} cannot be imported: {error}"
        raise InvalidParameter(message) from None
    if not callable(function):
        raise InvalidParameter(f"{spec.name}: source.decode = {name!r} is not a function")
    return function


def unwrap(text: pa.Array | pa.ChunkedArray) -> pa.Array:
    """JSON text with the transcoder's scalar wrappers replaced by their ``_data_``: the server's rule, in Arrow."""
    return pc.replace_substring_regex(text, pattern=_WRAPPER, replacement=r"\1")


def decode_batch(batch: pa.RecordBatch, hook: Hook | None) -> pa.RecordBatch:
    """An envelope batch whose ``data`` is raw ``state`` (binary), decoded client-side.

    ``hook`` turns each stored value into JSON (bytes or text); None means the state is
    already JSON bytes. Returns the batch in ENVELOPE_SCHEMA: ``data`` the unwrapped JSON
    text, ``occurred_at`` the event's ``timestamp`` from it. Raises ValueError naming the
    position of a value the hook cannot decode or that is not the library's JSON.
    """
    index = batch.schema.get_field_index("data")
    raw = batch.column(index)
    if hook is None:
        try:
            text = raw.cast(pa.string())  # validates UTF-8, no copy of the bytes
        except pa.ArrowInvalid:
            raise ValueError("state is not UTF-8 JSON; name a decode hook (source.decode)") from None
    else:
        positions = batch.column("position").to_pylist()
        decoded: list[str | None] = []
        for position, value in zip(positions, raw.to_pylist(), strict=True):
            if value is None:
                decoded.append(None)
                continue
            try:
                out = hook(value)
                decoded.append(out.decode("utf-8") if isinstance(out, bytes) else out)
            except Exception as error:  # the user's hook: any failure is theirs, reported with where
                raise ValueError(f"decode hook failed on the state at position {position}: {error}") from None
        text = pa.array(decoded, pa.string())
    data = unwrap(text)
    stamps = pc.extract_regex(data, pattern=r'^\{"timestamp":"(?P<t>[^"]+)"')
    if stamps.null_count > data.null_count:
        raise ValueError("state does not start with the library's \"timestamp\"; is it eventsourcing's JSON?")
    occurred = pc.cast(pc.struct_field(stamps, [0]), pa.timestamp("us", tz="UTC"))
    replaced = {"data": data, "occurred_at": occurred}
    schema = ENVELOPE_SCHEMA
    for field in batch.schema:  # the [extra] columns, after the envelope as the reader puts them
        if field.name not in ENVELOPE_SCHEMA.names:
            schema = schema.append(field)
    arrays = [replaced.get(field.name, batch.column(field.name)).cast(field.type) for field in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
