"""``catchup export``: a catch-up run in pytest-benchmark's saved-JSON format, read back by pytest-benchmark itself."""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_benchmark

from bench.export import export_run, write_json
from bench.results import Run, load_run
from stores.errors import InvalidParameter
from tests.runs import make_ledger, make_run
from tests.test_cli import run as cli
from tests.test_report_live import live_run

INTERVALS = (0, 1_000, 10_000)
REPEATS = 3
NAMES = [
    "replay[k=0]",
    "replay[k=1k]",
    "snapshots[k=1k]",
    "catchup_expected[k=1k]",
    "catchup_worst[k=1k]",
    "replay[k=10k]",
    "snapshots[k=10k]",
    "catchup_expected[k=10k]",
    "catchup_worst[k=10k]",
]
# Which samples each exported benchmark must summarise.
SOURCES = {"replay": ("snapshot_pass", "replay_s"), "snapshots": ("snapshot_pass", "snapshot_s")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Run]:
    """Two real runs of balances over one small ledger: a before and an after."""
    folder = tmp_path_factory.mktemp("export")
    ledger = make_ledger(folder / "ledger")
    before = make_run(ledger, folder / "results", label="before", intervals=INTERVALS, repeats=REPEATS)
    after = make_run(ledger, folder / "results", label="after", intervals=INTERVALS, repeats=REPEATS)
    return before, after


def samples_of(run: Run, interval: int, phase: str, metric: str) -> list[float]:
    rows = [
        row
        for row in run.samples.to_pylist()
        if (row["interval"], row["phase"], row["metric"]) == (interval, phase, metric)
    ]
    return [row["value"] for row in sorted(rows, key=lambda row: row["repeat"])]


def source_of(benchmark: dict[str, Any]) -> tuple[int, str, str]:
    kind = benchmark["name"].split("[")[0]
    phase, metric = SOURCES.get(kind, (kind, "catchup_s"))
    return benchmark["params"]["interval"], phase, metric


def test_a_run_exports_one_benchmark_per_interval_phase_and_total_time(runs: tuple[Run, Run]) -> None:
    run = runs[0]
    document = export_run(run)

    assert list(document) == ["machine_info", "commit_info", "benchmarks", "datetime", "version"]
    assert (document["datetime"], document["version"]) == (run.created_at, pytest_benchmark.__version__)
    assert [b["name"] for b in document["benchmarks"]] == NAMES  # no snapshots[k=0]: a series of zeros
    assert [b["fullname"] for b in document["benchmarks"]] == [f"catchup/balances::{name}" for name in NAMES]
    assert {b["group"] for b in document["benchmarks"]} == {"balances"}
    first = document["benchmarks"][3]
    assert (first["param"], first["params"]) == ("k=1k", {"interval": 1_000})
    assert first["options"] == {
        "disable_gc": False,
        "timer": "perf_counter",
        "min_rounds": REPEATS,
        "max_time": None,
        "min_time": None,
        "warmup": 0,
        "batch_size": 131_072,
    }


def test_each_benchmarks_stats_are_those_of_its_raw_samples(runs: tuple[Run, Run]) -> None:
    run = runs[0]
    for benchmark in export_run(run)["benchmarks"]:
        values = samples_of(run, *source_of(benchmark))
        stats = benchmark["stats"]
        assert len(values) == REPEATS, benchmark["name"]
        assert stats["data"] == values
        assert stats["median"] == statistics.median(values)
        assert (stats["min"], stats["max"], stats["rounds"], stats["iterations"]) == (
            min(values),
            max(values),
            REPEATS,
            1,
        )
        assert stats["mean"] == pytest.approx(statistics.mean(values))


def test_extra_info_names_the_run_dataset_and_events(runs: tuple[Run, Run]) -> None:
    run = runs[0]
    benchmarks = {b["name"]: b for b in export_run(run)["benchmarks"]}
    worst = benchmarks["catchup_worst[k=10k]"]["extra_info"]
    assert worst == {
        "interval": 10_000,
        "phase": "catchup_worst",
        "metric": "catchup_s",
        "unit": "s",
        "tail_events": 9_999,
        "projection": "balances",
        "projection_version": "1",
        "projection_class": "projections.balances.Balances",
        "dataset": run.dataset["id"] if run.dataset else None,
        "store": run.store["uri"],
        "backend": "parquet",
        "layout": "files",
        "run_id": run.run_id,
        "label": "before",
        "catchup_version": run.config["catchup_version"],
    }
    assert benchmarks["catchup_expected[k=1k]"]["extra_info"]["tail_events"] == 500
    replay = benchmarks["replay[k=0]"]["extra_info"]
    assert (replay["phase"], replay["metric"], replay["events"]) == ("snapshot_pass", "replay_s", 30_000)


def test_machine_and_commit_info_come_from_the_runs_environment(runs: tuple[Run, Run]) -> None:
    run = runs[0]
    environment = run.environment
    document = export_run(run)
    machine = document["machine_info"]
    assert machine["node"] == environment["hostname"]
    assert machine["python_version"] == environment["python"]
    assert machine["cpu"] == {"brand_raw": environment["cpu_model"], "count": environment["logical_cores"]}
    assert "load_average" not in json.dumps(machine)  # differs run to run; pytest-benchmark would warn
    assert document["commit_info"]["id"] == (environment["git"]["commit"] or "unknown")
    assert document["commit_info"]["dirty"] is bool(environment["git"]["dirty"])


def test_pytest_benchmarks_own_compare_reads_two_exports(runs: tuple[Run, Run], tmp_path: Path) -> None:
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    write_json(export_run(runs[0]), before)
    write_json(export_run(runs[1]), after)
    table = tmp_path / "table"

    done = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(before), str(after), f"--csv={table}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "250"},
    )

    assert done.returncode == 0, done.stderr
    assert "Failed to load" not in done.stdout + done.stderr
    assert "benchmark 'balances': 18 tests" in done.stdout
    # Each name twice, once per file; pytest-benchmark shortens the file names its own way ("(0/after)").
    for name in NAMES:
        lines = [line for line in done.stdout.splitlines() if line.startswith(f"{name} (")]
        sources = [line[len(name) + 2 :].split(")")[0].rsplit("/", 1)[-1] for line in lines]
        assert sorted(sources) == ["after", "before"], name
    with open(f"{table}.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["name"] for row in rows) == sorted(f"catchup/balances::{name}" for name in NAMES * 2)
    medians = {b["stats"]["median"] for b in export_run(runs[0])["benchmarks"] + export_run(runs[1])["benchmarks"]}
    assert {float(row["median"]) for row in rows} == medians


def test_an_unknown_format_is_refused(runs: tuple[Run, Run]) -> None:
    with pytest.raises(InvalidParameter) as caught:
        export_run(runs[0], "csv")
    assert str(caught.value) == "export format 'csv' is not known; use one of pytest-benchmark"


# --- the command ----------------------------------------------------------------------------


def test_export_writes_the_file_and_says_so_on_one_line(runs: tuple[Run, Run], tmp_path: Path) -> None:
    run = runs[0]
    out = tmp_path / "exports" / "before.json"  # the folder is made
    code, stdout, err = cli("export", str(run.path), "--out", str(out))
    assert (code, err) == (0, "")
    assert stdout == f"exported 9 benchmarks of run {run.run_id} to {out} (pytest-benchmark JSON)\n"
    assert json.loads(out.read_text()) == export_run(load_run(run.path))
    assert sorted(p.name for p in out.parent.iterdir()) == ["before.json"]  # no temporary left


def test_export_replaces_an_existing_file(runs: tuple[Run, Run], tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    out.write_text("old")
    assert cli("export", str(runs[1].path), "--out", str(out), "--format", "pytest-benchmark")[0] == 0
    assert json.loads(out.read_text())["benchmarks"][0]["extra_info"]["run_id"] == runs[1].run_id


def test_export_without_out_prints_the_json_alone(runs: tuple[Run, Run]) -> None:
    code, stdout, err = cli("export", str(runs[0].path))
    assert (code, err) == (0, "")
    assert json.loads(stdout) == export_run(runs[0])


def test_export_of_a_missing_run_is_a_one_line_error(tmp_path: Path) -> None:
    code, stdout, err = cli("export", str(tmp_path / "nothing"))
    assert (code, stdout) == (1, "")
    assert err == f"Error: no run at {tmp_path / 'nothing'}; a run is a folder holding run.json\n"


def test_export_refuses_a_live_run(tmp_path: Path) -> None:
    live = live_run(tmp_path / "results")
    out = tmp_path / "live.json"
    code, stdout, err = cli("export", str(live.path), "--out", str(out))
    assert (code, stdout) == (1, "")
    assert (
        err == f"Error: run {live.run_id} is a live run; only catch-up runs (catchup run) export to pytest-benchmark\n"
    )
    assert not out.exists()


def test_export_to_an_unwritable_place_is_a_one_line_error_and_writes_nothing(
    runs: tuple[Run, Run], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "export.json"
    code, stdout, err = cli("export", str(runs[0].path), "--out", str(out))
    assert (code, stdout) == (1, "")
    assert err.startswith(f"Error: cannot write {out} (") and err.endswith("); nothing was written\n")
    assert err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    assert blocker.read_text() == "not a folder"


def test_export_to_a_folder_is_a_usage_error(runs: tuple[Run, Run], tmp_path: Path) -> None:
    code, stdout, err = cli("export", str(runs[0].path), "--out", str(tmp_path))
    assert (code, stdout) == (2, "")
    assert err == f"Error: Invalid value for '--out': File '{tmp_path}' is a directory. Try 'catchup export --help'.\n"


def test_write_json_refuses_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter) as caught:
        write_json({"benchmarks": []}, tmp_path)
    assert str(caught.value) == f"out {tmp_path} is a folder; name a file such as {tmp_path / 'export.json'}"
    assert caught.value.spelled(lambda name: f"--{name}").startswith(f"--out {tmp_path} is a folder")
