"""A damaged run is refused on load, by every command, in one line naming the file and the value.

The runs are real (``catchup run`` over a real Parquet store, through tests.runs); each
test damages a copy of one, in run.json or in samples.parquet, the way a hand edit, a
partial copy or another tool would, and asks every command that reads runs about it.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.results import RUN_FILE, SAMPLES_FILE, SAMPLES_SCHEMA, ResultsError, load_run, write_run
from bench.results.tables import PASS_METRICS
from stores.errors import InvalidParameter
from tests.runs import make_ledger, make_run
from tests.test_cli import run as cli

Rows = list[dict[str, Any]]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real catch-up run: k = 0 and k = 1,000 over 30,000 events, five repeats (enough for compare to decide)."""
    folder = tmp_path_factory.mktemp("validation")
    run = make_run(make_ledger(folder / "ledger"), folder / "results", intervals=(0, 1_000), repeats=5)
    assert run.path is not None
    return run.path


def _json(change: Callable[[dict[str, Any]], object]) -> tuple[str, Callable[[Path], None]]:
    def damage(folder: Path) -> None:
        data = json.loads((folder / RUN_FILE).read_text())
        change(data)
        (folder / RUN_FILE).write_text(json.dumps(data))  # NaN and Infinity as Python's json writes them

    return RUN_FILE, damage


def _samples(change: Callable[[Rows], object]) -> tuple[str, Callable[[Path], None]]:
    def damage(folder: Path) -> None:
        rows = pq.read_table(folder / SAMPLES_FILE).to_pylist()
        change(rows)
        pq.write_table(pa.Table.from_pylist(rows, schema=SAMPLES_SCHEMA), folder / SAMPLES_FILE)

    return SAMPLES_FILE, damage


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return change


def _negate_every_value(rows: Rows) -> None:
    for row in rows:
        row["value"] = -row["value"]


def _first_position(rows: Rows) -> int:
    return next(index for index, row in enumerate(rows) if row["metric"] == "snapshot_position")


def _drop(path: tuple[Any, ...]) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        del data[path[-1]]

    return change


COUNT = "not a non-negative integer"
AMOUNT = "not a non-negative finite number"
# Row 0 of a real run's samples is k=0 repeat 0 snapshot_pass replay_s, row 3 its events; damaged()
# checks that before damaging them.
DAMAGES: dict[str, tuple[tuple[str, Callable[[Path], None]], str | Callable[[Rows], str]]] = {
    "the issue's summary": (
        _json(_set(("summary",), [{"interval": "x"}])),
        f"summary[0].interval is 'x' (str), {COUNT}",
    ),
    "negative interval": (_json(_set(("summary", 0, "interval"), -1)), f"summary[0].interval is -1 (int), {COUNT}"),
    "bool where a count": (
        _json(_set(("summary", 1, "snapshots"), True)),
        f"summary[1].snapshots is True (bool), {COUNT}",
    ),
    "fractional count": (
        _json(_set(("summary", 1, "catchup", "expected", "tail_events"), 499.5)),
        f"summary[1].catchup.expected.tail_events is 499.5 (float), {COUNT}",
    ),
    "negative timing": (
        _json(_set(("summary", 0, "replay_s", "median"), -0.5)),
        f"summary[0].replay_s.median is -0.5 (float), {AMOUNT}",
    ),
    "NaN timing": (
        _json(_set(("summary", 1, "catchup", "worst", "catchup_s", "max"), math.nan)),
        f"summary[1].catchup.worst.catchup_s.max is nan (float), {AMOUNT}",
    ),
    "infinite timing": (
        _json(_set(("summary", 0, "full_replay_s"), math.inf)),
        f"summary[0].full_replay_s is inf (float), {AMOUNT}",
    ),
    "negative speedup": (
        _json(_set(("summary", 1, "catchup", "expected", "speedup"), -1.0)),
        f"summary[1].catchup.expected.speedup is -1.0 (float), {AMOUNT}",
    ),
    "missing key": (_json(_drop(("summary", 1, "snapshot_bytes"))), "summary[1].snapshot_bytes is missing"),
    "no repeats": (
        _json(_set(("summary", 0, "replay_s", "n"), 0)),
        "summary[0].replay_s.n is 0, not a count of repeats (at least 1)",
    ),
    "a check without its verdict": (_json(_drop(("verification", 0, "ok"))), "verification[0].ok is missing"),
    "a verdict as text": (
        _json(_set(("verification", 0, "ok"), "false")),
        "verification[0].ok is 'false' (str), not true or false",
    ),
    "a warning that is no text": (_json(_set(("warnings",), [3])), "warnings[0] is 3 (int), not a string"),
    "negated samples": (
        _samples(_negate_every_value),
        lambda rows: f"samples[0].value is {-rows[0]['value']!r} (float), {AMOUNT}",
    ),
    "NaN sample": (_samples(_set((3, "value"), math.nan)), f"samples[3].value is nan (float), {COUNT}"),
    "infinite sample": (_samples(_set((0, "value"), math.inf)), f"samples[0].value is inf (float), {AMOUNT}"),
    "negative sample interval": (
        _samples(_set((0, "interval"), -1_000)),
        f"samples[0].interval is -1000 (int), {COUNT}",
    ),
    "fractional position": (
        _samples(lambda rows: _set((_first_position(rows), "value"), 14_999.5)(rows)),
        lambda rows: f"samples[{_first_position(rows)}].value is 14999.5 (float), {COUNT}",
    ),
    "unknown phase": (
        _samples(_set((0, "phase"), "warmup")),
        "samples[0].phase is 'warmup', not one of snapshot_pass, catchup_expected, catchup_worst, cold_expected, cold_worst",
    ),
    "unknown metric": (
        _samples(_set((0, "metric"), "replay_ms")),
        f"samples[0].metric is 'replay_ms', not a metric of snapshot_pass ({', '.join(PASS_METRICS)})",
    ),
    "wrong unit": (_samples(_set((0, "unit"), "ms")), "samples[0].unit is 'ms', not 's', the unit of replay_s"),
}


def damaged(good: Path, into: Path, case: str) -> tuple[Path, str]:
    """A damaged copy of the good run in ``into``, and the one line every command must print for it."""
    (file_name, damage), what = DAMAGES[case]
    rows = pq.read_table(good / SAMPLES_FILE).to_pylist()
    assert [rows[0]["metric"], rows[3]["metric"]] == ["replay_s", "events"]
    folder = into / "damaged-run"
    shutil.copytree(good, folder)
    damage(folder)
    reason = what(rows) if callable(what) else what
    return folder, f"Error: {folder / file_name} is damaged ({reason}); it is not a {file_name} this catchup wrote\n"


def commands(run: Path, good: Path, out: Path) -> dict[str, list[str]]:
    return {
        "show": ["show", str(run)],
        "report": ["report", str(run), "--out", str(out / "report.html")],
        "compare": ["compare", str(good), str(run)],
        "baseline save": ["baseline", "save", str(run), "main", "--results", str(out / "results")],
        "export": ["export", str(run), "--out", str(out / "export.json")],
    }


@pytest.mark.parametrize("case", DAMAGES)
@pytest.mark.parametrize("command", ["show", "report", "compare", "baseline save", "export"])
def test_every_command_refuses_a_damaged_run_in_one_line(good: Path, tmp_path: Path, case: str, command: str) -> None:
    run, line = damaged(good, tmp_path, case)
    out = tmp_path / "out"
    code, stdout, stderr = cli(*commands(run, good, out)[command])
    assert (code, stderr, stdout) == (1, line, "")
    assert not out.exists()  # no report, no export, no baseline: nothing written


@pytest.mark.parametrize(
    "case", ["the issue's summary", "negative timing", "negated samples", "a check without its verdict"]
)
def test_compare_against_a_baseline_damaged_after_saving_is_refused(
    good: Path, tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATCHUP_MACHINE", "test-machine")
    results = tmp_path / "results"
    code, _, stderr = cli("baseline", "save", str(good), "main", "--results", str(results))
    assert (code, stderr) == (0, "")
    saved = results / "baselines" / "test-machine" / "main" / "balances"
    (file_name, damage), what = DAMAGES[case]
    rows = pq.read_table(saved / SAMPLES_FILE).to_pylist()
    damage(saved)
    reason = what(rows) if callable(what) else what
    code, stdout, stderr = cli("compare", "baseline:main", str(good), "--results", str(results))
    assert (code, stdout) == (1, "")
    assert stderr == f"Error: {saved / file_name} is damaged ({reason}); it is not a {file_name} this catchup wrote\n"


def test_the_good_run_loads_and_every_command_takes_it(good: Path, tmp_path: Path) -> None:
    """The checks refuse nothing catchup writes: the same commands succeed on the undamaged run."""
    assert load_run(good).verified
    for command, args in commands(good, good, tmp_path).items():
        code, _, stderr = cli(*args)
        assert code == 0, (command, stderr)


def test_a_library_caller_gets_the_neutral_error(good: Path, tmp_path: Path) -> None:
    run, line = damaged(good, tmp_path, "negated samples")
    with pytest.raises(ResultsError) as caught:
        load_run(run)
    assert f"Error: {caught.value}\n" == line


@pytest.mark.parametrize(
    ("value", "reason"),
    [(-0.25, f"samples[0].value is -0.25 (float), {AMOUNT}"), (math.nan, f"samples[0].value is nan (float), {AMOUNT}")],
)
def test_a_run_that_load_would_refuse_is_never_written(good: Path, tmp_path: Path, value: float, reason: str) -> None:
    run = load_run(good)
    rows = run.samples.to_pylist()
    rows[0]["value"] = value
    with pytest.raises(InvalidParameter, match="^" + re.escape(f"samples do not fit the samples schema ({reason})")):
        write_run(
            tmp_path / "results",
            label="again",
            created_at=_created(run.created_at),
            config=run.config,
            environment=run.environment,
            store=run.store,
            dataset=run.dataset,
            summary=run.summary,
            verification=run.verification,
            warnings=run.warnings,
            samples=pa.Table.from_pylist(rows, schema=SAMPLES_SCHEMA),
        )
    assert not (tmp_path / "results").exists()


def _created(iso: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(iso)
