"""How numbers read in figures and reports: intervals as 10k, times in ms or s, bytes in MB."""

from __future__ import annotations


def format_interval(k: int) -> str:
    """10000 -> '10k', 1000000 -> '1M', 2500 -> '2.5k', 0 -> '0'; exact, never rounded."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if k >= size and (k * 10) % size == 0:
            whole, tenth = divmod(k * 10 // size, 10)
            return f"{whole}{suffix}" if tenth == 0 else f"{whole}.{tenth}{suffix}"
    return f"{k:,}"


def format_seconds(seconds: float) -> str:
    """Three significant figures in the unit a reader expects: 16.2 ms, 0.343 s, 5.22 s."""
    if seconds < 0.001:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 0.1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def format_bytes(size: float) -> str:
    """Decimal units, as disks and cloud bills count them: 175 kB, 102 MB, 1.01 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size:.0f} B"


def format_rate(events_per_s: float) -> str:
    """Events per second: 32.9M events/s, 850k events/s."""
    if events_per_s >= 1e6:
        return f"{events_per_s / 1e6:.3g}M events/s"
    if events_per_s >= 1e3:
        return f"{events_per_s / 1e3:.3g}k events/s"
    return f"{events_per_s:.3g} events/s"


def format_percent(value: float) -> str:
    return f"{value:.3g}%" if value < 1000 else f"{value:,.0f}%"
