"""Small phrases every part of a report uses: run names, lists, plurals, backends."""

from __future__ import annotations

from collections.abc import Sequence

from bench.results import LiveSummary, Run
from bench.results.run_set import RunSet
from bench.units import format_rate

NOT_APPLICABLE = "–"  # a cell for a setting the run's kind does not have


def named(runset: RunSet) -> zip[tuple[str, Run]]:
    return zip(runset.names, runset.runs, strict=True)


def listing(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plural(items: Sequence[object]) -> str:
    return "" if len(items) == 1 else "s"


def backend_name(run: Run) -> str:
    backend = str(run.store.get("backend", "?"))
    return {"parquet": "Parquet", "postgres": "Postgres"}.get(backend, backend)


def which(runset: RunSet) -> str:
    """'the balances projection', or 'the balances and statement projections': the subject of a question."""
    projections = _projections(runset)
    return f"the {projections[0]} projection" if len(projections) == 1 else f"the {listing(projections)} projections"


def agree(runset: RunSet, one: str, several: str) -> str:
    """``one`` or ``several``, as a verb or pronoun agrees with ``which(runset)``: 'does' or 'do', 'it' or 'they'."""
    return one if len(_projections(runset)) == 1 else several


def _projections(runset: RunSet) -> list[str]:
    return sorted({run.projection_name for run in runset.runs})


def writers_cell(live: LiveSummary) -> str:
    """Who wrote during a live run: catchup's writer processes, or a followed source's own application."""
    return "the source's application" if live.followed else str(live.writers)


def rate_requested_cell(live: LiveSummary) -> str:
    """The rate a live run asked its writers for; none when it followed a source's own application."""
    return NOT_APPLICABLE if live.followed else format_rate(live.rate_requested)
