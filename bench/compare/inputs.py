"""What ``catchup compare`` accepts as a side: a run, a folder of runs, or ``baseline:NAME``."""

from __future__ import annotations

from pathlib import Path

from bench.compare.judge import Side
from bench.results import RUN_FILE, ResultsError, Run, list_runs, load_run
from bench.results.baselines import PREFIX, is_baseline_reference, load_baseline

ACCEPTED = "a run folder, its run.json, a folder of runs (one per projection) or baseline:NAME"


def resolve_side(given: str, results_dir: str | Path, machine: str | None = None) -> Side:
    """The catch-up runs ``given`` names; live runs are refused, they have no repeats to compare."""
    if is_baseline_reference(given):
        runs = load_baseline(given.removeprefix(PREFIX), results_dir, machine)
    else:
        runs = _runs_at(Path(given))
    for run in runs:
        if run.is_live:
            raise ResultsError(
                f"{run.path or run.run_id} is a live run; compare reads catch-up runs (made by catchup run)"
            )
    return Side(given, tuple(runs))


def _runs_at(path: Path) -> list[Run]:
    if (path / RUN_FILE).is_file() or (path.name == RUN_FILE and path.is_file()):
        return [load_run(path)]
    found = list_runs(path)
    if found:
        return [load_run(folder) for folder in found]
    if path.is_dir():
        raise ResultsError(f"{path} holds no runs; give {ACCEPTED}")
    raise ResultsError(f"no run at {path}; give {ACCEPTED}")
