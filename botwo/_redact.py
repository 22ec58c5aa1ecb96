"""Redaction: the one rule by which botwo keeps secrets out of what it shows.

Every message, repr, log line and serializer that may hold a URL or a configured value
goes through these functions: a URL's ``user:password@`` is taken out (the scheme, host,
port and path stay as written), and known secret values are masked as ``****``. Pure
functions over strings and plain data, so every caller gets the same answer. Which values
are secret is said here too: all of a :data:`SECRET_FIELDS` field, and the userinfo of a
:data:`URL_FIELDS` field or a proxy (:func:`is_proxy_option`).

Two readings of "a URL's userinfo", one for each kind of input:

- one URL (an endpoint, a proxy): :func:`strip_userinfo`. The userinfo runs from the start
  of the authority (after ``scheme://`` or ``//``; the start of the text when there is no
  scheme, as botocore accepts ``user:pass@host:port`` for a proxy) to the *last* ``@``, so
  a password that holds ``@``, ``/``, ``?`` or ``#`` unencoded is hidden whole: hiding too
  much beats showing a secret.
- URLs inside free text (an error message): :func:`hide_userinfo`, up to the last ``@``
  before a ``/`` or a space, so the bucket and key after a URL stay readable.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "MASK",
    "SECRET_FIELDS",
    "URL_FIELDS",
    "hide_userinfo",
    "host_of",
    "is_proxy_option",
    "mask_userinfo",
    "redact",
    "safe_endpoint",
    "scrub_client_urls",
    "strip_userinfo",
    "url_passwords",
    "userinfo_span",
]

#: What a masked secret reads as.
MASK = "****"
#: The shortest value masked by :func:`redact`: shorter ones would mask ordinary text.
_SHORTEST = 4
#: The client fields whose whole value is a secret: never shown, logged or put in a message.
SECRET_FIELDS = frozenset({"aws_secret_access_key", "aws_session_token"})
#: The client fields that are URLs, whose ``user:password@`` is a secret; with the
#: ``config`` table's proxies (:func:`is_proxy_option`), the only URLs botocore takes.
URL_FIELDS = frozenset({"endpoint_url"})

# A URL's userinfo anywhere in a text: "//" then anything but "/" or a space, "@" ends it
# (the last "@" before the path: a password may itself hold "@"). Not \s: in Python it
# also matches control characters, which a password may hold.
_USERINFO = re.compile(r"//[^/ \t\n\r\f\v]*@")
# Where a URL's authority starts: after "scheme://" (RFC 3986's scheme characters) or "//".
_AUTHORITY = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?//")


def host_of(netloc: str) -> str:
    """The ``host[:port]`` of a URL's authority, without its ``user:password@``."""
    return netloc.rpartition("@")[2]


def _split_userinfo(url: str) -> tuple[str, str, str]:
    """``url`` as (what precedes the authority, the userinfo with its ``@``, the rest)."""
    if "@" not in url:
        return "", "", url
    start = match.end() if (match := _AUTHORITY.match(url)) else 0  # no "@" in a scheme
    end = url.rindex("@") + 1
    return url[:start], url[start:end], url[end:]


def is_proxy_option(name: str) -> bool:
    """Whether a ``config`` option, as a document writes it, holds proxy URLs:
    ``proxies`` (a table of them) or a dotted ``proxies.<scheme>``."""
    return name == "proxies" or name.startswith("proxies.")


def userinfo_span(url: str) -> tuple[int, int]:
    """Where in ``url`` the ``user:password@`` that :func:`strip_userinfo` takes out starts
    and ends (an empty span when there is none)."""
    before, userinfo, _ = _split_userinfo(url)
    return len(before), len(before) + len(userinfo)


def mask_userinfo(url: str) -> str:
    """One URL with its ``user:password@`` shown as ``****@``: what :func:`strip_userinfo`
    takes out, marked, so a message can show the URL as written but for its secret
    (``http://u:p@bad_host`` gives ``http://****@bad_host``). Never raises."""
    before, userinfo, after = _split_userinfo(url)
    return before + MASK + "@" + after if userinfo else url


def strip_userinfo(url: str) -> str:
    """One URL without its ``user:password@``; the scheme, host, port and path as written.

    Works on any text and never raises: ``http://u:p@[::1]:9000/x`` gives
    ``http://[::1]:9000/x``, ``u:p@proxy:3128`` gives ``proxy:3128``, and everything up to
    the last ``@`` is taken for userinfo (see the module docstring).
    """
    before, _, after = _split_userinfo(url)
    return before + after


def safe_endpoint(url: str | None) -> str | None:
    """An endpoint URL without any ``user:password@`` part; the host and port as written
    (``"(invalid URL)"`` for text that is not one)."""
    if url is None:
        return None
    try:
        urllib.parse.urlsplit(url)
    except ValueError:  # e.g. an unclosed [ of an IPv6 address
        return "(invalid URL)"
    return strip_userinfo(url)


def hide_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it taken out."""
    return _USERINFO.sub("//", text)


def url_passwords(url: Any) -> set[str]:
    """The password of a URL's userinfo (what :func:`strip_userinfo` takes out, after the
    user's ``:``), as written and percent-decoded; none for other values."""
    if not isinstance(url, str):
        return set()
    userinfo = _split_userinfo(url)[1].removesuffix("@")
    password = userinfo.partition(":")[2]  # RFC 3986: the user ends at the first ":"
    return {password, urllib.parse.unquote(password)} if password else set()


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every URL's ``user:password@`` taken out and every secret value (of
    at least four characters) replaced by :data:`MASK`, longest first."""
    text = hide_userinfo(text)
    for secret in sorted({s for s in secrets if len(s) >= _SHORTEST}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def scrub_client_urls(table: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of one client's table (as a configuration document writes it) with
    :func:`strip_userinfo` applied to its URLs: ``endpoint_url`` and the ``config`` table's
    proxies, nested (``proxies = {https = ...}``) or dotted (``"proxies.https"``).

    These are the only URLs botocore takes from a client's options; nothing else is
    touched (a profile name may hold ``@``). Values that are not strings stay as they are.
    """
    out = dict(table)
    for field in URL_FIELDS & out.keys():
        out[field] = _strip(out[field])
    config = out.get("config")
    if isinstance(config, Mapping):
        out["config"] = {name: _scrub_option(name, value) for name, value in config.items()}
    return out


def _scrub_option(name: str, value: Any) -> Any:
    """A botocore Config option of a document, its proxy URLs without userinfo."""
    if not is_proxy_option(name):
        return value
    if isinstance(value, Mapping):
        return {scheme: _strip(url) for scheme, url in value.items()}
    return _strip(value)


def _strip(value: Any) -> Any:
    return strip_userinfo(value) if isinstance(value, str) else value
