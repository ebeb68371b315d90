"""Deterministic, vectorised synthesis of a double-entry ledger event log.

Why events do not depend on batch or chunk size: randomness is drawn per *block* of
BLOCK_EVENTS positions, each block from its own stream (SeedSequence(seed, spawn_key=
(block,))), and everything else is a pure function of the position and the parameters.
The one piece of carried state, each stream's version counter, is advanced in position
order. A chunk is any run of whole blocks; a batch is any slice of the output.

Shape of the log:
* account k (1-based, also its stream_id) opens at position k + floor(G * ((k-1)/A)^2),
  G = (events - accounts) / 2: openings are front-loaded over the first half of the log,
  position 1 is always an opening, and every stream starts with account_opened;
* positions pair up into units (1,2), (3,4), ...; a unit is either two single-event
  operations (deposit / withdrawal) or one two-leg operation: a transfer (debit on one
  stream, credit of the same amount and currency on another, consecutive positions) or
  an fx exchange (debit in one currency, credit in another, on the same stream). A unit
  holding an opening is always singles, so two legs are never split;
* activity follows a truncated Zipf law over the accounts open so far (skew 0 = uniform),
  oldest accounts busiest; amounts are log-normal minor units, 0 for account_opened;
* occurred_at = start + (position - 1 + jitter) / rate, so it never decreases.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from generators.params import LedgerParams
from stores.schema import (
    EVENT_SCHEMA,
    EVENT_TYPE_CODE,
    EVENT_TYPE_DICTIONARY,
    currency_dictionary,
)

BLOCK_EVENTS = 65_536  # even, so units never straddle blocks
DEFAULT_CHUNK_BLOCKS = 16  # about 1M events generated per vectorised step

_OPENED = EVENT_TYPE_CODE["account_opened"]
_DEPOSITED = EVENT_TYPE_CODE["deposited"]
_WITHDRAWN = EVENT_TYPE_CODE["withdrawn"]
_TRANSFER_DEBITED = EVENT_TYPE_CODE["transfer_debited"]
_TRANSFER_CREDITED = EVENT_TYPE_CODE["transfer_credited"]
_FX_DEBITED = EVENT_TYPE_CODE["fx_debited"]
_FX_CREDITED = EVENT_TYPE_CODE["fx_credited"]

# Median amount in minor units per operation, and the log-normal spread.
_MEDIAN_AMOUNT = {"deposit": 5_000.0, "withdrawal": 3_000.0, "transfer": 2_000.0, "fx": 10_000.0}
_AMOUNT_SIGMA = 1.0

_SINGLES, _TRANSFER, _FX = 0, 1, 2


class LedgerGenerator:
    """Produces the events of one parameter set in position order, chunk by chunk."""

    def __init__(self, params: LedgerParams, limit: int | None = None) -> None:
        self.params = params
        # Where generation stops: the dataset's size, or further for a live continuation.
        # Positions up to params.events are the same either way: accounts open within them.
        self.limit = params.events if limit is None else limit
        accounts = params.accounts
        spread = (params.events - accounts) / 2.0
        k = np.arange(accounts, dtype=np.float64)
        self.open_positions = np.arange(1, accounts + 1, dtype=np.int64) + np.floor(
            spread * (k / accounts) ** 2
        ).astype(np.int64)
        setup = np.random.Generator(np.random.PCG64(np.random.SeedSequence(params.seed, spawn_key=(2**32,))))
        n_currencies = len(params.currencies)
        # Index 0 unused so that stream_id indexes directly.
        self.home_currency = np.concatenate([[0], setup.integers(0, n_currencies, size=accounts)]).astype(np.int8)
        self.currency_value = setup.lognormal(0.0, 1.0, size=n_currencies)  # fx: units per minor unit
        self.versions = np.zeros(accounts + 1, dtype=np.int32)
        self.currency_dictionary = currency_dictionary(params.currencies)
        mix = params.mix
        singles = mix.deposit + mix.withdrawal
        scale = 2.0 / (singles + 2.0 * (mix.transfer + mix.fx))
        fx_weight = mix.fx if n_currencies > 1 else 0.0  # one currency: nothing to exchange
        self.p_transfer = scale * mix.transfer
        self.p_fx = scale * fx_weight
        self.p_deposit = mix.deposit / singles if singles > 0 else 1.0
        self.start_us = int(params.start.timestamp() * 1_000_000)
        self.next_position = 1

    def batches(self, batch_size: int, chunk_blocks: int = DEFAULT_CHUNK_BLOCKS) -> Iterator[pa.RecordBatch]:
        """All events, as record batches of at most ``batch_size`` rows."""
        if batch_size < 1 or chunk_blocks < 1:
            raise ValueError("batch_size and chunk_blocks must be at least 1")
        total = self.limit
        first_block = (self.next_position - 1) // BLOCK_EVENTS
        last_block = (total - 1) // BLOCK_EVENTS
        for block in range(first_block, last_block + 1, chunk_blocks):
            chunk = self.chunk(block, min(block + chunk_blocks, last_block + 1))
            for offset in range(0, chunk.num_rows, batch_size):
                yield chunk.slice(offset, batch_size)

    def chunk(self, first_block: int, end_block: int) -> pa.RecordBatch:
        """Events of blocks [first_block, end_block), cut at the limit.

        Must be called in block order from block 0: it advances the version counters.
        """
        if first_block * BLOCK_EVENTS + 1 != self.next_position:
            raise ValueError(f"chunks must come in order: expected block {(self.next_position - 1) // BLOCK_EVENTS}")
        draws = _Draws.for_blocks(self.params.seed, first_block, end_block)
        position = np.arange(first_block * BLOCK_EVENTS + 1, end_block * BLOCK_EVENTS + 1, dtype=np.int64)
        events = self._events(position, draws)
        keep = int(np.searchsorted(position, self.limit, side="right"))
        batch = self._record_batch(position[:keep], {name: column[:keep] for name, column in events.items()})
        self.next_position = int(position[keep - 1]) + 1
        return batch

    def _events(self, position: np.ndarray, d: _Draws) -> dict[str, np.ndarray]:
        open_count = np.searchsorted(self.open_positions, position, side="right")
        is_opening = self.open_positions[open_count - 1] == position
        first, second = slice(0, None, 2), slice(1, None, 2)

        unit_kind = np.where(
            d.unit < self.p_transfer, _TRANSFER, np.where(d.unit < self.p_transfer + self.p_fx, _FX, _SINGLES)
        ).astype(np.int8)
        unit_has_opening = is_opening[first] | is_opening[second]
        unit_kind[unit_has_opening] = _SINGLES
        unit_kind[(unit_kind == _TRANSFER) & (open_count[first] < 2)] = _SINGLES  # needs two accounts
        is_transfer_unit = unit_kind == _TRANSFER
        is_fx_unit = unit_kind == _FX

        event_type = np.where(d.single < self.p_deposit, _DEPOSITED, _WITHDRAWN).astype(np.int8)
        event_type[is_opening] = _OPENED
        event_type[first][is_transfer_unit] = _TRANSFER_DEBITED
        event_type[second][is_transfer_unit] = _TRANSFER_CREDITED
        event_type[first][is_fx_unit] = _FX_DEBITED
        event_type[second][is_fx_unit] = _FX_CREDITED

        stream = _zipf_rank(d.account, open_count, self.params.skew)
        stream[is_opening] = open_count[is_opening]
        unit_open = open_count[first]
        other = _zipf_rank(d.counterparty, unit_open, self.params.skew)
        source = stream[first]
        other = np.where(other == source, source % np.maximum(unit_open, 1) + 1, other)
        stream[second] = np.where(is_transfer_unit, other, np.where(is_fx_unit, source, stream[second]))

        currency = self.home_currency[stream]
        currency[second] = np.where(is_transfer_unit, currency[first], currency[second])
        n_currencies = len(self.params.currencies)
        if n_currencies > 1:
            shift = 1 + np.floor(d.fx_currency * (n_currencies - 1)).astype(np.int8)
            exchanged = ((currency[first].astype(np.int16) + shift) % n_currencies).astype(np.int8)
            currency[second] = np.where(is_fx_unit, exchanged, currency[second])

        amount = self._amounts(event_type, d.amount)
        amount[second] = np.where(is_transfer_unit, amount[first], amount[second])
        converted = np.maximum(
            1,
            np.rint(amount[first] * self.currency_value[currency[first]] / self.currency_value[currency[second]]),
        ).astype(np.int64)
        amount[second] = np.where(is_fx_unit, converted, amount[second])

        correlation = np.repeat(position[first], 2)
        counterparty = np.zeros_like(stream)
        counterparty[first] = np.where(is_transfer_unit, stream[second], 0)
        counterparty[second] = np.where(is_transfer_unit, stream[first], 0)

        return {
            "stream_id": stream,
            "stream_version": self._versions(stream),
            "event_type": event_type,
            "occurred_at": self.start_us
            # Clipped at the limit: the block's positions past it are dropped, and at the lowest
            # allowed rate their times would overflow int64 (a RuntimeWarning on stderr).
            + np.floor((np.minimum(position, self.limit) - 1 + d.jitter) * (1_000_000 / self.params.rate)).astype(
                np.int64
            ),
            "amount": amount,
            "currency": currency,
            "counterparty": counterparty,
            "counterparty_valid": np.repeat(is_transfer_unit, 2),
            "correlation_id": correlation,
            "correlation_valid": np.repeat(is_transfer_unit | is_fx_unit, 2),
        }

    def _amounts(self, event_type: np.ndarray, normal: np.ndarray) -> np.ndarray:
        median = np.choose(
            np.searchsorted([_DEPOSITED, _WITHDRAWN, _TRANSFER_DEBITED, _FX_DEBITED], event_type, side="right"),
            [
                0.0,
                _MEDIAN_AMOUNT["deposit"],
                _MEDIAN_AMOUNT["withdrawal"],
                _MEDIAN_AMOUNT["transfer"],
                _MEDIAN_AMOUNT["fx"],
            ],
        )
        amount = np.maximum(1.0, np.rint(median * np.exp(_AMOUNT_SIGMA * normal))).astype(np.int64)
        amount[event_type == _OPENED] = 0
        return amount

    def _versions(self, stream: np.ndarray) -> np.ndarray:
        """1-based version of each event in its stream, continuing the carried counters."""
        # A stable sort by stream, done as one plain sort of (stream, index) packed into an
        # int64: 6x faster than argsort(kind="stable") here, and it dominated the generator.
        shift = max(1, int(stream.size).bit_length())
        key = (stream << shift) | np.arange(stream.size, dtype=np.int64)
        key.sort()
        order = key & ((1 << shift) - 1)
        ordered = key >> shift
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        group_sizes = np.diff(np.r_[starts, ordered.size])
        rank_sorted = np.arange(ordered.size, dtype=np.int32) - np.repeat(starts, group_sizes).astype(np.int32)
        rank = np.empty_like(rank_sorted)
        rank[order] = rank_sorted
        version = self.versions[stream] + rank + 1
        self.versions[ordered[starts]] += group_sizes.astype(np.int32)
        return version

    def _record_batch(self, position: np.ndarray, e: dict[str, np.ndarray]) -> pa.RecordBatch:
        arrays = [
            pa.array(position),
            pa.array(e["stream_id"]),
            pa.array(e["stream_version"]),
            pa.DictionaryArray.from_arrays(pa.array(e["event_type"]), EVENT_TYPE_DICTIONARY),
            pa.array(e["occurred_at"]).view(pa.timestamp("us", tz="UTC")),
            pa.array(e["amount"]),
            pa.DictionaryArray.from_arrays(pa.array(e["currency"]), self.currency_dictionary),
            pa.array(e["counterparty"], mask=~e["counterparty_valid"]),
            pa.array(e["correlation_id"], mask=~e["correlation_valid"]),
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=EVENT_SCHEMA)


class _Draws:
    """The random numbers of a run of blocks: a fixed set per block, whatever is used."""

    __slots__ = ("unit", "single", "account", "counterparty", "amount", "fx_currency", "jitter")
    unit: np.ndarray  # per unit (pair of positions): which operation
    single: np.ndarray  # per event: deposit or withdrawal
    account: np.ndarray  # per event: Zipf draw of the account
    counterparty: np.ndarray  # per unit: Zipf draw of the transfer's other account
    amount: np.ndarray  # per event: standard normal, for the log-normal amount
    fx_currency: np.ndarray  # per unit: which other currency an fx exchange buys
    jitter: np.ndarray  # per event: where in its slot of business time it occurred

    @classmethod
    def for_blocks(cls, seed: int, first_block: int, end_block: int) -> _Draws:
        parts: dict[str, list[np.ndarray]] = {name: [] for name in cls.__slots__}
        units = BLOCK_EVENTS // 2
        for block in range(first_block, end_block):
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))
            parts["unit"].append(rng.random(units))
            parts["single"].append(rng.random(BLOCK_EVENTS))
            parts["account"].append(rng.random(BLOCK_EVENTS))
            parts["counterparty"].append(rng.random(units))
            parts["amount"].append(rng.standard_normal(BLOCK_EVENTS))
            parts["fx_currency"].append(rng.random(units))
            parts["jitter"].append(rng.random(BLOCK_EVENTS))
        draws = cls()
        for name, arrays in parts.items():
            setattr(draws, name, np.concatenate(arrays) if len(arrays) > 1 else arrays[0])
        return draws


def _zipf_rank(u: np.ndarray, n: np.ndarray, skew: float) -> np.ndarray:
    """Inverse CDF of a continuous power law on [1, n+1), floored: ranks 1..n, 1 busiest."""
    n_float = n.astype(np.float64)
    if skew == 0:
        rank = np.floor(u * n_float) + 1
    elif skew == 1:
        rank = np.floor(np.exp(u * np.log(n_float + 1)))
    else:
        a = 1.0 - skew
        rank = np.floor(((np.power(n_float + 1, a) - 1.0) * u + 1.0) ** (1.0 / a))
    return np.clip(rank, 1, n_float).astype(np.int64)


def generate(
    params: LedgerParams, batch_size: int = 131_072, chunk_blocks: int = DEFAULT_CHUNK_BLOCKS
) -> Iterator[pa.RecordBatch]:
    """The events of ``params`` in position order; identical for every batch_size and chunk_blocks."""
    return LedgerGenerator(params).batches(batch_size, chunk_blocks)
