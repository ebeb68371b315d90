"""Where a postgresql:// store URI points, and how driver failures become catchup errors.

catchup's own query options (``layout``, ``schema``) are taken out of the URI; the rest,
libpq options included (``host=/socket/dir``, ``sslmode=``...), goes to the drivers as is.
Messages name the server and the URI with its password replaced by '***', and carry at
most the first line of the driver's own message, with any password scrubbed from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from stores.errors import (
    InvalidParameter,
    SchemaMismatch,
    StoreError,
    StoreNotFound,
    StoreUnreachable,
)
from stores.foreign.detect import Found, known_event_tables, listed, suggestion
from stores.pg_sql import LAYOUTS
from stores.uri import ALLOWED, misparsed, redact

DEFAULT_SCHEMA = "catchup"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# libpq waits for an unroutable host as long as TCP does; a store should say so sooner.
_DEFAULTS = {"connect_timeout": "10", "application_name": "catchup"}


@dataclass(frozen=True)
class PgTarget:
    redacted: str
    layout: str
    layout_given: bool
    schema: str
    where: str
    conninfo: str = field(repr=False)
    password: str = field(default="", repr=False)

    def scrub(self, text: str) -> str:
        """One line of driver text without the password or the raw URI in it."""
        for line in str(text).splitlines():
            if line.strip():
                text = line.strip()
                break
        else:
            text = str(text).strip()
        text = text.replace(self.conninfo, self.redacted)
        if self.password:
            text = text.replace(self.password, "***")
        return re.sub(r"\s+", " ", text)

    def not_found(self) -> StoreNotFound:
        """No store here: 'create one' unless the database holds a known system's events.

        The issue's story: told to create a store, a user of Message DB did, beside the
        real messages. So when the database holds another system's event tables the
        error names them and the preset that replays them instead.
        """
        known = known_tables(self)
        if known:
            return StoreNotFound(
                f"no catchup event store in schema {self.schema} of {self.redacted}, "
                f"but it holds {listed(known)}: {suggestion(known)}"
            )
        return StoreNotFound(
            f"no catchup event store in schema {self.schema} of {self.redacted}; "
            f"create one with: catchup generate {self.redacted}"
        )


def known_tables(target: PgTarget) -> list[Found]:
    """The known systems' event tables of the target's database; [] when it cannot be asked.

    Only on the way to an error: a failure here (no server, no right to connect) must not
    hide the error being made, so it gives the plain hint.
    """
    try:
        with psycopg.connect(target.conninfo, autocommit=True) as conn:
            conn.execute("SET default_transaction_read_only = on")
            return known_event_tables(conn)
    except psycopg.Error:
        return []


def parse_target(uri: str) -> PgTarget:
    """Split a store URI into catchup options and a libpq URI; InvalidParameter if malformed."""
    shown = redact(uri)
    why = misparsed(uri)
    if why:
        # Refused rather than guessed at: libpq would read part of the password as the host.
        raise InvalidParameter(
            f"{shown} is not a valid PostgreSQL URI ({why}); use {ALLOWED}, with a '#', '/', '?', '@', '%' "
            "or space in the user or password percent-encoded (%23, %2F, %3F, %40, %25, %20)"
        )
    parts = urlsplit(uri)
    layout, layout_given, schema = "typed", False, DEFAULT_SCHEMA
    rest: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "layout":
            layout, layout_given = value, True
        elif key == "schema":
            schema = value
        else:
            rest.append((key, value))
    if layout not in LAYOUTS:
        raise InvalidParameter(f"layout={layout!r} in {shown} is not a store layout; use layout=typed or layout=jsonb")
    if not _IDENTIFIER.fullmatch(schema) or schema.lower().startswith("pg_"):
        raise InvalidParameter(
            f"schema={schema!r} in {shown} is not an allowed schema name; use a letter or _ "
            "then up to 62 letters, digits or _ (not starting with pg_)"
        )
    given = {key for key, _ in rest}
    rest += [(key, value) for key, value in _DEFAULTS.items() if key not in given]
    # Spelled out: urlunsplit drops the '//' of an empty host (postgresql:///db?host=/dir).
    conninfo = f"postgresql://{parts.netloc}{parts.path}?{urlencode(rest, safe='/')}"
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.Error as error:
        reason = re.sub(r"\s+", " ", str(error)).strip()
        secrets = [parts.password or ""] + [value for key, value in rest if key == "password"]
        for secret in filter(None, secrets):
            reason = reason.replace(secret, "***")
        raise InvalidParameter(f"{shown} is not a valid PostgreSQL URI: {reason}") from None
    return PgTarget(
        redacted=shown,
        layout=layout,
        layout_given=layout_given,
        schema=schema,
        where=_where(params),
        conninfo=conninfo,
        password=str(params.get("password") or ""),
    )


def _where(params: Mapping[str, object]) -> str:
    port = str(params.get("port") or "5432")
    host = str(params.get("host") or params.get("hostaddr") or "")
    if not host:
        return f"the local socket (port {port})"
    shown = []
    for one in host.split(","):
        shown.append(f"socket {one}/.s.PGSQL.{port}" if one.startswith("/") else f"{one}:{port}")
    return ", ".join(shown)


def unreachable(target: PgTarget, error: BaseException) -> StoreUnreachable:
    reason = target.scrub(str(error))
    # libpq says 'connection to server at "h", port p failed: <why>'; keep the why.
    reason = reason.rsplit(" failed: ", 1)[-1]
    # ADBC puts its own status before the server's words ("[libpq] Execution error [...]: FATAL: ...").
    reason = re.sub(r"^.*?\b(?:FATAL|ERROR):\s*", "", reason)
    return StoreUnreachable(f"cannot connect to PostgreSQL at {target.where} ({target.redacted}): {reason}")


def translate(target: PgTarget, error: BaseException, action: str) -> StoreError:
    """The catchup error for a psycopg or ADBC failure while doing ``action``."""
    sqlstate = str(getattr(error, "sqlstate", None) or "")
    text = str(error)
    if not sqlstate:
        found = re.search(r"SQLSTATE: ([0-9A-Z]{5})", text)
        sqlstate = found.group(1) if found else ""
    detail = _detail(error)
    reason = target.scrub(_server_message(text))
    if sqlstate in ("42P01", "3F000"):  # undefined table, undefined schema
        return target.not_found()
    if sqlstate == "23505":  # unique violation
        return SchemaMismatch(
            f"cannot {action} in schema {target.schema} of {target.redacted}: events repeat a key "
            f"(positions and (stream_id, stream_version) pairs are unique): "
            f"{target.scrub(detail) if detail else reason}"
        )
    if sqlstate == "55P03":  # lock_not_available: lock_timeout ran out
        return StoreError(
            f"cannot {action} in schema {target.schema} of {target.redacted}: another session holds "
            "the store (an unfinished read, load or append); retry when it has finished"
        )
    # An Arrow stream whose connection died raises a bare OSError ("server closed the connection").
    lost = isinstance(error, (psycopg.OperationalError, OSError)) and not sqlstate
    if sqlstate.startswith(("08", "57P")) or lost:  # connection failure, server shut down
        return unreachable(target, error)
    return StoreError(f"PostgreSQL failed to {action} in schema {target.schema} of {target.redacted}: {reason}")


def _detail(error: BaseException) -> str:
    diag = getattr(error, "diag", None)
    detail = getattr(diag, "message_detail", None) if diag is not None else None
    if detail:
        return str(detail)
    found = re.search(r"DETAIL:\s*(.+)", str(error))
    return found.group(1) if found else ""


def _server_message(text: str) -> str:
    # ADBC prefixes the server's words with its own status and libpq call; keep the words.
    if "ERROR:" in text:
        text = text.rsplit("ERROR:", 1)[-1]
    return text.strip()
