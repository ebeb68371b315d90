"""The manifest of a Parquet event store: the one file that says what the store holds.

It is the commit point. Event files are written first under names no manifest lists
yet; a store only holds what its manifest lists, and the manifest is replaced atomically
(write a temporary file, fsync, rename). ``complete`` is false for the whole of a bulk
load, so a load that dies leaves a store every reader refuses.

Per file it records what the file must be (rows, first and last position, bytes, and the
sha256 of its bytes), so a file edited, truncated or swapped for another is caught:
stores.parquet_integrity compares them with the files. sha256 rather than blake2b: with
the SHA extensions of current x86 and ARM CPUs it hashed 1.6 GB/s here against blake2b's
0.7 GB/s, and ``sha256sum`` checks a file by hand.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from stores.base import check_schema_version, not_found
from stores.errors import SchemaMismatch, StoreCorrupt, StoreNotFound
from stores.foreign.parquet_dataset import parquet_hint
from stores.schema import SCHEMA_VERSION

MANIFEST_NAME = "catchup.json"
FORMAT = "catchup-parquet"
# Of this folder layout and manifest; the event schema has its own. 2: per-file checksums,
# page checksums and footer metadata. A version-1 store cannot prove what it holds, so it
# is refused with "regenerate" rather than read unchecked.
FORMAT_VERSION = 2


@dataclass(frozen=True)
class EventFile:
    name: str  # relative to the store folder
    first: int
    last: int
    rows: int
    bytes: int
    sha256: str  # hex digest of the file's bytes, taken as they were written

    @property
    def span(self) -> str:
        return f"positions {self.first:,}..{self.last:,}"


@dataclass(frozen=True)
class Manifest:
    complete: bool
    head: int = 0
    fingerprint: dict[str, Any] | None = None
    currencies: tuple[str, ...] = ()
    files: tuple[EventFile, ...] = ()
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    event_schema_version: int = SCHEMA_VERSION

    def with_file(self, added: EventFile) -> Manifest:
        return replace(self, files=self.files + (added,), head=added.last)

    @property
    def dataset_id(self) -> str:
        found = (self.fingerprint or {}).get("id")
        return found if isinstance(found, str) else ""

    def problems(self) -> list[str]:
        """What the manifest says that cannot be true of any store: files out of order or
        overlapping, a file claiming more rows than its span, a head that is not the last
        file's last position. Empty when it is consistent."""
        found = []
        previous = 0
        for event_file in self.files:
            if not 0 < event_file.first <= event_file.last or event_file.first <= previous:
                found.append(
                    f"{event_file.name} is listed with {event_file.span} after position {previous:,}; "
                    "files must hold increasing, non-overlapping positions"
                )
            elif not 0 < event_file.rows <= event_file.last - event_file.first + 1:
                found.append(f"{event_file.name} is listed with {event_file.rows:,} rows in {event_file.span}")
            previous = max(previous, event_file.last)
        if self.complete and self.head != previous:
            found.append(f"the manifest's head is {self.head:,} but its last file ends at position {previous:,}")
        return found

    def to_json(self) -> dict[str, Any]:
        # Field by field, not asdict(): asdict deep-copies, and a live run lists thousands of files.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["fingerprint"] = copy.deepcopy(self.fingerprint)
        data["currencies"] = list(self.currencies)
        data["files"] = [dict(vars(f)) for f in self.files]
        return data


def manifest_path(folder: Path) -> Path:
    return folder / MANIFEST_NAME


def read_manifest(folder: Path) -> Manifest:
    path = manifest_path(folder)
    if not path.exists():
        if not folder.exists() or not any(folder.iterdir()):
            raise not_found(str(folder))
        hint = parquet_hint(folder)
        raise StoreNotFound(
            f"{folder} is not a catchup event store (it has no {MANIFEST_NAME})" + (f", but {hint}" if hint else "")
        )
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise SchemaMismatch(f"{path} is not a {FORMAT} manifest (format={data.get('format')!r})")
        if data.get("format_version") != FORMAT_VERSION:
            raise SchemaMismatch(
                f"{path} has store format version {data.get('format_version')!r}; "
                f"this catchup reads version {FORMAT_VERSION}: regenerate the store"
            )
        check_schema_version(data.get("event_schema_version"), str(path))
        files = tuple(EventFile(**f) for f in data.pop("files"))
        data["currencies"] = tuple(data["currencies"])
        return Manifest(files=files, **data)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise StoreCorrupt(
            f"manifest {path} is damaged ({type(error).__name__}: {error}); regenerate the store"
        ) from None


def write_manifest(folder: Path, manifest: Manifest) -> None:
    path = manifest_path(folder)
    temporary = path.with_name(f".{MANIFEST_NAME}.tmp")
    with open(temporary, "w") as handle:
        handle.write(_dumps(manifest.to_json()))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _dumps(data: dict[str, Any]) -> str:
    """Indented JSON with one line per file: each line comes from json's C encoder, which an
    ``indent`` turns off (a live run rewrites a manifest of thousands of files per append:
    2 ms instead of 30 ms at 1,500 files)."""
    files = data["files"]
    text = json.dumps({k: v for k, v in data.items() if k != "files"}, indent=1)
    listed = ",\n  ".join(map(json.dumps, files))
    return text[:-2] + (f',\n "files": [\n  {listed}\n ]\n}}' if files else ',\n "files": []\n}')
