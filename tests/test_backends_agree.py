"""The same seed and parameters give identical events in every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.generate import generate_into
from generators import LedgerParams
from stores import open_store
from tests.data import read_all

PARAMS = LedgerParams(events=70_000, accounts=900, currencies=("EUR", "USD", "CHF"), seed=21)


@pytest.mark.parametrize("layout", ["typed", "jsonb"])
def test_parquet_and_postgres_hold_identical_events(tmp_path: Path, pg_store_uri, layout: str) -> None:
    parquet = open_store(str(tmp_path / "ledger"))
    generate_into(parquet, PARAMS, batch_size=50_000)
    with open_store(pg_store_uri(layout)) as postgres:
        generate_into(postgres, PARAMS, batch_size=7_777)
        assert postgres.info().fingerprint == parquet.info().fingerprint
        assert read_all(postgres).equals(read_all(parquet))
        assert read_all(postgres, after=65_000, batch_size=999).equals(read_all(parquet, after=65_000))
