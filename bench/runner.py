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
from bench.cold import RestartTarget
from bench.environment import collect_environment, peak_rss_bytes
from bench.experiment import Experiment, ExperimentResult
from bench.experiment_config import ExperimentConfig
from bench.projection_loader import load_projection, spec_of
from bench.results import DEFAULT_RESULTS_DIR, Run, check_label, write_run
from bench.summarize import build_summary
from projections import EventProjection, Projection
from stores import open_store


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
    results_dir: Path = DEFAULT_RESULTS_DIR,
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
    # The run lock: a second run of this projection on this store fails at once (stores.run_lock says why).
    with open_store(store_uri) as store, store.run_lock(projection.name):
        info = store.readable_info()
        restart = RestartTarget(store_uri, projection_spec) if config.cold else None
        result = Experiment(store, projection, config, emit, restart).run()
        description = store.describe()
    environment["peak_rss_bytes"] = peak_rss_bytes()
    summary, warnings = build_summary(result.samples, result.checks, result.head)
    warnings = [*result.warnings, *warnings]
    run = write_run(
        results_dir,
        label=label or projection.name,
        created_at=created_at,
        config=config_block(info.uri, projection_spec, projection, config),
        environment=environment,
        store=description,
        dataset=info.fingerprint,
        summary=summary,
        verification=[check.to_json() for check in result.checks],
        warnings=warnings,
        samples=result.samples,
    )
    return RunOutcome(run, result)


def config_block(store_uri: str, spec: str, projection: type[Projection], settings: Any) -> dict[str, Any]:
    """run.json's ``config``: catchup's version, the store (password redacted), the projection, the settings.

    ``settings`` is the run's frozen config dataclass (ExperimentConfig, LiveConfig);
    its tuples are written as lists, as JSON reads them back.
    """
    return {
        "catchup_version": __version__,
        "store": store_uri,
        "projection": describe_projection(spec, projection),
        **{name: list(value) if isinstance(value, tuple) else value for name, value in asdict(settings).items()},
    }


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
