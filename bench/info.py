"""The human-readable form of a store description (``catchup info``)."""

from __future__ import annotations

from stores.base import StoreInfo


def format_info(info: StoreInfo) -> str:
    rows: list[tuple[str, str]] = [
        ("store", info.uri),
        ("backend", f"{info.backend} ({info.layout})"),
        ("complete", "yes" if info.complete else "NO: an interrupted or running load; regenerate with --overwrite"),
        ("head", f"{info.head:,}"),
        ("size", f"{info.size_bytes / 1e6:,.1f} MB ({info.size_bytes:,} bytes)"),
    ]
    if info.fingerprint:
        fp = info.fingerprint
        params = fp.get("params", {})
        summary = ", ".join(f"{key}={params[key]}" for key in ("events", "accounts", "seed", "skew") if key in params)
        rows.append(("fingerprint", f"{fp.get('id')} ({fp.get('generator')} v{fp.get('version')}: {summary})"))
    if info.currencies:
        rows.append(("currencies", ", ".join(info.currencies)))
    for key, value in info.details.items():
        rows.append((key.replace("_", " "), ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
