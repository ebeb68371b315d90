from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import pytest

from tests.pg_server import postgres_url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A libpq URI of a live server; the tests never skip for want of one."""
    with postgres_url() as (url, _how):
        yield url


def with_options(url: str, **options: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(options.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, safe="/"), ""))


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A fresh schema name for one test, dropped with everything in it afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def pg_store_uri(pg_url: str, pg_schema: str):
    """A function that makes a store URI in this test's own schema for a layout."""

    def make(layout: str = "typed") -> str:
        return with_options(pg_url, layout=layout, schema=pg_schema)

    return make


def pytest_report_header(config: pytest.Config) -> str:
    return f"catchup: CI={os.environ.get('CI', '')!r} CATCHUP_TEST_PG={'set' if os.environ.get('CATCHUP_TEST_PG') else 'unset'}"
