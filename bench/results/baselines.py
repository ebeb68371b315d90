"""Named baselines, kept per machine, for ``catchup compare baseline:NAME``.

A baseline is a set of catch-up runs, one per projection, copied to
``<results>/baselines/<machine>/<NAME>/<projection>/``. Timings only compare on the machine
that made them, so the machine is part of the path: it is ``CATCHUP_MACHINE`` when set
(CI runners get a new host name on every job, so set it to the runner class there), else
the host name. Saving a run under a name replaces that projection's run in it, whole or
not at all: the copy is made in a hidden sibling and swapped in by rename. Only verified
catch-up runs become baselines: a diverged run measured a bug, not the code's speed.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.results.atomic import TMP_PREFIX, write_folder_whole
from bench.results.folder import list_runs, load_run
from bench.results.run import Run
from bench.results.schema import RUN_FILE, SAMPLES_FILE, ResultsError
from stores.errors import InvalidParameter

BASELINES_DIR = "baselines"
MACHINE_ENV = "CATCHUP_MACHINE"
PREFIX = "baseline:"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ALLOWED = "1 to 64 of A-Z a-z 0-9 _ . -"


@dataclass(frozen=True)
class Baseline:
    machine: str
    name: str
    run: Run


def check_baseline_name(name: str) -> None:
    """Refuse a bad name, or a bad CATCHUP_MACHINE, before a run spends minutes measuring."""
    _check(name, "baseline name")
    machine_name()


def machine_name() -> str:
    """This machine's name for baselines: CATCHUP_MACHINE, else the host name, made path-safe."""
    given = os.environ.get(MACHINE_ENV)
    if given is not None:
        _check(given, f"{MACHINE_ENV}")
        return given
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", platform.node())[:64].strip(".")
    return host or "unnamed-machine"


def is_baseline_reference(text: str) -> bool:
    return text.startswith(PREFIX)


def save_baseline(run: Run, name: str, results_dir: str | Path, machine: str | None = None) -> Path:
    """Copy ``run`` into baseline ``name`` of ``machine`` (default: this one), replacing its projection's run."""
    _check(name, "baseline name")
    machine = machine or machine_name()
    _check(machine, "machine name")
    if run.is_live:
        raise InvalidParameter(f"run {run.run_id} is a live run; a baseline holds catch-up runs (catchup run)")
    if not run.verified:
        raise InvalidParameter(f"run {run.run_id} diverged from the full replay; only a verified run can be a baseline")
    if run.path is None:
        raise InvalidParameter(f"run {run.run_id} has no folder on disk to copy; load it with load_run first")
    # The projection's name becomes a folder: a hand-edited run.json must not name one outside the baseline.
    _check(run.projection_name, "projection name")
    source = run.path
    folder = baseline_folder(results_dir, name, machine)

    def copy(into: Path) -> None:
        for file_name in (RUN_FILE, SAMPLES_FILE):
            shutil.copy2(source / file_name, into / file_name)

    try:
        return write_folder_whole(folder / run.projection_name, copy)
    except OSError as error:
        raise ResultsError(
            f"cannot save baseline {name} in {folder} ({type(error).__name__}: {error.strerror or error})"
        ) from None


def load_baseline(name: str, results_dir: str | Path, machine: str | None = None) -> list[Run]:
    """The runs of baseline ``name`` for ``machine`` (default: this one)."""
    _check(name, "baseline name")
    machine = machine or machine_name()
    folder = baseline_folder(results_dir, name, machine)
    runs = [load_run(path) for path in list_runs(folder)]
    if runs:
        return runs
    here = sorted({entry.name for entry in list_baselines(results_dir) if entry.machine == machine})
    elsewhere = sorted({entry.machine for entry in list_baselines(results_dir) if entry.name == name})
    hint = f"baselines of {machine}: {', '.join(here)}" if here else f"{machine} has no baselines yet"
    if elsewhere:
        hint += f"; {name} exists for {', '.join(elsewhere)} (set {MACHINE_ENV} to use it)"
    raise ResultsError(
        f"no baseline {name} for machine {machine} in {Path(results_dir) / BASELINES_DIR} ({hint}); "
        "save one with catchup run ... --save-baseline NAME"
    )


def list_baselines(results_dir: str | Path) -> list[Baseline]:
    """Every saved baseline run, by machine, name and projection."""
    root = Path(results_dir) / BASELINES_DIR
    found = []
    for machine in sorted(_folders(root)):
        for name in sorted(_folders(machine)):
            for path in list_runs(name):
                found.append(Baseline(machine.name, name.name, load_run(path)))
    return found


def baseline_folder(results_dir: str | Path, name: str, machine: str) -> Path:
    return Path(results_dir) / BASELINES_DIR / machine / name


def _folders(parent: Path) -> list[Path]:
    if not parent.is_dir():
        return []
    return [entry for entry in parent.iterdir() if entry.is_dir() and not entry.name.startswith(TMP_PREFIX)]


def _check(value: str, what: str) -> None:
    if not _NAME.fullmatch(value) or value in (".", ".."):
        raise InvalidParameter(f"{what} {value!r} is not allowed; use {_ALLOWED}")
