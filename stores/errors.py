"""The neutral error hierarchy.

Every backend translates its driver's exceptions (pyarrow, psycopg, ADBC, OS errors) into
these, so callers handle one set of errors whatever the store. Messages are one line,
say what failed and with what value, say what is allowed, and never carry a password.
"""

from __future__ import annotations


class CatchupError(Exception):
    """Base of every error the project raises on purpose; the CLI prints it on one line."""


class InvalidParameter(CatchupError, ValueError):
    """A parameter value is out of range or malformed."""


class StoreError(CatchupError):
    """Something is wrong with an event store."""


class UnknownStoreURI(StoreError):
    """The URI names no backend this tool knows."""


class StoreNotFound(StoreError):
    """The folder, schema or table holds no event store."""


class StoreUnreachable(StoreError):
    """The server behind the URI cannot be reached or refused the connection."""


class StoreIncomplete(StoreError):
    """A load was interrupted: the store must be regenerated before it can be read."""


class StoreCorrupt(StoreError):
    """Files or rows are damaged, missing, or not what the manifest says."""


class SchemaMismatch(StoreError):
    """The store's tables or files do not have the event schema."""


class StoreNotEmpty(StoreError):
    """A load would replace existing events without being told to overwrite."""
