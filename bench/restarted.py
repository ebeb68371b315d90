"""The restarted process of a cold catch-up (bench.cold), run as ``python -m bench.restarted``.

It reads its request (bench.cold.ColdRequest, with ``t0`` and ``out_dir``) from stdin,
catches up from the latest snapshot as a freshly started service would, and writes
``result.json`` into ``out_dir``: the marks of each step as seconds since the parent's
t0, the tail's fetch and apply, and the state's digest. Nothing heavy is imported at the
top: the imports of catchup and of the projection are a part of the restart, timed as
``import_s``. A CatchupError becomes ``{"error": "<one line>"}``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def main() -> int:
    entered = time.monotonic()
    request: dict[str, Any] = json.loads(sys.stdin.read())
    out = Path(request["out_dir"])
    from stores.errors import CatchupError

    try:
        result = _restart(request, entered)
    except CatchupError as error:
        result = {"error": (str(error).splitlines() or [type(error).__name__])[0]}
    (out / "result.json").write_text(json.dumps(result), encoding="utf-8")
    return 0


def _restart(request: dict[str, Any], entered: float) -> dict[str, Any]:
    t0 = request["t0"]
    target, head = request["target"], request["head"]
    from bench.projection_loader import load_projection
    from bench.replay import projection_code, replay, restore
    from stores import open_store

    projection = load_projection(target["projection_spec"])
    imported = time.monotonic()
    with open_store(target["store_uri"]) as store:
        snapshots = store.snapshots()  # the first read: the manifest, or a connection and the status row
        opened = time.monotonic()
        info = snapshots.latest(projection.name, at_or_before=head)
        table = snapshots.load(info) if info is not None else None
        loaded = time.monotonic()
        if table is None:
            with projection_code(projection, "__init__()"):
                state = projection()
        else:
            state = restore(projection, table)
        restored = time.monotonic()
        after = info.position if info is not None else 0
        tail = replay(store, state, after=after, upto=head, batch_size=request["batch_size"])
        caught_up = time.monotonic()
    with projection_code(projection, "digest()"):
        digest = state.digest()
    if digest != request["expected_digest"]:
        _write_state(state.snapshot(), Path(request["out_dir"]) / "state.arrow")
    return {
        "start_s": entered - t0,
        "import_s": imported - entered,
        "open_s": opened - imported,
        "load_s": loaded - opened,
        "restore_s": restored - loaded,
        "fetch_s": tail.fetch_s,
        "apply_s": tail.apply_s,
        "tail_events": tail.events,
        "snapshot_position": after,
        "catchup_s": caught_up - t0,
        "digest": digest,
    }


def _write_state(table: Any, path: Path) -> None:
    import pyarrow as pa

    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


if __name__ == "__main__":
    sys.exit(main())
