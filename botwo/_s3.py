"""S3's facts: the limits, error codes and orderings that S3 documents and botwo relies on.

Every module that needs one of these reads it here, so that botwo gives one answer to
"is this a not-found?", "how many keys in a page?" or "what sorts after every key?".
Pure data and tiny pure functions; nothing here knows about routes or backends.

Sources: the Amazon S3 API reference (``ListObjectsV2``: at most 1,000 keys a page;
``DeleteObjects``: at most 1,000 keys a request), the user guide's object-key naming
(keys of at most 1,024 bytes of UTF-8, compared as bytes) and its multipart-upload
limits (parts of 5 MiB to 5 GiB, the last part smaller, at most 10,000 parts;
``CopyObject`` of at most 5 GiB).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only
    from .errors import Side

__all__ = [
    "ABOVE_ALL",
    "BUCKET_NOT_FOUND",
    "LAST_KEY",
    "MAX_COPY_SIZE",
    "MAX_DELETE_KEYS",
    "MAX_KEY_BYTES",
    "MAX_PAGE",
    "MAX_PARTS",
    "MAX_PART_SIZE",
    "MIN_PART_SIZE",
    "MISSING",
    "NOT_FOUND",
    "TOP_CHAR",
    "GiB",
    "MiB",
    "absent_rank",
    "copy_error_side",
    "error_code",
]

MiB = 1024 * 1024
GiB = 1024 * MiB

# -- keys and their order -----------------------------------------------------------------

#: The longest key S3 accepts, in UTF-8 bytes.
MAX_KEY_BYTES = 1024
#: The greatest code point. S3 orders keys by their UTF-8 bytes, which for valid strings is
#: Python's code-point order, so no character of a valid key sorts after this one.
TOP_CHAR = chr(0x10FFFF)
#: The greatest valid key (1,024 bytes): as a marker, nothing valid is listed after it.
LAST_KEY = TOP_CHAR * (MAX_KEY_BYTES // 4)
#: Sorts after every valid key, ``LAST_KEY`` included. An in-memory bound; never sent.
ABOVE_ALL = LAST_KEY + TOP_CHAR

# -- pages and batches ----------------------------------------------------------------------

#: The most entries a listing page holds (``MaxKeys``' default and its cap), and the most
#: entries botwo asks of a backend at once.
MAX_PAGE = 1000
#: The most keys one ``DeleteObjects`` request may name.
MAX_DELETE_KEYS = 1000

# -- multipart uploads ----------------------------------------------------------------------

#: A part is 5 MiB to 5 GiB (the last part may be smaller), and an upload has at most
#: 10,000 parts.
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
#: The largest source ``CopyObject`` copies in one request; a larger object is copied
#: server-side part by part (``UploadPartCopy``).
MAX_COPY_SIZE = 5 * GiB

# -- errors -----------------------------------------------------------------------------------

#: Error codes that mean "this store does not have it", each with how specific the answer
#: is: when several stores were asked (fallback reads) and each said one, the most
#: specific wins (ties to the first store asked). A bucket that exists on any store of a
#: chain exists for the caller, so a key-level answer (0) beats ``NoSuchBucket`` (1). A HEAD
#: has no body: its "not found" is the bare status, ``404`` or ``NotFound``.
_ABSENT: Mapping[str, int] = {
    "NoSuchKey": 0,
    "NoSuchVersion": 0,
    "404": 0,
    "NotFound": 0,
    "NoSuchBucket": 1,
}
NOT_FOUND = frozenset(_ABSENT)
#: What a bucket-level call (``head_bucket``) answers for a bucket that does not exist.
BUCKET_NOT_FOUND = frozenset({"NoSuchBucket", "404", "NotFound"})
#: Everything a file system reports as "no such file": also an unknown multipart upload.
MISSING = NOT_FOUND | {"NoSuchUpload"}
#: The rank of an answer that is not a "not found" at all (an unreachable store).
_NOT_AN_ANSWER = 2


def error_code(err: Any) -> str:
    """The S3 error code of a ``ClientError`` (``""`` for anything else)."""
    response = getattr(err, "response", None)
    if not isinstance(response, Mapping):
        return ""
    error = response.get("Error")
    return str(error.get("Code") or "") if isinstance(error, Mapping) else ""


def absent_rank(code: str | None) -> int:
    """How specific a "not found" is (lower wins); 2 for a store that gave no S3 answer."""
    return _ABSENT.get(code or "", _NOT_AN_ANSWER)


# -- which side of a copy an error is about -------------------------------------------------

# The requests a copy streamed between two stores makes of each: its source is read, its
# destination written (and checked with a HEAD once written).
_SOURCE_REQUESTS = frozenset({"GetObject", "GetObjectTagging"})
_DESTINATION_REQUESTS = frozenset(
    {
        "HeadObject",
        "PutObject",
        "PutObjectTagging",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
    }
)


def copy_error_side(
    request: str, code: str, bucket_name: str | None, source_bucket: str | None, dest_bucket: str | None
) -> Side | None:
    """``"source"`` or ``"destination"``: which object of a copy an error is about.

    ``request`` is the operation that failed (a streamed copy's ``GetObject`` is its
    source's); for a ``CopyObject`` / ``UploadPartCopy`` answer the code says it: a copy's
    destination key need not exist, so ``NoSuchKey`` and ``NoSuchVersion`` are the
    source's, ``NoSuchUpload`` the destination's, and ``NoSuchBucket`` whichever bucket
    its ``BucketName`` names (when the two differ). ``None`` when the answer does not say
    (``AccessDenied`` may be either).
    """
    if request in _SOURCE_REQUESTS:
        return "source"
    if request in _DESTINATION_REQUESTS:
        return "destination"
    if code in ("NoSuchKey", "NoSuchVersion"):
        return "source"
    if code == "NoSuchUpload":
        return "destination"
    if code == "NoSuchBucket" and source_bucket != dest_bucket and bucket_name is not None:
        if bucket_name == source_bucket:
            return "source"
        if bucket_name == dest_bucket:
            return "destination"
    return None
