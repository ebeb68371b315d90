"""``catchup run`` as a library call: open, measure, summarise, write the run folder."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import __version__
from bench.environment import collect_environment, peak_rss_bytes
from bench.experiment import Experiment, ExperimentConfig, ExperimentResult
from bench.projection_loader import load_projection, spec_of
from bench.results import Run, check_label, write_run
from bench.summary import build_summary
from projections import EventProjection, Projection
from stores import open_store

DEFAULT_RESULTS = Path("results")


@dataclass(frozen=True)
class RunOutcome:
    run: Run
    result: ExperimentResult


def execute_run(
    store_uri: str,
    projection_spec: str | type[Projection],
    config: ExperimentConfig,
    *,
    label: str | None = None,
    results_dir: Path = DEFAULT_RESULTS,
    emit: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Run the catch-up experiment and write ``results_dir/<stamp>-<label>/``.

    The run folder is written whether or not the projection diverged: a divergence is a
    finding to keep, and ``RunOutcome.result.diverged`` says so.
    """
    projection = load_projection(projection_spec)
    if not isinstance(projection_spec, str):
        projection_spec = spec_of(projection)
    check_label(label or projection.name)
    created_at = datetime.now(UTC)
    environment = collect_environment()  # at the start, as pyperf does: the load before the work
    with open_store(store_uri) as store:
        info = store.readable_info()
        result = Experiment(store, projection, config, emit).run()
        description = store.describe()
    environment["peak_rss_bytes"] = peak_rss_bytes()
    summary, warnings = build_summary(result.samples, result.checks, result.head)
    run = write_run(
        results_dir,
        label=label or projection.name,
        created_at=created_at,
        config={
            "catchup_version": __version__,
            "store": info.uri,
            "projection": describe_projection(projection_spec, projection),
            **asdict(config),
            "intervals": list(config.intervals),
        },
        environment=environment,
        store=description,
        dataset=info.fingerprint,
        summary=summary,
        verification=[check.to_json() for check in result.checks],
        warnings=warnings,
        samples=result.samples,
    )
    return RunOutcome(run, result)


def describe_projection(spec: str, projection: type[Projection]) -> dict[str, Any]:
    """Who the projection is, including a hash of its source, so runs of other code are told apart."""
    try:
        source = inspect.getsource(projection)
    except (OSError, TypeError):
        source = ""
    return {
        "spec": spec,
        "name": projection.name,
        "version": projection.version,
        "class": f"{projection.__module__}.{projection.__qualname__}",
        "kind": "per-event" if issubclass(projection, EventProjection) else "vectorised",
        "source_sha256": hashlib.sha256(source.encode()).hexdigest() if source else None,
    }
