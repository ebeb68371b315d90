"""The results folder: one subfolder per run, written whole or not at all, never overwritten.

A run is built in a hidden ``.tmp-`` sibling and renamed into place once every file is
on disk (bench.results.atomic), so a folder with a run's name is always complete; a
crash leaves only a ``.tmp-`` folder, which nothing lists. Reading a run written under
another schema version is an error naming both versions, never a guess; a run.json
whose summary does not parse is damaged, named by the key that is wrong.
"""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bench.results import parse
from bench.results.atomic import TMP_PREFIX, NamesExhausted, add_folder_whole, sync_file
from bench.results.live import (
    LIVE_KEYS_SINCE_V3,
    LIVE_KEYS_SINCE_V5,
    LIVE_KEYS_SINCE_V6,
    MODEL_KEYS_SINCE_V4,
    LiveSummary,
)
from bench.results.parse import Malformed
from bench.results.run import JSON_FIELDS, Run, Sample
from bench.results.schema import (
    LABEL_PATTERN,
    RESULT_SCHEMA_HISTORY,
    RESULT_SCHEMA_VERSION,
    RUN_FILE,
    RUN_KINDS,
    SAMPLES_FILE,
    SAMPLES_SCHEMA,
    TIMESERIES_FILE,
    TIMESERIES_SCHEMA,
    ResultsError,
    stamp,
)
from bench.results.summary import IntervalSummary
from bench.results.tables import check_samples, check_timeseries
from stores.errors import InvalidParameter

_LABEL = re.compile(LABEL_PATTERN)

_SAMPLE_TYPES: dict[str, type | tuple[type, ...]] = {
    "interval": numbers.Integral,
    "repeat": numbers.Integral,
    "phase": str,
    "metric": str,
    "value": numbers.Real,
    "unit": str,
}
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
    summary: Sequence[IntervalSummary],
    verification: list[dict[str, Any]],
    warnings: list[str],
    samples: Iterable[Sample] | pa.Table,
    kind: str = "catchup",
    live: LiveSummary | None = None,
    timeseries: pa.Table | None = None,
) -> Run:
    """Write a new run folder under ``results_dir`` and return the run as written.

    A live run (``kind="live"``) needs ``live`` and ``timeseries`` (a table cast to
    TIMESERIES_SCHEMA); a catch-up run has neither. Everything is checked before the disk
    is touched; the files go into a temporary sibling that is renamed to the first free
    name (``NAME``, ``NAME-2``, ...) once whole.
    """
    check_label(label)
    _check_kind(kind, live, timeseries)
    _check_summary(summary)
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise InvalidParameter(
            f"created_at {created_at.isoformat()} has no time zone; pass an aware time such as now(UTC)",
            parameter="created_at",
        )
    moment = created_at.astimezone(UTC)
    name = f"{stamp(moment)}-{label}"
    run = Run(
        schema_version=RESULT_SCHEMA_VERSION,
        run_id=name,
        label=label,
        created_at=moment.isoformat(),
        config=config,
        environment=environment,
        store=store,
        dataset=dataset,
        summary=list(summary),
        verification=verification,
        warnings=list(warnings),
        samples=_samples_table(samples),
        kind=kind,
        live=live,
        timeseries=_timeseries_table(timeseries) if timeseries is not None else None,
    )
    _run_json(run)  # refuse what JSON cannot hold now, before any folder exists

    final = _write_folder(run, Path(results_dir))
    return replace(run, run_id=final.name, path=final)


def _write_folder(run: Run, results_dir: Path) -> Path:
    """The run's files in a new folder named by its run_id (or the first free name after it)."""
    name = run.run_id
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ResultsError(f"cannot create a run in {results_dir} ({_reason(error)}); check the folder") from None

    def fill(folder: Path) -> None:
        _write_table(folder / SAMPLES_FILE, run.samples)
        if run.timeseries is not None:
            _write_table(folder / TIMESERIES_FILE, run.timeseries)

    def name_it(folder: Path, final_name: str) -> None:
        # run.json names the folder it lives in, so it is (re)written for each name tried.
        with open(folder / RUN_FILE, "wb") as handle:
            handle.write(_run_json(run, run_id=final_name).encode("utf-8"))
            sync_file(handle)

    try:
        return add_folder_whole(results_dir, name, fill, name_it)
    except NamesExhausted:
        raise ResultsError(
            f"run names {name} to {name}-9999 are all taken in {results_dir}; use another label"
        ) from None
    except OSError as error:
        raise ResultsError(f"cannot write run {name} in {results_dir} ({_reason(error)}); nothing was kept") from None


def _write_table(path: Path, table: pa.Table) -> None:
    with open(path, "wb") as handle:
        pq.write_table(table, handle)
        sync_file(handle)


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
    expected = JSON_FIELDS if version >= 2 else tuple(key for key in JSON_FIELDS if key not in _V2_FIELDS)
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
    try:
        content["summary"] = [IntervalSummary.from_json(row, f"summary[{i}]") for i, row in enumerate(data["summary"])]
        if content.get("live") is not None:
            older: dict[str, object] = {key: None for key in LIVE_KEYS_SINCE_V3} if version < 3 else {}
            older |= {key: None for key in LIVE_KEYS_SINCE_V5} if version < 5 else {}
            older |= {key: [] for key in LIVE_KEYS_SINCE_V6} if version < 6 else {}
            live = {**older, **content["live"]}
            if version < 4 and isinstance(live.get("model"), dict):
                live["model"] = {**dict.fromkeys(MODEL_KEYS_SINCE_V4), **live["model"]}
            content["live"] = LiveSummary.from_json(live)
        for index, check in enumerate(data["verification"]):
            _check_verification(check, f"verification[{index}]")
        for index, warning in enumerate(data["warnings"]):
            parse.as_text(warning, f"warnings[{index}]")
    except Malformed as error:
        raise _damaged(run_file, str(error)) from None
    timeseries = (
        _read_table(folder, TIMESERIES_FILE, TIMESERIES_SCHEMA, "timeseries", check_timeseries)
        if kind == "live"
        else None
    )
    return Run(**content, samples=_read_samples(folder), timeseries=timeseries, path=folder)


def _check_verification(check: Any, where: str) -> None:
    # A check without its verdict must not read as passed: Run.verified counts what is not ok.
    parse.flag(check, "ok", where)
    parse.count(check, "interval", where)


def list_runs(results_dir: str | Path) -> list[Path]:
    """The run folders in ``results_dir`` by name (so by time); unfinished .tmp- folders and others skipped."""
    folder = Path(results_dir)
    if not folder.is_dir():
        return []
    return sorted(
        (entry for entry in folder.iterdir() if not entry.name.startswith(TMP_PREFIX) and (entry / RUN_FILE).is_file()),
        key=lambda entry: entry.name,
    )


def _check_summary(summary: Sequence[IntervalSummary]) -> None:
    wrong = next((row for row in summary if not isinstance(row, IntervalSummary)), None)
    if wrong is not None:
        raise InvalidParameter(
            f"summary holds a {type(wrong).__name__}; each row is a bench.results.IntervalSummary", parameter="summary"
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
    try:
        check_samples(table)  # what load_run would refuse is not written
    except Malformed as error:
        raise _unfit(str(error)) from None
    return table


def _check_kind(kind: str, live: LiveSummary | None, timeseries: pa.Table | None) -> None:
    if kind not in RUN_KINDS:
        raise InvalidParameter(f"run kind {kind!r} is not known; use one of {', '.join(RUN_KINDS)}", parameter="kind")
    if kind == "catchup":
        if live is not None or timeseries is not None:
            raise InvalidParameter("a catchup run has no live results or timeseries; pass kind='live' for a live run")
        return
    if not isinstance(live, LiveSummary):
        raise InvalidParameter(
            f"a live run needs live, a bench.results.LiveSummary; got {type(live).__name__}", parameter="live"
        )
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
    try:
        check_timeseries(table)
    except Malformed as error:
        raise _unfit_timeseries(str(error)) from None
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
    return _read_table(folder, SAMPLES_FILE, SAMPLES_SCHEMA, "samples", check_samples)


def _read_table(
    folder: Path, name: str, schema: pa.Schema, what: str, check_rows: Callable[[pa.Table], None]
) -> pa.Table:
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
    try:
        check_rows(table)
    except Malformed as error:
        raise _damaged(path, str(error)) from None
    return table


def _run_json(run: Run, run_id: str | None = None) -> str:
    content = run.to_json()
    if run_id is not None:
        content["run_id"] = run_id
    try:
        return json.dumps(content, indent=2) + "\n"
    except (TypeError, ValueError) as error:
        raise InvalidParameter(f"run.json cannot hold this run ({error}); use str, numbers, lists and dicts") from None


def _damaged(path: Path, what: str) -> ResultsError:
    return ResultsError(f"{path} is damaged ({what}); it is not a {path.name} this catchup wrote")


def _reason(error: OSError) -> str:
    return f"{type(error).__name__}: {error.strerror or error}"
