"""String-level renaming: keys, markers, URL-encoded names, Locations, ARNs, copy sources.

Everything here is a pure function of a :class:`~botwo._table.Route` and strings.
Keys compare as S3 compares them: by UTF-8 bytes, which for valid strings is the same
order as Python's code-point order.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from ._redact import host_of
from ._s3 import LAST_KEY, MAX_KEY_BYTES, TOP_CHAR
from ._table import Route, successor

__all__ = [
    "CopySource",
    "after_all",
    "caller_arn",
    "caller_location",
    "decode_name",
    "encode_name",
    "encoded_to_caller",
    "marker_to_target",
    "parse_copy_source",
    "resolve_dot_segments",
    "utf8_length",
]

# botocore's own pattern for the optional "?versionId=" suffix of a string CopySource.
_VERSION_ID_SUFFIX = re.compile(r"\?versionId=[^\s]+$")


def marker_to_target(route: Route, prefix: str, marker: str) -> str:
    """The target's marker equivalent to ``marker`` in a listing of caller ``prefix``.

    A marker (``StartAfter``, ``Marker``, ``KeyMarker``) need not be a key of the route,
    so it is mapped by what it selects: the caller keys that start with ``prefix`` and
    sort after ``marker``. The three cases:

    * it starts with the prefix: it is renamed like a key (renaming keeps the order of
      keys that share the route's prefix);
    * it sorts before the prefix: every key is listed, so the marker becomes one that
      sorts before every target key of the listing (the target prefix less its last
      character; a marker is always sent so that the backend echoes it as S3 would);
    * it sorts after every key with the prefix: nothing is listed, so it becomes one
      that sorts after every target key of the listing.
    """
    if marker.startswith(prefix):
        return route.to_target_key(marker)
    target_prefix = route.to_target_key(prefix)
    if marker < prefix:
        return target_prefix[:-1]
    return successor(target_prefix) or LAST_KEY


def after_all(target_prefix: str) -> str:
    """A marker that sorts after every valid key starting with ``target_prefix``.

    ``successor(target_prefix)`` would skip a key equal to it, so the prefix is padded
    with the greatest character instead, up to S3's 1,024-byte key limit.
    """
    room = max(0, MAX_KEY_BYTES - len(target_prefix.encode("utf-8", "surrogatepass")))
    return target_prefix + TOP_CHAR * max(1, room // 4)


def utf8_length(key: str) -> int:
    """The length of a key as S3 counts it (its 1,024-byte limit is on UTF-8 bytes)."""
    return len(key.encode("utf-8", "surrogatepass"))


def resolve_dot_segments(key: str) -> str | None:
    """``key`` with its ``.`` and ``..`` path segments resolved, as an HTTP client or a
    server that normalizes URL paths resolves them (RFC 3986, ``remove_dot_segments``).

    S3 keeps such keys as they are, but in a URL ``/bucket/t1/../t2/k`` is also
    ``/bucket/t2/k``. ``None`` when the segments climb out of the key (``../k``, or ``a/..``
    which is the bucket itself). A key without dot segments comes back unchanged.
    """
    parts = key.split("/")
    out: list[str] = []
    for part in parts:
        if part == "..":
            if not out:
                return None
            out.pop()
        elif part != ".":
            out.append(part)
    if parts[-1] in (".", ".."):  # "a/b/.." is the directory "a/"
        out.append("")
    resolved = "/".join(out)
    return resolved or None


# S3's EncodingType=url percent-encodes names; botocore decodes them with unquote_plus.
def decode_name(encoded: str) -> str:
    return urllib.parse.unquote_plus(encoded)


def encode_name(name: str) -> str:
    return urllib.parse.quote(name, safe="/")


def _split_after_bytes(encoded: str, size: int) -> int | None:
    """Index in ``encoded`` where the first ``size`` decoded UTF-8 bytes end."""
    i, consumed, n = 0, 0, len(encoded)
    while consumed < size:
        if i >= n:
            return None
        if encoded[i] == "%" and _is_hex(encoded[i + 1 : i + 3]):
            consumed += 1
            i += 3
        else:
            consumed += len(encoded[i].encode("utf-8", "surrogatepass"))
            i += 1
    return i if consumed == size else None


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


def encoded_to_caller(route: Route, encoded: str) -> str | None:
    """The caller's URL-encoded name for a URL-encoded target key.

    The part after the route's ``key_prefix`` is kept exactly as the server encoded it;
    only the stripped caller prefix (if any) is encoded here. ``None`` when the key is
    outside the route.
    """
    if route.keys_identical:
        return encoded if decode_name(encoded).startswith(route.owns) else None
    cut = _split_after_bytes(encoded, len(route.key_prefix.encode("utf-8", "surrogatepass")))
    if cut is None or decode_name(encoded[:cut]) != route.key_prefix:
        return None
    rest = encoded[cut:]
    if not (route.strip + decode_name(rest)).startswith(route.owns):
        return None
    return encode_name(route.strip) + rest


def caller_location(route: Route, location: str, target_key: str | None, key: str | None) -> str:
    """A ``Location`` (``/bucket``, or a path- or virtual-host-style URL) in caller names.

    The scheme and host stay the serving endpoint's; the bucket and key become the
    caller's, in the same (raw or percent-encoded) form the server used.
    """
    out = location
    if target_key is not None and key is not None and target_key != key:
        for form in (target_key, encode_name(target_key), urllib.parse.quote(target_key, safe="")):
            if out.endswith("/" + form):
                encoded = form != target_key
                out = out[: -len(form)] + (encode_name(key) if encoded else key)
                break
    tb, cb = route.target_bucket, route.bucket
    if tb != cb:
        # Plain string surgery: a raw key may hold "?" or "#", which URL parsers would
        # take for a query or a fragment.
        scheme_end = out.find("://")
        if scheme_end >= 0:
            host_start = scheme_end + 3
            path_start = out.find("/", host_start)
            path_start = len(out) if path_start < 0 else path_start
        else:
            host_start = path_start = 0
        head, host, path = out[:host_start], out[host_start:path_start], out[path_start:]
        if host.startswith(tb + "."):
            host = cb + host[len(tb) :]
        elif path == "/" + tb or path.startswith("/" + tb + "/"):
            path = "/" + cb + path[len(tb) + 1 :]
        out = head + host + path
    return out


def caller_endpoint(route: Route, url: str) -> str:
    """The endpoint of a request URL, as a caller may see it: scheme and host only (the
    path and query hold target names), no user or password, and a virtual-host bucket
    label in the caller's name."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<endpoint>"
    netloc = host_of(rest.split("/", 1)[0].split("?", 1)[0])
    tb = route.target_bucket
    if netloc.startswith(tb + "."):
        netloc = route.bucket + netloc[len(tb) :]
    return f"{scheme}://{netloc}"


def caller_arn(route: Route, arn: str) -> str:
    """A bucket ARN (``arn:...:bucket``) in caller names."""
    tb = route.target_bucket
    if tb != route.bucket and (arn.endswith(":" + tb) or arn.endswith("/" + tb)):
        return arn[: -len(tb)] + route.bucket
    return arn


class CopySource:
    """A parsed ``CopySource``: bucket, key and optional version id."""

    __slots__ = ("bucket", "key", "version_id")

    def __init__(self, bucket: str, key: str, version_id: str | None) -> None:
        self.bucket = bucket
        self.key = key
        self.version_id = version_id

    def as_dict(self) -> dict[str, str]:
        out = {"Bucket": self.bucket, "Key": self.key}
        if self.version_id is not None:
            out["VersionId"] = self.version_id
        return out


def parse_copy_source(value: Any) -> CopySource | None:
    """Parse the dict form or the ``bucket/key[?versionId=...]`` string form.

    ``None`` when the value has neither form; botocore then reports it as invalid.
    """
    if isinstance(value, Mapping):
        bucket, key = value.get("Bucket"), value.get("Key")
        version = value.get("VersionId")
        if isinstance(bucket, str) and isinstance(key, str) and (version is None or isinstance(version, str)):
            return CopySource(bucket, key, version)
        return None
    if not isinstance(value, str):
        return None
    version = None
    found = _VERSION_ID_SUFFIX.search(value)
    if found is not None:
        version = value[found.start() + len("?versionId=") :]
        value = value[: found.start()]
    bucket, slash, key = value.removeprefix("/").partition("/")
    if not bucket or not slash or not key:
        return None
    return CopySource(bucket, key, version)
