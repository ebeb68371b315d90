"""``catchup demo``: the README's main job — generate once, then run the catch-up experiment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.experiment_config import DEFAULT_WARMUP, ExperimentConfig
from bench.generate import generate_into
from bench.results import DEFAULT_RESULTS_DIR
from generators import LedgerParams, fingerprint
from stores import open_store
from stores.errors import InvalidParameter

if TYPE_CHECKING:
    from bench.report.write import WrittenReport
    from bench.runner import RunOutcome

DEMO_STORE = Path("data/demo")
DEMO_EVENTS = 1_000_000
DEMO_PROJECTIONS = ("balances", "balances_per_event")
DEMO_INTERVALS = (0, 10_000, 100_000)
DEMO_REPEATS = 3


def ensure_store(
    uri: str | Path, params: LedgerParams, emit: Callable[[str], None], *, overwrite: bool = False
) -> bool:
    """Generate the demo events unless the store at ``uri`` already holds exactly them; True if generated.

    A store of other events (another fingerprint, or an unfinished load) is replaced only
    with ``overwrite``: a demo must not silently regenerate a store someone made on purpose.
    """
    with open_store(str(uri)) as store:
        info = store.info()
        path = info.uri  # as shown: a Postgres URI without its password
        wanted = fingerprint(params)["id"]
        found = (info.fingerprint or {}).get("id")
        if info.exists and info.complete and found == wanted:
            emit(f"reusing {info.head:,} events in {path} (fingerprint {wanted})")
            return False
        if info.exists and not overwrite:
            held = f"{info.head:,} events of fingerprint {found}" if info.complete else "an unfinished load"
            # The parameter first: the CLI spells its first mention as the flag, and a path may hold the word.
            raise InvalidParameter(
                f"pass overwrite to replace {path}: it holds {held}, not the demo's {params.events:,} events "
                f"(fingerprint {wanted}); or give the demo another folder",
                "overwrite",
            )
        emit(f"generating {params.events:,} events into {path}")
        result = generate_into(store, params, overwrite=info.exists)
        emit(f"generated in {result.seconds:.1f} s ({result.events_per_s / 1e6:.2f}M events/s)")
        return True


@dataclass(frozen=True)
class DemoOutcome:
    runs: list[RunOutcome]
    report: WrittenReport  # both runs in one report: same events, two ways to project them


def run_demo(
    store: str | Path = DEMO_STORE,
    results_dir: Path = DEFAULT_RESULTS_DIR,
    events: int = DEMO_EVENTS,
    repeats: int = DEMO_REPEATS,
    emit: Callable[[str], None] = lambda line: None,
    *,
    overwrite: bool = False,
) -> DemoOutcome:
    # Imported here, not above: ``catchup demo --help`` reads this module's defaults, and the
    # runner (projections, polars) and the report (matplotlib) take a second to import.
    from bench.report.write import write_report
    from bench.runner import execute_run

    ensure_store(store, LedgerParams(events=events), emit, overwrite=overwrite)
    config = ExperimentConfig(intervals=DEMO_INTERVALS, repeats=repeats, warmup=DEFAULT_WARMUP)
    outcomes = [
        execute_run(str(store), name, config, label=f"demo-{name}", results_dir=results_dir, emit=emit)
        for name in DEMO_PROJECTIONS
    ]
    emit("writing the report")
    report = write_report([outcome.run for outcome in outcomes], formats=("html", "md"))
    return DemoOutcome(outcomes, report)
