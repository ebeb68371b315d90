"""A cold restart, as a deploy or a crash makes one: a fresh process catches up from the latest snapshot.

The parent evicts the store's files from the page cache (what the store can: see
``EventStore.evict_page_cache``), then starts ``python -m bench.restarted`` and waits.
The child opens the store, loads the latest snapshot at or before the head, restores,
replays the tail and digests the state; it writes what it measured into ``result.json``
in a temporary folder the request names (and, when its digest is not the expected one,
the caught-up state as ``state.arrow``, so the parent can say which rows differ).

The request goes on the child's stdin, never its argv: a store URI may carry a password,
and argv is what ``ps`` shows every user of the machine. The child's PYTHONPATH is the
parent's ``sys.path``, so it imports the very code the parent runs.

Times are ``time.monotonic``: CLOCK_MONOTONIC is one clock for the whole system on Linux,
so the parent's t0 (taken just before the spawn) and the child's marks can be subtracted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc

from stores.base import EventStore
from stores.errors import CatchupError
from stores.page_cache import Eviction

RESULT_FILE = "result.json"
STATE_FILE = "state.arrow"
CHILD_MODULE = "bench.restarted"


class ColdRestartFailed(CatchupError):
    """The restarted process could not catch up: its one-line error, or how it died."""


@dataclass(frozen=True)
class RestartTarget:
    """What a fresh process needs to find the store and the projection again."""

    store_uri: str  # as the user gave it, password included: it travels on stdin only
    projection_spec: str


@dataclass(frozen=True)
class ColdRequest:
    target: RestartTarget
    head: int
    batch_size: int
    expected_digest: str


@dataclass(frozen=True)
class ColdTiming:
    """Seconds from the parent's spawn: interpreter start, imports, store open, snapshot load,
    restore, the tail's fetch and apply; catchup_s is the whole, spawn to caught-up."""

    start_s: float
    import_s: float
    open_s: float
    load_s: float
    restore_s: float
    fetch_s: float
    apply_s: float
    tail_events: int
    snapshot_position: int
    catchup_s: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColdTiming:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ColdOutcome:
    timing: ColdTiming
    eviction: Eviction
    digest: str
    state: pa.Table | None  # the caught-up state, only when its digest was not the expected one

    def caught_up_state(self) -> pa.Table:
        """The state the restarted process caught up to; only a diverged restart sends it back."""
        if self.state is None:
            raise ColdRestartFailed("the restarted process sent back no state; only a diverged restart does")
        return self.state


def child_command() -> list[str]:
    """The restarted process's argv: the interpreter and the module, nothing a user could read a secret from."""
    return [sys.executable, "-m", CHILD_MODULE]


def child_environment() -> dict[str, str]:
    """The parent's environment with PYTHONPATH set to the parent's sys.path, so the child imports the same code."""
    paths = [entry or os.getcwd() for entry in sys.path]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def cold_catch_up(store: EventStore, request: ColdRequest) -> ColdOutcome:
    """Evict ``store``'s files from the page cache, then catch up to ``request.head`` in a fresh process."""
    eviction = store.evict_page_cache()
    with tempfile.TemporaryDirectory(prefix="catchup-cold-") as folder:
        out = Path(folder)
        message = {**asdict(request), "out_dir": str(out)}
        started = time.monotonic()
        message["t0"] = started
        finished = subprocess.run(
            child_command(),
            input=json.dumps(message),
            capture_output=True,
            text=True,
            env=child_environment(),
            check=False,
        )
        result = _result(out, finished)
        state = None
        if result["digest"] != request.expected_digest and (out / STATE_FILE).is_file():
            with pa.memory_map(str(out / STATE_FILE)) as source:
                state = pyarrow.ipc.open_file(source).read_all()
    return ColdOutcome(ColdTiming.from_json(result), eviction, str(result["digest"]), state)


def _result(out: Path, finished: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    path = out / RESULT_FILE
    if finished.returncode != 0 or not path.is_file():
        lines = [line for line in finished.stderr.splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "no message"
        raise ColdRestartFailed(f"the restarted process exited with code {finished.returncode}: {last}")
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if "error" in result:
        raise ColdRestartFailed(f"cold restart failed: {result['error']}")
    return result
