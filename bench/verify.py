"""``catchup verify STORE``: check everything a store can be checked for, and say what held.

Backend-neutral checks use only the EventStore interface: one full read (a Parquet store
verifies every page checksum as it reads) in which the
positions must increase, stay within 1..head and end at the head (holes are listed, not
failed: a Postgres log after a live run has them), and, for a store made by catchup's
generator, every event must equal the one its fingerprint's parameters regenerate
(generators.continuation: the same event at a position whoever asks, so live appends past
the dataset are regenerated too). A Parquet store is checked first against its manifest:
the manifest's own consistency, and every file's size, footer and sha256.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generators.continuation import Continuation
from generators.params import GENERATOR, GENERATOR_VERSION, fingerprint, params_from_json
from stores.base import EventStore, StoreInfo
from stores.errors import CatchupError
from stores.parquet import ParquetStore
from stores.parquet_integrity import checksum_problem, file_problems, orphans
from stores.parquet_manifest import read_manifest
from stores.schema import positions

HOLES_SHOWN = 5  # holes listed by range in the positions line; the rest are counted


@dataclass(frozen=True)
class Finding:
    check: str  # store, manifest, files, orphans, pages, positions, events
    ok: bool
    detail: str


@dataclass(frozen=True)
class Verification:
    uri: str
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return all(finding.ok for finding in self.findings)

    @property
    def first_failure(self) -> Finding | None:
        return next((finding for finding in self.findings if not finding.ok), None)


def verify_store(
    store: EventStore,
    *,
    on_finding: Callable[[Finding], None] | None = None,
    on_events: Callable[[int], None] | None = None,
) -> Verification:
    """Every check of ``store``; ``on_finding`` hears each as it is made, ``on_events`` counts the full read."""
    findings: list[Finding] = []

    def found(check: str, ok: bool, detail: str) -> None:
        findings.append(Finding(check, ok, detail))
        if on_finding is not None:
            on_finding(findings[-1])

    info = store.info()
    if not info.exists:
        raise store.not_found_error()
    state = "complete" if info.complete else "an incomplete load: nothing else can be checked"
    found("store", info.complete, f"{info.uri} ({info.backend}), head {info.head:,}, {state}")
    if info.complete:
        if isinstance(store, ParquetStore):
            _check_parquet(store, found)
        _check_events(store, info, found, on_events)
    return Verification(info.uri, tuple(findings))


def _check_parquet(store: ParquetStore, found: Callable[[str, bool, str], None]) -> None:
    manifest = read_manifest(store.folder)
    problems = manifest.problems()
    found(
        "manifest",
        not problems,
        "; ".join(problems)
        or f"{len(manifest.files):,} file(s) in order, head {manifest.head:,} is the last file's last position",
    )
    problems = []
    for event_file in manifest.files:
        cheap = file_problems(store.folder, event_file, manifest.dataset_id)
        # A file whose size or footer is already wrong need not be hashed to be known damaged.
        problem = None if cheap else checksum_problem(store.folder, event_file)
        problems += cheap + ([problem] if problem else [])
    found(
        "files",
        not problems,
        "; ".join(problems)
        or f"{len(manifest.files):,} file(s): size, footer (rows, positions, dataset) and sha256 as the manifest says",
    )
    left = orphans(store.folder, manifest)
    found(
        "orphans",
        True,
        f"{len(left.paths):,} unlisted event file(s), {left.size_bytes:,} bytes: remove them with catchup clean STORE"
        if left.paths
        else "none (every event file is listed in the manifest)",
    )


class _EventCheck:
    """The positions and, for a generated store, the events, checked batch by batch in one read."""

    def __init__(self, info: StoreInfo) -> None:
        self.head, self.count, self.last = info.head, 0, 0
        self.holes: list[tuple[int, int]] = []
        self.broken = ""  # the first position problem: the rest of the read is not compared
        self.differs = ""  # the first event that is not the regenerated one
        self.generated, self.why_not, self.dataset_events = _generator_of(info)

    def add(self, batch: pa.RecordBatch) -> None:
        pos = positions(batch)
        if self.broken or pos.size == 0:
            return
        steps = np.diff(pos, prepend=self.last)
        if pos[0] < 1 or bool(np.any(steps <= 0)) or pos[-1] > self.head:
            bad = int(np.argmax((steps <= 0) | (pos < 1) | (pos > self.head)))
            self.broken = (
                f"position {int(pos[bad]):,} follows {int(pos[bad - 1]) if bad else self.last:,}; positions must "
                f"increase within 1..{self.head:,}"
            )
            return
        for index in np.flatnonzero(steps > 1):
            self.holes.append((int(pos[index] - steps[index] + 1), int(pos[index] - 1)))
        if self.generated is not None and not self.differs:
            self.differs = _first_difference(batch, self.generated.events_at(pos))
        self.count += int(pos.size)
        self.last = int(pos[-1])

    def positions_finding(self) -> tuple[bool, str]:
        if self.broken:
            return False, self.broken
        if self.last != self.head:
            return False, f"the last event is at position {self.last:,}, the store's head is {self.head:,}"
        if not self.holes:
            return True, f"dense 1..{self.head:,} ({self.count:,} events)"
        shown = ", ".join(f"{a:,}..{b:,}" if a != b else f"{a:,}" for a, b in self.holes[:HOLES_SHOWN])
        more = f" and {len(self.holes) - HOLES_SHOWN:,} more" if len(self.holes) > HOLES_SHOWN else ""
        return True, f"{self.count:,} events in 1..{self.head:,} with {len(self.holes):,} hole(s): {shown}{more}"


def _check_events(
    store: EventStore,
    info: StoreInfo,
    found: Callable[[str, bool, str], None],
    on_events: Callable[[int], None] | None,
) -> None:
    check = _EventCheck(info)
    failure = ""
    try:
        for batch in store.read():
            check.add(batch)
            if on_events is not None:
                on_events(batch.num_rows)
    except CatchupError as error:
        failure = str(error)
    if failure:
        found("read", False, failure)
    elif isinstance(store, ParquetStore):
        found("pages", True, f"every page checksum holds ({check.count:,} events read)")
    if failure:
        found("positions", False, f"not checked past position {check.last:,}: the read failed")
        return
    found("positions", *check.positions_finding())
    if check.generated is None:
        found("events", check.why_not.startswith("skipped"), check.why_not)
    elif check.broken:
        found("events", False, "not compared past the first position problem")
    elif check.differs:
        found("events", False, check.differs)
    elif check.holes and check.holes[0][0] <= check.dataset_events:
        first, last = check.holes[0]
        found("events", False, f"positions {first:,}..{last:,} of the generated dataset are missing")
    else:
        fp = info.fingerprint or {}
        found(
            "events",
            True,
            f"all {check.count:,} equal those regenerated from fingerprint {fp.get('id')} "
            f"({fp.get('generator')} v{fp.get('version')})",
        )


def _generator_of(info: StoreInfo) -> tuple[Continuation | None, str, int]:
    """The generator that made the store's events and how many it made (past them: live
    appends, which may leave holes), or why there is none to compare with."""
    fp = info.fingerprint or {}
    if "source" in fp:
        return None, "skipped: a foreign source's events are its own system's, read whole and mapped above", 0
    if fp.get("generator") != GENERATOR:
        return None, "skipped: the fingerprint names no catchup generator, so there is nothing to regenerate", 0
    if fp.get("version") != GENERATOR_VERSION:
        return (
            None,
            (
                f"made by generator version {fp.get('version')!r}, this catchup has version {GENERATOR_VERSION}: "
                "it cannot regenerate them; regenerate the store"
            ),
            0,
        )
    try:
        params = params_from_json(fp.get("params") or {})
    except CatchupError as error:
        return None, str(error), 0
    expected = fingerprint(params)["id"]
    if fp.get("id") != expected:
        return None, f"the fingerprint id {fp.get('id')!r} is not that of its parameters ({expected!r})", 0
    return Continuation(params), "", params.events


def _first_difference(stored: pa.RecordBatch, generated: pa.RecordBatch) -> str:
    """'' when the events are equal, else which position first differs and in which column."""
    if stored.equals(generated):
        return ""
    first: tuple[int, str] | None = None
    for name in stored.schema.names:
        ours, theirs = _plain(stored.column(name)), _plain(generated.column(name))
        same = pc.or_(pc.fill_null(pc.equal(ours, theirs), False), pc.and_(pc.is_null(ours), pc.is_null(theirs)))
        rows = np.flatnonzero(~same.to_numpy(zero_copy_only=False))
        if rows.size and (first is None or rows[0] < first[0]):
            first = (int(rows[0]), name)
    if first is None:
        return ""  # equal values under other dictionaries
    row, name = first
    return (
        f"position {int(positions(stored)[row]):,} is not the event its fingerprint regenerates: {name} is "
        f"{stored.column(name)[row].as_py()!r}, regenerated {generated.column(name)[row].as_py()!r}"
    )


def _plain(column: pa.Array) -> pa.Array:
    return column.dictionary_decode() if isinstance(column, pa.DictionaryArray) else column
