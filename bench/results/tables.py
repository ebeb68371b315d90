"""What the rows of a run's tables may hold: samples.parquet and timeseries.parquet, checked row by row.

The Parquet schema says a value is a float64; it cannot say that a timing is never
negative, that a phase is one catchup records or that a position is whole. A negated
timing would otherwise be compared as "faster, ratio -1.00", a NaN would poison every
median. So each row is checked, on write (before any folder exists) and on load, with
the readers of bench.results.parse: one wording for run.json and its tables.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from bench.results import parse
from bench.results.schema import CATCHUP_PHASES, COLD_PHASES, SNAPSHOT_PASS

# Every metric a phase records, with its unit (bench.experiment records them).
PASS_METRICS = {
    "replay_s": "s",
    "fetch_s": "s",
    "apply_s": "s",
    "events": "events",
    "events_per_s": "events/s",
    "snapshot_s": "s",
    "snapshot_state_s": "s",
    "snapshot_save_s": "s",
    "snapshots": "snapshots",
    "snapshot_bytes": "bytes",
    "overhead_pct": "%",
}
CASE_METRICS = {
    "catchup_s": "s",
    "load_s": "s",
    "restore_s": "s",
    "fetch_s": "s",
    "apply_s": "s",
    "tail_events": "events",
    "snapshot_position": "position",
    "order": "rank",  # 1 = measured first of its repeat's cases (bench.experiment.case_order)
}
# A cold restart's (bench.cold.ColdTiming): a warm case's, the start, imports and open before them, and
# what its eviction dropped from the page cache.
COLD_METRICS = {
    **CASE_METRICS,
    "start_s": "s",
    "import_s": "s",
    "open_s": "s",
    "evicted_files": "files",
    "evicted_bytes": "bytes",
}
SAMPLE_METRICS: dict[str, dict[str, str]] = {
    SNAPSHOT_PASS: PASS_METRICS,
    **{phase: CASE_METRICS for phase in CATCHUP_PHASES},
    **{phase: COLD_METRICS for phase in COLD_PHASES},
}
# Units whose values are counted, not measured: whole numbers.
COUNTED_UNITS = ("events", "snapshots", "bytes", "position", "rank", "files")

# timeseries.parquet: what each column is (bench.results.schema.TIMESERIES_SCHEMA).
_TIMESERIES_COUNTS = ("head", "position", "lag_events", "appended")
_TIMESERIES_AMOUNTS = ("t_s", "lag_s")


def check_samples(table: pa.Table) -> None:
    """Raise parse.Malformed naming the first row that no run of catchup records (``samples[3].value ...``)."""
    for index, row in enumerate(table.to_pylist()):
        _check_sample_row(row, f"samples[{index}]")


def _check_sample_row(row: dict[str, Any], where: str) -> None:
    parse.count(row, "interval", where)
    parse.count(row, "repeat", where)
    phase = parse.text(row, "phase", where)
    metrics = SAMPLE_METRICS.get(phase)
    if metrics is None:
        raise parse.Malformed(f"{where}.phase is {phase!r}, not one of {', '.join(SAMPLE_METRICS)}")
    metric = parse.text(row, "metric", where)
    unit = metrics.get(metric)
    if unit is None:
        raise parse.Malformed(f"{where}.metric is {metric!r}, not a metric of {phase} ({', '.join(metrics)})")
    if parse.text(row, "unit", where) != unit:
        raise parse.Malformed(f"{where}.unit is {row['unit']!r}, not {unit!r}, the unit of {metric}")
    if unit in COUNTED_UNITS:
        parse.count(row, "value", where)
    else:
        parse.amount(row, "value", where)


def check_timeseries(table: pa.Table) -> None:
    """Raise parse.Malformed naming the first row of a live run's lag that cannot have been sampled."""
    for index, row in enumerate(table.to_pylist()):
        where = f"timeseries[{index}]"
        for name in _TIMESERIES_COUNTS:
            parse.count(row, name, where)
        for name in _TIMESERIES_AMOUNTS:
            parse.amount(row, name, where)
