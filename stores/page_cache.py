"""Dropping a store's files from the operating system's page cache, for a cold restart.

Without privileges a process may still tell the kernel that it will not need a file's
cached pages again (``posix_fadvise(POSIX_FADV_DONTNEED)``), and Linux then drops the
clean ones. Dirty pages are not dropped, so each file is flushed first: ``fsync`` on a
read-only descriptor flushes the file on Linux. What cannot be done (no posix_fadvise on
this platform, a file that vanished meanwhile) is said, never raised: a cold restart that
is a little warm is still a measurement, as long as it says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

NO_FADVISE = "this platform has no posix_fadvise: the page cache keeps the store's files"


@dataclass(frozen=True)
class Eviction:
    """What an eviction did: the files and bytes dropped from the page cache, and what it could not do."""

    files: int
    size_bytes: int
    not_evicted: str | None = None


def evict_files(paths: Iterable[Path]) -> Eviction:
    """Flush each file and drop its pages from the page cache; files that vanish are skipped."""
    paths = list(paths)
    if not hasattr(os, "posix_fadvise"):
        return Eviction(0, 0, NO_FADVISE)
    files = size = 0
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # a snapshot deleted or a temporary file renamed since the listing
            continue
        try:
            os.fsync(fd)  # DONTNEED leaves dirty pages in the cache
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            size += os.fstat(fd).st_size
            files += 1
        finally:
            os.close(fd)
    return Eviction(files, size)


def files_under(folder: Path) -> list[Path]:
    """Every regular file below ``folder``, in a stable order."""
    return sorted(path for path in folder.rglob("*") if path.is_file())
