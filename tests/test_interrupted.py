"""Interrupted commands: a generate leaves a store that says so; a run leaves no results and no snapshots."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import INTERRUPTED
from generators import dataset_meta, generate
from stores import open_store
from stores.errors import StoreIncomplete
from tests.data import SMALL


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_generate_leaves_an_incomplete_store(tmp_path: Path, sig: signal.Signals) -> None:
    store = tmp_path / "ledger"
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "generate", str(store), "--events", "200M", "--accounts", "1k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    first_progress = child.stderr.readline()  # written once a second while events are being written
    assert first_progress.startswith("generate: ")
    child.send_signal(sig)
    _, err = child.communicate(timeout=60)
    assert child.returncode != 0
    if sig == signal.SIGINT:
        assert err.strip().splitlines()[-1] == f"Error: {INTERRUPTED}"

    info = open_store(str(store)).info()
    assert info.exists and not info.complete
    with pytest.raises(StoreIncomplete):
        list(open_store(str(store)).read())
    code = subprocess.run([sys.executable, "-m", "bench.cli", "info", str(store)], capture_output=True, text=True)
    assert code.returncode == 0 and "NO: an interrupted or running load" in code.stdout


def test_interrupted_run_writes_no_results_and_removes_its_snapshots(tmp_path: Path) -> None:
    store = tmp_path / "ledger"
    with open_store(str(store)) as target:
        target.load(generate(SMALL, batch_size=8_192), dataset_meta(SMALL))
    results = tmp_path / "results"
    command = ["run", str(store), "-p", "balances_per_event", "--intervals", "1k", "--repeats", "1000", "--yes"]
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", *command, "--out", str(results)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    assert child.stderr.readline().startswith("reference: ")
    assert child.stderr.readline().startswith("[1/1] k=1,000 warm-up 1: ")  # snapshots exist by now
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert (child.returncode, out) == (130, "")
    assert err.strip().splitlines()[-1] == f"Error: {INTERRUPTED}"
    assert not results.exists() or list(results.iterdir()) == []
    assert open_store(str(store)).snapshots().list("balances_per_event") == []


def test_ctrl_c_during_a_postgres_load_exits_130_and_leaves_it_incomplete(
    pg_store_uri, pg_url: str, pg_schema: str
) -> None:  # type: ignore[no-untyped-def]
    uri = pg_store_uri("typed")
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "generate", uri, "--events", "2M", "--accounts", "1k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    # Once a second while the COPY streams; the status row (complete = false) is committed by then.
    assert child.stderr.readline().startswith("generate: ")
    assert _status(pg_url, pg_schema) == [(False,)]
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert err.strip().splitlines()[-1] == f"Error: {INTERRUPTED}"
    assert "canceling statement" not in err and "Traceback" not in err
    assert _status(pg_url, pg_schema) == [(False,)]
    code = subprocess.run([sys.executable, "-m", "bench.cli", "info", uri], capture_output=True, text=True)
    assert code.returncode == 0 and "NO: an interrupted or running load" in code.stdout
    with pytest.raises(StoreIncomplete):
        open_store(uri).read()


def _status(pg_url: str, schema: str) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        return conn.execute(f'SELECT complete FROM "{schema}".catchup_store').fetchall()
