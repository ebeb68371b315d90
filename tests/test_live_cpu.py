"""The live model's CPU: the /proc meter on real processes, CPU_RULE on typed inputs, a real live run's record."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from bench.cli.text import format_live_summary
from bench.live.config import LiveConfig
from bench.live.coordinator import execute_live
from bench.live.cpu import CpuMeter, local_server, server_s, window
from bench.live.model import live_warnings
from bench.results import LiveSummary, ResultsError, load_run
from bench.results.live import (
    BUSY_SETUP_CORES,
    CPU_RULE,
    MIN_CORES_LEFT,
    CpuWindow,
    LiveCpu,
    LiveModel,
    busy_setup,
    cpu_correction,
    replay_share,
)
from bench.results.parse import Malformed
from generators import LedgerParams, dataset_meta, generate
from stores import open_store
from tests.runs import make_ledger
from tests.test_cli import run as cli

LEDGER = LedgerParams(events=60_000, accounts=500, currencies=("USD", "EUR"), seed=11)
# From zero, a catch-up of a few tenths of a second: long enough for the writers' CPU to show in /proc's ticks.
LONGER = LedgerParams(events=400_000, accounts=2_000, currencies=("USD", "EUR"), seed=11)
SPIN = "import time\nend = time.monotonic() + 5\nwhile time.monotonic() < end:\n    pass\n"


def _child(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def _metered(pid: int, seconds: float) -> CpuWindow:
    meter = CpuMeter([pid])
    start = meter.read()
    time.sleep(seconds)
    return window(start, meter.read())


# --- the meter ---------------------------------------------------------------------------


def test_a_spinning_writer_shows_as_busy_cores_and_a_sleeping_one_as_none() -> None:
    busy, idle = _child(SPIN), _child("import time; time.sleep(5)")
    try:
        time.sleep(0.2)  # both past their start-up
        spinning, sleeping = _metered(busy.pid, 0.5), _metered(idle.pid, 0.5)
    finally:
        for child in (busy, idle):
            child.kill()
            child.wait()
    assert 0.45 <= spinning.seconds < 2 and spinning.writers > 0.3
    assert sleeping.writers < 0.05
    assert spinning.projection < 0.3  # this process slept meanwhile
    assert spinning.server is None and spinning.other >= 0


def test_a_writer_that_ends_inside_the_window_keeps_what_it_used() -> None:
    child = _child("import time\nend = time.monotonic() + 0.6\nwhile time.monotonic() < end:\n    pass\n")
    meter = CpuMeter([child.pid])
    start = meter.read()
    time.sleep(0.4)
    middle = meter.read()  # the last reading that sees it alive
    child.wait()
    end = meter.read()
    assert end.writers[child.pid] == middle.writers[child.pid] > start.writers[child.pid]
    assert window(start, end).writers > 0.2


def test_a_backend_that_starts_and_ends_inside_the_window_is_counted(pg_url: str) -> None:
    # Never alive at a reading: only the postmaster's children times can hold its CPU.
    before = server_s()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        started = time.monotonic()
        conn.execute("select count(*) from generate_series(1, 5000000)").fetchone()
        worked = time.monotonic() - started
    time.sleep(0.1)  # the postmaster reaps it
    assert worked > 0.2  # enough work to tell from tick rounding
    assert server_s() - before > 0.5 * worked


def test_a_local_server_is_one_on_this_machine() -> None:
    assert local_server("postgresql://postgres@127.0.0.1:5432/test?schema=s")
    assert local_server("postgresql://u:secret@localhost/test")
    assert local_server("postgresql:///test?host=/var/run/postgresql")
    assert local_server("postgresql://[::1]:5432/test")
    assert not local_server("postgresql://db.example.com/test")
    assert not local_server("postgresql:///test?host=db.example.com")
    assert not local_server("/data/ledger") and not local_server("parquet:/data/ledger")


# --- CPU_RULE ------------------------------------------------------------------------------

MODEL = LiveModel(
    replay_rate=1_000_000.0,
    load_s=0.1,
    tail_events=2_000_000,
    append_rate=100_000.0,
    predicted_caught_up_s=None,
    measured_caught_up_s=None,
    snapshot_s=0.0,
)
SETUP = CpuWindow(seconds=2.0, projection=1.0, writers=0.0, server=None, other=0.0)


def test_no_correction_when_a_whole_core_left_is_enough_for_the_read_path() -> None:
    # F = 0.8: one core is always free, and one core is all this read path needs.
    cpu = LiveCpu(2, SETUP, CpuWindow(seconds=2.5, projection=1.0, writers=0.6, server=None, other=0.2))
    rule = cpu_correction(MODEL, 1_000_000, cpu)
    assert (rule.correction, rule.cores_needed, rule.replay_share) == ("none", 1.0, 1.0)
    assert rule.cores_left == pytest.approx(1.2)
    assert rule.effective_replay_rate == 1_000_000.0
    assert rule.corrected_caught_up_s == pytest.approx((0.1 + 2.0) / 0.9)


def test_the_foreign_load_takes_whole_cores_so_a_read_path_on_two_cores_slows_when_the_average_says_enough() -> None:
    # Needs 1.5 cores; the writers take 0.4 on average: 2 cores for 60% of the time, 1 core for 40% of it.
    # The average left, 1.6 cores, would say enough; a whole core taken leaves it 1/1.5 of its rate.
    setup = replace(SETUP, projection=1.5)
    cpu = LiveCpu(2, setup, CpuWindow(seconds=2.5, projection=1.3, writers=0.4, server=None, other=0.0))
    rule = cpu_correction(MODEL, 1_000_000, cpu)
    share = 0.6 * 1.0 + 0.4 * (1 / 1.5)
    assert rule.correction == "cpu" and rule.cores_left == pytest.approx(1.6)
    assert rule.replay_share == pytest.approx(share)
    assert rule.effective_replay_rate == pytest.approx(1e6 * share)
    rate = 1e6 * share
    assert rule.corrected_caught_up_s == pytest.approx((0.1 / share + 2_000_000 / rate) / (1 - 100_000 / rate))


def test_beyond_one_core_taken_the_read_path_keeps_a_share_of_the_one_core_left() -> None:
    cpu = LiveCpu(2, SETUP, CpuWindow(seconds=3.0, projection=0.6, writers=1.1, server=None, other=0.5))
    rule = cpu_correction(MODEL, 1_000_000, cpu)  # F = 1.6: 1 core for 40% of the time, none for 60%
    assert rule.correction == "cpu" and rule.cores_left == pytest.approx(0.4)
    assert rule.replay_share == pytest.approx(0.4)
    assert rule.effective_replay_rate == pytest.approx(400_000.0)
    assert rule.corrected_caught_up_s == pytest.approx((0.1 / 0.4 + 2_000_000 / 400_000) / (1 - 100_000 / 400_000))


def test_the_snapshots_every_k_events_slow_the_replay_rate_before_any_correction() -> None:
    cpu = LiveCpu(2, SETUP, CpuWindow(seconds=2.5, projection=1.0, writers=0.2, server=None, other=0.0))
    rule = cpu_correction(replace(MODEL, snapshot_s=0.05), 100_000, cpu)  # 1/μ' = 1/1M + 0.05/100k
    assert rule.correction == "none" and rule.effective_replay_rate == pytest.approx(1 / (1e-6 + 5e-7))


def test_the_server_serving_the_projection_is_not_counted_against_it_twice() -> None:
    setup = replace(SETUP, projection=0.8, server=0.4)  # the read path needs 1.2 cores
    # Half the setup's projection CPU: half the server's setup share (0.2) served it, 0.6 served the writers.
    up = CpuWindow(seconds=3.0, projection=0.4, writers=0.4, server=0.8, other=0.2)
    rule = cpu_correction(MODEL, 1_000_000, LiveCpu(2, setup, up))
    assert rule.cores_needed == pytest.approx(1.2) and rule.cores_left == pytest.approx(2 - 0.4 - 0.6 - 0.2)
    # F = 1.2: one core for 80% of the time (1/1.2 of the rate), none for 20%.
    assert rule.correction == "cpu" and rule.replay_share == pytest.approx(0.8 / 1.2)
    assert rule.effective_replay_rate == pytest.approx(1e6 * 0.8 / 1.2)


def test_a_machine_busy_with_others_leaves_the_projection_a_sliver_not_nothing() -> None:
    cpu = LiveCpu(2, SETUP, CpuWindow(seconds=3.0, projection=0.1, writers=1.5, server=None, other=0.9))
    rule = cpu_correction(MODEL, 1_000_000, cpu)
    assert rule.cores_left == MIN_CORES_LEFT and rule.effective_replay_rate == pytest.approx(50_000.0)
    assert rule.corrected_caught_up_s is None  # λ = 100k >= μ_eff: never
    assert "C − ⌈F⌉ cores for the fraction frac(F)" in CPU_RULE and f"at least {MIN_CORES_LEFT:g} / needed" in CPU_RULE


@pytest.mark.parametrize(
    ("cores", "foreign", "needed", "share"),
    [
        (2, 0.0, 1.5, 1.0),  # nothing taken: the setup's rate
        (2, 1.0, 1.5, 1 / 1.5),  # one core taken throughout
        (2, 0.5, 0.9, 1.0),  # a read path of under a core never misses one of two
        (4, 2.5, 2.0, 0.5 * 1.0 + 0.5 * 0.5),  # 2 cores half the time, 1 the other half
        (2, 3.0, 1.0, MIN_CORES_LEFT),  # more than the machine: the sliver
    ],
)
def test_replay_share_against_hand_computed_values(cores: int, foreign: float, needed: float, share: float) -> None:
    assert replay_share(cores, foreign, needed) == pytest.approx(share)


# --- a real live run -----------------------------------------------------------------------


def test_a_setup_shared_with_other_programs_is_warned_of_and_a_quiet_one_is_not() -> None:
    catchup = CpuWindow(seconds=2.5, projection=1.0, writers=0.2, server=None, other=0.0)
    quiet = LiveCpu(2, replace(SETUP, other=BUSY_SETUP_CORES), catchup)
    busy = LiveCpu(2, replace(SETUP, other=0.6), catchup)
    assert busy_setup(quiet) is None
    assert busy_setup(busy) == (
        "the setup replay that measured μ shared the machine with other programs (0.60 of 2 cores): μ, and every "
        "prediction made from it, is that of a busy machine; run live on a quiet one"
    )


def _check_recorded(path: Path) -> LiveSummary:
    run = load_run(path)
    live = run.live
    assert live is not None and live.verified
    model, cpu = live.model, live.model.cpu
    assert cpu is not None and cpu.cores >= 1 and model.correction in ("none", "cpu")
    assert cpu.setup.seconds > 0 and cpu.setup.projection > 0.2  # the setup replay kept this process busy
    assert cpu.catchup.seconds > 0 and cpu.catchup.writers > 0  # the writers appended meanwhile
    assert model.snapshot_s is not None and model.snapshot_s > 0
    assert model.effective_replay_rate is not None and model.effective_replay_rate <= model.replay_rate
    rule = cpu_correction(model, live.interval, cpu)
    assert (model.correction, model.effective_replay_rate, model.corrected_caught_up_s) == (
        rule.correction,
        rule.effective_replay_rate,
        rule.corrected_caught_up_s,
    )
    if model.correction == "none":
        assert model.corrected_caught_up_s == model.predicted_caught_up_s
    data = json.loads((path / "run.json").read_text())
    assert data["schema_version"] >= 4 and set(data["live"]["model"]["cpu"]) == {"cores", "setup", "catchup"}

    def split(part: CpuWindow) -> str:
        server = "-" if part.server is None else f"{part.server:.2f}"
        return f"projection {part.projection:.2f}, writers {part.writers:.2f}, server {server}, other {part.other:.2f}"

    corrected = model.corrected_caught_up_s
    line = (
        f"model cpu: {cpu.cores} cores; setup {split(cpu.setup)}; catch-up {split(cpu.catchup)}; "
        f"correction {model.correction}: replay rate {model.effective_replay_rate:,.0f} events/s, corrected "
        + ("never" if corrected is None else f"{corrected:.3f} s")
    )
    code, out, _ = cli("show", str(path))
    assert code == 0 and line in out.splitlines()
    assert line in format_live_summary(run).splitlines()
    return live


def test_a_live_run_on_parquet_records_its_cpu_and_correction_and_show_prints_them(tmp_path: Path) -> None:
    uri = make_ledger(tmp_path / "ledger", LONGER)
    config = LiveConfig(interval=100_000, rate=50_000, writers=2, start_from="zero", max_duration_s=30, observe_s=0.5)
    outcome = execute_live(uri, "balances_per_event", config, results_dir=tmp_path / "results")
    live = _check_recorded(outcome.run.path)
    assert live.model.cpu is not None and live.model.cpu.setup.server is None  # no server to meter
    assert open_store(uri).snapshots().list("balances_per_event.setup-delta") == []  # δ's scratch saves are gone
    cpu = live.model.cpu
    busy = replace(live, model=replace(live.model, cpu=replace(cpu, setup=replace(cpu.setup, other=0.9))))
    warning = busy_setup(busy.model.cpu)
    assert warning is not None and warning in live_warnings(busy)  # the run's warnings carry it


def test_a_live_run_on_a_local_postgres_meters_its_server(pg_store_uri, tmp_path: Path) -> None:
    uri = pg_store_uri("typed")
    with open_store(uri) as store:
        store.load(generate(LONGER, batch_size=8_192), dataset_meta(LONGER))
    config = LiveConfig(interval=100_000, rate=20_000, writers=2, start_from="zero", max_duration_s=30, observe_s=0.5)
    outcome = execute_live(uri, "balances", config, results_dir=tmp_path)
    live = _check_recorded(outcome.run.path)
    cpu = live.model.cpu
    assert cpu is not None and cpu.setup.server is not None and cpu.catchup.server is not None
    assert cpu.setup.server > 0 and cpu.catchup.server > 0  # it served the reads, then the writers' commits too


# --- older runs ----------------------------------------------------------------------------


def test_a_schema_3_live_run_loads_with_the_cpu_fields_null(tmp_path: Path) -> None:
    uri = make_ledger(tmp_path / "ledger", LEDGER)
    config = LiveConfig(interval=20_000, rate=5_000, writers=1, max_duration_s=10, observe_s=0.2)
    run = execute_live(uri, "balances", config, results_dir=tmp_path / "results").run
    run_json = run.path / "run.json"
    data = json.loads(run_json.read_text())
    for key in ("snapshot_s", "cpu", "correction", "effective_replay_rate", "corrected_caught_up_s"):
        del data["live"]["model"][key]
    run_json.write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=r"live\.model\.correction is missing"):  # version 4 records them
        load_run(run.path)
    run_json.write_text(json.dumps({**data, "schema_version": 3}))
    old = load_run(run.path)
    assert old.live is not None and run.live is not None
    model = old.live.model
    assert (model.snapshot_s, model.cpu, model.correction, model.effective_replay_rate) == (None, None, None, None)
    assert model.corrected_caught_up_s is None and model.replay_rate == run.live.model.replay_rate
    shown = format_live_summary(old)
    assert "model cpu:" not in shown and "model: replay rate" in shown
    recorded = run.live.to_json()
    with pytest.raises(Malformed, match=r"live\.model\.correction is 'gpu', not one of none, cpu"):
        LiveSummary.from_json({**recorded, "model": {**recorded["model"], "correction": "gpu"}})
