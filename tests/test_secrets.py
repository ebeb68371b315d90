"""A password never shows: not in any output of any command that takes a store URI, nor in
any file a command writes, whatever characters it holds, encoded or not.

The server trusts local connections, so a wrong password still connects: a command given a
well-formed URI runs to the end, and its results and reports are searched too.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from click.testing import CliRunner

from bench.cli import cli
from stores.uri import redact

# Unencoded: libpq and urlsplit would split these URIs elsewhere than meant (or refuse them).
RAW = ["Ab#Secret9", "Ab/Secret9", "Ab?Secret9", "Ab@Secret9", "Ab%Secret9", "Ab Secret9", "Äb€Sécret9"]


def fragments(password: str) -> list[str]:
    """What must not appear: the password, encoded or not, and its part after the special character
    (long enough never to turn up by chance in a report's embedded figures, which 'Ab/' does)."""
    tail = password[3:]
    return sorted({password, quote(password, safe=""), tail, quote(tail, safe="")})


def uri_with(pg_url: str, password: str, schema: str, *, encode: bool) -> str:
    parts = urlsplit(pg_url)
    user = parts.username or "postgres"
    secret = quote(password, safe="") if encode else password
    netloc = f"{user}:{secret}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, parts.path, f"schema={schema}", ""))


def commands(uri: str, folder: Path) -> list[list[str]]:
    results = str(folder / "results")
    return [
        ["generate", uri, "--events", "20k", "--accounts", "300", "--quiet"],
        ["info", uri],
        ["info", uri, "--json"],
        ["verify", uri],
        ["clean", uri],
        ["run", uri, "-p", "balances", "--intervals", "0,5k", "--repeats", "1", "--warmup", "0", "--out", results, "-q"],
        ["state", uri, "-p", "balances", "--out", str(folder / "state.parquet")],
        ["live", uri, "-p", "balances", "--interval", "5k", "--rate", "2k", "--writers", "1",
         "--max-duration", "3", "--observe", "0", "--out", results, "-q"],
        ["demo", "--store", uri, "--events", "20k", "--repeats", "1", "--out", results, "--overwrite", "-q"],
    ]  # fmt: skip


def search(folder: Path, secrets: list[str]) -> list[str]:
    """Every file under ``folder`` holding a secret, as 'path: secret'."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {secret}" for secret in secrets if secret.encode() in data]
    return found


@pytest.mark.parametrize("encode", [False, True], ids=["raw", "percent-encoded"])
@pytest.mark.parametrize("password", RAW)
def test_no_command_shows_the_password(
    password: str, encode: bool, pg_url: str, pg_schema: str, tmp_path: Path
) -> None:
    uri = uri_with(pg_url, password, pg_schema, encode=encode)
    secrets = fragments(password)
    runner = CliRunner()
    for args in commands(uri, tmp_path):
        result = runner.invoke(cli, args)
        shown = result.stdout + result.stderr
        leaked = [secret for secret in secrets if secret in shown]
        assert not leaked, f"catchup {args[0]} showed {leaked}: {shown}"
        assert "Traceback" not in shown, shown
        if result.exit_code not in (0, 4):  # a refused URI: one line, naming the redacted URI
            lines = result.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    if encode:  # the runs' report, from their run.json files
        result = runner.invoke(
            cli, ["report", *map(str, (tmp_path / "results").glob("*-balances")), "--format", "html", "--format", "md"]
        )
        assert result.exit_code == 0, result.stderr
        assert not [secret for secret in secrets if secret in result.stdout + result.stderr]
    assert search(tmp_path, secrets) == []
    if encode:  # well-formed: the server accepted it and the commands wrote what they write
        assert (tmp_path / "state.parquet").exists()
        assert len(list((tmp_path / "results").glob("*/run.json"))) >= 4


@pytest.mark.parametrize("password", RAW)
def test_redact_masks_the_password_of_a_raw_uri(password: str) -> None:
    uri = f"postgresql://u:{password}@127.0.0.1:5432/test?schema=s"
    shown = redact(uri)
    assert shown == "postgresql://u:***@127.0.0.1:5432/test?schema=s"


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://u@h/db?password=a#b&c", "postgresql://u@h/db?password=***"),
        ("postgresql://u@h/db?password=a&b&layout=typed", "postgresql://u@h/db?password=***&layout=typed"),
        ("postgresql://Ab@Sec/ret9@h/db", "postgresql://***@h/db"),
        ("postgresql:/u:Ab#S@h/db", "postgresql:***@h/db"),
        ("postgresql://u:p@[::1]:5432/db", "postgresql://u:***@[::1]:5432/db"),
        ("postgresql://u:p@h1:5432,h2:5433/db", "postgresql://u:***@h1:5432,h2:5433/db"),
    ],
)
def test_redact_on_awkward_uris(uri: str, shown: str) -> None:
    assert redact(uri) == shown
