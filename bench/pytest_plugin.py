"""The ``replay_benchmark`` pytest fixture: a projection's replay, timed by pytest-benchmark.

    def test_ledger_replay(replay_benchmark):
        result = replay_benchmark("data/ledger", "myproject/projections.py:Ledger", rounds=5)
        assert result.events == 1_000_000

Installing catchup-bench registers this module as a pytest plugin (entry point
``pytest11``), so pytest imports it in every session of every project in that
environment: it imports nothing heavy at module level. pyarrow, the stores and the
replay loop are imported when the fixture is first called.

Each round replays (0, upto] into a fresh projection made in pytest-benchmark's untimed
``setup``; only ``replay`` is timed. A projection is a pure function of its events, so
every round must end in the same state: each round's digest is taken outside the timed
part (in the next round's setup, and once after the last) and a difference fails the test.
Because the timing goes through ``benchmark.pedantic``, pytest-benchmark's own options
(``--benchmark-autosave``, ``--benchmark-compare``, ``--benchmark-compare-fail``,
``--benchmark-disable``, ``--benchmark-json``) work as they do for any benchmark.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from bench.replay import ReplayClock
    from projections import Projection
    from stores.base import EventStore


@dataclass(frozen=True)
class ReplayBenchmark:
    """What one ``replay_benchmark`` call measured.

    ``median_s`` and ``events_per_s`` are None when benchmarking is off
    (``--benchmark-disable``): the replay then ran once, untimed, and was still checked.
    """

    projection: str  # the projection's name
    version: str  # its class attribute ``version``
    store: str  # the store's URI with any password shown as '***'
    dataset: str | None  # the store's dataset fingerprint id, when it records one
    events: int  # events replayed per round
    digest: str  # the digest of the state every round ended in
    rounds: int  # measured rounds (warm-ups not counted)
    median_s: float | None
    events_per_s: float | None


class ImpureProjection(Exception):
    """Two rounds replaying the same events ended in different states (raised inside pedantic,
    so pytest-benchmark marks the benchmark as failed and saves none of its rounds)."""


class ReplayBenchmarker:
    """The callable the ``replay_benchmark`` fixture gives a test; one call per test."""

    def __init__(self, benchmark: Any, resources: ExitStack) -> None:
        self._benchmark = benchmark
        self._resources = resources
        self._called = False

    def __call__(
        self,
        store: str,
        projection: str | type[Projection],
        *,
        upto: int | None = None,
        rounds: int = 5,
        warmup_rounds: int = 1,
        batch_size: int | None = None,
    ) -> ReplayBenchmark:
        """Time the replay of ``store``'s events (0, upto] into ``projection``.

        ``store`` is a folder, parquet:PATH or postgresql://... URI; ``projection`` a
        built-in name, package.module:Class, path/to/file.py:Class, or a Projection
        subclass. ``upto`` defaults to the head; ``batch_size`` to the stores' default
        (131,072 events per batch).
        """
        from stores.errors import CatchupError

        if self._called:
            _fail(
                "replay_benchmark can be called once per test (pytest-benchmark times one thing per test); "
                "parametrize the test to benchmark more"
            )
        self._called = True
        try:
            return self._measure(store, projection, upto, rounds, warmup_rounds, batch_size)
        except (CatchupError, ImpureProjection) as error:
            self._benchmark.has_error = True  # pytest-benchmark then saves none of its rounds
            message = str(error)
        # Failed outside the except block, so pytest shows no "during handling" chain.
        _fail(message)

    def _measure(
        self,
        uri: str,
        spec: str | type[Projection],
        upto: int | None,
        rounds: int,
        warmup_rounds: int,
        batch_size: int | None,
    ) -> ReplayBenchmark:
        import bench
        from bench.projection_loader import load_projection
        from bench.replay import projection_code, replay
        from stores import open_store
        from stores.base import READ_BATCH_SIZE

        _check_counts(rounds, warmup_rounds)
        batch = READ_BATCH_SIZE if batch_size is None else batch_size
        cls = load_projection(spec)
        store: EventStore = self._resources.enter_context(open_store(uri))
        info = store.readable_info()
        if upto is not None and not 0 <= upto <= info.head:
            from stores.errors import InvalidParameter

            raise InvalidParameter(
                f"upto={upto} is not a position of store {info.uri}; use 0 to its head, {info.head:,}"
            )
        dataset = (info.fingerprint or {}).get("id")
        name = cls.name
        benchmark = self._benchmark
        # pytest-benchmark copies the group when pedantic starts; a group from @pytest.mark.benchmark wins.
        if benchmark.group is None:
            benchmark.group = f"replay {name}"
        # The same dict object is saved with the results, so it is filled in place.
        benchmark.extra_info.update(
            {
                "projection": name,
                "projection_version": cls.version,
                "projection_class": f"{cls.__module__}.{cls.__qualname__}",
                "store": info.uri,  # password-redacted by the store; the URI given may hold one
                "backend": info.backend,
                "layout": info.layout,
                "dataset": dataset,
                "upto": info.head if upto is None else upto,
                "batch_size": batch,
                "catchup_version": bench.__version__,
            }
        )
        check = _PurityCheck(name)
        current: list[Projection] = []

        def setup() -> tuple[tuple[Projection], dict[str, Any]]:
            # Untimed: digest the state the previous round ended in, then hand the next round a fresh instance.
            if current:
                check.add(current.pop())
            with projection_code(cls, "__init__()"):
                current.append(cls())
            return (current[0],), {}

        def target(state: Projection) -> ReplayClock:
            return replay(store, state, upto=upto, batch_size=batch)

        clock: ReplayClock = benchmark.pedantic(
            target, setup=setup, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1
        )
        check.add(current.pop(), events=clock.events)
        benchmark.extra_info.update({"events": clock.events, "digest": check.digest})
        measured = benchmark.stats.stats if benchmark.stats is not None else None
        median_s = float(measured.median) if measured else None
        return ReplayBenchmark(
            projection=name,
            version=str(cls.version),
            store=info.uri,
            dataset=dataset,
            events=clock.events,
            digest=check.digest,
            rounds=measured.rounds if measured else 0,
            median_s=median_s,
            events_per_s=clock.events / median_s if median_s else None,
        )


class _PurityCheck:
    """The digests of every round's final state; the first one sets what the others must be."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.digest = ""
        self.replays = 0

    def add(self, state: Projection, events: int | None = None) -> None:
        from bench.replay import projection_code

        with projection_code(type(state), "digest()"):
            digest = state.digest()
        self.replays += 1
        if not self.digest:
            self.digest = digest
        elif digest != self.digest:
            after = f" of {events:,} events" if events is not None else ""
            raise ImpureProjection(
                f"projection {self.name} is not pure: replay {self.replays}{after} ended in state digest "
                f"{digest[:16]}, replay 1 in {self.digest[:16]}; its state must depend only on the events it "
                "applied (no clock, randomness, or state shared between instances)"
            )


def _check_counts(rounds: int, warmup_rounds: int) -> None:
    from stores.errors import InvalidParameter

    # bool is an int: rounds=True must not pass as one round.
    if type(rounds) is not int or rounds < 1:
        raise InvalidParameter(f"rounds={rounds!r}: use a whole number of at least 1")
    if type(warmup_rounds) is not int or warmup_rounds < 0:
        raise InvalidParameter(f"warmup_rounds={warmup_rounds!r}: use a whole number, 0 or more")


def _fail(message: str) -> NoReturn:
    # One line, no traceback: these are the user's data or projection, not a bug in the test.
    pytest.fail(" ".join(message.split()), pytrace=False)


@pytest.fixture
def replay_benchmark(benchmark: Any) -> Iterator[ReplayBenchmarker]:
    """Time a projection's replay of an event store with pytest-benchmark (see bench.pytest_plugin)."""
    with ExitStack() as resources:  # the store opened by the call is closed at teardown
        yield ReplayBenchmarker(benchmark, resources)
