"""The knobs of the ledger generator, validated, and the dataset fingerprint they make."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from stores.base import DatasetMeta
from stores.errors import InvalidParameter
from stores.schema import EVENT_SCHEMA

GENERATOR = "catchup.generators.ledger"
# Bump when the same parameters would give different events: the fingerprint changes with it.
GENERATOR_VERSION = "1"

OPERATIONS = ("deposit", "withdrawal", "transfer", "fx")

_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_OCCURRED_UNIT = EVENT_SCHEMA.field("occurred_at").type.unit
# The latest occurred_at, in microseconds since the epoch, that the events may reach: an
# int64 count of the schema's unit, and a time Python's datetime can show (year 9999), so
# every reader can turn it back into a time; whichever ends first.
LATEST_OCCURRED_US = min(
    (2**63 - 1) * 1_000_000 // _PER_SECOND[_OCCURRED_UNIT],
    int(datetime.max.replace(tzinfo=UTC).timestamp()) * 1_000_000,
)


@dataclass(frozen=True)
class OperationMix:
    """Relative weights of operations (a transfer or an fx exchange is one operation, two events)."""

    deposit: float = 35.0
    withdrawal: float = 25.0
    transfer: float = 30.0
    fx: float = 10.0

    @classmethod
    def parse(cls, text: str) -> OperationMix:
        """'deposit=35,withdrawal=25,transfer=30,fx=10'; operations left out weigh 0."""
        weights: dict[str, float] = dict.fromkeys(OPERATIONS, 0.0)
        for item in text.split(","):
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep or name not in OPERATIONS:
                raise InvalidParameter(
                    f"mix item {item.strip()!r}: use NAME=WEIGHT with NAME one of {', '.join(OPERATIONS)}",
                    "mix",
                )
            try:
                weights[name] = float(value)
            except ValueError:
                raise InvalidParameter(f"mix weight {value.strip()!r} for {name} is not a number", "mix") from None
        mix = cls(**weights)
        mix.validate()
        return mix

    def validate(self) -> None:
        values = asdict(self)
        negative = [name for name, weight in values.items() if not weight >= 0]
        if negative:
            raise InvalidParameter(f"mix weights must be >= 0; {', '.join(negative)} is not", "mix")
        if sum(values.values()) <= 0:
            raise InvalidParameter("mix weights add up to 0; give at least one operation a weight above 0", "mix")

    def __str__(self) -> str:
        return ",".join(f"{name}={weight:g}" for name, weight in asdict(self).items())


@dataclass(frozen=True)
class LedgerParams:
    """Everything the events depend on. Equal params give identical events."""

    events: int = 1_000_000
    accounts: int = 10_000
    currencies: tuple[str, ...] = ("USD", "EUR", "JPY", "GBP")
    skew: float = 1.1
    mix: OperationMix = field(default_factory=OperationMix)
    seed: int = 42
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    rate: float = 1000.0

    def __post_init__(self) -> None:
        if self.events < 1:
            raise InvalidParameter(f"events {self.events}: must be a whole number of at least 1", "events")
        if self.accounts < 1:
            raise InvalidParameter(f"accounts {self.accounts}: must be at least 1", "accounts")
        if self.accounts > self.events:
            raise InvalidParameter(
                f"accounts {self.accounts} exceeds events {self.events}: every account starts "
                f"with an account_opened event; use at most {self.events} accounts",
                "accounts",
                "events",
            )
        if not self.currencies:
            raise InvalidParameter("currencies is empty; name at least one ISO 4217 code", "currencies")
        if not 0 <= self.skew <= 5:
            raise InvalidParameter(f"skew {self.skew}: use a Zipf exponent from 0 (uniform) to 5", "skew")
        if not 0 <= self.seed < 2**63:
            raise InvalidParameter(f"seed {self.seed}: use a whole number from 0 to 2**63-1", "seed")
        if self.start.tzinfo is None:
            raise InvalidParameter(
                f"start {self.start.isoformat()}: give a time zone, e.g. 2026-01-01T00:00:00Z", "start"
            )
        self._check_rate()
        self.mix.validate()

    def rate_range(self) -> tuple[float, float]:
        """The rates whose occurred_at fit: the last event at or before LATEST_OCCURRED_US, and
        (more than one event) at least a microsecond between the first and the last."""
        start_us = int(self.start.timestamp() * 1_000_000)
        room_us = max(LATEST_OCCURRED_US - start_us, 1)
        # occurred_at = start + (position - 1 + jitter) / rate with jitter < 1: the last is
        # below start + events / rate.
        lowest = _three_figures(self.events * 1_000_000 / room_us, math.ceil)
        highest = _three_figures((self.events - 1) * 1_000_000, math.floor) if self.events > 1 else math.inf
        return lowest, highest

    def _check_rate(self) -> None:
        lowest, highest = self.rate_range()
        if math.isfinite(self.rate) and lowest <= self.rate <= highest:
            return
        allowed = f"from {lowest:g} to {highest:g}" if math.isfinite(highest) else f"of at least {lowest:g}"
        raise InvalidParameter(
            f"rate {self.rate:g} is out of range: for {self.events:,} events from {self.start.isoformat()} "
            f"use a finite rate {allowed} events per second (the last occurred_at must come before the year "
            "10000, and the events must not all share one microsecond)",
            "rate",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "accounts": self.accounts,
            "currencies": list(self.currencies),
            "skew": self.skew,
            "mix": asdict(self.mix),
            "seed": self.seed,
            "start": self.start.astimezone(UTC).isoformat(),
            "rate": self.rate,
        }


def _three_figures(value: float, rounding: Callable[[float], int]) -> float:
    """``value`` rounded (up or down, inward of a range) to three significant figures: a bound a
    message prints and a user can type back."""
    if not value > 0:
        return value
    step = 10.0 ** (math.floor(math.log10(value)) - 2)
    return float(f"{rounding(value / step) * step:.3g}")


def params_from_json(data: dict[str, Any]) -> LedgerParams:
    """The inverse of ``LedgerParams.to_json``: how a store's fingerprint gives back its generator."""
    try:
        return LedgerParams(
            events=int(data["events"]),
            accounts=int(data["accounts"]),
            currencies=tuple(data["currencies"]),
            skew=float(data["skew"]),
            mix=OperationMix(**{name: float(value) for name, value in data["mix"].items()}),
            seed=int(data["seed"]),
            start=datetime.fromisoformat(data["start"]),
            rate=float(data["rate"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidParameter(
            f"the store's generator parameters cannot be read back ({type(error).__name__}: {error}); "
            "generate the store again with catchup generate"
        ) from None


def fingerprint(params: LedgerParams) -> dict[str, Any]:
    """Generator version + parameters, and a short id of both for quick comparison."""
    body = {"generator": GENERATOR, "version": GENERATOR_VERSION, "params": params.to_json()}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return {**body, "id": digest}


def dataset_meta(params: LedgerParams) -> DatasetMeta:
    return DatasetMeta(fingerprint=fingerprint(params), currencies=params.currencies)
