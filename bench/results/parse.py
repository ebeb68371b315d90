"""Reading typed values out of run.json, with the path of the value that is wrong.

A run.json edited by hand, cut short or written by another tool must fail on load with
the key that is wrong (``summary[1].catchup.worst.catchup_s.median is 'x' (str), not
a non-negative finite number``), not later as a traceback in a report or, worse, as a 0
in a table or a negative timing compared as "faster". Each reader takes the object, the
key and the path of the object, and checks the range as well as the type: a count is a
non-negative integer (JSON may spell it 4.0: a median of equal counts), a timing, rate
or size a non-negative finite number.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

from bench.results.stats import Summary

T = TypeVar("T")

# How the range checks word what was expected; bench.results.samples says the same of samples.parquet.
NOT_A_COUNT = "not a non-negative integer"
NOT_AN_AMOUNT = "not a non-negative finite number"


class Malformed(ValueError):
    """A run.json value is missing or of the wrong type; the message names it by its path."""


def member(data: Any, key: str, where: str) -> Any:
    if not isinstance(data, dict):
        raise Malformed(f"{where} is {_shown(data)}, not an object")
    if key not in data:
        raise Malformed(f"{where}.{key} is missing")
    return data[key]


def as_number(value: Any, where: str) -> float:
    # bool is an int, and a JSON true is no measurement of anything.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Malformed(f"{where} is {_shown(value)}, not a finite number")
    return value


def as_whole(value: Any, where: str) -> int:
    if not isinstance(as_number(value, where), int):
        raise Malformed(f"{where} is {_shown(value)}, not a whole number")
    return int(value)


def as_count(value: Any, where: str) -> int:
    """A count, position or interval: a whole number >= 0 (4.0 is 4; 4.5, -1 and true are none)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or value != int(value)
    ):
        raise Malformed(f"{where} is {_shown(value)}, {NOT_A_COUNT}")
    return int(value)


def as_amount(value: Any, where: str) -> float:
    """A timing, rate, size or share: a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise Malformed(f"{where} is {_shown(value)}, {NOT_AN_AMOUNT}")
    return value


def as_flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise Malformed(f"{where} is {_shown(value)}, not true or false")
    return value


def as_text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise Malformed(f"{where} is {_shown(value)}, not a string")
    return value


def number(data: Any, key: str, where: str) -> float:
    return as_number(member(data, key, where), f"{where}.{key}")


def optional_number(data: Any, key: str, where: str) -> float | None:
    value = member(data, key, where)
    return None if value is None else as_number(value, f"{where}.{key}")


def count(data: Any, key: str, where: str) -> int:
    return as_count(member(data, key, where), f"{where}.{key}")


def amount(data: Any, key: str, where: str) -> float:
    return as_amount(member(data, key, where), f"{where}.{key}")


def optional_amount(data: Any, key: str, where: str) -> float | None:
    value = member(data, key, where)
    return None if value is None else as_amount(value, f"{where}.{key}")


def whole(data: Any, key: str, where: str) -> int:
    return as_whole(member(data, key, where), f"{where}.{key}")


def flag(data: Any, key: str, where: str) -> bool:
    return as_flag(member(data, key, where), f"{where}.{key}")


def text(data: Any, key: str, where: str) -> str:
    return as_text(member(data, key, where), f"{where}.{key}")


def each(data: Any, key: str, where: str, read: Callable[[Any, str], T]) -> list[T]:
    """A list member, each element read by ``read(value, path)``."""
    values = member(data, key, where)
    if not isinstance(values, list):
        raise Malformed(f"{where}.{key} is {_shown(values)}, not a list")
    return [read(value, f"{where}.{key}[{index}]") for index, value in enumerate(values)]


def stats(data: Any, key: str, where: str) -> Summary:
    """A stats.Summary (median, quartiles, CI, ...) of measured repeats, every one a timing, rate,
    size or share, so no part of it is negative; n, the repeats, is a count of at least one."""
    value = member(data, key, where)
    path = f"{where}.{key}"
    values: dict[str, Any] = {name: amount(value, name, path) for name in Summary.field_names() if name != "n"}
    values["n"] = count(value, "n", path)
    if values["n"] < 1:
        raise Malformed(f"{path}.n is 0, not a count of repeats (at least 1)")
    return Summary.from_json(values)


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return f"an {'object' if isinstance(value, dict) else 'array'}"
    return f"{value!r} ({type(value).__name__})"
