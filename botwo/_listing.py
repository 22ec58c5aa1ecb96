"""The shell of a merged listing: the backend requests that :mod:`botwo._merge` asks for.

:class:`MergedListing` is the ``send`` of a listing plan that several routes (or a
route's fallbacks) serve: calling it runs the listing, and its errors are translated
like any backend's. It turns the caller's start (a marker, or botwo's own continuation token) into a
:class:`~botwo._merge.Position`, runs the cursor, fetching the pages it needs
concurrently, and assembles one response in S3's shape. An error of one backend request
records the stream it came from (:mod:`botwo._origin`), so that the caller is told which
client and route failed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ._fallback import unreachable
from ._merge import Fetch, Item, MergeCursor, Position, Stream, rolls_up_at_backend
from ._names import after_all, decode_name, encode_name, encoded_to_caller
from ._operations import LISTINGS, ListingSpec
from ._origin import Origin, mark
from ._s3 import MAX_PAGE, error_code
from ._table import Route
from ._tokens import is_token, merged_token, read_merged_token
from .errors import TokenError

__all__ = ["MergedListing", "plan_streams"]

def plan_streams(
    plan: Sequence[tuple[Route, str, tuple[str, ...]]], prefix: str, delimiter: str | None
) -> list[Stream]:
    """One stream per client of every route of a listing plan, in plan order."""
    streams: list[Stream] = []
    for route, list_prefix, holes in plan:
        rollup = not delimiter or rolls_up_at_backend(prefix, delimiter, list_prefix)
        for priority, client in enumerate(route.clients):
            streams.append(
                Stream(
                    index=len(streams),
                    route=route,
                    client=client,
                    priority=priority,
                    list_prefix=list_prefix,
                    holes=holes,
                    rollup=rollup,
                    solo=not route.fallback,
                )
            )
    return streams


def _is_common_prefix(name: str, prefix: str, delimiter: str | None) -> bool:
    """Whether ``name`` is a common prefix of a listing of ``prefix`` with ``delimiter``."""
    if not delimiter or not name.startswith(prefix):
        return False
    at = name.find(delimiter, len(prefix))
    return at >= 0 and at == len(name) - len(delimiter)


class MergedListing:
    """One listing call over several streams (see the module docstring)."""

    def __init__(
        self,
        *,
        spec: ListingSpec,
        operation: str,
        output_members: frozenset[str],
        bucket: str,
        streams: Sequence[Stream],
        clients: Mapping[str, Any],
        params: Mapping[str, Any],
        token_key: bytes,
        pool: Executor,
    ) -> None:
        self._spec = spec
        self._operation = operation
        self._output_members = output_members
        self._bucket = bucket
        # Streams of a ListObjects (v1) call are read with ListObjectsV2, as S3 advises:
        # same entries (with FetchOwner), and servers' v1 Delimiter paging varies.
        self._v1 = operation == "list_objects"
        self._fetch_spec = LISTINGS["ListObjectsV2"] if self._v1 else spec
        self._fetch_operation = "list_objects_v2" if self._v1 else operation
        self._streams = streams
        self._clients = clients
        self._params = params
        self._token_key = token_key
        self._pool = pool
        self._prefix: str = params.get("Prefix", "")
        delimiter = params.get("Delimiter")
        self._delimiter: str | None = delimiter if isinstance(delimiter, str) and delimiter else None
        self._encoded = params.get("EncodingType") == "url"
        # Request members that botwo sets itself on every backend request.
        own = {"Bucket", "Prefix", "Delimiter", spec.limit, spec.marker, *spec.id_markers}
        if spec.token is not None:
            own.add(spec.token)
        self._base = {k: v for k, v in params.items() if k not in own}
        if self._v1:
            self._base["FetchOwner"] = True
        self._template: tuple[Stream, dict[str, Any]] | None = None
        self._hints: frozenset[int] = frozenset()
        self._absent: dict[int, list[BaseException]] = {}

    # -- the caller's start ----------------------------------------------------------

    def _start(self) -> Position | None:
        spec, params = self._spec, self._params
        if spec.token is not None and spec.token in params:
            held, self._hints = read_merged_token(
                params[spec.token],
                self._token_key,
                what=spec.token,
                bucket=self._bucket,
                prefix=self._prefix,
                streams=len(self._streams),
            )
            position = Position.from_json(held)
            if position is None:
                raise TokenError(f"{spec.token} does not hold a listing position")
            return position
        marker = params.get(spec.marker)
        if not isinstance(marker, str) or not marker:
            return None
        if is_token(marker, self._token_key):
            raise TokenError(
                f"{spec.marker} {marker[:40]!r}... was issued for a listing served by one route, "
                f"not for bucket {self._bucket!r} with Prefix {self._prefix!r}"
            )
        ids = [params[m] for m in spec.id_markers if isinstance(params.get(m), str) and params[m]]
        if ids:
            return Position(marker, ids[0])
        return Position(marker, past=_is_common_prefix(marker, self._prefix, self._delimiter))

    # -- one backend page ----------------------------------------------------------

    def _request(self, fetch: Fetch) -> dict[str, Any]:
        stream, spec = fetch.stream, self._fetch_spec
        route = stream.route
        request = dict(self._base)
        request["Bucket"] = route.target_bucket
        request["Prefix"] = route.to_target_key(
            fetch.verify if fetch.verify is not None else stream.list_prefix
        )
        request[spec.limit] = fetch.limit
        if self._delimiter is not None and stream.rollup and fetch.verify is None:
            request["Delimiter"] = self._delimiter
        after = fetch.after
        if after is not None:
            target = route.to_target_key(after.name)
            request[spec.marker] = after_all(target) if after.past else target
            if after.id is not None and spec.id_markers:
                request[spec.id_markers[0]] = after.id
        return request

    def _items(self, route: Route, response: Mapping[str, Any]) -> list[Item]:
        spec, encoded = self._spec, self._encoded
        items: list[Item] = []
        id_field = spec.id_field
        lists = 0
        to_caller = functools.partial(encoded_to_caller, route) if encoded else None
        for list_name, member in spec.entries:
            is_prefix = list_name == "CommonPrefixes"
            entries = response.get(list_name, ())
            lists += bool(entries)
            for entry in route.rename_entries(entries, member, to_caller):
                name = decode_name(entry[member]) if encoded else entry[member]
                ident = entry.get(id_field) if id_field is not None and not is_prefix else None
                items.append(Item(name, list_name, entry, ident, is_prefix))
        if lists > 1:  # botocore splits one ordered listing into several lists
            order = spec.order
            if order is None:
                items.sort(key=lambda item: item.name)
            else:
                field, newest_first = order
                sign = -1 if newest_first else 1

                def rank(item: Item) -> tuple[str, float]:
                    when = item.entry.get(field)
                    return (item.name, sign * when.timestamp() if when is not None else 0.0)

                items.sort(key=rank)
        return items

    def _send(self, stream: Stream, request: dict[str, Any]) -> dict[str, Any]:
        """One backend request of the listing; its error says which stream it came from."""
        try:
            response: dict[str, Any] = getattr(self._clients[stream.client], self._fetch_operation)(**request)
        except (ClientError, BotoCoreError) as err:
            origin = Origin(route=stream.route, client=stream.client, target_bucket=request["Bucket"])
            mark(err, origin)
            raise
        return response

    def _page(self, fetch: Fetch) -> tuple[list[Item], bool]:
        stream = fetch.stream
        try:
            response = self._send(stream, self._request(fetch))
        except (ClientError, BotoCoreError) as err:
            if self._absent_ok(stream, err):
                self._absent.setdefault(stream.route.rule_index, []).append(err)
                return [], False
            raise
        if self._template is None and fetch.verify is None:
            self._template = (stream, response)
        return self._items(stream.route, response), bool(response.get("IsTruncated"))

    def _absent_ok(self, stream: Stream, err: BaseException) -> bool:
        """Whether a stream may count as empty: a client of a route with fallbacks that
        lacks the bucket, or cannot be reached when the rule allows that."""
        route = stream.route
        if not route.fallback:
            return False
        if isinstance(err, ClientError):
            return error_code(err) == "NoSuchBucket"
        return route.fallback_on_unreachable and unreachable(err)

    # -- the call -----------------------------------------------------------------------

    def __call__(self, **_params: Any) -> dict[str, Any]:
        spec, params = self._spec, self._params
        limit = params.get(spec.limit, MAX_PAGE)
        limit = min(limit, MAX_PAGE) if isinstance(limit, int) else MAX_PAGE
        start = self._start()
        cursor = MergeCursor(
            self._streams,
            prefix=self._prefix,
            delimiter=self._delimiter,
            limit=limit,
            start=start,
            encoded=self._encoded,
            hints=self._hints,
        )
        while fetches := cursor.requests():
            if len(fetches) == 1:
                pages = [self._page(fetches[0])]
            else:
                pages = list(self._pool.map(self._page, fetches))
            for fetch, (items, truncated) in zip(fetches, pages, strict=True):
                cursor.feed(fetch, items, truncated)
        for rule_index, errors in self._absent.items():
            clients = next(s.route.clients for s in self._streams if s.route.rule_index == rule_index)
            if len(errors) >= len(clients):
                raise errors[0]  # no client of the route has the bucket
        return self._assemble(cursor.items, cursor.truncated, cursor.hints())

    def _echo(self, member: str, value: Any) -> Any:
        if self._encoded and member in self._spec.encoded and isinstance(value, str):
            return encode_name(value)
        return value

    def _assemble(self, items: list[Item], truncated: bool, hints: frozenset[int]) -> dict[str, Any]:
        spec, params = self._spec, self._params
        if self._template is None:  # nothing was fetched (MaxKeys=0, or a position past the end)
            stream = self._streams[0]
            template = self._send(stream, self._request(Fetch(stream, None, 1)))
        else:
            template = self._template[1]
        fetch_spec = self._fetch_spec
        lists = {name for name, _ in spec.entries}
        nexts = {spec.next_marker, spec.next_token, spec.next_id_marker, fetch_spec.next_token}
        markers = {spec.marker, *spec.id_markers, fetch_spec.marker}
        out: dict[str, Any] = {}
        for member, value in template.items():
            if member in lists or member in nexts or member in ("KeyCount", "IsTruncated"):
                continue
            if member in markers and value != "":
                continue  # botwo's own resume marker (the caller's is echoed below)
            if member != "ResponseMetadata" and member not in self._output_members:
                continue  # a ListObjectsV2 member that ListObjects does not have
            out[member] = value
        for member in ("Name", "Bucket"):
            if member in out:
                out[member] = self._bucket
        if "Prefix" in out or "Prefix" in params:
            out["Prefix"] = self._echo("Prefix", self._prefix)
        if self._delimiter is not None:
            out["Delimiter"] = self._echo("Delimiter", self._delimiter)
        if spec.limit in out or spec.limit in params:
            out[spec.limit] = params.get(spec.limit, MAX_PAGE)
        for member in markers:
            if params.get(member, "") != "":
                out[member] = self._echo(member, params[member])
        if spec.token is not None and spec.token in params:
            out[spec.token] = params[spec.token]
        grouped: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            grouped.setdefault(item.member, []).append(item.entry)
        for name, _ in spec.entries:
            if name in grouped:
                out[name] = grouped[name]
        if spec.next_token is not None:
            out["KeyCount"] = len(items)
        out["IsTruncated"] = truncated
        if truncated and items:
            last = items[-1]
            position = Position(last.name, last.id, last.is_prefix)
            if spec.next_token is not None:
                out[spec.next_token] = merged_token(
                    self._token_key,
                    bucket=self._bucket,
                    prefix=self._prefix,
                    position=position.to_json(),
                    hints=sorted(hints),
                )
            if spec.next_marker is not None:
                out[spec.next_marker] = self._echo(spec.next_marker, last.name)
            if spec.next_id_marker is not None and last.id is not None:
                out[spec.next_id_marker] = last.id
        return out
