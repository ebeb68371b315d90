"""Guards before long work: a rate whose timestamps do not fit, a run that saves very many
snapshots, a load that cannot fit on its disk, a demo over a store of other events."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from generators import LedgerParams, generate
from stores import open_store
from stores.errors import InvalidParameter
from tests.cli_calls import one_error_line, run

SMALL = ["--events", "5k", "--accounts", "50", "--quiet"]
TINY_RATE = "0." + "0" * 299 + "1"  # 1e-300, spelled the way --rate reads numbers
HUGE_RATE = "9" * 400  # parses as inf


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "ledger"
    assert run("generate", str(path), *SMALL)[0] == 0
    return path


# -- --rate -------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [1e-300, float("inf"), float("nan"), 0.0, -5.0, 1e300])
def test_the_library_refuses_a_rate_whose_timestamps_do_not_fit(rate: float) -> None:
    with pytest.raises(InvalidParameter, match=r"^rate \S+ is out of range: for 1,000 events from 2026") as raised:
        LedgerParams(events=1_000, accounts=10, rate=rate)
    assert raised.value.parameters == ("rate",)


def test_the_rate_range_bounds_are_usable_and_the_lowest_reads_back() -> None:
    lowest, highest = LedgerParams(events=1_000, accounts=10).rate_range()
    assert 0 < lowest < highest < float("inf")
    events = pa.Table.from_batches(list(generate(LedgerParams(events=1_000, accounts=10, rate=lowest))))
    occurred = events.column("occurred_at")
    last = occurred[-1].as_py()  # a Python datetime: within year 9999
    assert isinstance(last, datetime) and last.year >= 9000
    assert pl.from_arrow(events.select(["occurred_at"]))["occurred_at"].is_sorted()
    fast = pa.Table.from_batches(list(generate(LedgerParams(events=1_000, accounts=10, rate=highest))))
    assert fast.column("occurred_at")[0] != fast.column("occurred_at")[-1]


def test_generate_refuses_a_tiny_rate_with_the_allowed_range_before_writing(tmp_path: Path) -> None:
    code, out, err = run(
        "generate", str(tmp_path / "ledger"), "--events", "1k", "--accounts", "10", "--rate", TINY_RATE
    )
    assert code == 1 and out == ""
    line = one_error_line(err)
    assert line.startswith("Error: --rate 1e-300 is out of range: for 1,000 events from 2026-01-01T00:00:00+00:00 use")
    assert "from 3.98e-09 to 9.99e+08 events per second" in line
    assert not (tmp_path / "ledger").exists()


@pytest.mark.parametrize("command", [["generate", "x"], ["live", "x", "-p", "balances", "--interval", "10"]])
def test_a_rate_that_reads_as_infinite_is_refused(command: list[str], tmp_path: Path) -> None:
    code, _, err = run(*command, "--rate", HUGE_RATE)
    assert code == 2
    assert "is not a finite rate; use events per second such as 1000, 20k or 1.5M" in one_error_line(err)


# -- run: many snapshots --------------------------------------------------------------------


def test_run_that_saves_over_1000_snapshots_needs_yes(store: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    args = ["run", str(store), "-p", "balances", "--intervals", "4", "--repeats", "1", "--warmup", "0"]
    code, out, err = run(*args, "--out", str(results), "-q")
    assert code == 1 and out == ""
    line = one_error_line(err)
    assert line.startswith("Error: this run saves 1,250 snapshots, about ")
    assert "measured on the state at position 5,000), up to 1,250 kept at once" in line
    assert line.endswith("that is above 1,000 snapshots or 1 GB; pass --yes to go ahead (or use larger --intervals)")
    assert not results.exists()
    assert open_store(str(store)).snapshots().latest("balances") is None  # nothing saved
    code, out, err = run(*args, "--out", str(results), "-q", "--yes")
    assert code == 0, err
    assert "results: " in out


def test_the_plan_counts_every_pass_and_asks_above_either_threshold() -> None:
    # Imported here, so that on a checkout without the module only this test fails.
    from bench.experiment_config import ExperimentConfig
    from bench.run_plan import ASK_ABOVE_BYTES, ASK_ABOVE_SNAPSHOTS, SnapshotPlan, snapshot_counts

    config = ExperimentConfig(intervals=(0, 10, 100), repeats=3, warmup=1)
    assert snapshot_counts(1_000, config) == ((100 + 10) * 4, 100)
    assert not SnapshotPlan(ASK_ABOVE_SNAPSHOTS, 10, 5, 1_000, 5).large
    assert SnapshotPlan(ASK_ABOVE_SNAPSHOTS + 1, 10, 5, 1, 5).large
    assert SnapshotPlan(10, 10, 5, ASK_ABOVE_BYTES // 10 + 1, 5).large
    assert "later states may be larger" in SnapshotPlan(2_000, 10, 5, 1, 10).describe()


# -- generate: free disk ----------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    point = tmp_path / "disk"
    point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs", str(point)], check=True)
    yield point
    subprocess.run(["umount", "-l", str(point)], check=True)


def test_generate_refuses_a_load_larger_than_the_free_disk_before_writing(small_disk: Path) -> None:
    code, out, err = run("generate", str(small_disk / "ledger"), "--events", "1M", "--quiet")
    assert code == 1 and out == ""
    line = one_error_line(err)
    assert line.startswith(f"Error: 1,000,000 events need about 9 MB in {small_disk / 'ledger'} (9 bytes an event), ")
    assert line.endswith("is free there; make room, choose another place or generate fewer events")
    assert "but only 2.1 MB" in line or "but only 2.09 MB" in line
    assert list(small_disk.iterdir()) == []


# -- demo --store -----------------------------------------------------------------------------


def test_demo_refuses_a_store_of_other_events_unless_overwrite(store: Path, tmp_path: Path) -> None:
    before = open_store(str(store)).info()
    args = ["demo", "--store", str(store), "--out", str(tmp_path / "results"), "--events", "20k", "--repeats", "1"]
    code, out, err = run(*args, "-q")
    assert code == 1 and out == ""
    line = one_error_line(err)
    assert line.startswith(f"Error: pass --overwrite to replace {store}: it holds 5,000 events of fingerprint ")
    assert "not the demo's 20,000 events" in line
    after = open_store(str(store)).info()
    assert (after.head, after.fingerprint) == (before.head, before.fingerprint)
    assert not (tmp_path / "results").exists()
    code, out, err = run(*args, "--overwrite")
    assert code == 0, err
    assert f"generating 20,000 events into {store}" in err
    assert open_store(str(store)).info().head == 20_000
