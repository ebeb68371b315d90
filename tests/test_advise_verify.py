"""``catchup advise --verify`` on a small real Parquet store: it measures the recommendation and compares."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from bench.advise import model
from bench.advise.check import TOLERANCE, Check
from bench.advise.fit import fit_runs
from bench.results import list_runs, load_run
from tests.cli_calls import run
from tests.data import SMALL
from tests.runs import line_run, make_ledger, make_run

LINE = re.compile(r"^  (.+): predicted (\S+ \S+|never), measured (\S+ \S+|never)(?: \(([+-]\d+\.\d)%\))?$")


def test_a_check_warns_beyond_the_tolerance() -> None:
    assert Check("x", 1.0, 1.0 + TOLERANCE * 0.99).warning is None
    assert Check("x", 1.0, 1.0 + TOLERANCE * 1.01).warning is not None
    assert Check("x", 1.0, 0.8).line == "x: predicted 1 s, measured 0.8 s (-20.0%)"
    assert Check("x", None, 2.0).off and not Check("x", None, None).off


def test_verify_measures_the_recommended_interval(tmp_path: Path) -> None:
    # 200k per-event events, so a tail costs well above the fixed cost's noise (as in the notebook's test).
    store = make_ledger(tmp_path / "store", replace(SMALL, events=200_000))
    results = tmp_path / "results"
    fitted = make_run(store, results, "balances_per_event", intervals=(0, 10_000, 100_000))
    # The RTO a worst case of 60k events takes on this machine's line: the recommendation (50k) lies inside the head.
    rto_s = model.worst_staleness(fit_runs([fitted]).line, 60_000, 5_000)
    assert rto_s is not None
    code, out, err = run(
        "advise",
        str(fitted.path),
        "--rto",
        f"{rto_s:.6f}s",
        "--rate",
        "5k",
        "--verify",
        "--results",
        str(results),
        "-q",
    )
    assert code == 0, err
    recommended = re.search(r"^advice: snapshot every (\S+) events", out, re.M)
    assert recommended, out
    k = recommended.group(1)
    assert k == "50k"
    verify = out[out.index("\nverify: ") :]
    assert re.search(rf"^verify: catchup run at k={k.replace('k', ',000')} on {re.escape(store)}: ", verify, re.M)
    assert re.search(rf"^verify: catchup live at k={k.replace('k', ',000')} and 5,000 events/s: ", verify, re.M)
    lines = [LINE.match(line) for line in verify.splitlines() if line.startswith("  ")]
    assert len(lines) == 3 and all(lines), verify
    whats = [match.group(1) for match in lines if match]
    assert whats[0].startswith("warm catch-up, expected case (tail ") and whats[0].endswith(" events, no writes)")
    assert whats[1].startswith("warm catch-up, worst case (tail ")
    assert whats[2].startswith("live catch-up (tail ")
    # A warning line for each check off by more than the tolerance, and only for those.
    off = [match.group(1) for match in lines if match and match.group(4) and abs(float(match.group(4))) > 15.0]
    warned = re.findall(r"^warning: (.+): the measurement is more than 15% from the prediction", verify, re.M)
    assert warned == off
    # Both measuring runs were written beside the fitted one, and the catch-up run measured only k.
    written = [load_run(path) for path in list_runs(results)]
    assert [r.kind for r in written] == ["catchup", "catchup", "live"]
    assert [row.interval for row in written[1].summary] == [int(k.replace("k", "")) * 1000]
    assert written[1].config["batch_size"] == fitted.config["batch_size"]
    assert written[2].live is not None and written[2].live.interval == written[1].summary[0].interval


@pytest.mark.parametrize("store_given", [False, True])
def test_verify_on_a_store_too_short_for_k(tmp_path: Path, store_given: bool) -> None:
    store = make_ledger(tmp_path / "store")  # 30k events
    results = tmp_path / "results"
    # Runs on a known line, claiming the real store: the advice (k of millions) does not depend on noise.
    fitted = line_run(results, head=30_000, intervals=(0, 1_000, 10_000), store=store)
    args = ["advise", str(fitted.path), "--rto", "10s", "--rate", "5k", "--verify", "--results", str(results), "-q"]
    code, out, err = run(*args, *(["--store", store] if store_given else []))
    assert code == 1 and out.startswith("advice: snapshot every ")
    if store_given:  # the run is measured, and found to have taken no snapshot
        assert re.fullmatch(
            r"Error: run \S+ took no snapshot at k=\S+ \(its store's head is 30,000\); verify on a store holding "
            r"more events than k\n",
            err,
        ), err
        assert len(list_runs(results)) == 2
    else:
        assert err.startswith("Error: the recommended k=") and "exceeds the runs' head 30,000" in err
        assert len(list_runs(results)) == 1
