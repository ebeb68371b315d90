"""A generate killed half way leaves a store that says so and refuses to be read."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stores import open_store
from stores.errors import StoreIncomplete


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
        assert err.strip().splitlines()[-1] == "Error: interrupted; a store being written is left marked incomplete"

    info = open_store(str(store)).info()
    assert info.exists and not info.complete
    with pytest.raises(StoreIncomplete):
        list(open_store(str(store)).read())
    code = subprocess.run([sys.executable, "-m", "bench.cli", "info", str(store)], capture_output=True, text=True)
    assert code.returncode == 0 and "NO: an interrupted or running load" in code.stdout
