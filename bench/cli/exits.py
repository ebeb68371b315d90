"""catchup's exit codes: the one table every command exits by."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    ERROR = 1  # a one-line 'Error: ...' on stderr
    USAGE = 2  # a bad option or argument
    REGRESSION = 3  # compare found a significant slowdown beyond the threshold
    DIVERGENCE = 4  # run or live: a caught-up state differs from a full replay
    LIVE_SHORTFALL = 5  # live: every writer failed, or the achieved rate was below a tenth of the requested one
    INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


INTERRUPTED = (
    "interrupted; a store being generated is left marked incomplete, a run being measured writes no results, "
    "a live run stops its writers and writes no results"
)
