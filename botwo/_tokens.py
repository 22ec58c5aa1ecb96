"""Opaque, checked pagination tokens.

A backend's continuation token (or an opaque ``NextMarker``) is never handed to the
caller as is: it may embed the target's names, and it only means something to the one
backend and route that issued it. botwo wraps it with the route it belongs to, in a
URL-safe base64 blob carrying a keyed BLAKE2 digest. The key is the rule table's
fingerprint, so a token from another botwo configuration, a corrupted token or a forged
one is rejected with :class:`~botwo.errors.TokenError` instead of being sent on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from .errors import TokenError

__all__ = ["decode_token", "encode_token", "is_token"]

_MAGIC = "bw1-"
_DIGEST = 12


def _digest(body: bytes, key: bytes) -> bytes:
    return hashlib.blake2b(body, key=key[:64], digest_size=_DIGEST).digest()


def encode_token(payload: Any, key: bytes) -> str:
    """Wrap a JSON-able ``payload`` as an opaque token bound to ``key``."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    blob = base64.urlsafe_b64encode(_digest(body, key) + body).rstrip(b"=").decode("ascii")
    return _MAGIC + blob


def _unwrap(token: str, key: bytes) -> tuple[bool, Any]:
    if not token.startswith(_MAGIC):
        return False, "it is not a botwo token"
    blob = token[len(_MAGIC) :]
    try:
        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
    except (binascii.Error, ValueError):
        return False, "it is not valid base64"
    digest, body = raw[:_DIGEST], raw[_DIGEST:]
    if len(digest) < _DIGEST or _digest(body, key) != digest:
        return False, "it is corrupted, forged, or was issued by another botwo rule table"
    try:
        return True, json.loads(body)
    except ValueError:  # pragma: no cover - a valid digest over invalid JSON
        return False, "its payload is not valid"


def is_token(token: str, key: bytes) -> bool:
    """True when ``token`` is one that :func:`encode_token` made with ``key``."""
    return _unwrap(token, key)[0]


def decode_token(token: str, key: bytes, *, what: str = "ContinuationToken") -> Any:
    """The payload of a token made by :func:`encode_token`, or :class:`TokenError`."""
    if not isinstance(token, str):
        raise TokenError(f"{what} must be a string, got {type(token).__name__}")
    ok, payload = _unwrap(token, key)
    if not ok:
        raise TokenError(f"{what} {token[:40]!r}... was not issued by this client: {payload}")
    return payload
