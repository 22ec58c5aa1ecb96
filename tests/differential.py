"""The differential oracle: the same calls on botwo and on one plain S3 server.

``Observation`` is what the caller can observe of one call: the response with the
fields that legitimately differ between two servers removed (timestamps, request ids,
multipart ETags, opaque tokens), or the error's class name, code and fields.
"""

from __future__ import annotations

import datetime
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

# The caller's namespace, and where botwo puts it.
#   example-old-bucket -> lake: example-repo, keys under main/        (renamed + key_prefix)
#   bucket-a           -> lake: bucket-a, keys under dev/             (key_prefix)
#   data/raw/...       -> lake: data-lake, main/<rest> (raw/ stripped) (partial move)
#   data/... (rest)    -> s3:   data                                   (catch-all)
#   logs-*             -> lake: same name, keys under g/               (glob)
#   anything else      -> s3:   same names                             (catch-all)
MAPPING: list[dict[str, Any]] = [
    {"bucket_name": "bucket-a", "client": "lake", "key_prefix": "dev/"},
    {
        "bucket_name": "example-old-bucket",
        "mapped_bucket_name": "example-repo",
        "client": "lake",
        "key_prefix": "main/",
    },
    {
        "bucket_name": "data",
        "prefix": "raw/",
        "strip_prefix": True,
        "mapped_bucket_name": "data-lake",
        "client": "lake",
        "key_prefix": "main/",
    },
    {"bucket_name": "logs-*", "client": "lake", "key_prefix": "g/"},
    {"bucket_name": "*", "client": "s3"},
]
CALLER_BUCKETS = ("example-old-bucket", "bucket-a", "data", "logs-2024", "plain")
TARGET_BUCKETS = {"lake": ("example-repo", "bucket-a", "data-lake", "logs-2024"), "s3": ("data", "plain")}

# Per caller bucket, the key "areas" that are each served by one route.
AREAS: dict[str, tuple[str, ...]] = {
    "example-old-bucket": ("",),
    "bucket-a": ("",),
    "data": ("raw/", "other/"),
    "logs-2024": ("",),
    "plain": ("",),
}

_VOLATILE = {
    "ResponseMetadata",
    "LastModified",
    "RequestCharged",
    "Owner",
    "Initiated",
    "Expiration",
    "NextContinuationToken",
    "NextMarker",
    "NextKeyMarker",
    "KeyMarker",
}
# Echoes that S3 returns when the request had them and moto never does: left out.
_UNECHOED = {"ContinuationToken", "Marker"}


def normalize(value: Any) -> Any:
    """Drop what differs legitimately between two servers; keep everything else."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in _UNECHOED or key.startswith("Checksum"):
                # Checksums: which ones a server computes on its own (for a server-side
                # copy, say) differs between servers; a streamed copy sends botocore's.
                continue
            if key in _VOLATILE:
                out[key] = "<present>"
                continue
            if key == "ETag" and isinstance(item, str) and "-" in item:
                out[key] = "<multipart>"
                continue
            if key in ("UploadId", "VersionId"):
                out[key] = "<id>"
                continue
            out[key] = normalize(item)
        return out
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, datetime.datetime):
        return "<time>"
    return value


def observe(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        result = call()
    except ClientError as err:
        error = {k: v for k, v in err.response.get("Error", {}).items() if k not in ("RequestId", "HostId")}
        return ("error", type(err).__name__, error)
    if isinstance(result, dict) and "Body" in result:
        result = {**result, "Body": result["Body"].read()}
    return ("ok", normalize(result))


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, b""


def list_all(client: Any, method: str, **params: Any) -> list[Any]:
    """Every page of a listing, following the tokens the client itself returns."""
    pages = []
    for _ in range(200):
        page = getattr(client, method)(**params)
        pages.append(normalize(page))
        if not page.get("IsTruncated"):
            return pages
        if method == "list_objects_v2":
            params = {**params, "ContinuationToken": page["NextContinuationToken"]}
        elif method == "list_objects":
            marker = page.get("NextMarker") or page["Contents"][-1]["Key"]
            params = {**params, "Marker": marker}
        else:
            params = {**params, "KeyMarker": page["NextKeyMarker"]}
    raise AssertionError("listing did not end")


# Fields left out of a response, not of its entries: a listing's Prefix and StartAfter
# echoes (not a CommonPrefix's Prefix) and a response's VersionId (not a listed version's).
_TOP_ONLY = {"Prefix", "VersionId", "StartAfter"}


def across(observation: Any, drop: frozenset[str], *, top: bool = True) -> Any:
    """An observation as it is compared between two implementations of S3 (moto, RGW,
    s3rver): an error by its class and code alone (their messages and extra fields are
    each server's own), ETags by presence, and the fields in ``drop`` left out wherever
    they are; each is a deviation docs/compatibility.md lists."""
    if isinstance(observation, tuple) and observation and observation[0] == "error":
        return ("error", observation[1], {"Code": observation[2].get("Code")})
    if isinstance(observation, tuple):
        return tuple(across(item, drop, top=top) for item in observation)
    if isinstance(observation, dict):
        out = {}
        for key, item in observation.items():
            if key in drop and (key not in _TOP_ONLY or top):
                continue
            if key == "ETag" and isinstance(item, str):
                # Present, not compared (the bodies and sizes are): RGW's CopyObjectResult
                # and CopyPartResult ETags are unquoted, its CompleteMultipartUpload's is
                # empty, and its copy of a multipart object keeps the multipart ETag.
                item = "<etag>"
            elif key == "Deleted" and isinstance(item, list):
                item = sorted(item, key=lambda entry: str(entry))  # RGW: in its own order
            elif key == "Metadata" and isinstance(item, dict):
                # moto strips the spaces around a metadata value, as HTTP parsers do; RGW keeps them.
                item = {k: v.strip() if isinstance(v, str) else v for k, v in item.items()}
            elif key == "TagSet" and isinstance(item, list):
                # RGW sorts tags by key; moto and s3rver strip the spaces around values.
                item = sorted(({**t, "Value": t["Value"].strip()} for t in item), key=lambda t: t["Key"])
            out[key] = across(item, drop, top=False)
        return out
    if isinstance(observation, list):
        return [across(item, drop, top=top) for item in observation]
    return observation
