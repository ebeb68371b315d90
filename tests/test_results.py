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

from bench import results
from bench.results import (
    RESULT_SCHEMA_HISTORY,
    RESULT_SCHEMA_VERSION,
    SAMPLES_SCHEMA,
    ResultsError,
    Run,
    Sample,
    list_runs,
    load_run,
    write_run,
)
from stores.errors import CatchupError, InvalidParameter

CREATED = datetime(2026, 3, 14, 15, 9, 26, 535_897, tzinfo=UTC)
STAMP = "20260314T150926Z"

SAMPLES = [
    Sample(
        interval=interval, repeat=repeat, phase=phase, metric="seconds", value=0.5 + interval / 1e4 + repeat, unit="s"
    )
    for interval in (0, 1_000, 10_000)
    for repeat in range(3)
    for phase in ("fetch", "apply")
] + [Sample(interval=1_000, repeat=0, phase="snapshot", metric="bytes", value=123_456.0, unit="B")]


def run_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "label": "smoke",
        "created_at": CREATED,
        "config": {"projection": "balances", "intervals": [0, 1_000, 10_000], "repeats": 3},
        "environment": {"cpu_model": "test cpu", "git": {"commit": "0" * 40, "dirty": False}},
        "store": {"uri": "parquet:data/ledger", "head": 30_000},
        "dataset": {"id": "abc123", "events": 30_000},
        "summary": [{"interval": 1_000, "metric": "catchup_seconds", "median": 1.5, "n": 3}],
        "verification": [{"interval": 1_000, "digest_match": True}],
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
    ]
    assert on_disk["run_id"] == run.path.name
    assert (run.path / "run.json").read_text().startswith('{\n  "schema_version": 1,\n  "run_id"')


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

    monkeypatch.setattr(results.os, "rename", another_writer_first)
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

    monkeypatch.setattr(results.os, "rename", refuse)
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

    monkeypatch.setattr(results.pq, "write_table", dies_half_way)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_run(tmp_path / "results", **run_fields())
    assert written == ["part"]  # the failure really was mid-write
    assert folder_contents(tmp_path / "results") == []
    assert list_runs(tmp_path / "results") == []


def test_an_interrupt_while_writing_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "_sync_dir", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path, **run_fields())
    assert folder_contents(tmp_path) == []


@pytest.mark.parametrize(
    ("sample", "reason"),
    [
        (Sample(1_000, 0, "apply", "seconds", "fast", "s"), "value 'fast' is a str"),  # type: ignore[arg-type]
        (Sample(1.5, 0, "apply", "seconds", 1.0, "s"), "interval 1.5 is a float"),  # type: ignore[arg-type]
        (Sample(1_000, 0, "apply", "seconds", None, "s"), "value None is a NoneType"),  # type: ignore[arg-type]
        (Sample(1_000, 2**40, "apply", "seconds", 1.0, "s"), "too large"),
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
            "phase": ["fetch", "apply"],
            "metric": ["seconds", "seconds"],
            "value": [1.0, 2.0],
        }
    )
    run = write_run(tmp_path, **run_fields(samples=table))
    loaded = load_run(run.path)
    assert loaded.samples.schema.equals(SAMPLES_SCHEMA)
    assert loaded.samples.to_pylist() == [
        {"interval": 0, "repeat": 0, "phase": "fetch", "metric": "seconds", "value": 1.0, "unit": "s"},
        {"interval": 100, "repeat": 1, "phase": "apply", "metric": "seconds", "value": 2.0, "unit": "s"},
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
    assert str(caught.value) == f"{run.path} has results schema version 7; this catchup reads versions 1"
    assert sorted(RESULT_SCHEMA_HISTORY) == [1]


@pytest.mark.parametrize(("version", "shown"), [(True, "True"), (1.0, "1.0"), ("1", "'1'"), ([1], r"\[1\]")])
def test_a_schema_version_that_only_resembles_one_is_not_one(tmp_path: Path, version: Any, shown: str) -> None:
    run = write_run(tmp_path, **run_fields())
    data = json.loads((run.path / "run.json").read_text())
    data["schema_version"] = version
    (run.path / "run.json").write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=f"has results schema version {shown}; this catchup reads versions 1$"):
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


def test_run_to_json_keeps_every_field_but_samples_and_path() -> None:
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
    assert "samples" not in run.to_json() and "path" not in run.to_json()
    assert len(run.to_json()) == 11
    assert run.to_json()["dataset"] is None
