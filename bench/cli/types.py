"""Click parameter types for the values catchup takes: counts and rates with suffixes, durations, sizes, UTC times."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

import click

from bench.units import (
    DURATION_FORM,
    FREQUENCY_FORM,
    SIZE_FORM,
    parse_count,
    parse_duration,
    parse_frequency,
    parse_rate,
    parse_size,
)


class Count(click.ParamType[int]):
    """A whole number with an optional k/M/G suffix; ``minimum=None`` leaves range checks to the library."""

    name = "count"

    def __init__(self, minimum: int | None = 1) -> None:
        self.minimum = minimum

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = parse_count(str(value))
            except ValueError:
                self.fail(f"{value!r} is not a whole number (suffixes k, M, G allowed: 10k, 1M)", param, ctx)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{value!r} is below {self.minimum}; use a whole number >= {self.minimum}", param, ctx)
        return number


RATE_FORM = "use events per second such as 1000, 20k or 1.5M"


class Rate(click.ParamType[float]):
    """Events per second, with an optional k/M suffix: '20k', '1.5M', '1000'; finite, other range checks
    are the library's (generate's depend on --events and --start)."""

    name = "events/s"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            rate = value
        else:
            try:
                rate = parse_rate(str(value))
            except ValueError:
                self.fail(f"{value!r} is not a rate; {RATE_FORM}", param, ctx)
        if not math.isfinite(rate):  # digits beyond a float's range parse as inf
            self.fail(f"{value!r} is not a finite rate; {RATE_FORM}", param, ctx)
        return rate


class UtcTime(click.ParamType[datetime]):
    """An ISO 8601 time; without a zone it is taken as UTC."""

    name = "time"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value))
            except ValueError:
                self.fail(f"{value!r} is not an ISO 8601 time such as 2026-01-01T00:00:00Z", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class IntervalList(click.ParamType[tuple[int, ...]]):
    """Comma-separated snapshot intervals with k/M/G suffixes: '0,10k,100k,1M'."""

    name = "intervals"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        numbers = []
        for item in str(value).split(","):
            try:
                number = parse_count(item)
            except ValueError:
                self.fail(
                    f"{item.strip()!r} in {value!r} is not a whole number; use a list such as 0,10k,100k,1M", param, ctx
                )
            if number < 0:
                self.fail(
                    f"{item.strip()} in {value!r} is negative; use 0 (no snapshots) or a positive count", param, ctx
                )
            numbers.append(number)
        return tuple(numbers)


class Percent(click.ParamType[float]):
    """A percentage, '10%' or '10', as a fraction (0.10); 0% to 999%."""

    name = "percent"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip().removesuffix("%")
        try:
            number = float(text)
        except ValueError:
            self.fail(f"{value!r} is not a percentage; use a number such as 10%", param, ctx)
        if not 0 <= number < 1000:
            self.fail(f"{value!r} is out of range; use a percentage from 0% to 999%", param, ctx)
        return number / 100


class _Positive(click.ParamType[float]):
    """A finite amount above 0 read by a bench.units parser; its form is said when it does not parse."""

    parse: Callable[[str], float]
    form: str
    what: str

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            number = type(self).parse(str(value))
        except ValueError:
            self.fail(f"{value!r} is not {self.what}; use {self.form}", param, ctx)
        if not (math.isfinite(number) and number > 0):
            self.fail(f"{value!r} is not above 0; use {self.form}", param, ctx)
        return number


class Duration(_Positive):
    """Seconds, from '500ms', '30s', '5m', '2h', '1d' or a bare number of seconds."""

    name = "duration"
    parse = staticmethod(parse_duration)
    form = DURATION_FORM
    what = "a duration"


class Size(_Positive):
    """Bytes, from '10GB', '500MB', '512MiB' or a bare number of bytes."""

    name = "size"
    parse = staticmethod(parse_size)
    form = SIZE_FORM
    what = "a size"


class Frequency(_Positive):
    """Events per second, from a count per period: '4/day', '1/h', '10/week'."""

    name = "count/period"
    parse = staticmethod(parse_frequency)
    form = FREQUENCY_FORM
    what = "a frequency"
