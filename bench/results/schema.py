"""What a run folder holds: the schema version and its history, file names, table schemas, phases.

A run is ``<results>/<UTC stamp>-<label>/`` holding ``run.json`` (what was run, where,
the summary, verification and warnings) and ``samples.parquet`` (every measured value,
long format, kept raw so a later report can summarise them differently). A live run
(``kind`` "live") also holds ``timeseries.parquet``, the lag sampled over time.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa

from stores.errors import CatchupError

RESULT_SCHEMA_VERSION = 6
# Each version this catchup can read, and what it holds; a new version adds a line here.
RESULT_SCHEMA_HISTORY: dict[int, str] = {
    1: (
        "run.json: schema_version, run_id, label, created_at (ISO 8601 UTC), config, environment, store, "
        "dataset (or null), summary (list), verification (list), warnings (list of str); samples.parquet: "
        "interval int64, repeat int32, phase string, metric string, value float64, unit string"
    ),
    2: (
        "as 1, and run.json adds kind ('catchup' or 'live') and live (null, or for a live run a dict: interval, "
        "rate_requested, rate_achieved, writers, start_from ('snapshot'|'zero'), start_head, start_position, "
        "tail_events, caught_up, caught_up_s, peak_lag_events, peak_lag_s, lag_after_catchup_s ({p50, p95, p99, "
        "max} or null), lag_growth_events_per_s, duration_s, max_duration_s, model ({replay_rate, load_s, "
        "tail_events, append_rate, predicted_caught_up_s, measured_caught_up_s}), snapshots, dead_positions, "
        "writer_failures, verified, final_head); a live run's summary and verification may be empty and its "
        "folder also holds timeseries.parquet: t_s float64, head int64, position int64, lag_events int64, "
        "lag_s float64, appended int64. A version 1 run reads as kind 'catchup' with live null."
    ),
    3: (
        "as 2, and a live run's live dict adds catchup_reads (streaming reads that applied events before caught "
        "up) and catchup_bulk_events (events those of them that were bulk reads applied); a version 2 run reads "
        "with both null."
    ),
    4: (
        "as 3. Catch-up runs: config adds cold (bool); with cold, samples.parquet adds phases cold_expected "
        "and cold_worst (metrics catchup_s, start_s, import_s, open_s, load_s, restore_s, fetch_s, apply_s, "
        "tail_events, snapshot_position, order, evicted_files, evicted_bytes) and each summary case adds cold when "
        "measured (catchup_s and its parts as stats, evicted_bytes, verified); a version 3 run reads with cold "
        "null. Live runs: live.model adds snapshot_s (δ, one snapshot's save timed in the setup), cpu ({cores, "
        "setup, catchup}, each window {seconds, projection, writers, server (null: no local server), other} in "
        "cores), correction ('none' or 'cpu', by bench.results.live.CPU_RULE), effective_replay_rate and "
        "corrected_caught_up_s, and predicted_caught_up_s counts the snapshots taken every K events "
        "(1/μ' = 1/μ + δ/K); a version 3 run reads with the five null."
    ),
    5: (
        "as 4. A run over a foreign source (a source file) records the source's identity as dataset ({id, "
        "source: {system, relation, mapping, events, first, last, sample, ...}}) and counts events, not "
        "positions, in head, intervals and tails; a live run that followed one as its own application wrote "
        "it has live.writers 0, rate_requested 0 and dead_positions empty. Live runs add live.start_events (the events "
        "in the log at the start; null in an older run, whose start_head counts them)."
    ),
    6: (
        "as 5. A live run's live.model.correction 'cpu' takes the foreign load a whole core at a time "
        "(bench.results.live.CPU_RULE): its effective_replay_rate and corrected_caught_up_s are μ' times the "
        "share the read path keeps on the cores left; a version 4 or 5 run's were μ' scaled by the average cores "
        "left, and read as they were recorded. A live run adds live.differing: for a run that did not verify, up to "
        "five rows where the tailed state and the full replay differ (empty otherwise, and in an older run)."
    ),
}

DEFAULT_RESULTS_DIR = Path("results")
RUN_FILE = "run.json"
SAMPLES_FILE = "samples.parquet"
TIMESERIES_FILE = "timeseries.parquet"
RUN_KINDS = ("catchup", "live")
LABEL_PATTERN = r"[A-Za-z0-9_.-]{1,40}"
# Run folders and report folders start with their UTC creation time in this form.
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"

# The phases samples are recorded under: the snapshot pass, then one per catch-up case.
SNAPSHOT_PASS = "snapshot_pass"
CASES = ("expected", "worst")  # a restart half way between snapshots (tail k/2), and just before one (k-1)


def catchup_phase(case: str) -> str:
    """The phase a catch-up case's samples are recorded under: 'expected' -> 'catchup_expected'."""
    return f"catchup_{case}"


CATCHUP_PHASES = tuple(catchup_phase(case) for case in CASES)


def cold_phase(case: str) -> str:
    """The phase of a case caught up by a fresh process (``catchup run --cold``): 'expected' -> 'cold_expected'."""
    return f"cold_{case}"


COLD_PHASES = tuple(cold_phase(case) for case in CASES)


def case_of_phase(phase: str) -> str:
    """The case a catch-up phase measures, warm or cold: 'cold_worst' -> 'worst'."""
    return phase.removeprefix("catchup_").removeprefix("cold_")


SAMPLES_SCHEMA = pa.schema(
    [
        pa.field("interval", pa.int64(), nullable=False),  # snapshot interval k; 0 = no snapshots
        pa.field("repeat", pa.int32(), nullable=False),
        pa.field("phase", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("unit", pa.string(), nullable=False),
    ]
)

# A live run's lag, sampled while the writers append: one row per sample, in time order.
TIMESERIES_SCHEMA = pa.schema(
    [
        pa.field("t_s", pa.float64(), nullable=False),  # seconds since the writers started
        pa.field("head", pa.int64(), nullable=False),  # highest committed position
        pa.field("position", pa.int64(), nullable=False),  # the projection's: last applied or proven dead
        pa.field("lag_events", pa.int64(), nullable=False),  # head - position
        pa.field("lag_s", pa.float64(), nullable=False),  # age of the oldest committed event not applied; 0 if none
        pa.field("appended", pa.int64(), nullable=False),  # events appended since the start, cumulative
    ]
)


class ResultsError(CatchupError):
    """A run folder is missing, damaged, or written under a schema this catchup cannot read."""


def stamp(moment: datetime) -> str:
    """The folder-name form of an aware time, in UTC."""
    return moment.strftime(STAMP_FORMAT)
