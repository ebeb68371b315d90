"""Where this machine's CPU went during a live run's windows: the projection, the writers, a local server, the rest.

A window's figures are CPU-seconds divided by its wall time, so in cores (2.0 = two cores
busy throughout). Read from /proc through psutil:

- **projection**: this process (every thread: the reads, the apply, the lag sampler);
- **writers**: the writer processes by pid; one that ends inside the window counts what
  it had used at the last reading that saw it (psutil cannot read a reaped process);
- **server**: for a Postgres store on this machine (127.0.0.1, localhost, ::1 or a unix
  socket), every process named ``postgres``, plus the postmaster's *children* times.
  A backend that starts and ends inside the window is never seen alive, but the
  postmaster reaps it, and the kernel then adds its CPU to the postmaster's children
  times (cutime, cstime): so the sum over live processes plus those times only grows as
  backends come and go, and its difference counts short-lived backends too;
- **other**: the machine's busy time (/proc/stat's aggregate line: everything but idle
  and iowait) minus the three above: other programs, the kernel's work for nobody here.

/proc counts in clock ticks (10 ms): a window of a second is exact to about 1%.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import psutil

from bench.results.live import CpuWindow

LOCAL_HOSTS = ("", "127.0.0.1", "localhost", "::1")
SERVER_NAME = "postgres"
_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
# /proc/stat's cpu line: user nice system idle iowait irq softirq steal (guest is inside user).
_IDLE_FIELDS = (3, 4)
_BUSY_FIELDS = 8


def cores() -> int:
    """The cores this process may run on: the projection's share of the machine is out of these."""
    return len(os.sched_getaffinity(0))


def local_server(store_uri: str) -> bool:
    """Whether the store is a Postgres server on this machine, whose processes /proc shows."""
    if not store_uri.startswith(("postgresql:", "postgres:")):
        return False
    parts = urlsplit(store_uri)
    # ?host= overrides the URI's host: a path is a unix socket (on this machine), else a host name.
    hosts = parse_qs(parts.query).get("host") or [parts.hostname or ""]
    return all(host.startswith("/") or host.lower() in LOCAL_HOSTS for host in hosts)


@dataclass(frozen=True)
class CpuReading:
    """CPU-seconds used so far by each party, and the machine's busy time, at one moment."""

    at: float  # time.monotonic()
    machine: float
    projection: float
    writers: dict[int, float]  # pid -> its CPU-seconds
    server: float | None  # None: no local server is metered


def machine_busy_s() -> float:
    """CPU-seconds all cores have spent busy since boot (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(value) for value in stat.readline().split()[1 : 1 + _BUSY_FIELDS]]
    return (sum(ticks) - sum(ticks[i] for i in _IDLE_FIELDS)) * _TICK_S


def _own_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def server_s() -> float:
    """CPU-seconds of the local server: its live processes plus what its postmaster reaped."""
    total = 0.0
    for process in psutil.process_iter(["name", "ppid"]):
        if process.info["name"] != SERVER_NAME:
            continue
        try:
            times = process.cpu_times()
            parent = psutil.Process(process.info["ppid"]).name() if process.info["ppid"] else ""
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # ended meanwhile: its postmaster's children times hold it at the next reading
        total += times.user + times.system
        if parent != SERVER_NAME:  # the postmaster: its children's times are the backends already gone
            total += times.children_user + times.children_system
    return total


class CpuMeter:
    """Readings of the projection (this process), the writers and, if asked, the local server."""

    def __init__(self, writer_pids: Iterable[int] = (), *, server: bool = False) -> None:
        self.own = psutil.Process()
        self.writers: dict[int, psutil.Process] = {}
        for pid in writer_pids:
            with _gone_is_fine():
                self.writers[pid] = psutil.Process(pid)
        self.server = server
        self._last: dict[int, float] = {}  # a writer's latest CPU-seconds, kept for when it has ended

    def read(self) -> CpuReading:
        for pid, process in self.writers.items():
            with _gone_is_fine():
                self._last[pid] = _own_s(process)
        return CpuReading(
            at=time.monotonic(),
            machine=machine_busy_s(),
            projection=_own_s(self.own),
            writers=dict(self._last),
            server=server_s() if self.server else None,
        )


def window(start: CpuReading, end: CpuReading) -> CpuWindow:
    """The cores each party used between two readings; other = the machine's busy cores minus theirs."""
    wall = end.at - start.at
    if wall <= 0:
        return CpuWindow(
            seconds=0.0, projection=0.0, writers=0.0, server=None if end.server is None else 0.0, other=0.0
        )
    projection = (end.projection - start.projection) / wall
    writers = sum(end.writers.get(pid, used) - used for pid, used in start.writers.items()) / wall
    server = None if end.server is None or start.server is None else max(0.0, end.server - start.server) / wall
    busy = (end.machine - start.machine) / wall
    other = max(0.0, busy - projection - writers - (server or 0.0))  # tick rounding can take it a hair below 0
    return CpuWindow(seconds=wall, projection=projection, writers=writers, server=server, other=other)


class _gone_is_fine:
    """A process that has ended is read no more: what was last read of it stands."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        return kind is not None and issubclass(kind, (psutil.NoSuchProcess, psutil.ZombieProcess))
