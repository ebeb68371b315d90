"""``catchup run``, ``state``, ``show`` and ``demo`` through the real CLI, on real stores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bench.cli.text import format_summary
from bench.results import list_runs, load_run
from generators import dataset_meta, generate
from projections import Balances
from projections.digest import table_digest
from stores import open_store
from tests.data import SMALL, events_of
from tests.test_cli import run

IMPURE = str(Path(__file__).parent / "user_projections" / "impure.py")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli-run") / "ledger"
    with open_store(str(path)) as store:
        store.load(generate(SMALL, batch_size=8_192), dataset_meta(SMALL))
    return str(path)


def _run_args(ledger: str, out: Path, *extra: str) -> list[str]:
    return ["run", ledger, "--intervals", "0,1k,10k", "--repeats", "2", "--warmup", "0", "--out", str(out), *extra]


def test_run_prints_the_summary_and_writes_a_run_that_show_prints_again(ledger: str, tmp_path: Path) -> None:
    code, out, err = run(*_run_args(ledger, tmp_path, "--projection", "balances", "--label", "first"))
    assert code == 0, err
    folder = Path(re.search(r"^results: (.+)$", out, re.M).group(1))  # type: ignore[union-attr]
    assert folder.parent == tmp_path and folder.name.endswith("-first")
    loaded = load_run(folder)
    assert out == format_summary(loaded) + f"\nresults: {folder}\n"
    assert [row.interval for row in loaded.summary] == [0, 1_000, 10_000]
    assert all(row.verified for row in loaded.summary)
    assert loaded.summary[1].snapshots == 30 and loaded.summary[2].snapshots == 3
    assert loaded.summary[2].worst.tail_events == 9_999
    assert loaded.summary[2].expected.tail_events == 5_000
    assert loaded.config["projection"]["name"] == "balances" and loaded.dataset == dataset_meta(SMALL).fingerprint
    assert loaded.samples.num_rows == 2 * (11 + 2 * (11 + 2 * 8))  # k=0: pass only; k>0: pass + 2 catch-ups
    assert re.search(r"^\[3/3\] k=10,000 repeat 2/2: pass 30,000 events .* expected .* worst", err, re.M)
    show_code, shown, _ = run("show", str(folder / "run.json"))
    assert (show_code, shown) == (0, format_summary(loaded) + "\n")
    assert open_store(ledger).snapshots().list("balances") == []  # the run cleans up its snapshots


def test_run_without_label_is_named_after_the_projection(ledger: str, tmp_path: Path) -> None:
    code, out, _ = run(*_run_args(ledger, tmp_path, "-p", "daily_volume", "--quiet"))
    assert code == 0
    assert [p.name.split("-", 1)[1] for p in tmp_path.iterdir()] == ["daily_volume"]


def test_a_divergence_is_recorded_reported_and_exits_4(ledger: str, tmp_path: Path) -> None:
    code, out, err = run(*_run_args(ledger, tmp_path, "--projection", f"{IMPURE}:Forgetful", "--quiet"))
    assert code == 4
    lines = err.splitlines()
    assert lines[0].startswith("Error: divergence: k=1,000 catch-up (expected) at position 29,500 (snapshot 29,000)")
    assert re.match(r"^  stream_id=\d+, currency=\w+: balance: full replay -?\d+, catch-up -?\d+$", lines[1])
    folder = Path(re.search(r"^results: (.+)$", out, re.M).group(1))  # type: ignore[union-attr]
    loaded = load_run(folder)
    failed = [c for c in loaded.verification if not c["ok"]]
    assert {(c["interval"], c["case"]) for c in failed} == {
        (1_000, "expected"),
        (1_000, "worst"),
        (10_000, "expected"),
        (10_000, "worst"),
    }
    assert all(c["failed_repeats"] == 2 and c["differing"] for c in failed)
    assert [row.verified for row in loaded.summary] == [True, False, False]
    assert any(w.startswith("divergence: k=1,000 catch-up (expected)") for w in loaded.warnings)
    assert "DIVERGED" in out


def test_state_writes_the_projection_state_at_a_position(ledger: str, tmp_path: Path) -> None:
    out_file = tmp_path / "balances.parquet"
    code, out, err = run("state", ledger, "--projection", "balances", "--at", "12k", "--out", str(out_file))
    expected = Balances()
    for batch in events_of(SMALL).slice(0, 12_000).to_batches():
        expected.apply(batch)
    written = pq.read_table(out_file)
    assert (code, err) == (0, "")
    assert table_digest(written) == expected.digest()
    assert out == (
        f"wrote {written.num_rows:,} rows of balances at position 12,000 to {out_file} (digest {expected.digest()[:16]})\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-p", "nope"],
            "Error: unknown projection 'nope'; use a built-in (balances, balances_per_event, "
            "daily_volume, statement), package.module:Class or path/to/file.py:Class",
        ),
        (
            ["-p", f"{IMPURE}:NotAProjection"],
            f"Error: projection '{IMPURE}:NotAProjection' is not a Projection "
            "subclass; subclass projections.Projection or EventProjection",
        ),
        (
            ["-p", f"{IMPURE}:Unfinished"],
            f"Error: projection '{IMPURE}:Unfinished' does not implement restore, snapshot",
        ),
        (["-p", f"{IMPURE}:Missing"], f"Error: projection '{IMPURE}:Missing': {IMPURE} has no attribute 'Missing'"),
        (["-p", "no/such/file.py:X"], "Error: projection file no/such/file.py does not exist"),
        (
            ["-p", "no_such_module:X"],
            "Error: cannot import projection module 'no_such_module': "
            "ModuleNotFoundError: No module named 'no_such_module'",
        ),
        (
            ["-p", "balances", "--intervals", "10k,abc"],
            "Error: Invalid value for '--intervals': 'abc' in '10k,abc' "
            "is not a whole number; use a list such as 0,10k,100k,1M. Try 'catchup run --help'.",
        ),
        (
            ["-p", "balances", "--intervals", "0,-5"],
            "Error: Invalid value for '--intervals': -5 in '0,-5' is "
            "negative; use 0 (no snapshots) or a positive count. Try 'catchup run --help'.",
        ),
        (
            ["-p", "balances", "--intervals", "10k,10k"],
            "Error: --intervals 10000,10000 repeats a value; list each once",
        ),
        (["-p", "balances", "--repeats", "0"], "Error: --repeats 0: use at least 1"),
        (["-p", "balances", "--warmup", "-1"], "Error: --warmup -1: use 0 or more"),
        (
            ["-p", "balances", "--label", "a/b"],
            "Error: run label 'a/b' is not allowed; use 1 to 40 of A-Z a-z 0-9 _ . - ([A-Za-z0-9_.-]{1,40})",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(ledger: str, tmp_path: Path, args: list[str], message: str) -> None:
    code, out, err = run("run", ledger, "--out", str(tmp_path / "results"), *args)
    assert (code, out, err) == (2 if "Invalid value" in message else 1, "", message + "\n")
    assert not (tmp_path / "results").exists() or list((tmp_path / "results").iterdir()) == []


def test_a_projection_that_raises_is_one_line(ledger: str, tmp_path: Path) -> None:
    code, out, err = run(*_run_args(ledger, tmp_path, "-p", f"{IMPURE}:Exploding", "--quiet"))
    assert code == 1 and out == ""
    assert re.fullmatch(
        r"Error: projection exploding failed applying events [\d,]+\.\.[\d,]+: KeyError: "
        r"'account 7'\n",
        err,
    )


def test_a_projection_whose_restore_raises_is_one_line_and_leaves_no_snapshots(ledger: str, tmp_path: Path) -> None:
    code, out, err = run(*_run_args(ledger, tmp_path, "-p", f"{IMPURE}:BadRestore", "--quiet"))
    assert (code, out, err) == (1, "", "Error: projection bad_restore failed in restore(): KeyError: 'balance'\n")
    assert open_store(ledger).snapshots().list("bad_restore") == []
    assert list(tmp_path.iterdir()) == []


def test_run_refuses_an_incomplete_store(tmp_path: Path) -> None:
    store = tmp_path / "broken"
    with open_store(str(store)) as target:
        target.load(events_of(SMALL).slice(0, 1_000).to_batches(), dataset_meta(SMALL))
    manifest = store / "catchup.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "complete": False}))
    code, out, err = run("run", str(store), "-p", "balances", "--out", str(tmp_path / "r"))
    assert (code, out) == (1, "")
    assert err == (
        f"Error: store {store} holds an incomplete load (interrupted or still running); "
        "regenerate it with: catchup generate STORE --overwrite\n"
    )


def test_state_refuses_a_position_past_the_head(ledger: str, tmp_path: Path) -> None:
    code, _, err = run("state", ledger, "-p", "balances", "--at", "40k", "--out", str(tmp_path / "s.parquet"))
    assert (code, err) == (1, "Error: --at 40000: the store's positions run 0..30,000\n")
    assert not (tmp_path / "s.parquet").exists()


def test_show_refuses_a_run_of_an_unknown_schema_version(ledger: str, tmp_path: Path) -> None:
    assert run(*_run_args(ledger, tmp_path, "-p", "balances", "--quiet"))[0] == 0
    folder = next(tmp_path.iterdir())
    document = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**document, "schema_version": 99}))
    assert run("show", str(folder)) == (
        1,
        "",
        f"Error: {folder} has results schema version 99; this catchup reads versions 1, 2, 3, 4, 5, 6\n",
    )


def test_show_refuses_a_missing_run(tmp_path: Path) -> None:
    code, _, err = run("show", str(tmp_path / "nothing"))
    assert code == 1 and err.startswith(f"Error: no run at {tmp_path / 'nothing'}")


def test_demo_generates_once_then_reuses_and_runs_both_projections(tmp_path: Path) -> None:
    args = [
        "demo",
        "--store",
        str(tmp_path / "demo"),
        "--out",
        str(tmp_path / "results"),
        "--events",
        "20k",
        "--repeats",
        "1",
    ]
    code, out, err = run(*args)
    assert code == 0, err
    assert "generating 20,000 events into" in err
    runs = sorted(p.name.split("-", 1)[1] for p in list_runs(tmp_path / "results"))
    assert runs == ["demo-balances", "demo-balances_per_event"]
    assert out.count("results: ") == 2
    # it ends with one report of both runs, HTML and Markdown, and says where
    reports = re.findall(r"^report: (.+)$", out, re.M)
    assert [Path(p).name for p in reports] == ["report.html", "report.md"]
    assert Path(reports[0]).parent.parent == tmp_path / "results" / "reports"
    assert "Catch-up compared: demo-balances vs demo-balances_per_event" in Path(reports[0]).read_text()
    assert out.endswith(f"figures: {Path(reports[0]).parent / 'figures'} (8 files, PNG and SVG)\n")
    code, out, err = run(*args, "--quiet")
    assert code == 0 and "generating" not in err
    assert len(list_runs(tmp_path / "results")) == 4
