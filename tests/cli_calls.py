"""The CLI called in-process, as the tests of its output call it."""

from __future__ import annotations

from click.testing import CliRunner

from bench.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    """``catchup ARGS``: its exit code, stdout and stderr."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def one_error_line(err: str) -> str:
    """The one line a failure prints: 'Error: ...' and nothing else, no traceback."""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "Traceback" not in err
    return lines[0]
