"""Cold restarts (``catchup run --cold``): a real fresh process, its files evicted, its state verified by digest."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import bench.cold
from bench.cli.text import format_summary
from bench.cold import ColdRequest, ColdRestartFailed, RestartTarget, child_command, cold_catch_up
from bench.compare.judge import CompareSettings, Side, compare
from bench.experiment import Experiment
from bench.experiment_config import ExperimentConfig
from bench.export import to_pytest_benchmark
from bench.report.write import write_report
from bench.results import COLD_PHASES, Run, load_run
from bench.results.summary import COLD_PARTS, COLD_SPLIT
from bench.runner import execute_run
from bench.units import format_seconds
from generators import dataset_meta, generate
from projections import Balances
from stores import open_store
from stores.errors import InvalidParameter
from stores.page_cache import Eviction, files_under
from stores.postgres import PG_NOT_EVICTED
from tests.conftest import with_options
from tests.data import SMALL
from tests.test_cli import run

IMPURE = str(Path(__file__).parent / "user_projections" / "impure.py")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cold") / "ledger"
    with open_store(str(path)) as store:
        store.load(generate(SMALL, batch_size=8_192), dataset_meta(SMALL))
    return str(path)


@pytest.fixture(scope="module")
def cold_run(ledger: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, list[str]]:
    config = ExperimentConfig(intervals=(0, 1_000), repeats=2, warmup=0, cold=True)
    lines: list[str] = []
    outcome = execute_run(
        ledger, "balances", config, results_dir=tmp_path_factory.mktemp("cold-runs"), emit=lines.append
    )
    return load_run(outcome.run.path), lines  # type: ignore[arg-type]


def test_a_cold_parquet_run_times_each_case_in_a_fresh_process_and_verifies_it(cold_run: tuple[Run, list[str]]) -> None:
    run_, lines = cold_run
    values = run_.sample_values()
    for phase in COLD_PHASES:
        assert (0, phase, "catchup_s") not in values  # no snapshot at k = 0: nothing to restart from
        for repeat in range(2):
            total = values[(1_000, phase, "catchup_s")][repeat]
            parts = [values[(1_000, phase, part)][repeat] for part in COLD_PARTS]
            assert all(part > 0 for part in parts), dict(zip(COLD_PARTS, parts, strict=True))
            assert 0.9 * total <= sum(parts) <= total + 1e-9  # the parts are the whole, but for the loop's own steps
        assert min(values[(1_000, phase, "evicted_files")]) >= 30 + 1  # the 30 snapshots, the events, and more
        assert min(values[(1_000, phase, "evicted_bytes")]) > 0
    assert values[(1_000, "cold_expected", "tail_events")] == [500.0, 500.0]
    assert values[(1_000, "cold_worst", "tail_events")] == [999.0, 999.0]
    ranks = [values[(1_000, phase, "order")] for phase in COLD_PHASES]
    assert sorted(ranks[0] + ranks[1]) == [1.0, 1.0, 2.0, 2.0] and ranks[0][0] != ranks[0][1]  # counterbalanced
    row = run_.interval(1_000)
    assert row is not None and row.verified
    for case in (row.expected, row.worst):
        assert case.cold is not None and case.cold.verified and case.cold.catchup_s.n == 2
    assert run_.interval(0).expected.cold is None  # type: ignore[union-attr]
    cold_checks = {c["case"]: c["ok"] for c in run_.verification if c["case"] in COLD_PHASES}
    assert cold_checks == {"cold_expected": True, "cold_worst": True}
    document = json.loads((Path(run_.path) / "run.json").read_text())  # type: ignore[arg-type]
    split = document["summary"][1]["catchup"]["expected"]["cold"]
    assert sorted(split) == sorted(["catchup_s", *COLD_PARTS, "evicted_bytes", "verified"])
    assert document["config"]["cold"] is True and document["schema_version"] >= 4  # cold arrived in version 4
    assert not [w for w in run_.warnings if w.startswith("cold restarts")]  # Parquet evicts everything
    assert re.search(
        r"k=1,000 repeat 2/2: .* cold (expected|worst) \d\.\d{4} s; cold (worst|expected) \d", "\n".join(lines)
    )


def test_the_report_shows_cold_restarts_beside_warm(cold_run: tuple[Run, list[str]], tmp_path: Path) -> None:
    run_, _ = cold_run
    (path,) = write_report([run_], tmp_path / "cold.md").reports
    text = path.read_text()
    assert "### Cold restarts" in text
    case = run_.interval(1_000).worst  # type: ignore[union-attr]
    assert case.cold is not None
    cells = ["1k", "worst", format_seconds(case.catchup_s.median), format_seconds(case.cold.catchup_s.median)]
    cells += [
        f"{case.cold.catchup_s.median / case.catchup_s.median:.1f}x",
        *(format_seconds(part(case.cold)) for _, part in COLD_SPLIT),
    ]
    assert "| " + " | ".join(cells) + " | " in text
    warm = write_report(
        [
            replace(
                run_,
                summary=[
                    replace(r, expected=replace(r.expected, cold=None), worst=replace(r.worst, cold=None))
                    for r in run_.summary
                ],
            )
        ],
        tmp_path / "warm.md",
    ).reports[0]
    assert "Cold restarts" not in warm.read_text()


def test_compare_judges_cold_catch_up_and_export_exports_it(cold_run: tuple[Run, list[str]]) -> None:
    run_, _ = cold_run
    result = compare(Side("a", (run_,)), Side("b", (run_,)), CompareSettings())
    measured = {(f.interval, f.measurement) for f in result.findings}
    assert {
        (1_000, "catch-up (cold expected)"),
        (1_000, "catch-up (cold worst)"),
        (1_000, "catch-up (worst)"),
    } <= measured
    assert all(f.slowdown == pytest.approx(1.0) for f in result.findings)
    names = {b["name"]: b for b in to_pytest_benchmark(run_)["benchmarks"]}
    assert {"cold_expected[k=1k]", "cold_worst[k=1k]", "catchup_worst[k=1k]"} <= set(names)
    cold = names["cold_worst[k=1k]"]
    assert cold["stats"]["data"] == run_.sample_values()[(1_000, "cold_worst", "catchup_s")]
    assert cold["options"]["timer"] == "monotonic" and cold["extra_info"]["tail_events"] == 999


def test_a_cold_postgres_run_verifies_and_says_what_it_could_not_evict(pg_store_uri: Any, tmp_path: Path) -> None:
    uri = pg_store_uri("typed")
    with open_store(uri) as store:
        store.load(generate(SMALL, batch_size=8_192), dataset_meta(SMALL))
    config = ExperimentConfig(intervals=(10_000,), repeats=2, warmup=0, cold=True)
    outcome = execute_run(uri, "balances", config, results_dir=tmp_path)
    run_ = load_run(outcome.run.path)  # type: ignore[arg-type]
    assert run_.warnings.count(f"cold restarts: {PG_NOT_EVICTED}") == 1  # once, not once per restart
    row = run_.summary[0]
    assert row.verified and row.worst.cold is not None and row.worst.cold.catchup_s.n == 2
    assert row.worst.cold.evicted_bytes == 0 and row.worst.cold.open_s.median > 0


def test_eviction_counts_the_files_of_a_parquet_store(ledger: str) -> None:
    folder = Path(ledger)
    files = files_under(folder)
    assert {path.relative_to(folder).parts[0] for path in files} >= {"events"}
    with open_store(ledger) as store:
        assert store.evict_page_cache() == Eviction(len(files), sum(path.stat().st_size for path in files), None)


def test_a_projection_the_fresh_process_cannot_load_fails_with_its_one_line(ledger: str) -> None:
    request = ColdRequest(RestartTarget(ledger, "no_such_projection"), head=1_000, batch_size=8_192, expected_digest="")
    with open_store(ledger) as store, pytest.raises(ColdRestartFailed) as caught:
        cold_catch_up(store, request)
    assert str(caught.value) == (
        "cold restart failed: unknown projection 'no_such_projection'; use a built-in (balances, "
        "balances_per_event, daily_volume, statement), package.module:Class or path/to/file.py:Class"
    )


def test_the_password_travels_on_stdin_never_in_the_childs_argv_or_environment(
    pg_url: str, pg_schema: str, ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cret-Pa55"
    uri = with_options(pg_url.replace("postgres@", f"postgres:{secret}@", 1), layout="typed", schema=pg_schema)
    started: list[tuple[list[str], dict[str, Any]]] = []
    real_run = subprocess.run

    def spy(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        started.append((argv, kwargs))
        return real_run(argv, **kwargs)

    monkeypatch.setattr(bench.cold.subprocess, "run", spy)
    request = ColdRequest(RestartTarget(uri, "balances"), head=1_000, batch_size=8_192, expected_digest="")
    with open_store(ledger) as store, pytest.raises(ColdRestartFailed) as caught:
        cold_catch_up(store, request)  # the schema holds no store: the child opened the URI it was sent
    assert str(caught.value).startswith(f"cold restart failed: no catchup event store in schema {pg_schema} of ")
    assert secret not in str(caught.value)
    [(argv, kwargs)] = started
    assert argv == child_command() == [sys.executable, "-m", "bench.restarted"]
    assert secret not in " ".join(argv) and not any(secret in value for value in kwargs["env"].values())
    assert json.loads(kwargs["input"])["target"]["store_uri"] == uri


def test_a_diverging_cold_restart_is_a_divergence_with_its_differing_rows(ledger: str, tmp_path: Path) -> None:
    config = ExperimentConfig(intervals=(1_000,), repeats=1, warmup=0, cold=True)
    outcome = execute_run(ledger, f"{IMPURE}:Forgetful", config, results_dir=tmp_path)
    cold = [check for check in outcome.result.checks if check.case in COLD_PHASES]
    assert [check.ok for check in cold] == [False, False]
    assert all(re.match(r"^stream_id=\d+, currency=\w+: balance: full replay", c.differing[0]) for c in cold)
    assert outcome.result.diverged and not outcome.run.summary[0].expected.cold.verified  # type: ignore[union-attr]


def test_cold_without_a_restart_target_is_refused(ledger: str) -> None:
    with open_store(ledger) as store, pytest.raises(InvalidParameter, match=r"^cold restarts need restart"):
        Experiment(store, Balances, ExperimentConfig(intervals=(1_000,), cold=True))


def test_run_cold_through_the_cli_and_show_prints_warm_against_cold(ledger: str, tmp_path: Path) -> None:
    args = ["run", ledger, "-p", "balances", "--intervals", "0,10k", "--repeats", "1", "--warmup", "0"]
    code, out, err = run(*args, "--cold", "--out", str(tmp_path), "--quiet")
    assert code == 0, err
    folder = Path(re.search(r"^results: (.+)$", out, re.M).group(1))  # type: ignore[union-attr]
    loaded = load_run(folder)
    show_code, shown, _ = run("show", str(folder))
    assert (show_code, shown) == (0, format_summary(loaded) + "\n")
    row = loaded.summary[1]
    expected_lines = [
        "cold restarts (a fresh process, the store's files evicted from the page cache first; medians):",
    ]
    for name, case in (("expected", row.expected), ("worst", row.worst)):
        assert case.cold is not None
        split = ", ".join(f"{label} {part(case.cold):.4f}" for label, part in COLD_SPLIT)
        expected_lines.append(
            f"  k=10,000 {name}: warm {case.catchup_s.median:.4f} s, cold {case.cold.catchup_s.median:.4f} s "
            f"({case.cold.catchup_s.median / case.catchup_s.median:.1f}x); cold split: {split} s"
        )
    lines = shown.splitlines()
    start = lines.index(expected_lines[0])
    assert lines[start : start + 3] == expected_lines and lines[start - 1] == ""
    assert [label for label, _ in COLD_SPLIT] == ["start", "imports", "open", "load", "restore", "tail"]


def test_a_run_without_cold_prints_no_cold_lines_and_a_schema_3_run_still_loads(ledger: str, tmp_path: Path) -> None:
    config = ExperimentConfig(intervals=(1_000,), repeats=1, warmup=0)
    outcome = execute_run(ledger, "balances", config, results_dir=tmp_path)
    assert "cold restarts" not in format_summary(outcome.run)
    run_file = Path(outcome.run.path) / "run.json"  # type: ignore[arg-type]
    document = json.loads(run_file.read_text())
    assert "cold" not in document["summary"][0]["catchup"]["expected"]
    del document["config"]["cold"]  # as a version 3 run.json was
    run_file.write_text(json.dumps({**document, "schema_version": 3}))
    loaded = load_run(run_file.parent)
    assert loaded.schema_version == 3 and loaded.summary[0].expected.cold is None
    assert loaded.summary == outcome.run.summary
