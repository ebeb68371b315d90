"""How numbers read and are read: intervals as 10k, times in ms or s, bytes in MB; '1M' as a count.

Two units of size, each for one thing, everywhere (terminal, report, benchmarks): what is
stored (events, snapshots, files) in decimal MB, as disks and cloud bills count it; memory
(a machine's RAM, a process's peak RSS) in binary MiB, as the kernel, ``ps`` and ``free``
count it. The same value never reads as "403 MB" in one place and "384 MiB" in another.
"""

from __future__ import annotations

import re

_SUFFIX = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
_COUNT = re.compile(r"^([+-]?\d[\d_]*)([kKmMgG]?)$")
_RATE = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)([kKmMgG]?)$")


def parse_count(text: str) -> int:
    """'1000000', '1_000_000', '1M', '10k' -> int; ValueError otherwise."""
    match = _COUNT.match(text.strip())
    if not match:
        raise ValueError(text)
    return int(match.group(1).replace("_", "")) * _SUFFIX[match.group(2).lower()]


def parse_rate(text: str) -> float:
    """'20k', '1.5M', '1000', '0.5' (events per second) -> float; ValueError otherwise."""
    match = _RATE.match(text.strip().replace("_", ""))
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _SUFFIX[match.group(2).lower()]


def format_interval(k: int) -> str:
    """10000 -> '10k', 1000000 -> '1M', 2500 -> '2.5k', 0 -> '0'; exact, never rounded."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if k >= size and (k * 10) % size == 0:
            whole, tenth = divmod(k * 10 // size, 10)
            return f"{whole}{suffix}" if tenth == 0 else f"{whole}.{tenth}{suffix}"
    return f"{k:,}"


def approx_interval(k: float) -> str:
    """A computed interval to three significant figures: 4156922.3 -> '4.16M', 155000 -> '155k', 870 -> '870'."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if k >= size:
            return f"{k / size:.3g}{suffix}"
    return f"{k:.3g}"


def interval_label(k: int | float) -> str:
    """A snapshot interval as tables and axes name it: '0 (none)' for no snapshots, else as format_interval."""
    return "0 (none)" if int(k) == 0 else format_interval(int(k))


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


def format_memory(size: float) -> str:
    """Binary units, as the kernel counts memory: 384 MiB, 15.5 GiB (three significant figures)."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
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


DIVERGED = "DIVERGED"  # a verification cell that failed; reports mark it


def verified_label(ok: bool) -> str:
    return "yes" if ok else DIVERGED


_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|min|h|d)?$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
DURATION_FORM = "a number with a unit: 500ms, 30s, 5m, 2h or 1d (no unit: seconds)"
_SIZE = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*([kKMGT]i?B|B)?$")
_SIZE_UNITS = {"B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_SIZE_UNITS |= {"KiB": 2**10, "kiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
SIZE_FORM = "a number of bytes with a unit: 500MB, 10GB, 1.5TB or 512MiB (no unit: bytes)"
_PER = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*/\s*(s|m|min|h|d|day|week)$")
_PER_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "day": 86400.0, "week": 604800.0}
FREQUENCY_FORM = "a count per period: 4/day, 1/h, 10/week (periods s, min, h, day, week)"


def parse_duration(text: str) -> float:
    """'500ms', '30s', '5m', '2h', '1d', '1.5' (seconds) -> seconds; ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]


def parse_size(text: str) -> float:
    """'10GB', '500MB', '512MiB', '1000' (bytes) -> bytes; decimal units as format_bytes writes them."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _SIZE_UNITS[match.group(2) or "B"]


def parse_frequency(text: str) -> float:
    """'4/day', '1/h', '10/week' -> events per second; ValueError otherwise."""
    match = _PER.match(text.strip())
    if not match:
        raise ValueError(text)
    return float(match.group(1)) / _PER_UNITS[match.group(2)]


def format_duration(seconds: float) -> str:
    """A long time as a reader says it: 45 s -> format_seconds; 1.5 min, 2.4 h, 3.1 days."""
    if seconds < 60:
        return format_seconds(seconds)
    for unit, scale in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= scale * (2 if unit == "days" else 1):
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 60:.3g} min"
