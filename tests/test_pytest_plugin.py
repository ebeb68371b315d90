"""The replay_benchmark fixture as a user's own test suite sees it: a separate pytest process
that finds the plugin through the installed entry point, with pytest-benchmark's own options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generators import LedgerParams
from tests.runs import make_ledger

pytest_plugins = ["pytester"]

EVENTS = 20_000

USER_TEST = """
def test_ledger_replay(replay_benchmark):
    result = replay_benchmark({store!r}, {projection!r}, rounds=3, warmup_rounds={warmup})
    assert result.events == {events}
    assert result.median_s > 0
"""

SLOW = """
import time

from projections import Balances


class SlowBalances(Balances):
    '''The built-in balances, 20 ms slower per batch: a regression the compare must catch.'''

    name = "balances"

    def apply(self, batch):
        time.sleep(0.02)
        super().apply(batch)
"""

IMPURE = """
from projections import Balances

MADE = 0


class Drifting(Balances):
    '''Impure: each instance adds its own serial number, kept in a module global, to every balance.'''

    name = "drifting"

    def __init__(self):
        super().__init__()
        global MADE
        MADE += 1
        self.bonus = MADE

    def apply(self, batch):
        super().apply(batch)
        self.sums[self.seen] += self.bonus
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    params = LedgerParams(events=EVENTS, accounts=300, currencies=("USD", "EUR"), seed=5)
    return make_ledger(tmp_path_factory.mktemp("plugin") / "ledger", params)


def user_test(pytester: pytest.Pytester, store: str, projection: str, warmup: int = 0) -> None:
    """The same file and test name every time: pytest-benchmark compares runs by test id."""
    source = USER_TEST.format(store=store, projection=projection, warmup=warmup, events=EVENTS)
    pytester.makepyfile(test_replay=source)


def saved(storage: Path) -> list[dict]:
    """The benchmark files --benchmark-autosave wrote, oldest first (one folder per machine id)."""
    return [json.loads(path.read_text()) for path in sorted(storage.glob("*/*.json"))]


def test_a_user_test_passes_and_autosave_keeps_the_replays_metadata(
    pytester: pytest.Pytester, store: str, tmp_path: Path
) -> None:
    storage = tmp_path / "benchmarks"
    user_test(pytester, store, "balances", warmup=1)

    result = pytester.runpytest_subprocess("--benchmark-autosave", f"--benchmark-storage=file://{storage}")

    result.assert_outcomes(passed=1)
    [document] = saved(storage)
    [benchmark] = document["benchmarks"]
    assert (benchmark["fullname"], benchmark["group"]) == ("test_replay.py::test_ledger_replay", "replay balances")
    assert (benchmark["stats"]["rounds"], benchmark["stats"]["iterations"]) == (3, 1)
    info = benchmark["extra_info"]
    assert {key: info[key] for key in ("projection", "projection_class", "store", "backend", "events", "upto")} == {
        "projection": "balances",
        "projection_class": "projections.balances.Balances",
        "store": store,
        "backend": "parquet",
        "events": EVENTS,
        "upto": EVENTS,
    }
    assert len(info["dataset"]) == 16 and len(info["digest"]) == 64


def test_compare_fail_catches_a_slower_projection_of_the_same_name(
    pytester: pytest.Pytester, store: str, tmp_path: Path
) -> None:
    storage = f"--benchmark-storage=file://{tmp_path / 'benchmarks'}"
    user_test(pytester, store, "balances")
    pytester.runpytest_subprocess("--benchmark-autosave", storage).assert_outcomes(passed=1)
    slow = pytester.path / "slow_projection.py"
    slow.write_text(SLOW)
    user_test(pytester, store, f"{slow}:SlowBalances")

    result = pytester.runpytest_subprocess("--benchmark-compare", "--benchmark-compare-fail=median:10%", storage)

    output = result.stdout.str() + result.stderr.str()
    assert result.ret != 0
    assert "Performance has regressed" in output
    assert "test_ledger_replay (0001_" in output
    assert "Field 'median' has failed PercentageRegressionCheck" in output


def test_an_impure_projection_fails_with_one_line_and_saves_no_timings(
    pytester: pytest.Pytester, store: str, tmp_path: Path
) -> None:
    storage = tmp_path / "benchmarks"
    impure = pytester.path / "impure_projection.py"
    impure.write_text(IMPURE)
    user_test(pytester, store, f"{impure}:Drifting")

    result = pytester.runpytest_subprocess(
        "-ra", "-vv", "--benchmark-autosave", f"--benchmark-storage=file://{storage}"
    )

    result.assert_outcomes(failed=1)
    result.stdout.re_match_lines(
        [
            r"FAILED test_replay.py::test_ledger_replay - Failed: projection drifting is not pure: replay 2 ended in "
            r"state digest [0-9a-f]{16}, replay 1 in [0-9a-f]{16}; its state must depend only on the events it "
            r"applied \(no clock, randomness, or state shared between instances\)$"
        ]
    )
    output = result.stdout.str()
    assert "Traceback" not in output and "def test_ledger_replay" not in output
    assert output.count("is not pure") == 2  # the failure once, its summary line once: no exception chain
    assert [document["benchmarks"] for document in saved(storage)] in ([], [[]])


BROKEN = """
def test_unknown_scheme(replay_benchmark):
    replay_benchmark("mysql://root@localhost/db", "balances")


def test_missing_store(replay_benchmark):
    replay_benchmark({missing!r}, "balances")


def test_unknown_projection(replay_benchmark):
    replay_benchmark({store!r}, "no_such_projection")


def test_upto_past_the_head(replay_benchmark):
    replay_benchmark({store!r}, "balances", upto={past})


def test_no_rounds(replay_benchmark):
    replay_benchmark({store!r}, "balances", rounds=0)


def test_called_twice(replay_benchmark):
    replay_benchmark({store!r}, "balances", rounds=1, warmup_rounds=0)
    replay_benchmark({store!r}, "balances", rounds=1, warmup_rounds=0)
"""


def test_library_errors_are_one_line_failures(pytester: pytest.Pytester, store: str) -> None:
    missing = str(pytester.path / "nowhere")
    pytester.makepyfile(test_broken=BROKEN.format(store=store, missing=missing, past=EVENTS + 1))

    result = pytester.runpytest_subprocess("-ra", "-vv")

    result.assert_outcomes(failed=6)
    # -vv: the summary lines are not cut to the terminal's width.
    expected = [
        "FAILED test_broken.py::test_unknown_scheme - Failed: unknown store URI scheme 'mysql' in "
        "'mysql://root@localhost/db'; use a folder path, parquet:PATH, "
        "or postgresql://[user@]host[:port]/db[?layout=typed|jsonb&schema=NAME]",
        f"FAILED test_broken.py::test_missing_store - Failed: no event store at {missing}; "
        f"create one with: catchup generate {missing}",
        "FAILED test_broken.py::test_unknown_projection - Failed: unknown projection 'no_such_projection'; "
        "use a built-in (balances, balances_per_event, daily_volume, statement), "
        "package.module:Class or path/to/file.py:Class",
        f"FAILED test_broken.py::test_upto_past_the_head - Failed: upto={EVENTS + 1} is not a position of "
        f"store {store}; use 0 to its head, {EVENTS:,}",
        "FAILED test_broken.py::test_no_rounds - Failed: rounds=0: use a whole number of at least 1",
        "FAILED test_broken.py::test_called_twice - Failed: replay_benchmark can be called once per test "
        "(pytest-benchmark times one thing per test); parametrize the test to benchmark more",
    ]
    assert [line for line in result.stdout.lines if line.startswith("FAILED ")] == expected
    assert "Traceback" not in result.stdout.str()
