"""What a run was measured on: machine, OS, Python, package versions, source revision.

Collected automatically into every run (as pyperf does) so two runs can be told apart
later without anyone having written it down. Each piece is best effort: a missing
/proc, psutil answer, package or git records None, and nothing here raises, because a
benchmark that has finished must not be lost to a detail about where it ran.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import psutil

PACKAGES = (
    "catchup-bench",
    "numpy",
    "pyarrow",
    "polars",
    "psycopg",
    "adbc-driver-postgresql",
    "adbc-driver-manager",
    "click",
    "matplotlib",
    "psutil",
)

# The checkout holding this source: bench/ sits directly in it.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
GIT_TIMEOUT_S = 5.0

T = TypeVar("T")


def collect_environment() -> dict[str, Any]:
    """A JSON-able description of this machine, interpreter, packages and source revision."""
    return {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": _or_none(lambda: psutil.cpu_count(logical=False)),
        "memory_bytes": _or_none(lambda: int(psutil.virtual_memory().total)),
        "os": _or_none(platform.platform),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "hostname": _or_none(platform.node) or None,
        "load_average": _or_none(lambda: [float(load) for load in os.getloadavg()]),
        "packages": {name: package_version(name) for name in PACKAGES},
        "git": git_state(PROJECT_ROOT),
    }


def cpu_model() -> str:
    """The 'model name' of /proc/cpuinfo (Linux x86), else what platform knows, else 'unknown'."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_state(root: Path) -> dict[str, Any]:
    """{commit, dirty} of the checkout at ``root``; both None without git or a checkout.

    Only a folder that itself holds .git (a folder, or a file in a worktree) counts: an
    installed copy of bench/ inside some other repository must not report that
    repository's commit as the one measured.
    """
    unknown: dict[str, Any] = {"commit": None, "dirty": None}
    if not (root / ".git").exists():
        return unknown
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None or len(commit) != 40:
        return unknown
    status = _git(root, "status", "--porcelain")
    return {"commit": commit, "dirty": None if status is None else status != ""}


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):  # no git binary, timeout
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def peak_rss_bytes() -> int:
    """The highest resident set size this process has reached (a high-water mark)."""
    import resource  # Unix only; imported here so the rest of this module works elsewhere

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _or_none(read: Callable[[], T]) -> T | None:
    # Deliberately broad: these read the OS through psutil and platform, whose failures
    # (missing /proc, sandboxed syscalls) vary by platform, and any of them means "unknown".
    try:
        return read()
    except Exception:
        return None
