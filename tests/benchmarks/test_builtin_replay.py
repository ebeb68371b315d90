"""Replay benchmarks of every built-in projection, through our own replay_benchmark fixture.

They run with the rest of the suite (about a second in all). To keep a baseline and gate a
change on it:

    pytest tests/benchmarks --benchmark-autosave
    pytest tests/benchmarks --benchmark-compare --benchmark-compare-fail=median:10%
"""

from __future__ import annotations

from typing import Any

import pytest

import bench
from bench.pytest_plugin import ReplayBenchmarker
from projections import BUILTINS, Balances
from tests.benchmarks.conftest import BENCHMARK_LEDGER, Ledger

ROUNDS = 5


@pytest.mark.parametrize("projection", sorted(BUILTINS))
def test_replay(replay_benchmark: ReplayBenchmarker, benchmark: Any, replay_ledger: Ledger, projection: str) -> None:
    result = replay_benchmark(replay_ledger.uri, projection, rounds=ROUNDS, warmup_rounds=1)

    assert result.events == replay_ledger.head == BENCHMARK_LEDGER.events
    assert result.digest == replay_ledger.digest(projection)
    assert (result.projection, result.store) == (projection, replay_ledger.uri)
    if benchmark.disabled:  # --benchmark-disable: one untimed replay, still checked
        assert (result.rounds, result.median_s) == (0, None)
    else:
        assert result.rounds == ROUNDS
        assert result.median_s == benchmark.stats.stats.median
        assert result.events_per_s == pytest.approx(result.events / result.median_s)
    assert benchmark.group == f"replay {projection}"
    assert benchmark.extra_info == {
        "projection": projection,
        "projection_version": BUILTINS[projection].version,
        "projection_class": f"{BUILTINS[projection].__module__}.{BUILTINS[projection].__qualname__}",
        "store": replay_ledger.uri,
        "backend": "parquet",
        "layout": "files",
        "dataset": result.dataset,
        "upto": replay_ledger.head,
        "batch_size": 131_072,
        "catchup_version": bench.__version__,
        "events": replay_ledger.head,
        "digest": result.digest,
    }
    assert result.dataset is not None and len(result.dataset) == 16


@pytest.mark.benchmark(group="replay balances, half the log")
def test_replay_up_to_a_position_of_a_class_given_directly(
    replay_benchmark: ReplayBenchmarker, benchmark: Any, replay_ledger: Ledger
) -> None:
    upto = replay_ledger.head // 2 + 17
    result = replay_benchmark(replay_ledger.uri, Balances, upto=upto, rounds=3, warmup_rounds=0, batch_size=4_096)

    assert result.events == upto
    assert result.digest == replay_ledger.digest("balances", upto=upto)
    assert result.digest != replay_ledger.digest("balances")
    assert benchmark.group == "replay balances, half the log"  # a group the test sets wins
    assert benchmark.extra_info["batch_size"] == 4_096
