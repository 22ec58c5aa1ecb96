"""Redaction: the one rule by which botwo keeps secrets out of what it shows.

Every message, repr, log line and serializer that may hold a URL or a configured value
goes through these functions: a URL's ``user:password@`` is taken out (the scheme, host,
port and path stay as written), and known secret values are masked as ``****``. Pure
functions over strings and plain data, so every caller gets the same answer.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

__all__ = [
    "MASK",
    "hide_userinfo",
    "host_of",
    "redact",
    "safe_endpoint",
    "scrub_urls",
    "url_passwords",
]

#: What a masked secret reads as.
MASK = "****"
#: The shortest value masked by :func:`redact`: shorter ones would mask ordinary text.
_SHORTEST = 4

# A URL's userinfo anywhere in a text: "//" then anything but "/" or a space, "@" ends it
# (the last "@" before the path: a password may itself hold "@"). Not \s: in Python it
# also matches control characters, which a password may hold.
_USERINFO = re.compile(r"//[^/ \t\n\r\f\v]*@")


def host_of(netloc: str) -> str:
    """The ``host[:port]`` of a URL's authority, without its ``user:password@``."""
    return netloc.rpartition("@")[2]


def safe_endpoint(url: str | None) -> str | None:
    """An endpoint URL without any ``user:password@`` part; the host and port as written
    (``"(invalid URL)"`` for text that is not one)."""
    if url is None:
        return None
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # e.g. an unclosed [ of an IPv6 address
        return "(invalid URL)"
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=host_of(parts.netloc)))


def hide_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it taken out."""
    return _USERINFO.sub("//", text)


def url_passwords(url: Any) -> set[str]:
    """The password of a URL's userinfo, as written and decoded (none for other values)."""
    if not isinstance(url, str):
        return set()
    try:
        password = urllib.parse.urlsplit(url).password
    except ValueError:
        return set()
    return {password, urllib.parse.unquote(password)} if password else set()


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every URL's ``user:password@`` taken out and every secret value (of
    at least four characters) replaced by :data:`MASK`, longest first."""
    text = hide_userinfo(text)
    for secret in sorted({s for s in secrets if len(s) >= _SHORTEST}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def scrub_urls(value: Any) -> Any:
    """A copy of a JSON-like document with the userinfo of every URL in its strings taken out."""
    if isinstance(value, str):
        return hide_userinfo(value) if "@" in value else value
    if isinstance(value, dict):
        return {k: scrub_urls(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_urls(v) for v in value]
    return value
