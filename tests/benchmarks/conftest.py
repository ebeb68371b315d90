"""The fixed dataset our replay benchmarks run on, generated once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.projection_loader import load_projection
from bench.replay import replay
from generators import LedgerParams
from stores import open_store
from tests.runs import make_ledger

# Fixed: a benchmark compared across commits must replay the same events every time.
BENCHMARK_LEDGER = LedgerParams(events=50_000, accounts=1_000, seed=2026)


@dataclass(frozen=True)
class Ledger:
    uri: str
    head: int

    def digest(self, projection: str, upto: int | None = None) -> str:
        """The state digest of a plain, untimed replay: what every benchmarked round must end in."""
        state = load_projection(projection)()
        with open_store(self.uri) as store:
            replay(store, state, upto=upto)
        return state.digest()


@pytest.fixture(scope="session")
def replay_ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    uri = make_ledger(Path(tmp_path_factory.mktemp("benchmark-ledger")) / "ledger", BENCHMARK_LEDGER)
    with open_store(uri) as store:
        return Ledger(uri, store.head())
