"""A run as the rest of catchup reads it: typed summaries, raw samples, and who was measured where.

``config``, ``environment``, ``store`` and ``dataset`` stay JSON objects: they describe
the world the run happened in, their keys differ by backend and grow with catchup, and
nothing computes with them. What is computed with (the per-interval summary, the live
summary) is typed (bench.results.summary, bench.results.live), so a renamed key fails
when the run is loaded instead of printing 0 in a report.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.results.live import LiveSummary
from bench.results.summary import IntervalSummary


@dataclass(frozen=True)
class Sample:
    interval: int
    repeat: int
    phase: str
    metric: str
    value: float
    unit: str


@dataclass(frozen=True)
class ProjectionInfo:
    """Who the projection was, as run.json's config records it; '?' for what an older run did not record."""

    name: str
    version: Any  # as the projection's class attribute gave it; None if not recorded
    kind: str | None  # 'vectorised' or 'per-event'
    class_name: str | None
    source_sha256: str | None

    @property
    def line(self) -> str:
        """'balances v1 (vectorised, projections.balances.Balances)'"""
        return f"{self.name} v{_known(self.version)} ({_known(self.kind)}, {_known(self.class_name)})"


@dataclass(frozen=True)
class Run:
    schema_version: int
    run_id: str  # the folder name it was written under
    label: str
    created_at: str  # ISO 8601, UTC
    config: dict[str, Any]
    environment: dict[str, Any]
    store: dict[str, Any]
    dataset: dict[str, Any] | None
    summary: list[IntervalSummary]
    verification: list[dict[str, Any]]
    warnings: list[str]
    samples: pa.Table  # in SAMPLES_SCHEMA
    kind: str = "catchup"  # one of RUN_KINDS
    live: LiveSummary | None = None  # a live run's results; None for a catch-up run
    timeseries: pa.Table | None = None  # a live run's lag over time, in TIMESERIES_SCHEMA
    path: Path | None = None

    @property
    def is_live(self) -> bool:
        return self.kind == "live"

    @property
    def head(self) -> int:
        """The events the run started from: a catch-up run's head, a live run's head when its writers started."""
        if self.live is not None:
            return self.live.events_at_start
        return self.summary[0].head if self.summary else int(self.store.get("head") or 0)

    @property
    def dataset_id(self) -> Any:
        """The generator's fingerprint id of the events replayed; None for an unidentified dataset."""
        return (self.dataset or {}).get("id")

    @property
    def dataset_key(self) -> tuple[object, int]:
        """What the run replayed: its dataset's id and its head."""
        return self.dataset_id, self.head

    def interval(self, k: int) -> IntervalSummary | None:
        """The summary row of snapshot interval ``k``, None when the run did not measure it."""
        return next((row for row in self.summary if row.interval == k), None)

    @property
    def full_replay_s(self) -> float | None:
        return self.summary[0].full_replay_s if self.summary else None

    def sample_values(self) -> dict[tuple[int, str, str], list[float]]:
        """The raw samples by (interval, phase, metric), each list in repeat order."""
        grouped: dict[tuple[int, str, str], list[tuple[int, float]]] = {}
        columns = self.samples.select(["interval", "phase", "metric", "repeat", "value"]).to_pydict()
        for interval, phase, metric, repeat, value in zip(*columns.values(), strict=True):
            grouped.setdefault((int(interval), phase, metric), []).append((int(repeat), float(value)))
        return {key: [value for _, value in sorted(rows)] for key, rows in grouped.items()}

    @property
    def projection(self) -> ProjectionInfo:
        recorded = self.config.get("projection")
        known: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
        return ProjectionInfo(
            name=str(known.get("name") or self.label),
            version=known.get("version"),
            kind=known.get("kind"),
            class_name=known.get("class"),
            source_sha256=known.get("source_sha256"),
        )

    @property
    def projection_name(self) -> str:
        """The projection's name as the run recorded it (the label for a run.json without one)."""
        return self.projection.name

    @property
    def verified(self) -> bool:
        """No recorded check diverged (a live run: its final state matched a full replay)."""
        if self.live is not None:
            return self.live.verified
        return all(check.get("ok", True) for check in self.verification)

    def to_json(self) -> dict[str, Any]:
        """The content of run.json: every field but the tables (their own files) and the path."""
        return {name: _plain(getattr(self, name)) for name in JSON_FIELDS}


JSON_FIELDS = tuple(f.name for f in fields(Run) if f.name not in ("samples", "timeseries", "path"))


def _plain(value: Any) -> Any:
    """A typed part of a run as JSON: its own to_json(), a list of them, or the value as it is."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    to_json = getattr(value, "to_json", None)
    return to_json() if callable(to_json) else value


def _known(value: Any) -> str:
    return "?" if value is None else str(value)
