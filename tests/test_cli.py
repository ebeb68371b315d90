from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from generators import LedgerParams, generate
from stores import open_store
from tests.cli_calls import run
from tests.data import read_all

SMALL_ARGS = ["--events", "20k", "--accounts", "300", "--currencies", "USD,EUR", "--seed", "3", "--quiet"]


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    path = tmp_path / "ledger"
    code, out, err = run("generate", str(path), *SMALL_ARGS)
    assert (code, err) == (0, "")
    return path


def test_generate_prints_one_summary_line(tmp_path: Path) -> None:
    code, out, err = run("generate", str(tmp_path / "ledger"), *SMALL_ARGS)
    assert code == 0 and err == ""
    assert re.fullmatch(
        rf"generated 20,000 events into {tmp_path}/ledger in \d+\.\d\d s \([\d.]+[kMG]? events/s\), "
        r"[\d.]+ MB, fingerprint [0-9a-f]{16}\n",
        out,
    )


def test_generate_writes_the_events_the_library_generates(generated: Path) -> None:
    params = LedgerParams(events=20_000, accounts=300, currencies=("USD", "EUR"), seed=3)
    import pyarrow as pa

    assert read_all(open_store(str(generated))).equals(pa.Table.from_batches(list(generate(params))))


def test_generate_batch_size_does_not_change_the_events(generated: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert run("generate", str(other), *SMALL_ARGS, "--batch-size", "777")[0] == 0
    assert read_all(open_store(str(other))).equals(read_all(open_store(str(generated))))


def test_generate_shows_progress_with_rates_and_eta(tmp_path: Path) -> None:
    code, out, err = run("generate", str(tmp_path / "ledger"), "--events", "20k", "--accounts", "300")
    assert code == 0
    assert re.search(r"^generate: 20,000/20,000 events 100%  interval \S+/s  overall \S+/s  elapsed \S+$", err, re.M)


def test_info_describes_the_store(generated: Path) -> None:
    code, out, err = run("info", str(generated))
    assert code == 0 and err == ""
    lines = out.splitlines()
    size = open_store(str(generated)).info().size_bytes
    fp = open_store(str(generated)).info().fingerprint
    assert lines == [
        f"store           {generated}",
        "backend         parquet (files)",
        "complete        yes",
        "head            20,000",
        f"size            {size / 1e6:,.1f} MB ({size:,} bytes)",
        f"fingerprint     {fp['id']} (catchup.generators.ledger v1: events=20000, accounts=300, seed=3, skew=1.1)",
        "currencies      USD, EUR",
        f"path            {generated.resolve()}",
        "files           1",
        "row group rows  131072",
        "compression     zstd",
    ]


def test_info_json_is_machine_readable(generated: Path) -> None:
    code, out, _ = run("info", str(generated), "--json")
    data = json.loads(out)
    assert (code, data["head"], data["complete"], data["backend"]) == (0, 20_000, True, "parquet")


def test_generate_into_a_filled_store_needs_overwrite(generated: Path) -> None:
    code, out, err = run("generate", str(generated), *SMALL_ARGS)
    assert (code, out) == (1, "")
    assert err == f"Error: store {generated} holds 20,000 events; pass --overwrite to replace them\n"
    assert run("generate", str(generated), *SMALL_ARGS, "--overwrite")[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--events", "0"], "Error: --events 0: must be a whole number of at least 1\n"),
        (["--events", "-5"], "Error: --events -5: must be a whole number of at least 1\n"),
        (
            ["--events", "abc"],
            "Error: Invalid value for '--events': 'abc' is not a whole number (suffixes k, M, G allowed: 10k, 1M). Try 'catchup generate --help'.\n",
        ),
        (
            ["--currencies", "USD,XXX"],
            "Error: --currencies: unknown ISO 4217 code XXX; use codes such as USD,EUR,GBP,JPY\n",
        ),
        (
            ["--accounts", "50k", "--events", "1k"],
            "Error: --accounts 50000 exceeds --events 1000: every account starts with an account_opened event; use at most 1000 accounts\n",
        ),
        (["--skew", "9"], "Error: --skew 9.0: use a Zipf exponent from 0 (uniform) to 5\n"),
        (
            ["--mix", "loans=3"],
            "Error: --mix item 'loans=3': use NAME=WEIGHT with NAME one of deposit, withdrawal, transfer, fx\n",
        ),
        (
            ["--batch-size", "0"],
            "Error: Invalid value for '--batch-size': '0' is below 1; use a whole number >= 1. Try 'catchup generate --help'.\n",
        ),
    ],
    ids=[
        "zero-events",
        "negative-events",
        "not-a-number",
        "unknown-currency",
        "accounts-over-events",
        "skew",
        "mix",
        "batch-size",
    ],
)
def test_bad_generate_options_are_one_line_errors_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    store = tmp_path / "ledger"
    code, out, err = run("generate", str(store), "--quiet", *args)
    assert (code, out, err) == (1 if "Invalid value" not in message else 2, "", message)
    assert not store.exists()


def test_unknown_store_uri_scheme_is_one_line_error() -> None:
    code, out, err = run("info", "mysql://root@localhost/db")
    assert (code, out) == (1, "")
    assert err == (
        "Error: unknown store URI scheme 'mysql' in 'mysql://root@localhost/db'; use a folder path, parquet:PATH, "
        "or postgresql://[user@]host[:port]/db[?layout=typed|jsonb&schema=NAME]\n"
    )


def test_info_of_a_missing_store_is_an_error(tmp_path: Path) -> None:
    code, out, err = run("info", str(tmp_path / "nope"))
    assert (code, out) == (1, "")
    assert err == f"Error: no event store at {tmp_path}/nope; create one with: catchup generate {tmp_path}/nope\n"


def test_info_says_an_interrupted_store_is_incomplete(generated: Path) -> None:
    manifest = generated / "catchup.json"
    manifest.write_text(manifest.read_text().replace('"complete": true', '"complete": false'))
    code, out, _ = run("info", str(generated))
    assert code == 0
    assert "complete        NO: an interrupted or running load; regenerate with --overwrite" in out.splitlines()


def test_corrupt_manifest_is_one_line_error(generated: Path) -> None:
    (generated / "catchup.json").write_text("{")
    code, out, err = run("info", str(generated))
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: manifest {generated}/catchup.json is damaged (") and err.count("\n") == 1


def test_missing_argument_is_a_usage_error() -> None:
    assert run("generate") == (2, "", "Error: Missing argument 'STORE'. Try 'catchup generate --help'.\n")


@pytest.mark.parametrize("command", ["generate", "info", "advise"])
def test_every_command_has_an_example_in_its_help(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0 and "Example:" in out and f"catchup {command} " in out


def test_unreachable_postgres_is_one_line_error_without_the_password() -> None:
    code, out, err = run("info", "postgresql://alice:s3cret@127.0.0.1:1/ledger")
    assert (code, out) == (1, "")
    assert err.startswith("Error: ") and err.count("\n") == 1
    assert "127.0.0.1:1" in err and "s3cret" not in err


def test_postgres_schema_without_a_store_is_an_error(pg_store_uri) -> None:
    code, out, err = run("info", pg_store_uri("typed"))
    assert (code, out) == (1, "")
    assert err.startswith("Error: no catchup event store in schema ") and err.count("\n") == 1
    assert "create one with: catchup generate" in err


def test_generate_into_postgres_and_describe_it(pg_store_uri) -> None:
    uri = pg_store_uri("jsonb")
    code, out, err = run("generate", uri, *SMALL_ARGS)
    assert (code, err) == (0, "")
    code, out, _ = run("info", uri)
    assert code == 0
    assert re.search(r"^backend +postgres \(jsonb\)$", out, re.M)
    assert re.search(r"^head +20,000$", out, re.M)
    assert re.search(r"^complete +yes$", out, re.M)
