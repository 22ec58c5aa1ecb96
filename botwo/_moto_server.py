"""``python -m botwo._moto_server``: moto's S3 server, with S3's ``key-marker`` semantics.

S3 lists the versions of keys *after* a ``key-marker`` given without a
``version-id-marker``. moto 5 instead drops the first version at or after the marker and
returns the rest (a skipped version, or a key's versions returned twice), which no
client can page around. The server started by :class:`botwo.testing.LocalS3Server`
answers such a request as S3 does: it resumes after the last version of the last key
at or before the marker. And moto says a page of versions is truncated as soon as a
common prefix fills it, even when nothing follows; the server says so only when
something does, as S3 does. And moto reads an object's whole value for every GET, even
for one byte of it; a ranged GET here reads only its range, as on S3, so that a reader
that starts at a Parquet footer pays for the footer, not for the file. Anything else is
moto's own behaviour. If moto's internals are not what this expects, the server runs
unchanged.

Given credentials in its environment (:data:`botwo._moto_auth.ENV_ACCESS_KEY` and
``ENV_SECRET_KEY``, as :class:`botwo.testing.LocalS3Server` passes them), the server
accepts only those, as S3 would (:mod:`botwo._moto_auth`); that part never runs
unchanged: a moto that cannot check them stops the server. Without them it accepts any
credentials, as moto alone does.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import Any


def _patch() -> None:
    try:
        from moto.core.utils import unix_time_millis
        from moto.s3.models import S3Backend
    except ImportError:  # pragma: no cover - a moto without this layout runs unchanged
        return
    original = S3Backend.list_object_versions

    @functools.wraps(original)
    def list_object_versions(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        key_marker = kwargs.get("key_marker")
        if key_marker and not kwargs.get("version_id_marker"):
            try:
                bucket = self.get_bucket(bucket_name)
                versions = [v for _, lst in bucket.keys.iterlists() for v in lst]
            except Exception:  # pragma: no cover - unknown internals: moto's own answer
                return original(self, bucket_name, *args, **kwargs)
            delimiter = kwargs.get("delimiter")
            # A marker that is a common prefix (S3's NextKeyMarker after one) skips it whole.
            whole = bool(delimiter) and key_marker.endswith(delimiter)
            done = [v for v in versions if v.name <= key_marker or (whole and v.name.startswith(key_marker))]
            if not done:
                kwargs["key_marker"] = None
            else:
                # Resume after the last version of the last key done, in moto's own order
                # (by name, newest first; the sort is stable).
                name = max(v.name for v in done)
                same = sorted(
                    (v for v in versions if v.name == name), key=lambda v: -unix_time_millis(v.last_modified)
                )
                kwargs["key_marker"], kwargs["version_id_marker"] = name, same[-1].version_id
        answer = original(self, bucket_name, *args, **kwargs)
        return _untruncate(self, bucket_name, kwargs, answer)

    # setattr: the lint environment has no moto, so its type is not known there.
    setattr(S3Backend, "list_object_versions", list_object_versions)  # noqa: B010
    _patch_ranged_reads()


class _Ranged:
    """An object's value as a ranged GET uses it: its length, and the slice it sends,
    read from the object's buffer without reading the rest."""

    def __init__(self, key: Any) -> None:
        self._key = key
        self._size = int(key.size)

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: slice) -> bytes:
        start, stop, _ = index.indices(self._size)
        with self._key.lock:
            self._key._value_buffer.seek(start)
            return bytes(self._key._value_buffer.read(max(0, stop - start)))

    def __bytes__(self) -> bytes:
        return bytes(self[:])


_lazy = threading.local()


def _patch_ranged_reads() -> None:
    try:
        from moto.s3.models import FakeKey
        from moto.s3.responses import S3Response
    except ImportError:  # pragma: no cover - a moto without this layout runs unchanged
        return
    value = FakeKey.__dict__.get("value")
    if not isinstance(value, property) or not all(
        hasattr(S3Response, name) for name in ("get_object", "key_response", "_handle_range_header")
    ):
        return  # pragma: no cover - unknown internals: moto's own answers

    read_value = value.fget
    if read_value is None:  # pragma: no cover - unknown internals: moto's own answers
        return

    def get_value(key: Any) -> Any:
        if getattr(_lazy, "on", False) and hasattr(key, "_value_buffer"):
            return _Ranged(key)
        return read_value(key)

    get_object = S3Response.get_object

    @functools.wraps(get_object)
    def ranged_get_object(self: Any) -> Any:
        # Only the value that get_object hands back is lazy, and only for a ranged GET.
        _lazy.on = bool(self.headers.get("range"))
        try:
            return get_object(self)
        finally:
            _lazy.on = False

    key_response = S3Response.key_response

    @functools.wraps(key_response)
    def materialized_key_response(self: Any, *args: Any, **kwargs: Any) -> Any:
        status, headers, body = key_response(self, *args, **kwargs)
        # A range moto answers whole (several ranges, or none that applies) is sent whole.
        return status, headers, bytes(body) if isinstance(body, _Ranged) else body

    setattr(FakeKey, "value", property(get_value, value.fset, value.fdel))  # noqa: B010
    setattr(S3Response, "get_object", ranged_get_object)  # noqa: B010
    setattr(S3Response, "key_response", materialized_key_response)  # noqa: B010


def _untruncate(backend: Any, bucket_name: str, kwargs: dict[str, Any], answer: Any) -> Any:
    """Clear the next markers of a page that ends with a common prefix when no version of
    another key follows it (moto breaks as soon as that prefix fills the page)."""
    versions, prefixes, markers, next_key, next_version = answer
    delimiter = kwargs.get("delimiter")
    if next_key is None or next_version is not None or not delimiter or not next_key.endswith(delimiter):
        return answer
    try:
        names = {name for name, _ in backend.get_bucket(bucket_name).keys.iterlists()}
    except Exception:  # pragma: no cover - unknown internals: moto's own answer
        return answer
    prefix = kwargs.get("prefix") or ""
    if any(n.startswith(prefix) and n > next_key and not n.startswith(next_key) for n in names):
        return answer
    return versions, prefixes, markers, None, None


def main() -> None:
    _patch()
    from ._moto_auth import ENV_ACCESS_KEY, ENV_SECRET_KEY, enable

    # Out of the environment as soon as read: nothing this process starts inherits them.
    access_key, secret_key = os.environ.pop(ENV_ACCESS_KEY, ""), os.environ.pop(ENV_SECRET_KEY, "")
    if access_key or secret_key:
        enable(access_key, secret_key)
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
