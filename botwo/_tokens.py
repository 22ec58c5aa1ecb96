"""Every pagination token botwo issues: their formats, and their sealing.

A backend's continuation token (or an opaque ``NextMarker``) is never handed to the
caller: it may embed the target's names, and it means something only to the one backend
and route that issued it. botwo's own positions (a merged listing's, the bucket list's)
name routes and streams. So every token the caller holds is sealed here, and this module
alone knows what is inside one:

========================  =========================================================
format                    holds
========================  =========================================================
:func:`route_token`       a single-route listing's backend token: caller bucket,
                          rule index, caller prefix, the backend's token
:func:`merged_token`      a merged listing's position: caller bucket and prefix, the
                          last name (and version or upload id) returned, the streams
                          known to be exhausted
:func:`bucket_list_token` the bucket list's position: the last caller bucket returned
========================  =========================================================

Sealing is authenticated encryption built from the standard library, in the SIV shape
(RFC 5297's construction, with BLAKE2b and SHAKE-256 for its PRFs): the IV is a keyed
BLAKE2b MAC of the plaintext, the plaintext is XORed with SHAKE-256 of the key and the
IV, and opening recomputes the MAC over the decrypted text. A token reveals nothing of
what it holds (its length aside); one that was changed, forged, or sealed under another
key is refused with :class:`~botwo.errors.TokenError` before anything is sent. Sealing is
deterministic (the same position gives the same token), so it needs no randomness and
stays a pure function.

The key (:func:`token_key`) binds the rule table's fingerprint to the backends' secrets,
so tokens of one configuration open in every process that has it (a paginating web
service behind several workers, a Dask cluster) and in no other.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

from .errors import TokenError

__all__ = [
    "bucket_list_token",
    "decode_token",
    "encode_token",
    "is_token",
    "merged_token",
    "read_bucket_list_token",
    "read_merged_token",
    "read_route_token",
    "route_token",
    "token_key",
]

_MAGIC = "bw2-"
_IV = 16


def token_key(fingerprint: bytes, secrets: Iterable[str | bytes] = ()) -> bytes:
    """The sealing key of a client: its rule table's ``fingerprint`` keyed by ``secrets``
    (the backends' secret keys, in a stable order; none gives a key as secret as the
    rule table itself)."""
    mac = hashlib.blake2b(digest_size=64, person=b"botwo-secrets")
    for secret in secrets:
        raw = secret.encode("utf-8", "surrogatepass") if isinstance(secret, str) else secret
        mac.update(len(raw).to_bytes(8, "big") + raw)
    return hashlib.blake2b(fingerprint, key=mac.digest(), digest_size=32, person=b"botwo-token").digest()


@functools.lru_cache(maxsize=64)
def _subkeys(key: bytes) -> tuple[bytes, bytes]:
    root = hashlib.blake2b(key, digest_size=64).digest()
    mac = hashlib.blake2b(root, digest_size=64, person=b"botwo-mac").digest()
    enc = hashlib.blake2b(root, digest_size=64, person=b"botwo-enc").digest()
    return mac, enc


def _xor(data: bytes, enc: bytes, iv: bytes) -> bytes:
    stream = hashlib.shake_256(enc + iv).digest(len(data))
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def encode_token(payload: Any, key: bytes) -> str:
    """Seal a JSON-able ``payload`` as an opaque token that only ``key`` opens."""
    mac, enc = _subkeys(key)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    iv = hashlib.blake2b(body, key=mac, digest_size=_IV).digest()
    blob = base64.urlsafe_b64encode(iv + _xor(body, enc, iv)).rstrip(b"=").decode("ascii")
    return _MAGIC + blob


def _open(token: str, key: bytes) -> tuple[bool, Any]:
    if not token.startswith(_MAGIC):
        return False, "it is not a botwo token"
    blob = token[len(_MAGIC) :]
    try:
        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
    except (binascii.Error, ValueError):
        return False, "it is not valid base64"
    iv, sealed = raw[:_IV], raw[_IV:]
    mac, enc = _subkeys(key)
    body = _xor(sealed, enc, iv) if len(iv) == _IV else b""
    if len(iv) < _IV or not hmac.compare_digest(hashlib.blake2b(body, key=mac, digest_size=_IV).digest(), iv):
        return False, "it is corrupted, forged, or was issued by another botwo configuration"
    try:
        return True, json.loads(body.decode("utf-8", "surrogatepass"))
    except ValueError:  # pragma: no cover - an authentic token over invalid JSON
        return False, "its payload is not valid"


def is_token(token: str, key: bytes) -> bool:
    """True when ``token`` is one that :func:`encode_token` sealed with ``key``."""
    return _open(token, key)[0]


def decode_token(token: Any, key: bytes, *, what: str = "ContinuationToken") -> Any:
    """The payload of a token sealed by :func:`encode_token`, or :class:`TokenError`."""
    if not isinstance(token, str):
        raise TokenError(f"{what} must be a string, got {type(token).__name__}")
    ok, payload = _open(token, key)
    if not ok:
        # Never the token's text: it is the caller's own, and says nothing useful.
        raise TokenError(f"{what} was not issued by this client: {payload}")
    return payload


def _fields(token: Any, key: bytes, what: str, kind: str, missing: str) -> dict[str, Any]:
    payload = decode_token(token, key, what=what)
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[1], dict)):
        raise TokenError(f"{what} {missing}")
    if payload[0] != kind:
        raise TokenError(f"{what} {missing}")
    fields: dict[str, Any] = payload[1]
    return fields


def _another_listing(what: str, held: dict[str, Any], bucket: str, prefix: str) -> TokenError:
    return TokenError(
        f"{what} was issued for another listing (bucket {held.get('b')!r}, Prefix {held.get('p')!r}), "
        f"not for bucket {bucket!r} with Prefix {prefix!r}"
    )


# -- a single route's listing ------------------------------------------------------------


def route_token(key: bytes, *, bucket: str, rule: int, prefix: str, backend: str) -> str:
    """A single-route listing's continuation: the ``backend``'s token, sealed with the
    listing it belongs to (caller ``bucket`` and ``prefix``, the ``rule`` that serves it)."""
    return encode_token(["route", {"b": bucket, "r": rule, "p": prefix, "t": backend}], key)


def read_route_token(token: Any, key: bytes, *, what: str, bucket: str, rule: int, prefix: str) -> str:
    """The backend's token in a :func:`route_token` for this listing, or :class:`TokenError`."""
    held = _fields(token, key, what, "route", "does not hold a listing position of one route")
    if not isinstance(held.get("t"), str):
        raise TokenError(f"{what} does not hold a listing position")
    if (held.get("b"), held.get("r"), held.get("p")) != (bucket, rule, prefix):
        raise _another_listing(what, held, bucket, prefix)
    return str(held["t"])


# -- a merged listing ----------------------------------------------------------------------


def merged_token(key: bytes, *, bucket: str, prefix: str, position: Any, hints: list[int]) -> str:
    """A merged listing's continuation: its ``position`` (``Position.to_json()``) and the
    streams known to be exhausted (``hints``), sealed with the caller's bucket and prefix."""
    return encode_token(["merged", {"b": bucket, "p": prefix, "m": position, "h": hints}], key)


def read_merged_token(
    token: Any, key: bytes, *, what: str, bucket: str, prefix: str, streams: int
) -> tuple[Any, frozenset[int]]:
    """The position (as JSON, for ``Position.from_json``) and hints of a
    :func:`merged_token` for this listing of ``streams`` streams, or :class:`TokenError`."""
    held = _fields(token, key, what, "merged", "was issued for another listing, not a merged one")
    if (held.get("b"), held.get("p")) != (bucket, prefix):
        raise _another_listing(what, held, bucket, prefix)
    hints = held.get("h", [])
    if not isinstance(hints, list) or not all(type(h) is int and 0 <= h < streams for h in hints):
        raise TokenError(f"{what} does not hold a listing position")
    return held.get("m"), frozenset(hints)


# -- the bucket list -------------------------------------------------------------------------


def bucket_list_token(key: bytes, after: str) -> str:
    """The bucket list's continuation: the last caller bucket returned."""
    return encode_token(["buckets", {"after": after}], key)


def read_bucket_list_token(token: Any, key: bytes) -> str:
    """The last bucket of a :func:`bucket_list_token`, or :class:`TokenError`."""
    what = "ContinuationToken"
    held = _fields(token, key, what, "buckets", "does not hold a bucket-list position")
    after = held.get("after")
    if not isinstance(after, str):
        raise TokenError(f"{what} does not hold a bucket-list position")
    return after
