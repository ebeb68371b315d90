"""Message DB installed from its own published SQL, into a database the tests own.

Message DB (https://github.com/message-db/message-db) is a set of SQL files, published on
npm as ``@eventide/message-db``: no server of its own, just a ``message_store`` schema, a
``messages`` table, its indexes and functions (``write_message``, ``category``, ...). The
tests install it the way its users do, by running the package's ``database/install.sh``
against our server, so the table, indexes and functions under test are the published ones
and not a copy of them written here.

The package is looked for in ``CATCHUP_MESSAGEDB_SQL`` (a ``database/`` folder), then in
``.ci/npm`` (where ``.ci/run`` puts it); when it is in neither, ``npm install --prefix
.ci/npm`` fetches it, so a developer's first test run works too. No npm and no package is
an error, never a skip: the Message DB tests must run in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

PACKAGE = "@eventide/message-db@1.3.1"
NPM_PREFIX = Path(__file__).resolve().parent.parent / ".ci" / "npm"
DATABASE = "catchup_test_messagedb"
# The files the published install writes, checked after it ran (a partial install fails loudly).
EXPECTED_FUNCTIONS = ("write_message", "category", "acquire_lock", "get_category_messages")
EXPECTED_INDEXES = ("messages_id", "messages_stream", "messages_category")


class MessageDbUnavailable(RuntimeError):
    """The Message DB package cannot be found or fetched, or its install failed."""


def package_dir() -> Path:
    """The package's ``database/`` folder, fetched with npm when it is not here yet."""
    configured = os.environ.get("CATCHUP_MESSAGEDB_SQL")
    if configured:
        folder = Path(configured)
        if not (folder / "install.sh").is_file():
            raise MessageDbUnavailable(f"CATCHUP_MESSAGEDB_SQL={folder} holds no install.sh")
        return folder
    folder = NPM_PREFIX / "node_modules" / "@eventide" / "message-db" / "database"
    if not (folder / "install.sh").is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise MessageDbUnavailable(
                f"Message DB's SQL is not in {NPM_PREFIX} and npm is not installed; "
                f"install npm, or run: npm install --prefix .ci/npm {PACKAGE}"
            )
        done = subprocess.run(
            [npm, "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not (folder / "install.sh").is_file():
            raise MessageDbUnavailable(f"npm install {PACKAGE} failed: {done.stderr.strip()[-500:]}")
    return folder


def database_url(server_url: str, database: str) -> str:
    """``server_url`` with its database replaced (the query string, if any, kept)."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def _libpq_env(server_url: str) -> dict[str, str]:
    """The server as libpq environment variables, which install.sh's psql and createdb read."""
    info = conninfo_to_dict(server_url)
    env = dict(os.environ)
    for key, var in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("password", "PGPASSWORD")):
        value = info.get(key)
        if value:
            env[var] = str(value)
    return env


def install(server_url: str, database: str = DATABASE) -> str:
    """Install Message DB into a fresh ``database`` (dropped first: it is ours); its URL.

    Runs the package's own ``install.sh`` (role, database, schema, pgcrypto, table,
    functions, indexes, views, privileges, in its order). The ``message_store`` role it
    creates is cluster-wide and kept: the script tolerates it existing already.
    """
    if not database.startswith("catchup_test_"):
        raise ValueError(f"refusing to drop {database!r}: the tests drop only catchup_test_* databases")
    folder = package_dir()
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
    env = _libpq_env(server_url)
    env["DATABASE_NAME"] = database
    env["CREATE_DATABASE"] = "on"
    done = subprocess.run(["bash", str(folder / "install.sh")], capture_output=True, text=True, env=env, timeout=300)
    if done.returncode != 0:
        raise MessageDbUnavailable(f"Message DB's install.sh failed: {done.stderr.strip()[-800:]}")
    url = database_url(server_url, database)
    _check_installed(url)
    return url


def _check_installed(url: str) -> None:
    with psycopg.connect(url) as conn:
        functions = {
            row[0]
            for row in conn.execute(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE n.nspname = 'message_store'"
            )
        }
        indexes = {
            row[0] for row in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'message_store'")
        }
    missing = [f for f in EXPECTED_FUNCTIONS if f not in functions] + [i for i in EXPECTED_INDEXES if i not in indexes]
    if missing:
        raise MessageDbUnavailable(f"Message DB's install left out {', '.join(missing)}")


def drop(server_url: str, database: str = DATABASE) -> None:
    """Drop the database ``install`` made (ours); the role stays, as other installs share it."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))


def version(url: str) -> str:
    """The installed Message DB's own version (its ``message_store_version()``)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT message_store.message_store_version()").fetchone()
    assert row is not None
    return str(row[0])
