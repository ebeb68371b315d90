"""What a Parquet store's files must be, checked against its manifest.

The cheap facts, read from the file system and the footers only, are checked on every
read and by ``info``: the file exists, has the manifest's size, its footer holds the
manifest's row count and positions (row-group statistics) and names the store's
dataset. Those catch a truncated file, a file swapped in from another dataset or another
place in the log, and a manifest whose head or file list was edited. Damage inside a
page keeps every cheap fact; the page checksums (read with verification) and the sha256
of the whole file (``checksum_problem``, for ``catchup verify``) catch it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from stores.parquet_files import EVENTS_DIR, FOOTER_DATASET, sha256_of
from stores.parquet_manifest import EventFile, Manifest

# The names RollingWriter gives: only these may ever be removed as orphans.
PART_NAME = re.compile(r"part-\d{6}\.parquet")


def size_problem(folder: Path, event_file: EventFile) -> str | None:
    path = folder / event_file.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return f"{event_file.name} is listed in the manifest but missing"
    except OSError as error:
        return f"{event_file.name} cannot be looked at: {error.strerror or error}"
    if size != event_file.bytes:
        return f"{event_file.name} is {size:,} bytes, the manifest says {event_file.bytes:,}"
    return None


def footer_problems(event_file: EventFile, metadata: pq.FileMetaData, dataset_id: str) -> list[str]:
    """The footer's row count, position range and dataset against the manifest's entry."""
    name, found = event_file.name, []
    if metadata.num_rows != event_file.rows:
        found.append(f"{name} holds {metadata.num_rows:,} rows, the manifest says {event_file.rows:,}")
    span = _positions(metadata)
    if span is None:
        found.append(f"{name} has no position statistics in its footer; it was not written by catchup")
    elif span != (event_file.first, event_file.last):
        found.append(
            f"{name} holds positions {span[0]:,}..{span[1]:,}, "
            f"the manifest says {event_file.first:,}..{event_file.last:,}"
        )
    written_for = (metadata.metadata or {}).get(FOOTER_DATASET.encode(), b"").decode(errors="replace")
    if written_for != dataset_id:
        found.append(f"{name} was written for dataset {written_for or '(none)'!r}, this store holds {dataset_id!r}")
    return found


def file_problems(folder: Path, event_file: EventFile, dataset_id: str) -> list[str]:
    """Every cheap fact of one file: size, then (if the size holds) its footer."""
    problem = size_problem(folder, event_file)
    if problem is not None:
        return [problem]
    try:
        metadata = pq.read_metadata(folder / event_file.name)
    except (pa.ArrowInvalid, OSError) as error:
        return [f"{event_file.name} has no readable Parquet footer ({first_line(error)})"]
    return footer_problems(event_file, metadata, dataset_id)


def store_problems(folder: Path, manifest: Manifest) -> list[str]:
    """The manifest's own consistency, then every file's cheap facts."""
    found = manifest.problems()
    for event_file in manifest.files:
        found += file_problems(folder, event_file, manifest.dataset_id)
    return found


def checksum_problem(folder: Path, event_file: EventFile) -> str | None:
    """The file's bytes hashed again against the sha256 taken when it was written."""
    try:
        digest = sha256_of(folder / event_file.name)
    except OSError as error:
        return f"{event_file.name} cannot be read: {error.strerror or error}"
    if digest != event_file.sha256:
        return f"{event_file.name} has sha256 {digest[:16]}..., the manifest says {event_file.sha256[:16]}..."
    return None


@dataclass(frozen=True)
class Orphans:
    """Event files catchup named that no manifest lists: left by a load or append that died."""

    paths: tuple[Path, ...]
    size_bytes: int


def orphans(folder: Path, manifest: Manifest) -> Orphans:
    listed = {event_file.name for event_file in manifest.files}
    found = []
    try:
        entries = sorted((folder / EVENTS_DIR).iterdir())
    except OSError:
        entries = []
    for path in entries:
        if PART_NAME.fullmatch(path.name) and f"{EVENTS_DIR}/{path.name}" not in listed and path.is_file():
            found.append(path)
    return Orphans(tuple(found), sum(_size(path) for path in found))


def _positions(metadata: pq.FileMetaData) -> tuple[int, int] | None:
    if metadata.num_row_groups == 0:
        return None
    first = metadata.row_group(0).column(0).statistics
    last = metadata.row_group(metadata.num_row_groups - 1).column(0).statistics
    if first is None or last is None or not first.has_min_max or not last.has_min_max:
        return None
    return int(first.min), int(last.max)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def first_line(error: BaseException) -> str:
    """The first line of a driver's message (pyarrow's run to several), or the error's type."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
