"""``catchup state`` as a library call: a projection's state at a position, written to Parquet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from bench.projection_loader import load_projection
from bench.replay import projection_code, replay
from bench.results.atomic import write_file_whole
from stores import open_store
from stores.errors import InvalidParameter, StoreError


@dataclass(frozen=True)
class StateResult:
    projection: str
    position: int
    rows: int
    digest: str
    path: Path


def write_state(store_uri: str, projection_spec: str, out: str | Path, at: int | None = None) -> StateResult:
    """Replay (0, at] (default: to the head) and write the state to ``out``, whole or not at all."""
    projection = load_projection(projection_spec)
    target = Path(out)
    if target.suffix != ".parquet":
        raise InvalidParameter(f"out {out}: name a .parquet file", "out")
    if not target.parent.is_dir():
        raise InvalidParameter(f"out {out}: folder {target.parent} does not exist", "out")
    with open_store(store_uri) as store:
        head = store.head()
        position = head if at is None else at
        if not 0 <= position <= head:
            raise InvalidParameter(f"at {position}: the store's positions run 0..{head:,}", "at")
        with projection_code(projection, "__init__()"):
            state = projection()
        replay(store, state, upto=position)
    with projection_code(projection, "snapshot()"):
        table = state.snapshot()
        digest = state.digest()
    try:
        write_file_whole(target, lambda handle: pq.write_table(table, handle, compression="zstd"))
    except OSError as error:
        raise StoreError(f"cannot write {target}: {error.strerror or error}") from None
    return StateResult(projection.name, position, table.num_rows, digest, target)
