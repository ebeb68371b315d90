"""Benchmark: reading a foreign source through catchup against a bare ADBC read of the same rows.

    python -m bench.perf.source_read SOURCE.toml [--repeats 3] [--no-client-json]

Side by side, the two sides taking turns going first (ratio = bare s / ours s, so 1.0 means
no overhead; the issue's goal is >= 0.9):

* full read: ``source.read()`` (the reader's one query, its batches fitted to the source's
  schema: dictionaries, casts) against ADBC ``fetch_record_batch`` of that very query on a
  warm read-only connection: the same server-side extraction (``->>``, casts, CASE), so
  the difference is what catchup adds on the client;
* full replay: ``balances`` replayed from the source (fetch + apply), in events/s, when the
  source maps onto the ledger.

With a mapped Postgres source, also the question the presets' docstrings answer: is it
faster to extract the payload's fields on the server (``data->>'amount'``: the mapped
query) or to fetch the whole JSON and parse it on the client? The client side is a bare
ADBC read of the raw columns (the position, the mapped columns that read no payload, and
``data::text``) followed by ``pyarrow.json`` parsing the payloads into columns: the
fastest client-side parse at hand (vectorised C++, no Python per event), so the figure
favours the client if anything.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterable

import adbc_driver_postgresql.dbapi as adbc
import pyarrow as pa
import pyarrow.json as pa_json

from bench.perf.timing import median, table, timed
from bench.replay import replay
from projections import Balances
from stores import open_store
from stores.foreign.mapping import render, select_list
from stores.foreign.pg_source import ForeignPgSource

_PAYLOAD = re.compile(r"\bdata\b")
_FIELD = re.compile(r"data\s*->>\s*'(\w+)'")


def consume(batches: Iterable[pa.RecordBatch]) -> int:
    return sum(batch.num_rows for batch in batches)


def bare_read(conn: adbc.Connection, sql: str) -> int:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        return consume(cursor.fetch_record_batch())
    finally:
        cursor.close()


def payload_fields(source: ForeignPgSource) -> tuple[str, ...]:
    """The payload fields the mapping extracts on the server (``data->>'amount'``)."""
    exprs = " ".join(expr for expr, _ in select_list(source.layout, source.spec))
    return tuple(sorted(set(_FIELD.findall(exprs))))


def client_json_sql(source: ForeignPgSource) -> str:
    """The mapped query with every column that reads the payload replaced by ``data::text``
    once: what a reader fetching whole JSON would ask the server for."""
    listed = select_list(source.layout, source.spec)
    kept = [(expr, name) for expr, name in listed if not _PAYLOAD.search(expr)]
    sql = source._select(0, source.facts().last)  # the reader's own query: same filters, same order
    head, _, rest = sql.partition(" FROM ")
    return f"SELECT {render([*kept, ('data::text', 'data')])} FROM {rest}"


def client_json_read(conn: adbc.Connection, sql: str, fields: tuple[str, ...], parse: str = "arrow") -> int:
    """Fetch raw payloads and parse them on the client into columns; rows read.

    ``arrow``: ``pyarrow.json`` over each batch's payloads at once (no Python per event);
    ``python``: ``json.loads`` per payload and a column built per field the mapping
    extracts, as a plain Python reader would.
    """
    rows = 0
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        for batch in cursor.fetch_record_batch():
            payloads = batch.column("data").to_pylist()
            if parse == "arrow":
                parsed = pa_json.read_json(pa.py_buffer("\n".join(payloads).encode()))
                rows += parsed.num_rows
            else:
                decoded = [json.loads(one) for one in payloads]
                columns = [pa.array([d.get(key) for d in decoded]) for key in fields]
                rows += len(decoded) if columns else 0
    finally:
        cursor.close()
    return rows


def interleaved(actions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each action, the actions taking turns (and rotating who goes
    first) so that drift on a shared machine falls on all of them alike."""
    seconds: dict[str, list[float]] = {name: [] for name in actions}
    names = list(actions)
    for index in range(repeats):
        turn = names[index % len(names) :] + names[: index % len(names)]
        for name in turn:
            seconds[name].extend(timed(actions[name], 1))
    return {name: median(values) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="a source file (.toml) naming a Postgres preset")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-client-json", action="store_true", help="skip the client-side JSON comparison")
    args = parser.parse_args()

    with open_store(args.source) as source:
        if not isinstance(source, ForeignPgSource):
            raise SystemExit(f"{args.source} is not a Postgres source; this benchmark reads Postgres presets")
        facts = source.facts()
        sql = source._select(0, facts.last)  # the reader's own query: same filters, extraction, order
        events = facts.events
        print(f"{facts.system}: {facts.relation}, {events:,} events, highest position {facts.last:,}")
        conn = adbc.connect(source.target.conninfo, autocommit=True)
        try:
            assert consume(source.read()) == bare_read(conn, sql) == events  # warm both, and check
            actions: dict[str, Callable[[], object]] = {
                "catchup read": lambda: consume(source.read()),
                "bare read": lambda: bare_read(conn, sql),
            }
            if source.spec.mapped:
                actions["catchup replay"] = lambda: replay(source, Balances())
                if not args.no_client_json:
                    raw, fields = client_json_sql(source), payload_fields(source)
                    assert client_json_read(conn, raw, fields) == events
                    actions["client arrow"] = lambda: client_json_read(conn, raw, fields, "arrow")
                    actions["client python"] = lambda: client_json_read(conn, raw, fields, "python")
            got = interleaved(actions, args.repeats)
        finally:
            conn.close()

    def rate(name: str) -> str:
        return f"{events / got[name]:,.0f}"

    bare = got["bare read"]
    rows = [["full read: catchup vs bare ADBC, same SQL", rate("catchup read"), rate("bare read"),
             f"{bare / got['catchup read']:.2f}x"]]  # fmt: skip
    if "catchup replay" in got:
        rows.append(["full replay of balances (fetch + apply)", rate("catchup replay"), rate("bare read"),
                     f"{bare / got['catchup replay']:.2f}x"])  # fmt: skip
    for name, what in (("client arrow", "pyarrow.json"), ("client python", "json.loads")):
        if name in got:
            rows.append([f"whole JSON, parsed client-side ({what})", rate(name), rate("bare read"),
                         f"server-side {got[name] / bare:.2f}x faster"])  # fmt: skip
    print(table(["what", "rows/s", "bare ADBC server-side rows/s", "ratio"], rows))
    print(f"(medians of {args.repeats} runs each, taking turns; ratio = bare seconds / seconds)")


if __name__ == "__main__":
    main()
