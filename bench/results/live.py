"""A live run's results, as run.json's ``live`` object holds them, and the judgements made of them.

Live mode (bench.live) catches a projection up while writers keep appending; this is
what it measured. The judgements every reader of a live run makes (did the writers fall
short of the rate asked, was the run a success at all, what "never caught up" says) are stated here once, so the
run's warnings, ``catchup show``, the report and the staleness figure say the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from bench.results import parse
from bench.units import format_rate, format_seconds

# Below this share of the requested rate the writers, not the projection, set the pace.
RATE_SHORTFALL = 0.9
# Below this share the run measured another load than the one asked: it is no success, whatever it verified.
RATE_FAILED = 0.1
START_FROM = ("snapshot", "zero")
SAMPLE_PERIOD_S = 0.1  # a live run samples its lag this often


@dataclass(frozen=True)
class LagPercentiles:
    """The lag in seconds over the samples after catching up."""

    p50: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True)
class CpuWindow:
    """Where the machine's CPU went over one window of a live run, in cores (CPU-seconds / wall seconds)."""

    seconds: float  # the window's wall time
    projection: float  # this process: reads, apply, snapshots, the lag sampler
    writers: float  # the writer processes together
    server: float | None  # a local Postgres server's processes, short-lived backends included; None: not metered
    other: float  # the machine's busy cores minus the three above


@dataclass(frozen=True)
class LiveCpu:
    """The CPU split of a live run's two windows (bench.live.cpu): what CPU_RULE corrects the model with."""

    cores: int  # the cores this process may run on
    setup: CpuWindow  # the full replay that measured μ: the projection alone, at full speed
    catchup: CpuWindow  # from the writers' start to caught up (to the run's end if it never caught up)

    @classmethod
    def from_json(cls, data: Any, where: str) -> LiveCpu:
        def window(key: str) -> CpuWindow:
            part = parse.member(data, key, where)
            at = f"{where}.{key}"
            return CpuWindow(
                seconds=parse.amount(part, "seconds", at),
                projection=parse.amount(part, "projection", at),
                writers=parse.amount(part, "writers", at),
                server=parse.optional_amount(part, "server", at),
                other=parse.amount(part, "other", at),
            )

        cores = parse.count(data, "cores", where)
        if cores < 1:
            raise parse.Malformed(f"{where}.cores is 0, not a count of cores (at least 1)")
        return cls(cores=cores, setup=window("setup"), catchup=window("catchup"))


CORRECTIONS = ("none", "cpu")
MIN_CORES_LEFT = 0.05  # a machine busy with others still gives the projection a sliver: never divide by 0

# The rule that corrects the model for CPU the projection could not have: stated once, said by every reader.
CPU_RULE = (
    "The projection's read path needs, at its replay rate μ, the cores it and the server serving its reads used "
    "during the setup replay (needed). During the catch-up the writers, the server beyond serving the projection "
    "(its setup share, scaled by the projection's cores then and now) and everything else take F cores on "
    "average, and they take them a whole core at a time: a writer's commit, or its backend's, holds a core while "
    "it runs. So the read path has C − ⌈F⌉ cores for the fraction frac(F) of the time and C − ⌊F⌋ for the rest, "
    "and with n cores it replays at μ' · min(1, n / needed); the share r is the time-weighted mean of that over "
    f"the two, at least {MIN_CORES_LEFT:g} / needed. If r < 1, it replays at μ_eff = μ' · r and loads its "
    "snapshot in L / r (correction 'cpu'); else nothing changes (correction 'none'). μ' is μ with the snapshots "
    "every K events counted: 1/μ' = 1/μ + δ/K. (Results before schema version 6 scaled by the average cores "
    "left, r = min(1, (C − F) / needed), which under-predicted a read path that waits on its server.)"
)


# Above this many cores used by other programs during the setup replay, μ itself was measured on a
# shared machine: the grid of issue 13 found predictions off by 1.2-1.5x with 0.4-0.75 such cores.
BUSY_SETUP_CORES = 0.25


def busy_setup(cpu: LiveCpu) -> str | None:
    """A warning when other programs used the machine while the setup measured μ; None when it was quiet."""
    other = cpu.setup.other
    if other <= BUSY_SETUP_CORES:
        return None
    return (
        f"the setup replay that measured μ shared the machine with other programs ({other:.2f} of {cpu.cores} "
        "cores): μ, and every prediction made from it, is that of a busy machine; run live on a quiet one"
    )


@dataclass(frozen=True)
class CpuCorrection:
    """What CPU_RULE makes of one run's model inputs and CPU split."""

    correction: str  # one of CORRECTIONS
    cores_needed: float
    cores_left: float  # on average: the machine's cores minus the foreign load F, floored at MIN_CORES_LEFT
    replay_share: float  # r: the share of μ' the read path keeps on the whole cores it is left
    effective_replay_rate: float  # μ_eff (μ' when nothing is corrected)
    corrected_caught_up_s: float | None  # None: λ >= μ_eff, never


def per_event_rate(replay_rate: float, snapshot_s: float, interval: int) -> float:
    """μ': the replay rate with a snapshot of δ seconds every K events, 1/μ' = 1/μ + δ/K."""
    if replay_rate <= 0:
        return 0.0
    return 1.0 / (1.0 / replay_rate + snapshot_s / interval)


def catchup_time(load_s: float, tail_events: int, replay_rate: float, append_rate: float) -> float | None:
    """The queueing model: t = (L + T/μ) / (1 − λ/μ), or None when λ ≥ μ: never."""
    if replay_rate <= 0 or append_rate >= replay_rate:
        return None
    return (load_s + tail_events / replay_rate) / (1.0 - append_rate / replay_rate)


def replay_share(cores: int, foreign: float, needed: float) -> float:
    """r of CPU_RULE: the mean share of its replay rate a read path needing ``needed`` cores keeps on ``cores``
    cores while a foreign load takes ``foreign`` cores, a whole core at a time.

    Measured on 2 cores (issue 13's grids): a Postgres read path needing 1.4-1.6 cores, beside writers that
    took 0.5 cores, used 0.73-0.88 cores where the average left (1.5) promised it all; taking the writers'
    load whole cores at a time predicted those runs within 1-4%.
    """
    if needed <= 0:
        return 1.0
    foreign = min(max(foreign, 0.0), float(cores))
    whole = int(foreign)
    part = foreign - whole
    more, fewer = cores - whole, cores - whole - 1

    def kept(n: int) -> float:
        return min(1.0, max(n, 0) / needed)

    # Written as a step down from ``more`` so that equal shares give exactly that share, not 1 − ε.
    return max(kept(more) - part * (kept(more) - kept(fewer)), MIN_CORES_LEFT / needed)


def cpu_correction(model: LiveModel, interval: int, cpu: LiveCpu) -> CpuCorrection:
    """CPU_RULE applied to a run's model inputs (μ, L, T, λ, δ) and its CPU split."""
    setup, catchup = cpu.setup, cpu.catchup
    needed = setup.projection + (setup.server or 0.0)
    share = min(1.0, catchup.projection / setup.projection) if setup.projection > 0 else 1.0
    serving = (setup.server or 0.0) * share  # the server's CPU for the projection's own reads: not counted twice
    foreign = catchup.writers + max(0.0, (catchup.server or 0.0) - serving) + catchup.other
    left = max(MIN_CORES_LEFT, cpu.cores - foreign)
    kept = min(1.0, replay_share(cpu.cores, foreign, needed))
    rate = per_event_rate(model.replay_rate, model.snapshot_s or 0.0, interval)
    load_s = model.load_s
    correction = "none"
    if kept < 1.0:
        correction, rate, load_s = "cpu", rate * kept, load_s / kept
    return CpuCorrection(
        correction, needed, left, kept, rate, catchup_time(load_s, model.tail_events, rate, model.append_rate)
    )


@dataclass(frozen=True)
class LiveModel:
    """The queueing model's inputs and its prediction against the measurement (bench.live.model)."""

    replay_rate: float  # μ, events/s, measured before the writers started
    load_s: float  # L: snapshot load + restore; 0 when starting from zero
    tail_events: int  # T
    append_rate: float  # λ: the rate the writers achieved
    predicted_caught_up_s: float | None  # None: λ >= μ', never (from schema 4, μ' counts the snapshots)
    measured_caught_up_s: float | None
    # From results schema version 4 (None in older runs): δ, one snapshot's save in the setup, the CPU
    # split, the correction CPU_RULE applied, the rate it leaves and its prediction.
    snapshot_s: float | None = None
    cpu: LiveCpu | None = None
    correction: str | None = None  # one of CORRECTIONS
    effective_replay_rate: float | None = None
    corrected_caught_up_s: float | None = None


@dataclass(frozen=True)
class LiveSummary:
    """A live run: the setup, how it caught up, how stale it was, and whether it verified."""

    interval: int  # K: snapshot every K events while tailing
    writers: int  # 0: a foreign source followed as its own application wrote it
    start_from: str  # one of START_FROM
    max_duration_s: float
    rate_requested: float
    rate_achieved: float
    caught_up: bool
    caught_up_s: float | None
    peak_lag_events: int
    peak_lag_s: float
    lag_after_catchup_s: LagPercentiles | None
    lag_growth_events_per_s: float | None  # for a run that never caught up
    duration_s: float
    model: LiveModel
    start_head: int
    start_position: int
    tail_events: int
    snapshots: int
    dead_positions: tuple[int, ...]
    writer_failures: tuple[str, ...]
    verified: bool
    final_head: int
    # How the catch-up read (bench.live.bulk): streaming reads that applied events before caught
    # up, bulk or poll, and the events the bulk reads applied. None in a run from before they were kept.
    catchup_reads: int | None = None
    catchup_bulk_events: int | None = None
    # The events in the log at the start: start_head on catchup's own stores (positions are
    # counts there), fewer on a followed foreign log with holes. None in a run before version 5.
    start_events: int | None = None
    # A run that did not verify: up to five rows where the tailed state and the full replay
    # differ, so a divergence says where it lies. Empty when verified, and in a run before version 6.
    differing: tuple[str, ...] = ()

    @property
    def events_at_start(self) -> int:
        return self.start_head if self.start_events is None else self.start_events

    @property
    def rate_share(self) -> float:
        """The achieved rate as a share of the requested one (1 when none was requested)."""
        return self.rate_achieved / self.rate_requested if self.rate_requested > 0 else 1.0

    @property
    def rate_short(self) -> bool:
        """The writers fell short of the rate asked: the run measured a lower load than requested."""
        return self.rate_requested > 0 and self.rate_achieved < RATE_SHORTFALL * self.rate_requested

    @property
    def load(self) -> str:
        """The load the run was under, in a few words: the rate asked, or the rate that arrived."""
        if self.followed:
            return f"{format_rate(self.rate_achieved)} arriving"
        return format_rate(self.rate_requested)

    @property
    def followed(self) -> bool:
        """A foreign source followed while its own application wrote it: no writers of catchup's."""
        return self.writers == 0

    @property
    def every_writer_failed(self) -> bool:
        # A writer reports one failure at most (it stops at its first), so the count is of writers.
        return not self.followed and len(self.writer_failures) >= self.writers

    @property
    def shortfall(self) -> str | None:
        """Why this run is no success though it may have caught up and verified; None when it is one.

        Every writer failed (a full disk, lost rights), or the writers reached less than
        RATE_FAILED of the requested rate: the lag figures then describe an idle store, not
        the load asked about, so ``catchup live`` exits non-zero and every reader leads with this.
        """
        achieved = f"{self.rate_achieved:,.0f} events/s of the {self.rate_requested:,.0f} requested"
        if self.every_writer_failed:
            return (
                f"not a success: every writer failed ({len(self.writer_failures)} of {self.writers}), "
                f"so the run measured {achieved}; the lag figures do not describe the load asked for"
            )
        if self.rate_requested > 0 and self.rate_achieved < RATE_FAILED * self.rate_requested:
            return (
                f"not a success: the writers appended {achieved}, below {RATE_FAILED:.0%} of it; "
                "the lag figures do not describe the load asked for"
            )
        return None

    @property
    def has_caught_up(self) -> bool:
        return self.caught_up and self.caught_up_s is not None

    @property
    def never_caught_up(self) -> str:
        """'never caught up within 30 s (lag grows by 1,200 events/s)'."""
        phrase = f"never caught up within {format_seconds(self.duration_s or self.max_duration_s)}"
        if self.lag_growth_events_per_s is not None:
            phrase += f" (lag grows by {self.lag_growth_events_per_s:,.0f} events/s)"
        return phrase

    def to_json(self) -> dict[str, Any]:
        content = asdict(self)
        content["dead_positions"] = list(self.dead_positions)
        content["writer_failures"] = list(self.writer_failures)
        content["differing"] = list(self.differing)
        return content

    @classmethod
    def from_json(cls, data: Any, where: str = "live") -> LiveSummary:
        after = parse.member(data, "lag_after_catchup_s", where)
        model = parse.member(data, "model", where)
        model_where = f"{where}.model"
        start_from = parse.text(data, "start_from", where)
        if start_from not in START_FROM:
            raise parse.Malformed(f"{where}.start_from is {start_from!r}, not one of {', '.join(START_FROM)}")
        writers = parse.count(data, "writers", where)  # 0: a followed foreign source (schema version 5)
        return cls(
            interval=parse.count(data, "interval", where),
            writers=writers,
            start_from=start_from,
            max_duration_s=parse.amount(data, "max_duration_s", where),
            rate_requested=parse.amount(data, "rate_requested", where),
            rate_achieved=parse.amount(data, "rate_achieved", where),
            caught_up=parse.flag(data, "caught_up", where),
            caught_up_s=parse.optional_amount(data, "caught_up_s", where),
            peak_lag_events=parse.count(data, "peak_lag_events", where),
            peak_lag_s=parse.amount(data, "peak_lag_s", where),
            lag_after_catchup_s=None
            if after is None
            else LagPercentiles(
                **{f.name: parse.amount(after, f.name, f"{where}.lag_after_catchup_s") for f in fields(LagPercentiles)}
            ),
            lag_growth_events_per_s=parse.optional_number(data, "lag_growth_events_per_s", where),
            duration_s=parse.amount(data, "duration_s", where),
            model=_model_from_json(model, model_where),
            start_head=parse.count(data, "start_head", where),
            start_position=parse.count(data, "start_position", where),
            tail_events=parse.count(data, "tail_events", where),
            snapshots=parse.count(data, "snapshots", where),
            dead_positions=tuple(parse.each(data, "dead_positions", where, parse.as_count)),
            writer_failures=tuple(parse.each(data, "writer_failures", where, parse.as_text)),
            verified=parse.flag(data, "verified", where),
            final_head=parse.count(data, "final_head", where),
            catchup_reads=_optional_count(data, "catchup_reads", where),
            catchup_bulk_events=_optional_count(data, "catchup_bulk_events", where),
            start_events=_optional_count(data, "start_events", where),
            differing=tuple(parse.each(data, "differing", where, parse.as_text)),
        )


def _model_from_json(model: Any, where: str) -> LiveModel:
    correction = parse.member(model, "correction", where)
    if correction is not None and correction not in CORRECTIONS:
        raise parse.Malformed(f"{where}.correction is {correction!r}, not one of {', '.join(CORRECTIONS)}")
    cpu = parse.member(model, "cpu", where)
    return LiveModel(
        replay_rate=parse.amount(model, "replay_rate", where),
        load_s=parse.amount(model, "load_s", where),
        tail_events=parse.count(model, "tail_events", where),
        append_rate=parse.amount(model, "append_rate", where),
        predicted_caught_up_s=parse.optional_amount(model, "predicted_caught_up_s", where),
        measured_caught_up_s=parse.optional_amount(model, "measured_caught_up_s", where),
        snapshot_s=parse.optional_amount(model, "snapshot_s", where),
        cpu=None if cpu is None else LiveCpu.from_json(cpu, f"{where}.cpu"),
        correction=correction,
        effective_replay_rate=parse.optional_amount(model, "effective_replay_rate", where),
        corrected_caught_up_s=parse.optional_amount(model, "corrected_caught_up_s", where),
    )


def _optional_count(data: Any, key: str, where: str) -> int | None:
    value = parse.member(data, key, where)
    return None if value is None else parse.as_count(value, f"{where}.{key}")


# What results schema version 3 added to the live object; a version 2 run reads them as null (not recorded).
LIVE_KEYS_SINCE_V3 = ("catchup_reads", "catchup_bulk_events")
# What version 5 added to it; an older run reads it as null (its start_head counts the events).
LIVE_KEYS_SINCE_V5 = ("start_events",)
# What version 6 added to it; an older run reads it as empty (a divergence was recorded without its rows).
LIVE_KEYS_SINCE_V6 = ("differing",)


LIVE_KEYS = tuple(f.name for f in fields(LiveSummary))


# What results schema version 4 added to the live object's model; an older run reads them as null.
MODEL_KEYS_SINCE_V4 = ("snapshot_s", "cpu", "correction", "effective_replay_rate", "corrected_caught_up_s")
