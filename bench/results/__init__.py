"""Run results: the run model, the results folder, and what is built on them.

A run folder (``results/<UTC stamp>-<label>/``) holds ``run.json`` and the raw samples;
``Run`` is its typed form. ``write_run`` writes one whole or not at all, ``load_run``
reads one back (refusing other schema versions and damaged files), ``list_runs`` lists
them. Beside them: ``stats`` (summaries of repeats), ``run_set`` (the runs one report
shows), ``baselines`` (named runs per machine for ``compare``) and ``atomic`` (the
write-whole helpers every writer of catchup uses).
"""

from bench.results.folder import check_label, list_runs, load_run, write_run
from bench.results.live import LIVE_KEYS, RATE_FAILED, RATE_SHORTFALL, LagPercentiles, LiveModel, LiveSummary
from bench.results.run import ProjectionInfo, Run, Sample
from bench.results.schema import (
    CASES,
    CATCHUP_PHASES,
    COLD_PHASES,
    DEFAULT_RESULTS_DIR,
    RESULT_SCHEMA_HISTORY,
    RESULT_SCHEMA_VERSION,
    RUN_FILE,
    SAMPLES_FILE,
    SAMPLES_SCHEMA,
    SNAPSHOT_PASS,
    TIMESERIES_FILE,
    TIMESERIES_SCHEMA,
    ResultsError,
    case_of_phase,
    catchup_phase,
    cold_phase,
)
from bench.results.summary import CaseSummary, ColdSummary, IntervalSummary

__all__ = [
    "CASES",
    "CATCHUP_PHASES",
    "COLD_PHASES",
    "DEFAULT_RESULTS_DIR",
    "LIVE_KEYS",
    "RATE_FAILED",
    "RATE_SHORTFALL",
    "RESULT_SCHEMA_HISTORY",
    "RESULT_SCHEMA_VERSION",
    "RUN_FILE",
    "SAMPLES_FILE",
    "SAMPLES_SCHEMA",
    "SNAPSHOT_PASS",
    "TIMESERIES_FILE",
    "TIMESERIES_SCHEMA",
    "CaseSummary",
    "ColdSummary",
    "IntervalSummary",
    "LagPercentiles",
    "LiveModel",
    "LiveSummary",
    "ProjectionInfo",
    "ResultsError",
    "Run",
    "Sample",
    "case_of_phase",
    "catchup_phase",
    "cold_phase",
    "check_label",
    "list_runs",
    "load_run",
    "write_run",
]
