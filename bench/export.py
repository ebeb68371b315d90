"""A catch-up run in another tool's format: pytest-benchmark's saved JSON.

A team that already tracks speed with pytest-benchmark (``pytest-benchmark compare``, CI
dashboards that read its files) can put ``catchup run`` results beside its own benchmarks.

One benchmark per (interval, phase, total time), its rounds the run's measured repeats:

* ``replay[k=...]``: the snapshot pass's ``replay_s``, a replay of the whole log with
  snapshots every k (their cost timed apart);
* ``snapshots[k=...]`` (k > 0): its ``snapshot_s``, the time spent taking and saving them;
* ``catchup_expected[k=...]`` and ``catchup_worst[k=...]``: ``catchup_s``, snapshot load +
  restore + tail replay;
* ``cold_expected[k=...]`` and ``cold_worst[k=...]`` (a run with ``--cold``): ``catchup_s`` of
  a fresh process, from its start to caught-up.

Only these totals are exported. Their parts (fetch_s, apply_s, load_s, restore_s, the
snapshot's state and save split) are sums inside one total: exported as benchmarks of
their own they would triple the table and gate a CI on noisy sub-millisecond slices; they
stay in the run's samples.parquet and in ``catchup report``. A series of zeros (snapshot
time at k = 0) is no benchmark: pytest-benchmark reads a zero baseline as an infinite
regression.

The statistics are pytest-benchmark's own (``pytest_benchmark.stats.Stats``), computed from
the raw samples, so its tables and --benchmark-compare-fail thresholds mean what they mean
for any other benchmark.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.results import CATCHUP_PHASES, COLD_PHASES, SNAPSHOT_PASS, Run
from bench.results.atomic import write_file_whole
from bench.units import format_interval
from stores.errors import CatchupError, InvalidParameter

FORMATS = ("pytest-benchmark",)


@dataclass(frozen=True)
class Exported:
    """What one timed series becomes: (phase, metric) -> the benchmark's name before [k=...]."""

    phase: str
    metric: str
    name: str


EXPORTED = (
    Exported(SNAPSHOT_PASS, "replay_s", "replay"),
    Exported(SNAPSHOT_PASS, "snapshot_s", "snapshots"),
    *(Exported(phase, "catchup_s", phase) for phase in (*CATCHUP_PHASES, *COLD_PHASES)),
)
# The timers the experiment measures with, as pytest-benchmark names timers: a cold restart spans two
# processes, so it is timed on the system-wide monotonic clock.
TIMER = "perf_counter"
COLD_TIMER = "monotonic"


class ExportError(CatchupError):
    """An export could not be written."""


def export_run(run: Run, fmt: str = "pytest-benchmark") -> dict[str, Any]:
    """``run`` as a JSON-able document in format ``fmt`` (one of FORMATS)."""
    if fmt not in FORMATS:
        raise InvalidParameter(f"export format {fmt!r} is not known; use one of {', '.join(FORMATS)}")
    return to_pytest_benchmark(run)


def to_pytest_benchmark(run: Run) -> dict[str, Any]:
    """The document ``pytest --benchmark-json`` would write, with a benchmark per timed series of ``run``."""
    import pytest_benchmark
    from pytest_benchmark.stats import Stats

    if run.is_live:
        raise InvalidParameter(
            f"run {run.run_id} is a live run; only catch-up runs (catchup run) export to pytest-benchmark"
        )
    series = run.sample_values()
    benchmarks = []
    for interval in sorted({interval for interval, _, _ in series}):
        for exported in EXPORTED:
            values = series.get((interval, exported.phase, exported.metric))
            if not values or not any(values):
                continue
            stats = Stats()
            for value in values:
                stats.update(value)
            numbers = stats.as_dict() | {"data": list(values), "iterations": 1}
            benchmarks.append(_benchmark(run, interval, exported, numbers, series))
    if not benchmarks:
        raise InvalidParameter(f"run {run.run_id} holds no replay or catch-up timings; nothing to export")
    return {
        "machine_info": machine_info(run.environment),
        "commit_info": commit_info(run.environment),
        "benchmarks": benchmarks,
        "datetime": run.created_at,
        "version": pytest_benchmark.__version__,
    }


def _benchmark(
    run: Run,
    interval: int,
    exported: Exported,
    stats: dict[str, Any],
    series: dict[tuple[int, str, str], list[float]],
) -> dict[str, Any]:
    projection = run.projection
    name = projection.name
    param = f"k={format_interval(interval)}"
    # A pass replays the whole log, a catch-up a tail fixed by k: the same count in every repeat.
    events_key = "events" if exported.phase == SNAPSHOT_PASS else "tail_events"
    events = series.get((interval, exported.phase, events_key))
    return {
        "group": name,
        "name": f"{exported.name}[{param}]",
        # What pytest-benchmark compare matches runs on: stable across runs of the same projection.
        "fullname": f"catchup/{name}::{exported.name}[{param}]",
        "params": {"interval": interval},
        "param": param,
        "extra_info": {
            "interval": interval,
            "phase": exported.phase,
            "metric": exported.metric,
            "unit": "s",
            events_key: int(events[0]) if events else None,
            "projection": name,
            "projection_version": projection.version,
            "projection_class": projection.class_name,
            "dataset": run.dataset_id,
            "store": run.store.get("uri"),  # redacted by the store when the run was written
            "backend": run.store.get("backend"),
            "layout": run.store.get("layout"),
            "run_id": run.run_id,
            "label": run.label,
            "catchup_version": run.config.get("catchup_version"),
        },
        "options": {
            "disable_gc": False,
            "timer": COLD_TIMER if exported.phase in COLD_PHASES else TIMER,
            "min_rounds": run.config.get("repeats"),
            "max_time": None,
            "min_time": None,
            "warmup": run.config.get("warmup"),
            "batch_size": run.config.get("batch_size"),
        },
        "stats": stats,
    }


def machine_info(environment: dict[str, Any]) -> dict[str, Any]:
    """pytest-benchmark's machine_info keys that the run's environment can fill, plus the rest of it.

    pytest-benchmark compares machine_info whole and warns when two files differ, so
    only facts about the machine go here: the load average and peak RSS of the run
    would make every pair of exports look like two machines.
    """
    info: dict[str, Any] = {
        "node": environment.get("hostname"),
        "python_implementation": environment.get("python_implementation"),
        "python_version": environment.get("python"),
        "platform": environment.get("os"),
        # py-cpuinfo's keys, which pytest-benchmark stores under "cpu".
        "cpu": {"brand_raw": environment.get("cpu_model"), "count": environment.get("logical_cores")},
        "physical_cores": environment.get("physical_cores"),
        "memory_bytes": environment.get("memory_bytes"),
        "packages": environment.get("packages"),
    }
    return info


def commit_info(environment: dict[str, Any]) -> dict[str, Any]:
    """pytest-benchmark's commit_info from the git state recorded with the run (of the catchup checkout)."""
    git = environment.get("git") or {}
    return {
        "id": git.get("commit") or "unknown",
        "time": git.get("time"),
        "author_time": git.get("author_time"),
        "dirty": bool(git.get("dirty")),
        "project": "catchup-bench",
        "branch": git.get("branch") or "(unknown)",
    }


def write_json(document: dict[str, Any], path: Path) -> Path:
    """Write ``document`` to ``path`` whole or not at all: a temporary file beside it, then a rename."""
    if path.is_dir():
        raise InvalidParameter(f"out {path} is a folder; name a file such as {path / 'export.json'}", "out")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_file_whole(path, json.dumps(document, indent=4) + "\n")
    except OSError as error:
        raise ExportError(
            f"cannot write {path} ({type(error).__name__}: {error.strerror or error}); nothing was written"
        ) from None
