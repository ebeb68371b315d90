"""Written whole or not at all: files and folders appear complete under their name, or not at all.

Everything catchup writes for a reader (run folders, baselines, reports and their
figures, exports, state files) is built under a hidden temporary name beside its target
and renamed into place once complete and on disk. Whatever stops the write (an error,
a full disk, Ctrl-C) removes the temporary and leaves any earlier target as it was;
nothing that lists folders sees a ``.tmp-`` name.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TMP_PREFIX = ".tmp-"
# Names tried for a new folder whose name is taken: NAME, NAME-2, ... NAME-9999.
MAX_SUFFIX = 9_999

Content = str | bytes | Callable[[BinaryIO], None]


class NamesExhausted(OSError):
    """Every name from NAME to NAME-9999 is taken."""


def temporary_name(target: Path) -> Path:
    """A hidden, unique sibling of ``target``."""
    return target.with_name(f"{TMP_PREFIX}{target.name}-{secrets.token_hex(4)}")


def write_file_whole(path: Path, content: Content) -> Path:
    """Write ``content`` (text, bytes, or a function writing to a binary handle) to ``path``, replacing it."""
    temporary = temporary_name(path)
    try:
        with open(temporary, "wb") as handle:
            if isinstance(content, str):
                handle.write(content.encode("utf-8"))
            elif isinstance(content, bytes):
                handle.write(content)
            else:
                content(handle)
            sync_file(handle)
        os.replace(temporary, path)
    except BaseException:
        _remove_file(temporary)
        raise
    return path


def write_folder_whole(target: Path, fill: Callable[[Path], None]) -> Path:
    """Build a folder with ``fill`` and put it at ``target``, replacing an earlier one only once it is whole."""
    temporary = temporary_name(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary.mkdir()
    try:
        fill(temporary)
        sync_folder(temporary)
        _swap_in(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    sync_folder(target.parent)
    return target


def add_folder_whole(
    parent: Path, name: str, fill: Callable[[Path], None], name_it: Callable[[Path, str], None]
) -> Path:
    """Build a new folder under ``parent`` named NAME, or NAME-2, ... when taken; never replace one.

    ``fill`` writes the contents; ``name_it(folder, final_name)`` is called for each name
    tried, just before the rename, for a file that records the folder's own name.
    """
    temporary = temporary_name(parent / name)
    temporary.mkdir()
    try:
        fill(temporary)
        final = _rename_to_free_name(temporary, parent, name, name_it)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    sync_folder(parent)
    return final


def _rename_to_free_name(temporary: Path, parent: Path, name: str, name_it: Callable[[Path, str], None]) -> Path:
    for suffix in range(1, MAX_SUFFIX + 1):
        final = parent / (name if suffix == 1 else f"{name}-{suffix}")
        # os.rename replaces an existing *empty* folder on Linux, so a taken name is skipped
        # up front; a folder appearing between this check and the rename is full (another
        # writer's) and makes the rename fail, caught below.
        if final.exists():
            continue
        name_it(temporary, final.name)
        sync_folder(temporary)
        try:
            os.rename(temporary, final)
        except OSError as error:
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                continue
            raise
        return final
    raise NamesExhausted(errno.EEXIST, f"names {name} to {name}-{MAX_SUFFIX} are all taken in {parent}")


def _swap_in(temporary: Path, target: Path) -> None:
    """Rename ``temporary`` to ``target``; an old ``target`` is moved aside first and removed after."""
    old = None
    if target.exists():
        old = temporary_name(target.with_name(f"old-{target.name}"))
        os.rename(target, old)
    try:
        os.rename(temporary, target)
    except OSError:
        if old is not None:
            os.rename(old, target)  # put the previous one back: never leave none
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def sync_file(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def sync_folder(folder: Path) -> None:
    """Make the names in ``folder`` durable; best effort, since the contents are already written."""
    # Not every platform can open a folder, and a folder that cannot be synced has already
    # been written, so a failure here is not an error.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _remove_file(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # the folder itself is unusable: there is nothing to remove
        pass
