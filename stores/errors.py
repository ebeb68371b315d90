"""The neutral error hierarchy.

Every backend translates its driver's exceptions (pyarrow, psycopg, ADBC, OS errors) into
these, so callers handle one set of errors whatever the store. Messages are one line,
say what failed and with what value, say what is allowed, and never carry a password.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable


class CatchupError(Exception):
    """Base of every error the project raises on purpose; the CLI prints it on one line."""


class InvalidParameter(CatchupError, ValueError):
    """A parameter value is out of range or malformed.

    ``parameters`` names the arguments the message speaks of, as the library spells them
    (``batch_size``); each is written plainly in the message, so an edge that spells them
    otherwise (the CLI: ``--batch-size``) can say it its own way with ``spelled``.
    """

    def __init__(self, message: str, parameter: str | None = None, *others: str) -> None:
        super().__init__(message)
        self.parameters: tuple[str, ...] = (parameter, *others) if parameter is not None else ()

    def spelled(self, spelling: Callable[[str], str]) -> str:
        """The message with the first mention of each parameter spelled as ``spelling(name)`` says."""
        message = str(self)
        for name in self.parameters:
            # A function, not the string: re.sub would read a backslash in the spelling as an escape.
            message = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", _constant(spelling(name)), message, count=1)
        return message


def _constant(text: str) -> Callable[[re.Match[str]], str]:
    return lambda _: text


class StoreError(CatchupError):
    """Something is wrong with an event store."""


class UnknownStoreURI(StoreError):
    """The URI names no backend this tool knows."""


class StoreNotFound(StoreError):
    """The folder, schema or table holds no event store."""


class StoreUnreachable(StoreError):
    """The server behind the URI cannot be reached or refused the connection."""


class StorageFailed(StoreError):
    """The operating system refused a write or a read: a full disk, no permission, a read-only
    file system, a file where a folder should be."""


# The OS errors a user can act on, in the words of a one-line message.
_OS_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "not a directory (a file stands where a folder is needed)",
}


def os_failure(error: OSError, doing: str, path: object | None = None) -> StorageFailed:
    """'<reason> <doing> <path>': ``path`` (what the user named), else the file the OS named."""
    reason = _OS_REASONS.get(error.errno or 0) or (
        os.strerror(error.errno).lower() if error.errno else " ".join(str(error).split()) or type(error).__name__
    )
    where = path if path is not None else error.filename
    return StorageFailed(f"{reason} {doing}" + (f" {where}" if where is not None else ""))


class StoreIncomplete(StoreError):
    """A load was interrupted: the store must be regenerated before it can be read."""


class StoreCorrupt(StoreError):
    """Files or rows are damaged, missing, or not what the manifest says."""


class SchemaMismatch(StoreError):
    """The store's tables or files do not have the event schema."""


class StoreNotEmpty(StoreError):
    """A load would replace existing events without being told to overwrite."""


class ForeignReadOnly(StoreError):
    """A write was asked of a foreign source: catchup reads the user's own store and never writes it."""


class StoreBusy(StoreError):
    """Another process holds a lock this call needs (a run of the same projection on the same store)."""
