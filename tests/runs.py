"""Small real runs for the tests of figures, reports and notebooks."""

from __future__ import annotations

from pathlib import Path

from bench.experiment import ExperimentConfig
from bench.results import Run
from bench.runner import execute_run
from generators import LedgerParams, dataset_meta, generate
from stores import open_store
from tests.data import SMALL


def make_ledger(path: Path, params: LedgerParams = SMALL) -> str:
    """A Parquet store at ``path`` holding ``params``' events; returns its URI."""
    with open_store(str(path)) as store:
        store.load(generate(params, batch_size=8_192), dataset_meta(params))
    return str(path)


def make_run(
    store: str,
    results_dir: Path,
    projection: str = "balances",
    *,
    label: str | None = None,
    intervals: tuple[int, ...] = (0, 1_000, 10_000),
    repeats: int = 3,
) -> Run:
    """One real ``catchup run`` over ``store``, written under ``results_dir``."""
    config = ExperimentConfig(intervals=intervals, repeats=repeats, warmup=0)
    return execute_run(store, projection, config, label=label, results_dir=results_dir).run
