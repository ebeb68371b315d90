"""The runs one report shows: their legend names, and whether they replayed the same events.

Overlaying two runs is only honest when both replayed the same dataset (same generator,
parameters and head): then a Parquet run against a Postgres run, two projections or two
commits differ only in what the report is about. When the datasets differ, the figures
draw each run in its own panel and the report says so before anything else.

A report may hold catch-up runs and live runs (writers appending while the projection
catches up); each figure and section draws only its kind, through ``catchup_runs`` and
``live_runs``, which keep the legend names of the whole set. A live run's dataset is the
one its writers started on: its head is the head when they started.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from bench.results.run import Run
from stores.errors import InvalidParameter


@dataclass(frozen=True)
class RunSet:
    runs: tuple[Run, ...]
    # Legend names given by a larger set this one was taken from (see ``only``), so a run keeps its name.
    given_names: tuple[str, ...] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.runs:
            raise InvalidParameter("a report needs at least one run; give one or more run folders")
        seen: set[str] = set()
        for run in self.runs:
            key = str(run.path or run.run_id)
            if key in seen:
                raise InvalidParameter(f"run {run.run_id} is given twice; give each run once")
            seen.add(key)

    @classmethod
    def of(cls, runs: Sequence[Run]) -> RunSet:
        return cls(tuple(runs))

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Short legend names: the labels, or the run ids where two runs share a label."""
        if self.given_names is not None:
            return self.given_names
        labels = [run.label for run in self.runs]
        return tuple(run.label if labels.count(run.label) == 1 else run.run_id for run in self.runs)

    @property
    def single(self) -> bool:
        return len(self.runs) == 1

    @property
    def catchup_runs(self) -> RunSet | None:
        """The catch-up runs that measured something, named as here; None when there are none."""
        return self.only(lambda run: not run.is_live and bool(run.summary))

    @property
    def live_runs(self) -> RunSet | None:
        """The live runs, named as here; None when there are none."""
        return self.only(lambda run: run.is_live)

    def only(self, keep: Callable[[Run], bool]) -> RunSet | None:
        picked = [i for i, run in enumerate(self.runs) if keep(run)]
        if not picked:
            return None
        return RunSet(tuple(self.runs[i] for i in picked), tuple(self.names[i] for i in picked))

    @property
    def has_live(self) -> bool:
        return any(run.is_live for run in self.runs)

    @property
    def all_live(self) -> bool:
        return all(run.is_live for run in self.runs)

    @property
    def same_dataset(self) -> bool:
        """True when every run replayed the same, identified events up to the same head."""
        keys = {run.dataset_key for run in self.runs}
        return len(keys) == 1 and next(iter(keys))[0] is not None

    def dataset_mismatch(self) -> str | None:
        """The plain statement a report leads with when the runs replayed different events."""
        if self.single or self.same_dataset:
            return None
        parts = [f"{name}: {describe_dataset(run)}" for name, run in zip(self.names, self.runs, strict=True)]
        return (
            "these runs did not replay the same events, so their figures are drawn side by side, "
            "not overlaid, and their numbers are not comparable one to one (" + "; ".join(parts) + ")"
        )

    def differing_settings(self) -> list[str]:
        """Settings that differ between the runs beyond the dataset, each as a short phrase."""
        if self.single:
            return []
        checks: dict[str, Callable[[Run], Any]] = {
            "store backend": lambda run: run.store.get("backend"),
            "projection": lambda run: run.projection.name,
            "projection source": lambda run: run.projection.source_sha256,
            "git commit": lambda run: (run.environment.get("git") or {}).get("commit"),
            "machine (CPU, cores)": lambda run: (
                run.environment.get("cpu_model"),
                run.environment.get("logical_cores"),
            ),
            "batch size": lambda run: run.config.get("batch_size"),
            "kind of run (catch-up or live)": lambda run: run.kind,
        }
        differing = [what for what, value in checks.items() if len({repr(value(run)) for run in self.runs}) > 1]
        # Settings that only one kind of run has are compared among the runs of that kind.
        by_kind: dict[str, tuple[bool, Callable[[Run], Any]]] = {
            "repeats": (False, lambda run: run.config.get("repeats")),
            "snapshot interval": (True, lambda run: run.live.interval if run.live else None),
            "rate requested": (True, lambda run: run.live.rate_requested if run.live else None),
            "writers": (True, lambda run: run.live.writers if run.live else None),
            "start from": (True, lambda run: run.live.start_from if run.live else None),
        }
        for what, (live, value) in by_kind.items():
            if len({repr(value(run)) for run in self.runs if run.is_live == live}) > 1:
                differing.append(what)
        return differing


def describe_dataset(run: Run) -> str:
    """'30,000 events of dataset 1a2b3c (accounts 1,000, seed 7)'"""
    head = run.head
    dataset = run.dataset
    if not dataset:
        return f"{head:,} events of an unidentified dataset"
    params = dataset.get("params", {})
    details = ", ".join(
        f"{name} {params[name]:,}" if isinstance(params[name], int) else f"{name} {params[name]}"
        for name in ("accounts", "seed")
        if name in params
    )
    return f"{head:,} events of dataset {run.dataset_id}" + (f" ({details})" if details else "")
