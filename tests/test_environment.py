from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from bench import environment
from bench.environment import PACKAGES, PROJECT_ROOT, collect_environment, git_state, peak_rss_bytes


@pytest.fixture(scope="module")
def env() -> dict:
    return collect_environment()


def test_machine_and_interpreter_fields_have_their_types(env: dict) -> None:
    assert isinstance(env["cpu_model"], str) and env["cpu_model"]
    assert env["logical_cores"] == os.cpu_count()
    assert isinstance(env["physical_cores"], int) and 1 <= env["physical_cores"] <= env["logical_cores"]
    assert isinstance(env["memory_bytes"], int) and env["memory_bytes"] > 100_000_000
    assert isinstance(env["os"], str) and env["os"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert env["python_implementation"] == platform.python_implementation()
    assert isinstance(env["hostname"], str)
    assert isinstance(env["load_average"], list) and len(env["load_average"]) == 3
    assert all(isinstance(load, float) and load >= 0 for load in env["load_average"])


def test_package_versions_are_the_installed_ones(env: dict) -> None:
    assert list(env["packages"]) == list(PACKAGES)
    for name, version in env["packages"].items():
        assert version == metadata.version(name), name


def test_a_missing_package_is_none() -> None:
    assert environment.package_version("no-such-package-catchup-test") is None


def test_git_commit_and_dirty_flag_of_this_checkout(env: dict) -> None:
    if not (PROJECT_ROOT / ".git").exists():  # an exported tree, not a clone: nothing to record
        assert env["git"] == {"commit": None, "dirty": None}
        return
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    status = subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    commit, dirty = env["git"]["commit"], env["git"]["dirty"]
    assert isinstance(commit, str) and len(commit) == 40 and int(commit, 16) >= 0
    assert commit == head.stdout.strip()
    assert isinstance(dirty, bool) and dirty == (status.stdout.strip() != "")


def test_not_a_checkout_records_none(tmp_path: Path) -> None:
    assert git_state(tmp_path) == {"commit": None, "dirty": None}


def test_no_git_binary_records_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert git_state(PROJECT_ROOT) == {"commit": None, "dirty": None}


def test_broken_psutil_and_load_average_record_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("not here")

    monkeypatch.setattr(environment.psutil, "virtual_memory", broken)
    monkeypatch.setattr(environment.psutil, "cpu_count", broken)
    monkeypatch.setattr(environment.os, "getloadavg", broken)
    env = collect_environment()
    assert (env["memory_bytes"], env["physical_cores"], env["load_average"]) == (None, None, None)


def test_cpu_model_falls_back_without_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = open

    def no_proc(path: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if str(path) == "/proc/cpuinfo":
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", no_proc)
    monkeypatch.setattr(environment.platform, "processor", lambda: "")
    assert environment.cpu_model() == "unknown"
    monkeypatch.setattr(environment.platform, "processor", lambda: "arm")
    assert environment.cpu_model() == "arm"


def test_the_environment_is_json(env: dict) -> None:
    assert json.loads(json.dumps(env)) == env


def test_peak_rss_covers_a_large_allocation() -> None:
    # ru_maxrss is a high-water mark that this process (earlier tests) and even a child
    # (Linux keeps it across fork and exec) may already have set above what 200 MB more
    # reaches, so the test compares with the resident size before allocating instead.
    import numpy as np
    import psutil

    peak_before = peak_rss_bytes()
    resident_before = psutil.Process().memory_info().rss
    block = np.ones(200 * 2**20 // 8)  # ones, not empty: the pages are touched, so resident
    peak_after = peak_rss_bytes()
    assert block.sum() == block.size
    assert peak_after >= peak_before
    assert peak_after >= resident_before + 150 * 2**20
    assert peak_after <= psutil.virtual_memory().total
