"""Store URIs: which backend a URI names, and how it is shown without its password."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from stores.errors import UnknownStoreURI

POSTGRES_SCHEMES = ("postgresql", "postgres")
ALLOWED = "a folder path, parquet:PATH, or postgresql://[user@]host[:port]/db[?layout=typed|jsonb&schema=NAME]"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
# A host, a bracketed IPv6 address or nothing (a socket given by ?host=), then an optional port.
_HOSTPORT = re.compile(r"(?:\[[0-9A-Fa-f:.%A-Za-z]*\]|[^:/?#@\[\]]*)(?::\d*)?")
_AT_BEFORE_VALUE = re.compile(r"[^=&]*@")
_PLAIN_USER = re.compile(r"[A-Za-z0-9._~+-]+")
_QUERY_SECRET = re.compile(r"(?i)((?:^|(?<=[?&]))(?:ssl)?password=).*?(?=&[A-Za-z_][A-Za-z0-9_]*=|$)")


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
    """The URI with any password (in the userinfo or the query) replaced by '***'.

    A password holding an unencoded '#', '/', '?' or '@' splits the URI elsewhere than
    its writer meant (urlsplit then sees part of the password as the host, the path or
    a fragment), so such a URI is redacted on its raw text instead: see ``misparsed``.
    """
    if not _SCHEME.match(uri):
        return uri
    if "://" not in uri:
        return _redact_raw(uri) if "@" in uri else uri
    if misparsed(uri):
        return _redact_raw(uri)
    parts = urlsplit(uri)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            userinfo = f"{user}:***"
        netloc = f"{userinfo}@{hostport}"
    # Spelled out rather than urlunsplit, which drops the '//' of an empty host
    # (postgresql:///db?host=/socket/dir).
    shown = f"{parts.scheme}://{netloc}{parts.path}"
    return shown + (f"?{_redact_query(parts.query)}" if parts.query else "")


def misparsed(uri: str) -> str:
    """Why urlsplit cannot split ``uri`` the way its writer surely meant; '' when it can.

    The signs: urlsplit refuses it (an unclosed '[' of an IPv6 host); a '#' (no store URI
    has a fragment: it is a password's); an '@' in the path, or in the query before its
    first '=' (a password's '/' or '?' moved the rest there); a port that is not digits
    (``u:Ab`` of ``u:Ab#x@host``: the password's head read as a port); two '@' in the
    netloc (libpq and urlsplit would split it at different ones).
    """
    try:
        parts = urlsplit(uri)
    except ValueError as error:
        return str(error).lower()  # 'invalid ipv6 url'
    if "#" in uri:
        return "a '#' ends it early"
    if "@" in parts.path or _AT_BEFORE_VALUE.match(parts.query):
        return "a '/' or '?' before the last '@' ends the host early"
    if parts.netloc.count("@") > 1:  # libpq ends the userinfo at the first '@', urlsplit at the last
        return "an '@' in the user or password"
    hostports = parts.netloc.rpartition("@")[2]
    if not all(_HOSTPORT.fullmatch(one) for one in hostports.split(",")):
        # Not shown: what stands there may be the head of a password.
        return "what stands before the path is not host[:port]"
    return ""


def _redact_raw(uri: str) -> str:
    """Everything between '://' and the last '@' before the host masked; the user kept when plain."""
    scheme, slashes, rest = uri.partition("://")
    if not slashes:  # 'postgresql:/u:pw@h' (a path library folds '//'): all of it up to the last '@'
        scheme, _, rest = uri.partition(":")
        return f"{scheme}:***@{_redact_query(rest.rpartition('@')[2])}"
    at = _userinfo_end(rest)
    if at < 0:
        return f"{scheme}://{_redact_query(rest)}"
    userinfo, hostpart = rest[:at], rest[at + 1 :]
    user, colon, _ = userinfo.partition(":")
    if not _PLAIN_USER.fullmatch(user):  # the user cannot be told apart from the password
        shown_user = "***"
    else:
        shown_user = f"{user}:***" if colon else user
    return f"{scheme}://{shown_user}@{_redact_query(hostpart)}"


def _userinfo_end(rest: str) -> int:
    """Where the userinfo ends: the last '@' followed by something shaped like a host, else the last '@'."""
    ats = [index for index, char in enumerate(rest) if char == "@"]
    for index in reversed(ats):
        host = re.split(r"[/?#]", rest[index + 1 :], maxsplit=1)[0]
        if all(_HOSTPORT.fullmatch(one) for one in host.split(",")):
            return index
    return ats[-1] if ats else -1


def _redact_query(text: str) -> str:
    """The value of every password option masked up to the next ``&name=`` (a password may hold '&')."""
    return _QUERY_SECRET.sub(lambda match: f"{match.group(1)}***", text)
