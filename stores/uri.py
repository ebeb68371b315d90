"""Store URIs: which backend a URI names, and how it is shown without its password."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from stores.errors import UnknownStoreURI

POSTGRES_SCHEMES = ("postgresql", "postgres")
ALLOWED = "a folder path, parquet:PATH, or postgresql://[user@]host[:port]/db[?layout=typed|jsonb&schema=NAME]"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_SECRET_KEYS = {"password", "sslpassword"}


def backend_of(uri: str) -> str:
    """'parquet' or 'postgres'; UnknownStoreURI for any other scheme."""
    if not uri or not uri.strip():
        raise UnknownStoreURI(f"empty store URI; use {ALLOWED}")
    match = _SCHEME.match(uri)
    if match is None:
        return "parquet"
    scheme = match.group(1).lower()
    if scheme == "parquet":
        return "parquet"
    if scheme in POSTGRES_SCHEMES:
        return "postgres"
    raise UnknownStoreURI(f"unknown store URI scheme {scheme!r} in {redact(uri)!r}; use {ALLOWED}")


def parquet_path(uri: str) -> str:
    return uri[len("parquet:") :] if uri.lower().startswith("parquet:") else uri


def redact(uri: str) -> str:
    """The URI with any password (in the netloc or the query) replaced by '***'."""
    if not _SCHEME.match(uri) or "://" not in uri:
        return uri
    parts = urlsplit(uri)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            userinfo = f"{user}:***"
        netloc = f"{userinfo}@{hostport}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, "***" if k.lower() in _SECRET_KEYS else v) for k, v in query]
    # Spelled out rather than urlunsplit, which drops the '//' of an empty host
    # (postgresql:///db?host=/socket/dir).
    shown = f"{parts.scheme}://{netloc}{parts.path}"
    if query:
        shown += "?" + urlencode(query, safe="/*")
    return shown + (f"#{parts.fragment}" if parts.fragment else "")
