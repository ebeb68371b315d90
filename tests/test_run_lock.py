"""Run locks: a second run of one projection on one store fails at once, naming the holder,
on both backends, between store objects in one process and between processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.cli import cli
from generators import dataset_meta
from stores import open_store
from stores.errors import StoreBusy, StoreNotFound
from stores.run_lock import lock_path
from tests.data import SMALL, events_of

REPO = Path(__file__).resolve().parents[1]

# Holds the run lock of 'balances' (with one snapshot saved) until its stdin closes.
_HOLDER = """
import sys
import pyarrow as pa
from stores import open_store
with open_store(sys.argv[1]) as store, store.run_lock("balances"):
    store.snapshots().save("balances", 5, pa.table({"x": [1]}))
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture(params=["parquet", "postgres"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path, pg_store_uri) -> str:  # type: ignore[no-untyped-def]
    uri = str(tmp_path / "ledger") if request.param == "parquet" else pg_store_uri("typed")
    with open_store(uri) as store:
        store.load(events_of(SMALL).slice(0, 5_000).to_batches(), dataset_meta(SMALL))
    return uri


def start_holder(store_uri: str) -> subprocess.Popen[str]:
    """Another process holding the run lock of balances on the store, once it says so."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, store_uri],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


@pytest.fixture
def held_elsewhere(store_uri: str) -> Iterator[subprocess.Popen[str]]:
    holder = start_holder(store_uri)
    yield holder
    holder.communicate("\n", timeout=30)
    assert holder.returncode == 0


def test_a_second_store_object_is_refused_at_once_naming_the_holder(store_uri: str) -> None:
    with open_store(store_uri) as first, open_store(store_uri) as second:
        with first.run_lock("balances"):
            with pytest.raises(StoreBusy) as refused:
                with second.run_lock("balances"):
                    pytest.fail("two holders at once")
            message = str(refused.value)
            assert "projection balances on " in message and f"pid {os.getpid()} on {socket.gethostname()}" in message
            assert "wait until it has finished, or stop it" in message
            with second.run_lock("daily_volume"):  # another projection is another lock
                pass
        with second.run_lock("balances"):  # released with the block
            pass


def test_a_run_while_another_process_holds_the_lock_fails_and_leaves_its_snapshots(
    store_uri: str, held_elsewhere: subprocess.Popen[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "results"
    result = CliRunner().invoke(
        cli,
        ["run", store_uri, "-p", "balances", "--intervals", "1k", "--repeats", "1", "--out", str(out_dir), "--quiet"],
    )
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: projection balances on ")
    assert f"is being run by pid {held_elsewhere.pid} on {socket.gethostname()}" in result.stderr
    assert not out_dir.exists()
    with open_store(store_uri) as store:  # the holder's snapshot is untouched
        assert [info.position for info in store.snapshots().list("balances")] == [5]


def test_the_lock_is_released_when_the_holder_dies(store_uri: str) -> None:
    holder = start_holder(store_uri)
    holder.kill()
    holder.wait(30)
    with open_store(store_uri) as store, store.run_lock("balances"):
        pass


def test_the_parquet_lock_file_names_the_holder_while_held(tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    with open_store(str(folder)) as store:
        store.load(events_of(SMALL).slice(0, 1_000).to_batches(), dataset_meta(SMALL))
        with store.run_lock("balances"):
            recorded = json.loads(lock_path(folder, "balances").read_text())
            assert recorded["pid"] == os.getpid() and recorded["host"] == socket.gethostname()
            assert recorded["since"].endswith("+00:00") and recorded["command"]
        assert lock_path(folder, "balances").read_text() == ""  # a finished run is no holder


def test_no_lock_is_made_for_a_store_that_is_not_there(tmp_path: Path, pg_store_uri) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "nothing"
    folder.mkdir()
    for uri in (str(folder), pg_store_uri("typed")):
        with open_store(uri) as store, pytest.raises(StoreNotFound):
            store.run_lock("balances")
    assert list(folder.iterdir()) == []


def test_a_live_run_takes_the_same_lock(store_uri: str, held_elsewhere: subprocess.Popen[str], tmp_path: Path) -> None:
    from bench.live.config import LiveConfig
    from bench.live.coordinator import execute_live

    with pytest.raises(StoreBusy, match=f"pid {held_elsewhere.pid} "):
        execute_live(store_uri, "balances", LiveConfig(interval=1_000, rate=100.0), results_dir=tmp_path / "results")
    with open_store(store_uri) as store:
        assert [info.position for info in store.snapshots().list("balances")] == [5]
