"""The results folder: one subfolder per run, written whole or not at all, never overwritten.

A run is ``<results>/<UTC stamp>-<label>/`` holding ``run.json`` (what was run, where,
the summary, verification and warnings) and ``samples.parquet`` (every measured value,
long format, kept raw so a later report can summarise them differently). A live run
(``kind`` "live": writers append while a projection catches up and tails) also holds
``timeseries.parquet``, the lag sampled over time. A run is built in a hidden ``.tmp-``
sibling and renamed into place once every file is on disk, so a folder with a run's
name is always complete; a crash leaves only a ``.tmp-`` folder,
which nothing lists. Reading a run written under another schema version is an error
naming both versions, never a guess.
"""

from __future__ import annotations

import errno
import json
import numbers
import os
import re
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from stores.errors import CatchupError, InvalidParameter

RESULT_SCHEMA_VERSION = 2
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
}

RUN_FILE = "run.json"
SAMPLES_FILE = "samples.parquet"
TIMESERIES_FILE = "timeseries.parquet"
RUN_KINDS = ("catchup", "live")
# The keys of a live run's ``live`` dict, as ``catchup live`` writes them (RESULT_SCHEMA_HISTORY[2] says what each is).
LIVE_KEYS = (
    "interval",
    "rate_requested",
    "rate_achieved",
    "writers",
    "start_from",
    "start_head",
    "start_position",
    "tail_events",
    "caught_up",
    "caught_up_s",
    "peak_lag_events",
    "peak_lag_s",
    "lag_after_catchup_s",
    "lag_growth_events_per_s",
    "duration_s",
    "max_duration_s",
    "model",
    "snapshots",
    "dead_positions",
    "writer_failures",
    "verified",
    "final_head",
)
TMP_PREFIX = ".tmp-"
LABEL_PATTERN = r"[A-Za-z0-9_.-]{1,40}"
_LABEL = re.compile(LABEL_PATTERN)
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"

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


@dataclass(frozen=True)
class Sample:
    interval: int
    repeat: int
    phase: str
    metric: str
    value: float
    unit: str


@dataclass(frozen=True)
class Run:
    schema_version: int
    run_id: str  # the folder name it was written under
    label: str
    created_at: str  # ISO 8601, UTC
    config: dict[str, Any]
    environment: dict[str, Any]
    store: dict[str, Any]
    dataset: dict[str, Any] | None
    summary: list[dict[str, Any]]
    verification: list[dict[str, Any]]
    warnings: list[str]
    samples: pa.Table  # in SAMPLES_SCHEMA
    kind: str = "catchup"  # one of RUN_KINDS
    live: dict[str, Any] | None = None  # a live run's results (LIVE_KEYS); None for a catch-up run
    timeseries: pa.Table | None = None  # a live run's lag over time, in TIMESERIES_SCHEMA
    path: Path | None = None

    @property
    def is_live(self) -> bool:
        return self.kind == "live"

    @property
    def head(self) -> int:
        """The events the run started from: a catch-up run's head, a live run's head when its writers started."""
        if self.is_live and self.live:
            return int(self.live.get("start_head") or 0)
        return int(self.summary[0]["head"]) if self.summary else int(self.store.get("head") or 0)

    def sample_values(self) -> dict[tuple[int, str, str], list[float]]:
        """The raw samples by (interval, phase, metric), each list in repeat order."""
        grouped: dict[tuple[int, str, str], list[tuple[int, float]]] = {}
        columns = self.samples.select(["interval", "phase", "metric", "repeat", "value"]).to_pydict()
        for interval, phase, metric, repeat, value in zip(*columns.values(), strict=True):
            grouped.setdefault((int(interval), phase, metric), []).append((int(repeat), float(value)))
        return {key: [value for _, value in sorted(rows)] for key, rows in grouped.items()}

    @property
    def projection_name(self) -> str:
        """The projection's name as the run recorded it (the label for a run.json without one)."""
        projection = self.config.get("projection")
        name = projection.get("name") if isinstance(projection, dict) else None
        return str(name or self.label)

    def to_json(self) -> dict[str, Any]:
        """The content of run.json: every field but the tables (their own files) and the path."""
        return {name: getattr(self, name) for name in _JSON_FIELDS}


_SAMPLE_TYPES: dict[str, type | tuple[type, ...]] = {
    "interval": numbers.Integral,
    "repeat": numbers.Integral,
    "phase": str,
    "metric": str,
    "value": numbers.Real,
    "unit": str,
}
_JSON_FIELDS = tuple(f.name for f in fields(Run) if f.name not in ("samples", "timeseries", "path"))
_V2_FIELDS = ("kind", "live")  # what version 2 added; a version 1 run.json has neither
# What each run.json value must be, checked on load so a hand-edited file fails here, not in a report.
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "schema_version": int,
    "run_id": str,
    "label": str,
    "created_at": str,
    "config": dict,
    "environment": dict,
    "store": dict,
    "dataset": (dict, type(None)),
    "summary": list,
    "verification": list,
    "warnings": list,
    "kind": str,
    "live": (dict, type(None)),
}


def check_label(label: str) -> None:
    if not isinstance(label, str) or not _LABEL.fullmatch(label):
        raise InvalidParameter(
            f"run label {label!r} is not allowed; use 1 to 40 of A-Z a-z 0-9 _ . - ({LABEL_PATTERN})"
        )


def write_run(
    results_dir: str | Path,
    *,
    label: str,
    created_at: datetime,
    config: dict[str, Any],
    environment: dict[str, Any],
    store: dict[str, Any],
    dataset: dict[str, Any] | None,
    summary: list[dict[str, Any]],
    verification: list[dict[str, Any]],
    warnings: list[str],
    samples: Iterable[Sample] | pa.Table,
    kind: str = "catchup",
    live: dict[str, Any] | None = None,
    timeseries: pa.Table | None = None,
) -> Run:
    """Write a new run folder under ``results_dir`` and return the run as written.

    A live run (``kind="live"``) needs ``live`` (a dict with LIVE_KEYS) and ``timeseries``
    (a table cast to TIMESERIES_SCHEMA); a catch-up run has neither. Everything is checked
    before the disk is touched; the files go into a temporary sibling that is renamed to
    the first free name (``NAME``, ``NAME-2``, ...) once whole.
    """
    check_label(label)
    _check_kind(kind, live, timeseries)
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise InvalidParameter(
            f"created_at {created_at.isoformat()} has no time zone; pass an aware time such as now(UTC)"
        )
    moment = created_at.astimezone(UTC)
    name = f"{moment.strftime(_STAMP_FORMAT)}-{label}"
    run = Run(
        schema_version=RESULT_SCHEMA_VERSION,
        run_id=name,
        label=label,
        created_at=moment.isoformat(),
        config=config,
        environment=environment,
        store=store,
        dataset=dataset,
        summary=summary,
        verification=verification,
        warnings=list(warnings),
        samples=_samples_table(samples),
        kind=kind,
        live=live,
        timeseries=_timeseries_table(timeseries) if timeseries is not None else None,
    )
    _run_json(run)  # refuse what JSON cannot hold now, before any folder exists

    results_dir = Path(results_dir)
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        temporary = results_dir / f"{TMP_PREFIX}{name}-{secrets.token_hex(4)}"
        temporary.mkdir()
    except OSError as error:
        raise ResultsError(f"cannot create a run in {results_dir} ({_reason(error)}); check the folder") from None
    try:
        with open(temporary / SAMPLES_FILE, "wb") as handle:
            pq.write_table(run.samples, handle)
            _sync(handle)
        if run.timeseries is not None:
            with open(temporary / TIMESERIES_FILE, "wb") as handle:
                pq.write_table(run.timeseries, handle)
                _sync(handle)
        final = _rename_into_place(temporary, results_dir, run)
    except BaseException as error:
        # Ctrl-C included: whatever stopped the write, no partial run may stay behind.
        shutil.rmtree(temporary, ignore_errors=True)
        if isinstance(error, OSError):
            raise ResultsError(
                f"cannot write run {name} in {results_dir} ({_reason(error)}); nothing was kept"
            ) from None
        raise
    _sync_dir(results_dir)
    return replace(run, run_id=final.name, path=final)


def _rename_into_place(temporary: Path, results_dir: Path, run: Run) -> Path:
    for suffix in range(1, 10_000):
        final = results_dir / (run.run_id if suffix == 1 else f"{run.run_id}-{suffix}")
        # os.rename replaces an existing *empty* folder on Linux, so a taken name is skipped
        # up front; a folder appearing between this check and the rename is full (another
        # writer's run) and makes the rename fail, caught below.
        if final.exists():
            continue
        # run.json names the folder it lives in, so it is (re)written for each name tried.
        with open(temporary / RUN_FILE, "w", encoding="utf-8") as handle:
            handle.write(_run_json(run, run_id=final.name))
            _sync(handle)
        _sync_dir(temporary)
        try:
            os.rename(temporary, final)
        except OSError as error:
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                continue
            raise
        return final
    raise ResultsError(f"run names {run.run_id} to {run.run_id}-9999 are all taken in {results_dir}; use another label")


def load_run(path: str | Path) -> Run:
    """The run in folder ``path`` (or the folder of ``path`` when it names a run.json)."""
    given = Path(path)
    folder = given.parent if given.name == RUN_FILE and given.is_file() else given
    run_file = folder / RUN_FILE
    if not run_file.is_file():
        raise ResultsError(f"no run at {given}; a run is a folder holding {RUN_FILE}")
    try:
        data = json.loads(run_file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ResultsError(f"cannot read {run_file} ({_reason(error)})") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise _damaged(run_file, f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise _damaged(run_file, f"a JSON {type(data).__name__}, not an object")
    if "schema_version" not in data:
        raise _damaged(run_file, "no schema_version")
    version = data["schema_version"]
    # bool is an int and True == 1, and 1.0 == 1 too: neither may pass as version 1.
    if type(version) is not int or version not in RESULT_SCHEMA_HISTORY:
        known = ", ".join(str(v) for v in sorted(RESULT_SCHEMA_HISTORY))
        raise ResultsError(f"{folder} has results schema version {version!r}; this catchup reads versions {known}")
    expected = _JSON_FIELDS if version >= 2 else tuple(key for key in _JSON_FIELDS if key not in _V2_FIELDS)
    missing = [key for key in expected if key not in data]
    if missing:
        raise _damaged(run_file, f"missing {', '.join(missing)}")
    wrong = [key for key in expected if not isinstance(data[key], _JSON_TYPES[key])]
    if wrong:
        raise _damaged(run_file, "wrong type of " + ", ".join(f"{k} ({type(data[k]).__name__})" for k in wrong))
    content = {key: data[key] for key in expected}
    kind = content.get("kind", "catchup")
    if kind not in RUN_KINDS:
        raise _damaged(run_file, f"kind {kind!r} is not one of {', '.join(RUN_KINDS)}")
    if (kind == "live") != (content.get("live") is not None):
        raise _damaged(run_file, f"kind {kind} with live {'null' if content.get('live') is None else 'set'}")
    timeseries = _read_table(folder, TIMESERIES_FILE, TIMESERIES_SCHEMA, "timeseries") if kind == "live" else None
    return Run(**content, samples=_read_samples(folder), timeseries=timeseries, path=folder)


def list_runs(results_dir: str | Path) -> list[Path]:
    """The run folders in ``results_dir`` by name (so by time); unfinished .tmp- folders and others skipped."""
    folder = Path(results_dir)
    if not folder.is_dir():
        return []
    return sorted(
        (entry for entry in folder.iterdir() if not entry.name.startswith(TMP_PREFIX) and (entry / RUN_FILE).is_file()),
        key=lambda entry: entry.name,
    )


def _samples_table(samples: Iterable[Sample] | pa.Table) -> pa.Table:
    if isinstance(samples, pa.Table):
        try:
            table = samples.select(SAMPLES_SCHEMA.names).cast(SAMPLES_SCHEMA)  # a safe cast: no truncation
        except (KeyError, TypeError, ValueError) as error:  # ArrowInvalid, ArrowTypeError among them
            raise _unfit(str(error).splitlines()[0] if str(error) else type(error).__name__) from None
    else:
        rows = list(samples)
        for row in rows:
            _check_sample(row)
        try:
            table = pa.table(
                {name: [getattr(row, name) for row in rows] for name in SAMPLES_SCHEMA.names}, schema=SAMPLES_SCHEMA
            )
        except (TypeError, ValueError, OverflowError) as error:  # a repeat past int32, say
            raise _unfit(str(error).splitlines()[0] if str(error) else type(error).__name__) from None
    # pyarrow builds a table with nulls in non-null fields without complaint; a sample without a value is no sample.
    nulls = [name for name in SAMPLES_SCHEMA.names if table.column(name).null_count]
    if nulls:
        raise _unfit(f"nulls in {', '.join(nulls)}")
    return table


def _check_kind(kind: str, live: dict[str, Any] | None, timeseries: pa.Table | None) -> None:
    if kind not in RUN_KINDS:
        raise InvalidParameter(f"run kind {kind!r} is not known; use one of {', '.join(RUN_KINDS)}")
    if kind == "catchup":
        if live is not None or timeseries is not None:
            raise InvalidParameter("a catchup run has no live results or timeseries; pass kind='live' for a live run")
        return
    if not isinstance(live, dict):
        raise InvalidParameter(f"a live run needs live, a dict with {', '.join(LIVE_KEYS)}; got {type(live).__name__}")
    missing = [key for key in LIVE_KEYS if key not in live]
    if missing:
        raise InvalidParameter(f"a live run's live dict lacks {', '.join(missing)}; see LIVE_KEYS in bench/results.py")
    if timeseries is None:
        raise InvalidParameter("a live run needs its timeseries (a table in TIMESERIES_SCHEMA); none was given")


def _timeseries_table(timeseries: pa.Table) -> pa.Table:
    if not isinstance(timeseries, pa.Table):
        raise _unfit_timeseries(f"a {type(timeseries).__name__}, not a pyarrow Table")
    try:
        table = timeseries.select(TIMESERIES_SCHEMA.names).cast(TIMESERIES_SCHEMA)  # safe: 1.5 is no int64
    except (KeyError, TypeError, ValueError) as error:  # ArrowInvalid, ArrowTypeError among them
        raise _unfit_timeseries(str(error).splitlines()[0] if str(error) else type(error).__name__) from None
    nulls = [name for name in TIMESERIES_SCHEMA.names if table.column(name).null_count]
    if nulls:
        raise _unfit_timeseries(f"nulls in {', '.join(nulls)}")
    return table


def _unfit_timeseries(reason: str) -> InvalidParameter:
    return InvalidParameter(
        f"timeseries does not fit the timeseries schema ({reason}); each row needs "
        "t_s float, head int, position int, lag_events int, lag_s float, appended int, none missing"
    )


def _check_sample(row: object) -> None:
    # Checked by hand because pyarrow truncates a float 1.5 into an int64 field without a word.
    if not isinstance(row, Sample):
        raise _unfit(f"{type(row).__name__} {row!r} is not a Sample")
    for name, kind in _SAMPLE_TYPES.items():
        value = getattr(row, name)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise _unfit(f"{name} {value!r} is a {type(value).__name__}")


def _unfit(reason: str) -> InvalidParameter:
    return InvalidParameter(
        f"samples do not fit the samples schema ({reason}); each sample needs "
        "interval int, repeat int, phase str, metric str, value float, unit str, none missing"
    )


def _read_samples(folder: Path) -> pa.Table:
    return _read_table(folder, SAMPLES_FILE, SAMPLES_SCHEMA, "samples")


def _read_table(folder: Path, name: str, schema: pa.Schema, what: str) -> pa.Table:
    path = folder / name
    if not path.is_file():
        raise ResultsError(f"{folder} has no {name}; the run is damaged, run the benchmark again")
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as error:  # ArrowInvalid is a ValueError
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ResultsError(f"cannot read {path} ({reason}); the run is damaged, run the benchmark again") from None
    if not table.schema.equals(schema):
        found = ", ".join(f"{f.name} {f.type}" for f in table.schema)
        expected = ", ".join(f"{f.name} {f.type}" for f in schema)
        raise ResultsError(f"{path} has columns ({found}); {what} have ({expected}), all non-null")
    return table


def _run_json(run: Run, run_id: str | None = None) -> str:
    content = run.to_json()
    if run_id is not None:
        content["run_id"] = run_id
    try:
        return json.dumps(content, indent=2) + "\n"
    except (TypeError, ValueError) as error:
        raise InvalidParameter(f"run.json cannot hold this run ({error}); use str, numbers, lists and dicts") from None


def _damaged(run_file: Path, what: str) -> ResultsError:
    return ResultsError(f"{run_file} is damaged ({what}); it is not a run.json this catchup wrote")


def _reason(error: OSError) -> str:
    return f"{type(error).__name__}: {error.strerror or error}"


def _sync(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _sync_dir(folder: Path) -> None:
    # Makes the new names durable; not every platform can open a folder, and a folder
    # that cannot be synced has already been written, so a failure here is not an error.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
