"""Periodic progress lines with interval and overall rates and an ETA (as TSBS prints)."""

from __future__ import annotations

import time
from collections.abc import Callable


def human_count(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.2f}{suffix}"
    return f"{value:.0f}"


def human_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class RateReporter:
    """Counts work and emits a line at most every ``every`` seconds, and once at the end."""

    def __init__(
        self,
        label: str,
        total: int | None,
        emit: Callable[[str], None],
        every: float = 1.0,
        unit: str = "events",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.label, self.total, self.emit, self.every, self.unit, self.clock = label, total, emit, every, unit, clock
        self.started = self.last_time = clock()
        self.done = self.last_done = 0

    def update(self, count: int) -> None:
        self.done += count
        now = self.clock()
        if now - self.last_time >= self.every:
            self.emit(self.line(now))
            self.last_time, self.last_done = now, self.done

    def finish(self) -> None:
        self.emit(self.line(self.clock()))

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        interval = max(now - self.last_time, 1e-9)
        overall_rate = self.done / elapsed
        interval_rate = (self.done - self.last_done) / interval
        parts = [f"{self.label}: {self.done:,}"]
        if self.total:
            parts[0] += f"/{self.total:,} {self.unit} {100 * self.done / self.total:3.0f}%"
        else:
            parts[0] += f" {self.unit}"
        parts.append(f"interval {human_count(interval_rate)}/s")
        parts.append(f"overall {human_count(overall_rate)}/s")
        parts.append(f"elapsed {human_seconds(elapsed)}")
        if self.total and overall_rate > 0 and self.done < self.total:
            parts.append(f"ETA {human_seconds((self.total - self.done) / overall_rate)}")
        return "  ".join(parts)
