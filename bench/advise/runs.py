"""The runs ``catchup advise`` is given: run folders, their run.json, or ``latest``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.results import ResultsError, Run, list_runs, load_run

LATEST = "latest"  # the newest catch-up run in the results folder


def resolve_runs(given: Sequence[str], results_dir: str | Path) -> list[Run]:
    """Each of ``given`` loaded: a run folder, a run.json, or LATEST."""
    return [latest_catchup_run(results_dir) if name == LATEST else load_run(name) for name in given]


def latest_catchup_run(results_dir: str | Path) -> Run:
    """The newest catch-up run in ``results_dir`` (by folder name, which starts with its UTC time)."""
    for folder in reversed(list_runs(results_dir)):
        run = load_run(folder)
        if not run.is_live:
            return run
    raise ResultsError(f"{results_dir} holds no catch-up run for {LATEST}; make one with catchup run STORE -p NAME")
