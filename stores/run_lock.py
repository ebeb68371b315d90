"""Run locks: one catch-up run of a projection on a store at a time (stores.base says the contract).

Why a lock: two runs at once overwrite and delete each other's snapshots and report
timings contended by the other replay as if alone. Why fail at once rather than wait: a
run that queued would hang without a word for as long as the other takes, and two runs
started together were meant to run side by side, which one machine cannot measure
honestly; the second run is told so, and who holds the store.

Parquet: ``fcntl.flock`` on ``STORE/.run-<projection>.lock``, a file beside the store's
append lock, never inside ``snapshots/`` (a load removes that folder, and a lock file
unlinked while held would let a second holder in). flock belongs to the open file
description, so two store objects in one process exclude each other too, and the kernel
releases it when the holder dies. The file's content names the holder; it is emptied
when the lock is released and left in place (unlinking a lock file races with a waiter).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stores.errors import StoreBusy, StoreError
from stores.snapshots import check_projection_name
from stores.uri import redact

RunLock = AbstractContextManager[None]


def holder() -> dict[str, Any]:
    """Who takes a lock: process id, host, command (passwords redacted) and start time."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(redact(arg) for arg in [os.path.basename(sys.argv[0]), *sys.argv[1:]]),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def describe_holder(found: dict[str, Any] | None) -> str:
    if not found:
        return "another process (it has not recorded itself yet)"
    parts = [f"pid {found.get('pid', '?')} on {found.get('host', '?')}"]
    if found.get("command"):
        parts.append(f"running '{found['command']}'")
    if found.get("since"):
        parts.append(f"since {found['since']}")
    return ", ".join(parts)


def busy(projection: str, where: str, found: dict[str, Any] | None) -> StoreBusy:
    """The one wording of 'another run holds this projection on this store'."""
    return StoreBusy(
        f"projection {projection} on {where} is being run by {describe_holder(found)}; "
        "two runs at once would race on the same snapshots and measure contended timings: "
        "wait until it has finished, or stop it"
    )


def lock_path(folder: Path, projection: str) -> Path:
    return folder / f".run-{projection}.lock"


@contextmanager
def file_run_lock(folder: Path, projection: str) -> Iterator[None]:
    """Hold the Parquet run lock of ``projection`` in store ``folder``; StoreBusy at once if held."""
    check_projection_name(projection)  # it names the lock file
    path = lock_path(folder, projection)
    try:
        # A bare descriptor, unbuffered: nothing is left to flush at close on a full disk.
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise StoreError(f"cannot open the run lock file {path}: {error.strerror or error}") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy(projection, f"store {folder}", _recorded(path)) from None
        try:
            _record(descriptor, json.dumps(holder()))
            yield
        finally:
            # Emptied while still held, so a reader never takes a finished run for a holder.
            _record(descriptor, "")
    finally:
        os.close(descriptor)  # closing the last descriptor releases the lock


def _record(descriptor: int, text: str) -> None:
    """Write who holds the lock. Best effort: the flock is the lock, the record only names
    its holder, and a full disk must fail where the run writes its data, not here."""
    try:
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, text.encode(), 0)
    except OSError:
        pass


def _recorded(path: Path) -> dict[str, Any] | None:
    try:
        found = json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
