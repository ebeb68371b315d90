"""What a live run is asked to do, and the limits it keeps to."""

from __future__ import annotations

from dataclasses import dataclass

from bench.results.live import SAMPLE_PERIOD_S, START_FROM
from stores.base import READ_BATCH_SIZE
from stores.errors import CatchupError, InvalidParameter

LIVE_BATCH_SIZE = 16_384
WRITERS_READY_TIMEOUT_S = 120.0
WRITER_STOP_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 60.0
__all__ = ["LIVE_BATCH_SIZE", "SAMPLE_PERIOD_S", "START_FROM", "LiveConfig", "LiveFailed"]

MAX_WRITERS = 64
DEFAULT_WRITERS = 2
DEFAULT_MAX_DURATION_S = 60.0
DEFAULT_OBSERVE_S = 5.0


class LiveFailed(CatchupError):
    """The live run could not go on: every writer failed, or the end could not be read."""


@dataclass(frozen=True)
class LiveConfig:
    interval: int  # K: snapshot every K events while tailing
    rate: float  # λ: events/s appended by all writers together
    writers: int = DEFAULT_WRITERS
    start_from: str = START_FROM[0]
    max_duration_s: float = DEFAULT_MAX_DURATION_S
    observe_s: float = DEFAULT_OBSERVE_S  # after catching up, keep tailing this long to measure the lag
    batch_size: int = LIVE_BATCH_SIZE  # a poll near the head; caught up means a lag within one
    # Far behind the head, a bulk read (or a followed source's settled range) in batches as
    # catchup run reads them: μ is measured so, and a projection whose apply costs less per
    # event in larger batches catches up live as it does in the experiment.
    catchup_batch_size: int = READ_BATCH_SIZE
    # Follow a foreign source while its own application writes it: no writers of catchup's,
    # so rate and writers are 0 (bench.live.follow).
    follow: bool = False

    def __post_init__(self) -> None:
        if self.interval < 1:
            raise InvalidParameter(f"interval {self.interval} is below 1; snapshot every k >= 1 events", "interval")
        if self.follow:
            if self.rate or self.writers:
                raise InvalidParameter(
                    "rate and writers are for catchup's own writers; a followed source is written by its own "
                    "application: leave both out",
                    "rate",
                    "writers",
                )
        elif not self.rate > 0:
            raise InvalidParameter(f"rate {self.rate:g} is not above 0; give events per second, e.g. 50000", "rate")
        elif not 1 <= self.writers <= MAX_WRITERS:
            raise InvalidParameter(
                f"writers {self.writers} is out of range; use 1 to {MAX_WRITERS} writer processes", "writers"
            )
        if self.start_from not in START_FROM:
            raise InvalidParameter(
                f"start_from {self.start_from!r} is not known; use {' or '.join(START_FROM)}", "start_from"
            )
        if not self.max_duration_s > 0:
            raise InvalidParameter(
                f"max_duration_s {self.max_duration_s:g} is not above 0; give seconds", "max_duration_s"
            )
        if self.observe_s < 0:
            raise InvalidParameter(f"observe_s {self.observe_s:g} is negative; give seconds >= 0", "observe_s")
        for name in ("batch_size", "catchup_batch_size"):
            if getattr(self, name) < 1:
                raise InvalidParameter(f"{name} {getattr(self, name)} is below 1", name)
