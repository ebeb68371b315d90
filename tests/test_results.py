from __future__ import annotations

import errno
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.results import (
    LIVE_KEYS,
    RESULT_SCHEMA_HISTORY,
    RESULT_SCHEMA_VERSION,
    SAMPLES_SCHEMA,
    TIMESERIES_SCHEMA,
    IntervalSummary,
    LiveSummary,
    ResultsError,
    Run,
    Sample,
    atomic,
    folder,
    list_runs,
    load_run,
    write_run,
)
from bench.results.live import MODEL_KEYS_SINCE_V4
from bench.results.parse import Malformed
from bench.results.summary import CASE_PARTS, PASS_TIMINGS
from stores.errors import CatchupError, InvalidParameter
from tests.runs import interval_summary

CREATED = datetime(2026, 3, 14, 15, 9, 26, 535_897, tzinfo=UTC)
STAMP = "20260314T150926Z"

SAMPLES = [
    Sample(
        interval=interval,
        repeat=repeat,
        phase="snapshot_pass",
        metric=metric,
        value=0.5 + interval / 1e4 + repeat,
        unit="s",
    )
    for interval in (0, 1_000, 10_000)
    for repeat in range(3)
    for metric in ("fetch_s", "apply_s")
] + [Sample(interval=1_000, repeat=0, phase="snapshot_pass", metric="snapshot_bytes", value=123_456.0, unit="bytes")]


def run_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "label": "smoke",
        "created_at": CREATED,
        "config": {"projection": "balances", "intervals": [0, 1_000, 10_000], "repeats": 3},
        "environment": {"cpu_model": "test cpu", "git": {"commit": "0" * 40, "dirty": False}},
        "store": {"uri": "parquet:data/ledger", "head": 30_000},
        "dataset": {"id": "abc123", "events": 30_000},
        "summary": [interval_summary()],
        "verification": [{"interval": 1_000, "ok": True}],
        "warnings": [
            "noisy: replay varies by CV 12.0% over 3 repeats (> 10%); the machine may be busy, use more --repeats"
        ],
        "samples": SAMPLES,
    }
    fields.update(overrides)
    return fields


def folder_contents(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir())


def test_round_trip_gives_the_same_run(tmp_path: Path) -> None:
    written = write_run(tmp_path / "results", **run_fields())
    loaded = load_run(written.path)
    assert loaded == written
    assert loaded.summary == [interval_summary()]
    assert all(isinstance(row, IntervalSummary) for row in loaded.summary)
    assert loaded.samples.equals(written.samples)
    assert loaded.samples.schema.equals(SAMPLES_SCHEMA)
    assert loaded.samples.num_rows == len(SAMPLES)
    assert [Sample(**row) for row in loaded.samples.to_pylist()] == SAMPLES
    assert loaded.schema_version == RESULT_SCHEMA_VERSION
    assert loaded.created_at == "2026-03-14T15:09:26.535897+00:00"
    assert datetime.fromisoformat(loaded.created_at) == CREATED
    assert loaded.path == tmp_path / "results" / f"{STAMP}-smoke"


def test_load_accepts_the_run_json_path_too(tmp_path: Path) -> None:
    written = write_run(tmp_path, **run_fields())
    assert load_run(str(written.path / "run.json")) == written


def test_folder_name_is_the_utc_stamp_and_label(tmp_path: Path) -> None:
    # 17:09 at +02:00 is 15:09 UTC: the name is in UTC whatever zone the time came in.
    local = CREATED.astimezone(timezone(timedelta(hours=2)))
    run = write_run(tmp_path, **run_fields(created_at=local, label="pg-typed_v1.2"))
    assert run.run_id == run.path.name == f"{STAMP}-pg-typed_v1.2"
    assert folder_contents(tmp_path) == [f"{STAMP}-pg-typed_v1.2"]
    assert folder_contents(run.path) == ["run.json", "samples.parquet"]
    assert run.created_at == "2026-03-14T15:09:26.535897+00:00"


def test_run_json_is_the_run_without_samples_and_path(tmp_path: Path) -> None:
    run = write_run(tmp_path, **run_fields())
    on_disk = json.loads((run.path / "run.json").read_text())
    assert on_disk == run.to_json()
    assert list(on_disk) == [
        "schema_version",
        "run_id",
        "label",
        "created_at",
        "config",
        "environment",
        "store",
        "dataset",
        "summary",
        "verification",
        "warnings",
        "kind",
        "live",
    ]
    assert on_disk["run_id"] == run.path.name
    assert (on_disk["kind"], on_disk["live"]) == ("catchup", None)
    assert on_disk["summary"] == [interval_summary().to_json()]
    # The summary row keeps run.json's layout: timings as stats objects, the cases under catchup.
    row = on_disk["summary"][0]
    assert list(row) == [
        "interval",
        "head",
        "snapshots",
        "snapshot_bytes",
        *PASS_TIMINGS,
        "full_replay_s",
        "catchup",
        "verified",
    ]
    assert (row["interval"], row["head"], row["verified"]) == (1_000, 30_000, True)
    assert list(row["catchup"]) == ["expected", "worst"]
    assert list(row["catchup"]["expected"]) == [
        "tail_events",
        "snapshot_position",
        "catchup_s",
        *CASE_PARTS,
        "speedup",
        "verified",
    ]
    assert row["catchup"]["worst"]["tail_events"] == 999
    assert list(row["replay_s"]) == [
        "n",
        "median",
        "q1",
        "q3",
        "iqr",
        "min",
        "max",
        "mean",
        "stdev",
        "cv",
        "ci_low",
        "ci_high",
    ]
    assert (run.path / "run.json").read_text().startswith('{\n  "schema_version": 6,\n  "run_id"')


def test_a_second_run_with_the_same_name_never_overwrites_the_first(tmp_path: Path) -> None:
    first = write_run(tmp_path, **run_fields())
    before = {name: (first.path / name).read_bytes() for name in folder_contents(first.path)}
    second = write_run(tmp_path, **run_fields(config={"projection": "other"}))
    third = write_run(tmp_path, **run_fields())
    assert folder_contents(tmp_path) == [f"{STAMP}-smoke", f"{STAMP}-smoke-2", f"{STAMP}-smoke-3"]
    assert {name: (first.path / name).read_bytes() for name in folder_contents(first.path)} == before
    assert (second.run_id, third.run_id) == (f"{STAMP}-smoke-2", f"{STAMP}-smoke-3")
    assert load_run(second.path).config == {"projection": "other"}
    assert load_run(second.path).run_id == f"{STAMP}-smoke-2"


def test_an_existing_empty_folder_is_not_replaced(tmp_path: Path) -> None:
    # os.rename onto an empty folder succeeds on Linux; the name must still count as taken.
    (tmp_path / f"{STAMP}-smoke").mkdir()
    run = write_run(tmp_path, **run_fields())
    assert run.run_id == f"{STAMP}-smoke-2"
    assert folder_contents(tmp_path / f"{STAMP}-smoke") == []


def test_losing_the_race_for_a_name_takes_the_next_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_rename = os.rename
    taken: list[str] = []

    def another_writer_first(source: Any, target: Any) -> None:
        # Another writer's whole run lands on the name between the check and the rename.
        if not taken:
            Path(target).mkdir()
            (Path(target) / "run.json").write_text("{}")
            taken.append(Path(target).name)
        real_rename(source, target)

    monkeypatch.setattr(atomic.os, "rename", another_writer_first)
    run = write_run(tmp_path, **run_fields())
    assert taken == [f"{STAMP}-smoke"]
    assert run.run_id == f"{STAMP}-smoke-2"
    assert (tmp_path / f"{STAMP}-smoke" / "run.json").read_text() == "{}"
    assert json.loads((run.path / "run.json").read_text())["run_id"] == f"{STAMP}-smoke-2"
    assert not [name for name in folder_contents(tmp_path) if name.startswith(".tmp-")]


def test_a_rename_failing_otherwise_is_an_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: Any, target: Any) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.os, "rename", refuse)
    with pytest.raises(
        ResultsError,
        match=r"cannot write run 20260314T150926Z-smoke in .* \(PermissionError: Permission denied\); nothing was kept",
    ):
        write_run(tmp_path, **run_fields())
    assert folder_contents(tmp_path) == []


def test_a_failure_while_writing_samples_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[str] = []

    def dies_half_way(table: pa.Table, where: Any, **kwargs: Any) -> None:
        where.write(b"PAR1 half a file")
        written.append("part")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(folder.pq, "write_table", dies_half_way)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_run(tmp_path / "results", **run_fields())
    assert written == ["part"]  # the failure really was mid-write
    assert folder_contents(tmp_path / "results") == []
    assert list_runs(tmp_path / "results") == []


def test_an_interrupt_while_writing_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[list[str]] = []

    def interrupted(where: Path, *args: Any, **kwargs: Any) -> None:
        synced.append(folder_contents(where))
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "sync_folder", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path, **run_fields())
    assert synced == [["run.json", "samples.parquet"]]  # the interrupt came with the run whole, before its rename
    assert folder_contents(tmp_path) == []


@pytest.mark.parametrize(
    ("sample", "reason"),
    [
        (Sample(1_000, 0, "snapshot_pass", "apply_s", "fast", "s"), "value 'fast' is a str"),  # type: ignore[arg-type]
        (Sample(1.5, 0, "snapshot_pass", "apply_s", 1.0, "s"), "interval 1.5 is a float"),  # type: ignore[arg-type]
        (Sample(1_000, 0, "snapshot_pass", "apply_s", None, "s"), "value None is a NoneType"),  # type: ignore[arg-type]
        (Sample(1_000, 2**40, "snapshot_pass", "apply_s", 1.0, "s"), "too large"),
    ],
)
def test_a_sample_of_the_wrong_type_is_refused_before_any_folder(tmp_path: Path, sample: Sample, reason: str) -> None:
    with pytest.raises(
        InvalidParameter, match=rf"^samples do not fit the samples schema \(.*{reason}.*\); each sample needs"
    ):
        write_run(tmp_path / "results", **run_fields(samples=[*SAMPLES, sample]))
    assert not (tmp_path / "results").exists()


def test_samples_may_be_a_table_and_are_cast_to_the_schema(tmp_path: Path) -> None:
    table = pa.table(
        {
            "unit": ["s", "s"],
            "interval": [0, 100],
            "repeat": [0, 1],  # int64 here, int32 in the schema
            "phase": ["snapshot_pass", "catchup_expected"],
            "metric": ["fetch_s", "apply_s"],
            "value": [1.0, 2.0],
        }
    )
    run = write_run(tmp_path, **run_fields(samples=table))
    loaded = load_run(run.path)
    assert loaded.samples.schema.equals(SAMPLES_SCHEMA)
    assert loaded.samples.to_pylist() == [
        {"interval": 0, "repeat": 0, "phase": "snapshot_pass", "metric": "fetch_s", "value": 1.0, "unit": "s"},
        {"interval": 100, "repeat": 1, "phase": "catchup_expected", "metric": "apply_s", "value": 2.0, "unit": "s"},
    ]


def test_a_table_with_nulls_is_refused(tmp_path: Path) -> None:
    table = pa.Table.from_pylist(
        [{"interval": 0, "repeat": 0, "phase": "fetch", "metric": "s", "value": None, "unit": "s"}]
    )
    with pytest.raises(InvalidParameter, match="samples do not fit the samples schema"):
        write_run(tmp_path, **run_fields(samples=table))
    assert folder_contents(tmp_path) == []


def test_what_json_cannot_hold_is_refused_before_any_folder(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidParameter, match=r"run.json cannot hold this run \(Object of type datetime is not JSON serializable\)"
    ):
        write_run(tmp_path, **run_fields(config={"when": CREATED}))
    assert folder_contents(tmp_path) == []


def test_a_summary_row_that_is_not_an_interval_summary_is_refused_before_any_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter) as caught:
        write_run(tmp_path / "results", **run_fields(summary=[interval_summary(), interval_summary().to_json()]))
    assert str(caught.value) == "summary holds a dict; each row is a bench.results.IntervalSummary"
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        (lambda row: row.pop("head"), "summary[0].head is missing"),
        (lambda row: row.update(interval="1000"), "summary[0].interval is '1000' (str), not a non-negative integer"),
        (lambda row: row.update(interval=1_000.5), "summary[0].interval is 1000.5 (float), not a non-negative integer"),
        (lambda row: row.update(verified="yes"), "summary[0].verified is 'yes' (str), not true or false"),
        (lambda row: row["replay_s"].pop("ci_low"), "summary[0].replay_s.ci_low is missing"),
        (
            lambda row: row["catchup"]["worst"]["catchup_s"].update(median="x"),
            "summary[0].catchup.worst.catchup_s.median is 'x' (str), not a non-negative finite number",
        ),
        (lambda row: row["catchup"].pop("expected"), "summary[0].catchup.expected is missing"),
        (lambda row: row.update(catchup=None), "summary[0].catchup is null, not an object"),
    ],
)
def test_a_damaged_summary_row_is_damage_naming_its_key(tmp_path: Path, damage: Any, what: str) -> None:
    run = write_run(tmp_path, **run_fields())
    data = json.loads((run.path / "run.json").read_text())
    damage(data["summary"][0])
    (run.path / "run.json").write_text(json.dumps(data))
    with pytest.raises(ResultsError) as caught:
        load_run(run.path)
    assert str(caught.value) == f"{run.path / 'run.json'} is damaged ({what}); it is not a run.json this catchup wrote"


@pytest.mark.parametrize("label", ["", "has space", "a/b", "x" * 41, "naïve"])
def test_a_bad_label_is_refused_with_the_allowed_pattern(tmp_path: Path, label: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        write_run(tmp_path, **run_fields(label=label))
    assert (
        str(caught.value)
        == f"run label {label!r} is not allowed; use 1 to 40 of A-Z a-z 0-9 _ . - ([A-Za-z0-9_.-]{{1,40}})"
    )
    assert folder_contents(tmp_path) == []


def test_a_time_without_a_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match=r"created_at 2026-03-14T15:09:26 has no time zone"):
        write_run(tmp_path, **run_fields(created_at=datetime(2026, 3, 14, 15, 9, 26)))


def test_results_folder_is_created_with_parents(tmp_path: Path) -> None:
    run = write_run(tmp_path / "a" / "b" / "results", **run_fields())
    assert run.path.parent == tmp_path / "a" / "b" / "results"


def test_an_unknown_schema_version_is_a_clear_error(tmp_path: Path) -> None:
    run = write_run(tmp_path, **run_fields())
    data = json.loads((run.path / "run.json").read_text())
    data["schema_version"] = 7
    (run.path / "run.json").write_text(json.dumps(data))
    with pytest.raises(ResultsError) as caught:
        load_run(run.path)
    assert str(caught.value) == f"{run.path} has results schema version 7; this catchup reads versions 1, 2, 3, 4, 5, 6"
    assert sorted(RESULT_SCHEMA_HISTORY) == [1, 2, 3, 4, 5, 6] and RESULT_SCHEMA_VERSION == 6


@pytest.mark.parametrize(("version", "shown"), [(True, "True"), (1.0, "1.0"), ("1", "'1'"), ([1], r"\[1\]")])
def test_a_schema_version_that_only_resembles_one_is_not_one(tmp_path: Path, version: Any, shown: str) -> None:
    run = write_run(tmp_path, **run_fields())
    data = json.loads((run.path / "run.json").read_text())
    data["schema_version"] = version
    (run.path / "run.json").write_text(json.dumps(data))
    with pytest.raises(
        ResultsError, match=f"has results schema version {shown}; this catchup reads versions 1, 2, 3, 4, 5, 6$"
    ):
        load_run(run.path)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        ('{"schema_version": 1, "run_id": ', "not JSON: Expecting value: line 1 column 33 (char 32)"),
        ("[1, 2]", "a JSON list, not an object"),
        ('{"run_id": "x"}', "no schema_version"),
        (
            '{"schema_version": 1, "run_id": "x"}',
            "missing label, created_at, config, environment, store, dataset, summary, verification, warnings",
        ),
    ],
)
def test_a_damaged_run_json_is_a_one_line_error(tmp_path: Path, content: str, what: str) -> None:
    run = write_run(tmp_path, **run_fields())
    (run.path / "run.json").write_text(content)
    with pytest.raises(ResultsError) as caught:
        load_run(run.path)
    assert str(caught.value) == f"{run.path / 'run.json'} is damaged ({what}); it is not a run.json this catchup wrote"


def test_a_run_json_field_of_the_wrong_type_is_damage(tmp_path: Path) -> None:
    run = write_run(tmp_path, **run_fields())
    data = json.loads((run.path / "run.json").read_text())
    data["warnings"] = "one warning"
    data["dataset"] = None  # allowed
    (run.path / "run.json").write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=r"is damaged \(wrong type of warnings \(str\)\)"):
        load_run(run.path)


def test_a_missing_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ResultsError) as caught:
        load_run(tmp_path / "nowhere")
    assert str(caught.value) == f"no run at {tmp_path / 'nowhere'}; a run is a folder holding run.json"
    with pytest.raises(ResultsError, match="no run at"):
        load_run(tmp_path)  # a folder, but no run.json in it
    assert isinstance(caught.value, CatchupError)


def test_missing_samples_is_a_clear_error(tmp_path: Path) -> None:
    run = write_run(tmp_path, **run_fields())
    (run.path / "samples.parquet").unlink()
    with pytest.raises(ResultsError) as caught:
        load_run(run.path)
    assert str(caught.value) == f"{run.path} has no samples.parquet; the run is damaged, run the benchmark again"


def test_unreadable_samples_is_a_clear_error(tmp_path: Path) -> None:
    run = write_run(tmp_path, **run_fields())
    (run.path / "samples.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(
        ResultsError, match=r"^cannot read .*samples.parquet \(.+\); the run is damaged, run the benchmark again$"
    ):
        load_run(run.path)


def test_samples_of_another_schema_are_a_clear_error(tmp_path: Path) -> None:
    run = write_run(tmp_path, **run_fields())
    pq.write_table(pa.table({"interval": [1], "value": [2.0]}), run.path / "samples.parquet")
    with pytest.raises(ResultsError) as caught:
        load_run(run.path)
    assert str(caught.value) == (
        f"{run.path / 'samples.parquet'} has columns (interval int64, value double); samples have "
        "(interval int64, repeat int32, phase string, metric string, value double, unit string), all non-null"
    )


def test_list_runs_sorts_by_name_and_skips_temporary_and_other_folders(tmp_path: Path) -> None:
    later = write_run(tmp_path, **run_fields(created_at=CREATED + timedelta(days=1), label="b"))
    earlier = write_run(tmp_path, **run_fields(label="z"))
    again = write_run(tmp_path, **run_fields(label="z"))
    (tmp_path / f".tmp-{STAMP}-crashed-1a2b3c4d").mkdir()
    (tmp_path / f".tmp-{STAMP}-crashed-1a2b3c4d" / "run.json").write_text("{}")
    (tmp_path / "baselines").mkdir()
    (tmp_path / "notes.txt").write_text("not a run")
    assert list_runs(tmp_path) == [earlier.path, again.path, later.path]
    assert list_runs(tmp_path / "missing") == []


def test_run_to_json_keeps_every_field_but_the_tables_and_path() -> None:
    run = Run(
        schema_version=1,
        run_id="x",
        label="x",
        created_at="2026-01-01T00:00:00+00:00",
        config={},
        environment={},
        store={},
        dataset=None,
        summary=[],
        verification=[],
        warnings=[],
        samples=SAMPLES_SCHEMA.empty_table(),
        path=Path("/somewhere"),
    )
    assert not {"samples", "timeseries", "path"} & set(run.to_json())
    assert len(run.to_json()) == 13
    assert run.to_json()["dataset"] is None


# --- live runs (schema version 2) ----------------------------------------------------------
# Synthetic fixtures of the live-run format: written with write_run directly, not by `catchup live`.


def live_results(**overrides: Any) -> dict[str, Any]:
    """A plausible ``live`` object as run.json holds it: 2,000 events/s asked for, caught up after 1.2 s.

    The JSON form; ``live_summary`` is the LiveSummary that write_run takes.
    """
    live: dict[str, Any] = {
        "interval": 1_000,
        "rate_requested": 2_000.0,
        "rate_achieved": 1_990.0,
        "writers": 2,
        "start_from": "snapshot",
        "start_head": 30_000,
        "start_position": 29_000,
        "tail_events": 1_000,
        "caught_up": True,
        "caught_up_s": 1.2,
        "peak_lag_events": 3_400,
        "peak_lag_s": 1.15,
        "lag_after_catchup_s": {"p50": 0.05, "p95": 0.09, "p99": 0.1, "max": 0.12},
        "lag_growth_events_per_s": None,
        "duration_s": 5.0,
        "max_duration_s": 30.0,
        "model": {
            "replay_rate": 12_000.0,
            "load_s": 0.05,
            "tail_events": 1_000,
            "append_rate": 1_990.0,
            "predicted_caught_up_s": 0.13,
            "measured_caught_up_s": 1.2,
            "snapshot_s": 0.002,
            "cpu": {
                "cores": 2,
                "setup": {"seconds": 2.5, "projection": 1.0, "writers": 0.0, "server": None, "other": 0.05},
                "catchup": {"seconds": 1.2, "projection": 0.6, "writers": 0.9, "server": None, "other": 0.3},
            },
            "correction": "cpu",
            "effective_replay_rate": 9_375.0,
            "corrected_caught_up_s": 0.215,
        },
        "snapshots": 10,
        "dead_positions": [],
        "writer_failures": [],
        "verified": True,
        "final_head": 39_950,
        "catchup_reads": 2,
        "catchup_bulk_events": 1_000,
        "start_events": 30_000,
        "differing": [],
    }
    live.update(overrides)
    # A model given without the schema-4 keys is one that metered no CPU, as an older run's reads.
    live["model"] = {**dict.fromkeys(MODEL_KEYS_SINCE_V4), **live["model"]}
    return live


def live_summary(**overrides: Any) -> LiveSummary:
    """``live_results`` as the LiveSummary write_run takes."""
    return LiveSummary.from_json(live_results(**overrides))


def timeseries_table(
    duration_s: float = 5.0, rate: float = 2_000.0, caught_up_s: float | None = 1.2, start_lag: int = 1_000
) -> pa.Table:
    """Lag sampled every 100 ms: it grows until ``caught_up_s`` (or forever), then stays under one sample."""
    rows: dict[str, list[Any]] = {name: [] for name in TIMESERIES_SCHEMA.names}
    start = 30_000
    for step in range(int(duration_s * 10) + 1):
        t = step / 10
        appended = int(rate * t)
        head = start + appended
        if caught_up_s is not None and t >= caught_up_s:
            lag_events = int(rate * 0.05)
        elif caught_up_s is not None:
            lag_events = int((start_lag + rate * t) * (1 - t / caught_up_s)) + int(rate * 0.05)
        else:
            lag_events = start_lag + int(rate * 0.4 * t)
        rows["t_s"].append(t)
        rows["head"].append(head)
        rows["position"].append(head - lag_events)
        rows["lag_events"].append(lag_events)
        rows["lag_s"].append(0.0 if lag_events == 0 else lag_events / rate)
        rows["appended"].append(appended)
    return pa.table(rows)


def live_fields(**overrides: Any) -> dict[str, Any]:
    return run_fields(
        label="live",
        summary=[],
        verification=[],
        warnings=[],
        samples=[],
        kind="live",
        live=live_summary(),
        timeseries=timeseries_table(),
        **overrides,
    )


def test_a_live_run_round_trips_with_its_timeseries(tmp_path: Path) -> None:
    written = write_run(tmp_path, **live_fields())
    assert folder_contents(written.path) == ["run.json", "samples.parquet", "timeseries.parquet"]
    loaded = load_run(written.path)
    assert loaded == written
    assert (loaded.kind, loaded.is_live, loaded.live) == ("live", True, live_summary())
    assert isinstance(loaded.live, LiveSummary) and loaded.live.to_json() == live_results()
    assert json.loads((written.path / "run.json").read_text())["live"] == live_results()
    assert loaded.timeseries is not None and loaded.timeseries.equals(written.timeseries)
    assert loaded.timeseries.schema.equals(TIMESERIES_SCHEMA)
    assert loaded.timeseries.num_rows == 51
    assert sorted(loaded.live.to_json()) == sorted(live_results()) == sorted(LIVE_KEYS)
    assert (loaded.summary, loaded.verification, loaded.samples.num_rows) == ([], [], 0)


def test_a_catchup_run_has_no_timeseries(tmp_path: Path) -> None:
    loaded = load_run(write_run(tmp_path, **run_fields()).path)
    assert (loaded.kind, loaded.live, loaded.timeseries, loaded.is_live) == ("catchup", None, None, False)


def test_a_version_1_run_still_loads_as_a_catchup_run(tmp_path: Path) -> None:
    run = write_run(tmp_path, **run_fields())
    data = json.loads((run.path / "run.json").read_text())
    data["schema_version"] = 1
    del data["kind"], data["live"]
    (run.path / "run.json").write_text(json.dumps(data))
    loaded = load_run(run.path)
    assert (loaded.schema_version, loaded.kind, loaded.live, loaded.timeseries) == (1, "catchup", None, None)
    assert loaded.summary == run.summary and loaded.samples.equals(run.samples)


def test_a_version_2_run_json_without_kind_is_damaged(tmp_path: Path) -> None:
    run = write_run(tmp_path, **run_fields())
    data = json.loads((run.path / "run.json").read_text())
    del data["kind"]
    (run.path / "run.json").write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=r"is damaged \(missing kind\)"):
        load_run(run.path)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kind": "tail"}, "run kind 'tail' is not known; use one of catchup, live"),
        ({"timeseries": None}, "a live run needs its timeseries (a table in TIMESERIES_SCHEMA); none was given"),
        ({"live": None}, "a live run needs live, a bench.results.LiveSummary; got NoneType"),
        ({"live": live_results()}, "a live run needs live, a bench.results.LiveSummary; got dict"),
        (
            {"timeseries": timeseries_table().drop_columns(["lag_s"])},
            "timeseries does not fit the timeseries schema (",
        ),
        (
            {"timeseries": timeseries_table().set_column(2, "position", pa.array([0.5] * 51))},
            "timeseries does not fit the timeseries schema (",
        ),
        (
            {"timeseries": timeseries_table().set_column(4, "lag_s", pa.array([None] * 51, pa.float64()))},
            "timeseries does not fit the timeseries schema (Casting field 'lag_s' with null values",
        ),
    ],
)
def test_a_bad_live_run_is_refused_in_one_line_before_any_folder(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        write_run(tmp_path / "results", **{**live_fields(), **overrides})
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("key", LIVE_KEYS)
def test_a_live_object_lacking_a_key_is_malformed_naming_it(key: str) -> None:
    content = live_results()
    del content[key]
    with pytest.raises(Malformed) as caught:
        LiveSummary.from_json(content)
    assert str(caught.value) == f"live.{key} is missing"


@pytest.mark.parametrize("key", sorted(live_results()["model"]))
def test_a_live_model_lacking_a_key_is_malformed_naming_it(key: str) -> None:
    content = live_results()
    del content["model"][key]
    with pytest.raises(Malformed) as caught:
        LiveSummary.from_json(content)
    assert str(caught.value) == f"live.model.{key} is missing"


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        *((lambda live, key=key: live.pop(key), f"live.{key} is missing") for key in LIVE_KEYS),
        (lambda live: live["model"].pop("append_rate"), "live.model.append_rate is missing"),
        (lambda live: live["lag_after_catchup_s"].pop("p99"), "live.lag_after_catchup_s.p99 is missing"),
        (lambda live: live.update(start_from="sideways"), "live.start_from is 'sideways', not one of snapshot, zero"),
        (lambda live: live.update(writers=2.5), "live.writers is 2.5 (float), not a non-negative integer"),
        (
            lambda live: live.update(dead_positions=["x"]),
            "live.dead_positions[0] is 'x' (str), not a non-negative integer",
        ),
    ],
)
def test_a_run_json_whose_live_object_is_damaged_names_the_key(tmp_path: Path, damage: Any, what: str) -> None:
    run = write_run(tmp_path, **live_fields())
    data = json.loads((run.path / "run.json").read_text())
    damage(data["live"])
    (run.path / "run.json").write_text(json.dumps(data))
    with pytest.raises(ResultsError) as caught:
        load_run(run.path)
    assert str(caught.value) == f"{run.path / 'run.json'} is damaged ({what}); it is not a run.json this catchup wrote"


def test_a_catchup_run_with_live_results_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="a catchup run has no live results or timeseries"):
        write_run(tmp_path, **run_fields(live=live_summary()))
    with pytest.raises(InvalidParameter, match="a catchup run has no live results or timeseries"):
        write_run(tmp_path, **run_fields(timeseries=timeseries_table()))
    assert folder_contents(tmp_path) == []


@pytest.mark.parametrize("damage", ["missing", "unreadable", "other schema"])
def test_a_live_run_without_a_good_timeseries_is_a_clear_error(tmp_path: Path, damage: str) -> None:
    run = write_run(tmp_path, **live_fields())
    path = run.path / "timeseries.parquet"
    if damage == "missing":
        path.unlink()
        expected = f"^{run.path} has no timeseries.parquet; the run is damaged, run the benchmark again$"
    elif damage == "unreadable":
        path.write_bytes(b"not parquet")
        expected = r"^cannot read .*timeseries.parquet \(.+\); the run is damaged, run the benchmark again$"
    else:
        pq.write_table(pa.table({"t_s": [0.0]}), path)
        expected = r"timeseries.parquet has columns \(t_s double\); timeseries have \(t_s double, head int64, "
    with pytest.raises(ResultsError, match=expected):
        load_run(run.path)


def test_a_run_json_whose_kind_and_live_disagree_is_damaged(tmp_path: Path) -> None:
    run = write_run(tmp_path, **live_fields())
    data = json.loads((run.path / "run.json").read_text())
    data["live"] = None
    (run.path / "run.json").write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=r"is damaged \(kind live with live null\)"):
        load_run(run.path)
