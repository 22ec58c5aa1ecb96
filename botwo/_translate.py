"""Request rewriting and response / error translation over plain dicts.

Pure functions: they take the caller's parameters or a backend's parsed response and
return new dicts; inputs are never mutated, and a member that was absent stays absent
unless S3 itself would have echoed it. The planner (:mod:`botwo._plan`) chooses the
route and uses these functions to build the target request and the ``finish`` that
translates the answer; the shell (:mod:`botwo._client`) only sends.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ._names import (
    CopySource,
    caller_arn,
    caller_location,
    encode_name,
    encoded_to_caller,
    marker_to_target,
)
from ._operations import ListingSpec, OpSpec
from ._table import Route
from ._tokens import is_token, read_route_token, route_token

__all__ = [
    "DeleteGroup",
    "bucket_request",
    "copy_request",
    "delete_objects_groups",
    "delete_objects_response",
    "error_response",
    "listing_request",
    "listing_response",
    "object_request",
    "object_response",
    "parse_rename_source",
    "post_conditions",
    "post_key_scope",
    "rename_request",
]

Params = Mapping[str, Any]


def object_request(route: Route, params: Params, key: str) -> dict[str, Any]:
    """Parameters of an object operation for the target."""
    # dict.copy() and two stores: half the cost of dict(params) or a {**params, ...} display.
    out = params.copy() if type(params) is dict else dict(params)
    out["Bucket"] = route.target_bucket
    out["Key"] = route.key_prefix + key[len(route.strip) :]  # Route.to_target_key, inlined
    return out


def bucket_request(route: Route, params: Params) -> dict[str, Any]:
    out = dict(params)
    out["Bucket"] = route.target_bucket
    return out


def object_response(spec: OpSpec, route: Route, key: str | None, response: Params) -> dict[str, Any]:
    """A bucket or object operation's response in caller names."""
    out = dict(response)
    for member in spec.out_bucket:
        if member in out:
            out[member] = route.bucket
    if key is not None:
        for member in spec.out_key:
            if member in out:
                out[member] = key
    # Members that come from a header: (header, target's value, caller's value).
    headers: list[tuple[str, str, str]] = []
    if spec.out_location and isinstance(out.get("Location"), str):
        target_key = route.to_target_key(key) if key is not None else None
        caller = caller_location(route, out["Location"], target_key, key)
        headers.append(("location", out["Location"], caller))
        out["Location"] = caller
    if spec.out_arn and isinstance(out.get("BucketArn"), str):
        caller = caller_arn(route, out["BucketArn"])
        headers.append(("x-amz-bucket-arn", out["BucketArn"], caller))
        out["BucketArn"] = caller
    metadata = out.get("ResponseMetadata")
    sent = metadata.get("HTTPHeaders") if isinstance(metadata, Mapping) else None
    if (
        isinstance(metadata, Mapping)
        and isinstance(sent, Mapping)
        and any(sent.get(h) == target for h, target, _ in headers)
    ):
        renamed = dict(sent)
        for header, target, caller in headers:
            if renamed.get(header) == target:
                renamed[header] = caller
        out["ResponseMetadata"] = {**metadata, "HTTPHeaders": renamed}
    return out


def copy_request(
    dest: Route, key: str, source_route: Route, source: CopySource, params: Params
) -> dict[str, Any]:
    """A copy whose source and destination are on the same client: a server-side copy."""
    target_source = CopySource(
        source_route.target_bucket, source_route.to_target_key(source.key), source.version_id
    )
    return {**object_request(dest, params, key), "CopySource": target_source.as_dict()}


def rename_request(
    route: Route, params: Params, key: str, source_key: str, bucket_form: bool
) -> dict[str, Any]:
    target_source = urllib.parse.quote(route.to_target_key(source_key), safe="/")
    if bucket_form:
        target_source = "/" + urllib.parse.quote(route.target_bucket, safe="") + "/" + target_source
    return {**object_request(route, params, key), "RenameSource": target_source}


def delete_objects_response(response: Params, reverse: Mapping[str, str], route: Route) -> dict[str, Any]:
    """``Deleted`` and ``Errors`` of a bulk delete in caller keys."""
    out = dict(response)
    for member in ("Deleted", "Errors"):
        entries = out.get(member)
        if entries is None:
            continue
        renamed = []
        for entry in entries:
            tkey = entry.get("Key")
            if tkey is None:
                renamed.append(entry)
                continue
            ckey = reverse.get(tkey) or route.to_caller_key(tkey)
            if ckey is not None:
                entry = dict(entry)
                entry["Key"] = ckey
                renamed.append(entry)
        out[member] = renamed
    return out


def parse_rename_source(bucket: str, raw: str) -> tuple[str, bool]:
    """The source key of a ``RenameSource`` (``key``, ``/key`` or ``/bucket/key``, URL-encoded)
    and whether it had the ``/bucket/`` form (the target request keeps the caller's form)."""
    decoded = urllib.parse.unquote(raw)
    bucket_form = decoded.startswith("/" + bucket + "/")
    source_key = decoded[len(bucket) + 2 :] if bucket_form else decoded.removeprefix("/")
    return source_key, bucket_form


@attrs.frozen
class DeleteGroup:
    """The keys of one bulk delete that go to one backend bucket (one request)."""

    route: Route  # the route of the group's first key: its client serves the request
    indexes: tuple[int, ...]  # positions of the group's keys in the caller's request
    params: dict[str, Any]  # the target request
    reverse: Mapping[str, str]  # target key -> caller key


def delete_objects_groups(
    params: Params, routes: Sequence[Route], backend_of: Mapping[str, int]
) -> list[DeleteGroup]:
    """The requests of a ``delete_objects`` whose keys go through ``routes`` (one route per
    caller object): one per (backend, target bucket), keys renamed, in first-key order.

    ``backend_of`` numbers the clients by backend (two client names may be one client).
    """
    delete = params["Delete"]
    objects = delete["Objects"]
    grouped: dict[tuple[int, str], list[int]] = {}
    for i, route in enumerate(routes):
        grouped.setdefault((backend_of[route.client], route.target_bucket), []).append(i)
    groups = []
    for indexes in grouped.values():
        route = routes[indexes[0]]
        renamed = [{**objects[i], "Key": routes[i].to_target_key(objects[i]["Key"])} for i in indexes]
        reverse = {t["Key"]: objects[i]["Key"] for t, i in zip(renamed, indexes, strict=True)}
        target = {**params, "Bucket": route.target_bucket, "Delete": {**delete, "Objects": renamed}}
        groups.append(DeleteGroup(route, tuple(indexes), target, reverse))
    return groups


FILENAME = "${filename}"  # in a POST form's key, S3 puts the uploaded file's name there


def post_key_scope(key: str, conditions: Sequence[Any]) -> tuple[str, bool] | None:
    """The keys a presigned POST's policy lets a form write: ``(key, True)`` for one key,
    ``(prefix, False)`` for every key that starts with ``prefix``, ``None`` for none.

    The key botocore signs is a ``starts-with`` condition up to a ``${filename}`` in it (S3
    fills in the file's name, and the form may send any key with that start), else the key
    itself; a caller's ``{"key": ...}`` / ``["eq", "$key", ...]`` condition is one key and
    ``["starts-with", "$key", ...]`` (or an operator S3 may add) a prefix. Every condition
    must hold, so the scope is what they all allow.
    """
    exact: set[str] = set()
    prefixes: list[str] = []

    def allow(value: str, starts: bool) -> None:
        if FILENAME in value:
            prefixes.append(value[: value.index(FILENAME)])
        elif starts:
            prefixes.append(value)
        else:
            exact.add(value)

    allow(key, False)
    for condition in conditions:
        if isinstance(condition, Mapping):
            for name, value in condition.items():
                if isinstance(name, str) and name.lower() == "key" and isinstance(value, str):
                    allow(value, False)
        elif isinstance(condition, list | tuple) and len(condition) == 3:
            op, field, value = condition
            if isinstance(field, str) and field.lower() == "$key" and isinstance(value, str):
                allow(value, not (isinstance(op, str) and op.lower() == "eq"))
    if exact:
        (only, *more) = exact
        return (only, True) if not more and all(only.startswith(p) for p in prefixes) else None
    longest = max(prefixes, key=len)
    return (longest, False) if all(longest.startswith(p) for p in prefixes) else None


def post_conditions(route: Route, conditions: Sequence[Any]) -> list[Any]:
    """Presigned-POST policy conditions in target names (other conditions unchanged)."""
    return [_post_condition(route, c) for c in conditions]


def _post_condition(route: Route, condition: Any) -> Any:
    if isinstance(condition, Mapping):
        out = dict(condition)
        for name, value in out.items():
            if not isinstance(name, str) or not isinstance(value, str):
                continue
            if name.lower() == "bucket":
                out[name] = route.target_bucket
            elif name.lower() == "key":
                out[name] = route.to_target_key(value)
        return out
    if isinstance(condition, list | tuple) and len(condition) == 3:
        op, field, value = condition
        field = field.lower() if isinstance(field, str) else field
        if field == "$bucket" and isinstance(value, str):
            return [op, condition[1], route.target_bucket]
        if field == "$key" and isinstance(value, str):
            if not value.startswith(route.strip):  # "starts-with" a part of the stripped prefix
                return [op, condition[1], route.key_prefix]
            return [op, condition[1], route.to_target_key(value)]
    return condition


# -- listings ------------------------------------------------------------------------


def _backend_token(route: Route, prefix: str, token: str, key: bytes, what: str) -> str:
    return read_route_token(token, key, what=what, bucket=route.bucket, rule=route.rule_index, prefix=prefix)


def _sealed(route: Route, prefix: str, backend_token: str, key: bytes) -> str:
    return route_token(key, bucket=route.bucket, rule=route.rule_index, prefix=prefix, backend=backend_token)


def listing_request(spec: ListingSpec, route: Route, params: Params, token_key: bytes) -> dict[str, Any]:
    """Parameters of a single-route listing for the target."""
    prefix = params.get("Prefix", "")
    out = dict(params)
    out["Bucket"] = route.target_bucket
    target_prefix = route.to_target_key(prefix)
    if target_prefix or "Prefix" in out:
        out["Prefix"] = target_prefix
    marker = params.get(spec.marker)
    if isinstance(marker, str) and marker:
        if spec.next_marker is not None and is_token(marker, token_key):
            # An opaque NextMarker this client wrapped: hand the backend its own value.
            out[spec.marker] = _backend_token(route, prefix, marker, token_key, spec.marker)
        else:
            out[spec.marker] = marker_to_target(route, prefix, marker)
            if not marker.startswith(prefix):
                # The id markers refer to versions/uploads of a key outside the listing.
                for id_marker in spec.id_markers:
                    out.pop(id_marker, None)
    if spec.token is not None and spec.token in params:
        out[spec.token] = _backend_token(route, prefix, params[spec.token], token_key, spec.token)
    return out


def listing_response(
    spec: ListingSpec, route: Route, params: Params, response: Params, token_key: bytes
) -> dict[str, Any]:
    """A single-route listing page in caller names, with the backend's tokens wrapped."""
    encoded = params.get("EncodingType") == "url"
    prefix = params.get("Prefix", "")
    to_caller: Callable[[str], str | None]
    if encoded:

        def to_caller(name: str) -> str | None:
            return encoded_to_caller(route, name)
    else:
        to_caller = route.to_caller_key

    out = dict(response)
    if "Name" in out:
        out["Name"] = route.bucket
    if "Bucket" in out:
        out["Bucket"] = route.bucket
    if not route.keys_identical:
        dropped = 0
        rename = route.rename_entries
        by = to_caller if encoded else None
        for list_name, member in spec.entries:
            entries = out.get(list_name)
            if entries is None:
                continue
            renamed = rename(entries, member, by)
            dropped += len(entries) - len(renamed)  # outside the route: never shown
            out[list_name] = renamed
        if dropped and isinstance(out.get("KeyCount"), int):
            out["KeyCount"] -= dropped
        if isinstance(out.get("Prefix"), str):
            echoed = to_caller(out["Prefix"])
            out["Prefix"] = echoed if echoed is not None else _echo(prefix, encoded)
    # S3 echoes the markers and the token the caller sent (even where the backend, given
    # the renamed marker, did not); an empty one stays as the backend echoed it.
    for member in (spec.marker, *spec.id_markers):
        if params.get(member, "") != "":
            out[member] = _echo(params[member], encoded and member in spec.encoded)
    if spec.token is not None and spec.token in params:
        out[spec.token] = params[spec.token]
    if spec.next_token is not None and isinstance(out.get(spec.next_token), str):
        out[spec.next_token] = _sealed(route, prefix, out[spec.next_token], token_key)
    if spec.next_marker is not None and isinstance(out.get(spec.next_marker), str):
        raw = out[spec.next_marker]
        name = raw if route.keys_identical and raw.startswith(route.owns) else to_caller(raw)
        # S3 returns a key here; some servers return an opaque value, which is wrapped.
        out[spec.next_marker] = (
            name if name is not None else _sealed(route, prefix, raw, token_key)
        )
    return out


def _echo(value: Any, encoded: bool) -> Any:
    return encode_name(value) if encoded and isinstance(value, str) else value


# -- errors --------------------------------------------------------------------------

_BUCKET_EDGE = r"(?<![A-Za-z0-9.\-]){}(?![A-Za-z0-9.\-])"


def error_response(
    response: Params,
    keys: Sequence[tuple[str, str]] = (),
    buckets: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A backend's error response with target names replaced by the caller's.

    ``keys`` and ``buckets`` are ``(target, caller)`` pairs. A field equal to a target
    name is replaced whole; in free text (``Message``, ``Resource``, ...) a target key
    is replaced where it occurs, a target bucket where it stands as a whole name.
    """
    out = dict(response)
    error = response.get("Error")
    key_pairs = [(t, c) for t, c in keys if t and t != c]
    bucket_pairs = [(t, c) for t, c in buckets if t and t != c]
    if not isinstance(error, Mapping) or not (key_pairs or bucket_pairs):
        return out
    whole = dict(bucket_pairs) | dict(key_pairs)
    translated: dict[str, Any] = {}
    for field, value in error.items():
        if field == "Code" or not isinstance(value, str):
            translated[field] = value
        elif value in whole:
            translated[field] = whole[value]
        else:
            for target, caller in key_pairs:
                value = value.replace(target, caller)
            for target, caller in bucket_pairs:
                if target in value:
                    value = re.sub(
                        _BUCKET_EDGE.format(re.escape(target)), caller.replace("\\", "\\\\"), value
                    )
            translated[field] = value
    out["Error"] = translated
    return out
