"""``catchup live`` end to end, on real stores with real writer processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa

from bench.cli import INTERRUPTED
from bench.live.config import LiveConfig
from bench.live.coordinator import execute_live
from bench.live.model import DIVERGED
from bench.live.setup import starting_snapshot
from bench.replay import Stops, apply_batches, replay
from bench.results import list_runs, load_run
from bench.units import format_seconds
from generators import LedgerParams, dataset_meta, generate
from generators.continuation import Continuation
from projections import BalancesPerEvent
from stores import open_store
from stores.tail import TailReader
from tests.data import read_all
from tests.runs import make_ledger
from tests.test_cli import run as cli

LEDGER = LedgerParams(events=60_000, accounts=500, currencies=("USD", "EUR"), seed=11)
SLUGGISH = f"{Path(__file__).parent / 'user_projections' / 'slow.py'}:Sluggish"


def _check_log(uri: str, dead: list[int]) -> int:
    """Every position up to the head is written once or proven dead; stream versions go 1, 2, 3... per stream."""
    events = read_all(open_store(uri))
    position = events.column("position").to_numpy()
    head = open_store(uri).head()
    assert np.all(np.diff(position) > 0)
    assert sorted(set(position.tolist()) | set(dead)) == list(range(1, head + 1))
    versions: dict[int, list[int]] = defaultdict(list)
    for stream, version in zip(
        events.column("stream_id").to_pylist(), events.column("stream_version").to_pylist(), strict=True
    ):
        versions[stream].append(version)
    if not dead:  # a dead position takes its event's version with it
        assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    return head


def test_a_followable_rate_is_caught_up_verified_and_sampled(tmp_path: Path) -> None:
    uri = make_ledger(tmp_path / "ledger", LEDGER)
    config = LiveConfig(interval=20_000, rate=20_000, writers=2, max_duration_s=20, observe_s=1.0)
    outcome = execute_live(uri, "balances", config, results_dir=tmp_path / "results")
    live, series = outcome.run.live, outcome.run.timeseries
    assert outcome.verified and live is not None and series is not None
    assert live.caught_up and live.caught_up_s is not None and 0 < live.caught_up_s < 20
    assert (live.start_head, live.start_position, live.tail_events) == (60_000, 40_000, 20_000)
    assert live.writer_failures == () and live.dead_positions == ()
    assert live.rate_achieved > 0 and live.model.predicted_caught_up_s is not None
    t, head, position, appended = (series.column(c).to_numpy() for c in ("t_s", "head", "position", "appended"))
    assert np.all(np.diff(t) > 0) and np.all(np.diff(head) >= 0) and np.all(np.diff(position) >= 0)
    assert np.all(np.diff(appended) >= 0) and np.all(series.column("lag_s").to_numpy() >= 0)
    assert series.column("lag_events").to_pylist() == (head - position).tolist()
    assert len(t) >= 10  # one row per 100 ms over at least a second
    final = _check_log(uri, [])
    assert final == live.final_head and final >= 60_000 + appended[-1]
    assert load_run(outcome.run.path).live == live
    assert open_store(uri).snapshots().list("balances") == []  # removed at the end, as run does


def test_an_impossible_rate_is_reported_as_never_catching_up(tmp_path: Path) -> None:
    uri = make_ledger(tmp_path / "ledger", LEDGER)
    config = LiveConfig(
        interval=10_000, rate=60_000, writers=1, start_from="zero", max_duration_s=3, batch_size=500,
        catchup_batch_size=500,
    )  # fmt: skip
    outcome = execute_live(uri, SLUGGISH, config, results_dir=tmp_path / "results")
    live = outcome.run.live
    assert live is not None and outcome.verified
    assert not live.caught_up and live.caught_up_s is None and live.lag_after_catchup_s is None
    assert live.lag_growth_events_per_s is not None and live.lag_growth_events_per_s > 0
    assert 2.9 <= live.duration_s < 10
    # the unified phrase: within the time the run lasted (3 s asked, a little more measured), then the growth
    never = f"never caught up within {format_seconds(live.duration_s)} (lag grows by {live.lag_growth_events_per_s:,.0f} events/s)"
    assert never == live.never_caught_up and never in outcome.run.warnings


def test_a_writer_killed_mid_run_is_reported_and_nothing_is_lost_or_doubled(pg_store_uri, tmp_path: Path) -> None:
    uri = pg_store_uri("typed")
    with open_store(uri) as store:
        store.load(generate(LEDGER, batch_size=8_192), dataset_meta(LEDGER))

    def kill_first(pids: list[int]) -> None:
        threading.Timer(0.7, os.kill, (pids[0], signal.SIGKILL)).start()

    config = LiveConfig(interval=20_000, rate=20_000, writers=2, max_duration_s=20, observe_s=2.0)
    outcome = execute_live(uri, "balances_per_event", config, results_dir=tmp_path, on_writers_started=kill_first)
    live = outcome.run.live
    assert live is not None and outcome.verified
    assert live.writer_failures == ("writer 0: exited with code -9 without a word (killed?)",)
    assert any(w.startswith("a writer failed: writer 0") for w in outcome.run.warnings)
    _check_log(uri, list(live.dead_positions))


def test_commits_landing_out_of_order_never_make_the_projection_skip_an_event(pg_store_uri) -> None:
    uri = pg_store_uri("typed")
    store = open_store(uri)
    store.load(generate(LEDGER, batch_size=8_192), dataset_meta(LEDGER))
    store.begin_live()
    tailed = BalancesPerEvent()
    reader = TailReader(store, after=0, batch_size=4_096)
    apply_batches(reader.poll(), tailed, Stops(()))
    reserved: dict[str, int] = {}
    held_at: list[float] = []  # when the slow writer had its positions reserved and written, uncommitted
    hold_s, window_s = 5.0, 4.0  # samples within window_s of held_at come before its commit, whatever the load

    def append(name: str, hold: float, times: int) -> None:
        continuation = Continuation(LEDGER)
        continuation.advance_to(LEDGER.events + 1)

        def events_at(positions: np.ndarray) -> pa.RecordBatch:
            if name == "slow":
                held_at.append(time.monotonic())
            return continuation.events_at(positions)

        with store.live_appender() as appender:
            for _ in range(times):
                receipt = appender.append(300, events_at, hold_s=hold)
                reserved.setdefault(name, receipt.first)

    slow = threading.Thread(target=append, args=("slow", hold_s, 1))
    slow.start()
    while not held_at:
        time.sleep(0.01)
    fast = threading.Thread(target=append, args=("fast", 0.0, 5))
    fast.start()
    fast.join()
    samples = []  # (applied up to, visible head) while the slow writer still holds its positions
    while time.monotonic() < held_at[0] + window_s:
        apply_batches(reader.poll(), tailed, Stops(()))
        samples.append((reader.position, store.visible_head()))
        time.sleep(0.05)
    slow.join()
    while reader.position < store.visible_head():
        apply_batches(reader.poll(), tailed, Stops(()))
    assert reserved["slow"] < reserved["fast"]
    assert samples and all(applied < reserved["slow"] for applied, _ in samples)
    assert all(visible >= reserved["fast"] for _, visible in samples)  # the fast commits were there, and waited
    head = store.end_live()
    assert head == LEDGER.events + 6 * 300 and reader.dead == []
    full = BalancesPerEvent()
    replay(store, full, upto=head)
    assert tailed.digest() == full.digest()


def test_ctrl_c_stops_the_writers_and_writes_no_results(tmp_path: Path) -> None:
    uri = make_ledger(tmp_path / "ledger", LEDGER)
    results = tmp_path / "results"
    command = ["live", uri, "-p", "balances", "--interval", "10k", "--rate", "5k", "--max-duration", "60"]
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", *command, "--out", str(results)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    assert child.stderr is not None
    for line in child.stderr:
        if line.startswith("writers: "):
            break
    group = os.getpgid(child.pid)
    os.killpg(group, signal.SIGINT)  # what Ctrl-C does: the whole group gets it
    out, err = child.communicate(timeout=60)
    assert (child.returncode, out) == (130, "")
    assert err.strip().splitlines()[-1] == f"Error: {INTERRUPTED}"
    assert list_runs(results) == []
    # No writer outlives the command (multiprocessing's resource tracker may take a moment to go).
    writers = [p for p in psutil.process_iter(["pid", "cmdline"]) if _group(p.pid) == group]
    assert [p.info["cmdline"] for p in writers if "spawn_main" in " ".join(p.info["cmdline"] or [])] == []
    assert open_store(uri).snapshots().list("balances") == []


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def test_live_refuses_bad_options_in_one_line(tmp_path: Path) -> None:
    uri = make_ledger(tmp_path / "ledger", LEDGER)
    cases = [
        (["--interval", "0", "--rate", "1k"], "Error: --interval 0 is below 1; snapshot every k >= 1 events"),
        (["--interval", "1k", "--rate", "0"], "Error: --rate 0 is not above 0; give events per second, e.g. 50000"),
        (
            ["--interval", "1k", "--rate", "1k", "--writers", "0"],
            "Error: --writers 0 is out of range; use 1 to 64 writer processes",
        ),
        (
            ["--interval", "1k", "--rate", "1k", "--max-duration", "0"],
            "Error: --max-duration 0 is not above 0; give seconds",
        ),
        (
            ["--interval", "1k"],
            f"Error: --rate is needed: {uri} is one of catchup's own stores, whose writers append at that rate; "
            "only a source file is followed as its own application writes it",
        ),
    ]
    for args, message in cases:
        code, out, err = cli("live", uri, "-p", "balances", *args, "--out", str(tmp_path / "r"))
        assert (code, out, err) == (1, "", message + "\n")
    assert list_runs(tmp_path / "r") == []


def test_the_starting_snapshot_leaves_the_expected_tail() -> None:
    assert [starting_snapshot(head, 100) for head in (0, 49, 50, 149, 150, 1_000)] == [0, 0, 0, 0, 100, 900]
    assert all(50 <= head - starting_snapshot(head, 100) < 150 for head in range(50, 2_000))


def test_the_continuation_equals_the_dataset_and_goes_on_consistently() -> None:
    whole = Continuation(LEDGER).events_at(np.arange(1, LEDGER.events + 5_001))
    dataset = pa.Table.from_batches(list(generate(LEDGER, batch_size=7_000)))
    assert whole.slice(0, LEDGER.events).to_pydict() == dataset.to_pydict()
    picked = Continuation(LEDGER)
    picked.advance_to(LEDGER.events + 100)
    part = picked.events_at(np.array([LEDGER.events + 100, LEDGER.events + 4_000]))
    assert part.to_pydict() == whole.take([LEDGER.events + 99, LEDGER.events + 3_999]).to_pydict()


FORGETFUL = f"{Path(__file__).parent / 'user_projections' / 'impure.py'}:Forgetful"


def test_a_live_divergence_says_where_the_states_differ(tmp_path: Path) -> None:
    # Forgetful's counter is not in its snapshot: restored from one, it credits fewer bonuses.
    uri = make_ledger(tmp_path / "ledger", LEDGER)
    config = LiveConfig(interval=20_000, rate=5_000, writers=1, max_duration_s=10, observe_s=0.2)
    outcome = execute_live(uri, FORGETFUL, config, results_dir=tmp_path / "results")
    live = outcome.run.live
    assert not outcome.verified and live is not None and not live.verified
    assert 1 <= len(live.differing) <= 5
    assert all(re.fullmatch(r"stream_id=\d+, currency=\w+: balance: full replay -?\d+, catch-up -?\d+", line)
               for line in live.differing), live.differing  # fmt: skip
    warning = f"{DIVERGED}; where the states differ: {'; '.join(live.differing)}"
    assert warning in outcome.run.warnings
    assert load_run(outcome.run.path).live == live
