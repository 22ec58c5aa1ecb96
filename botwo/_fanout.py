"""Calls that one caller request turns into several backend requests, sent at once.

* ``delete_objects`` over keys of several routes: one request per (client, target
  bucket), concurrently; ``Deleted`` and ``Errors`` merged back in the order of the
  caller's keys. A backend that fails reports its keys as ``Errors``; the others are still
  deleted. Only when every backend fails does the call itself fail, as it would on one S3.
* ``list_buckets`` / ``list_directory_buckets``: every distinct client's buckets, in the
  caller's names (see :func:`caller_bucket_names`), merged, sorted and paginated with
  botwo's own checked tokens.

Each is a plain ``send`` callable of a :class:`~botwo._plan.Plan` (called with the
plan's parameters as keywords, returning one S3-shaped response); an error they raise is
translated by the shell like any backend's, with the client it came from recorded on it
(:mod:`botwo._origin`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ._names import caller_arn
from ._origin import Origin, mark
from ._table import RuleTable
from ._tokens import bucket_list_token, read_bucket_list_token
from ._translate import DeleteGroup, delete_objects_response, error_response

__all__ = ["BucketUnion", "SplitDelete", "caller_bucket_names"]


def _failure_entries(
    group: DeleteGroup, objects: Sequence[Mapping[str, Any]], err: BaseException
) -> list[dict[str, Any]]:
    if isinstance(err, ClientError):
        pairs = tuple(group.reverse.items())
        translated = error_response(err.response, keys=pairs, buckets=group.route.bucket_pairs)
        error = translated.get("Error", {})
        code = str(error.get("Code") or "InternalError")
        message = str(error.get("Message") or err)
    else:
        # Not str(err): a connection error's text holds the target's URL (bucket, keys).
        code, message = (
            "ServiceUnavailable",
            f"client {group.route.client!r} could not be reached ({type(err).__name__})",
        )
    entries = []
    for i in group.indexes:
        entry: dict[str, Any] = {"Key": objects[i]["Key"]}
        if "VersionId" in objects[i]:
            entry["VersionId"] = objects[i]["VersionId"]
        entries.append({**entry, "Code": code, "Message": message})
    return entries


class SplitDelete:
    """``delete_objects`` over several backends at once (see the module docstring).

    ``groups`` are the planned requests (:func:`botwo._translate.delete_objects_groups`);
    each is sent to ``clients[group.route.client]``. Calling it sends them all.
    """

    def __init__(
        self,
        pool: Executor,
        clients: Mapping[str, Any],
        groups: Sequence[DeleteGroup],
        objects: Sequence[Mapping[str, Any]],
    ) -> None:
        self._pool = pool
        self._clients = clients
        self._groups = groups
        self._objects = objects

    def __call__(self, **_params: Any) -> dict[str, Any]:
        clients = self._clients

        def run(group: DeleteGroup) -> dict[str, Any] | BaseException:
            route = group.route
            try:
                response: dict[str, Any] = clients[route.client].delete_objects(**group.params)
            except (ClientError, BotoCoreError) as err:
                mark(err, Origin(route=route, client=route.client, target_bucket=group.params.get("Bucket")))
                return err
            return delete_objects_response(response, group.reverse, group.route)

        results = list(self._pool.map(run, self._groups))
        answered = [r for r in results if not isinstance(r, BaseException)]
        if not answered:
            first = results[0]
            assert isinstance(first, BaseException)
            raise first
        # Each entry takes the position of the next caller object with its Key and VersionId
        # (an entry echoes the VersionId asked for): two versions of one key, or a key
        # asked twice, keep the caller's order.
        exact: dict[tuple[str, Any], list[int]] = {}
        by_key: dict[str, list[int]] = {}
        for i, obj in enumerate(self._objects):
            exact.setdefault((obj["Key"], obj.get("VersionId")), []).append(i)
            by_key.setdefault(obj["Key"], []).append(i)
        taken: set[int] = set()

        def position(entry: dict[str, Any]) -> int:
            key = entry.get("Key", "")
            for queue in (exact.get((key, entry.get("VersionId")), ()), by_key.get(key, ())):
                for i in queue:
                    if i not in taken:
                        taken.add(i)
                        return i
            return len(self._objects)

        deleted: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for group, result in zip(self._groups, results, strict=True):
            if isinstance(result, BaseException):
                errors.extend(_failure_entries(group, self._objects, result))
            else:
                deleted.extend(result.get("Deleted", ()))
                errors.extend(result.get("Errors", ()))
        out = {k: v for k, v in answered[0].items() if k not in ("Deleted", "Errors")}

        def by_request(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
            placed = [(position(e), n, e) for n, e in enumerate(entries)]
            return [e for _, _, e in sorted(placed, key=lambda t: (t[0], t[1]))]

        if deleted:
            out["Deleted"] = by_request(deleted)
        if errors:
            out["Errors"] = by_request(errors)
        return out


def caller_bucket_names(table: RuleTable, same_client: Callable[[str], bool], target: str) -> list[str]:
    """The caller's names for bucket ``target`` of one client.

    A caller bucket is listed when it is what its bucket-level calls (``head_bucket``,
    ``create_bucket``...) reach: the bucket's name itself when it routes to this client
    unrenamed (through a literal rule, a glob or the catch-all), and every literal
    ``bucket_name`` renamed to it on this client. A bucket that a rule reaches only for
    part of a caller bucket's keys (a ``prefix`` rule) is not a caller bucket of its own.
    """
    names = []
    own = table.route_bucket(target)
    if own.target_bucket == target and any(map(same_client, own.clients)):
        names.append(target)
    for literal in table.renamed_to(target):
        route = table.route_bucket(literal)
        if route.target_bucket == target and any(map(same_client, route.clients)) and literal != target:
            names.append(literal)
    return names


# Request members that page through a bucket list (botwo pages the union itself).
_PAGING = {
    "list_buckets": ("ContinuationToken", "MaxBuckets"),
    "list_directory_buckets": ("ContinuationToken", "MaxDirectoryBuckets"),
}


class BucketUnion:
    """``list_buckets`` / ``list_directory_buckets`` over every distinct client."""

    def __init__(
        self,
        pool: Executor,
        table: RuleTable,
        clients: Mapping[str, Any],
        default: str,
        token_key: bytes,
    ) -> None:
        self._pool = pool
        self._table = table
        self._token_key = token_key
        # Each distinct client once, the default first, with the names it goes by.
        first = clients[default]
        others = {id(c): c for c in clients.values() if c is not first}
        self._distinct = [first, *others.values()]
        self._names_of = {id(c): [n for n, other in clients.items() if other is c] for c in self._distinct}

    def send(self, method: str) -> Callable[..., dict[str, Any]]:
        """The send of a ``method`` call (``list_buckets`` or ``list_directory_buckets``)."""
        limit_member = _PAGING[method][1]

        def union(**params: Any) -> dict[str, Any]:
            return self._union(method, limit_member, params)

        return union

    def _caller_entry(self, entry: Mapping[str, Any], name: str) -> dict[str, Any]:
        """A bucket-list entry in caller names (``Name``, and ``BucketArn`` where present)."""
        out = dict(entry)
        out["Name"] = name
        if isinstance(out.get("BucketArn"), str):
            out["BucketArn"] = caller_arn(self._table.route_bucket(name), out["BucketArn"])
        return out

    def _all_pages(self, client: Any, method: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        pages = []
        request = {k: v for k, v in params.items() if k not in _PAGING[method] and k != "Prefix"}
        while True:
            try:
                page: dict[str, Any] = getattr(client, method)(**request)
            except (ClientError, BotoCoreError) as err:
                mark(err, Origin(client=self._names_of[id(client)][0]))  # the client that failed
                raise
            pages.append(page)
            token = page.get("ContinuationToken")
            if not token or not page.get("Buckets"):
                return pages
            request = {**request, "ContinuationToken": token}

    def _union(self, method: str, limit_member: str, params: Mapping[str, Any]) -> dict[str, Any]:
        after = None
        if "ContinuationToken" in params:
            after = read_bucket_list_token(params["ContinuationToken"], self._token_key)
        results = list(self._pool.map(lambda c: self._all_pages(c, method, params), self._distinct))
        found: dict[str, dict[str, Any]] = {}
        for client, pages in zip(self._distinct, results, strict=True):
            names = self._names_of[id(client)]
            for page in pages:
                for entry in page.get("Buckets", ()):
                    target = entry.get("Name")
                    if not isinstance(target, str):
                        continue
                    for name in caller_bucket_names(self._table, names.__contains__, target):
                        if name not in found:
                            found[name] = self._caller_entry(entry, name)
        prefix = params.get("Prefix")
        ordered = sorted(
            n for n in found if (not prefix or n.startswith(prefix)) and (after is None or n > after)
        )
        limit = params.get(limit_member)
        page_names = ordered[:limit] if isinstance(limit, int) and limit > 0 else ordered
        head = results[0][0]
        out = {k: v for k, v in head.items() if k not in ("Buckets", "ContinuationToken", "Prefix")}
        out["Buckets"] = [found[n] for n in page_names]
        if prefix is not None:
            out["Prefix"] = prefix
        if len(page_names) < len(ordered):
            out["ContinuationToken"] = bucket_list_token(self._token_key, page_names[-1])
        return out
