"""Planning a call: which route serves it, what is sent, and how the answer comes back.

Theory of operation
-------------------
Every S3 call through botwo is one :class:`Plan`, made here before anything is sent:

* the *route* that names the call (its rule, client and renaming);
* ``send``, the callable that carries the call out when given ``params`` as keywords: a
  backend client's own method for a call one backend serves, or one of the shell's
  fan-out callables (fallback reads, a merged listing, a split bulk delete, the bucket
  list over every client, a copy streamed between clients);
* ``params``, the target's parameters (new dicts: the caller's are never changed);
* the ``(target, caller)`` key and bucket pairs that translate an error back;
* ``finish``, which puts the response into caller names (``None``: nothing to do);
* ``single_backend``, the one boto3 client that serves the call on its own (``None``
  when several may: presigning needs one), and ``how`` it is carried out (:class:`Via`).

The planner is the pure core of the call path: it matches rules, validates the names it
routes by, refuses what a rule forbids and rewrites parameters (with
:mod:`botwo._translate`), but it never sends, waits or starts a thread. The send
callables come from a :class:`Senders` given by the shell, which owns the clients,
threads and copy engine, so the same plans can be carried out by another shell (one that
awaits its sends) unchanged.

``Plan`` is a named tuple: it is made on every call, and a tuple is the cheapest frozen,
slotted value Python has.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from botocore.exceptions import ParamValidationError
from botocore.model import ServiceModel
from botocore.validate import ParamValidator

from ._names import parse_copy_source
from ._operations import Kind, ListingSpec, OpSpec
from ._table import Route, RuleTable
from ._translate import (
    DeleteGroup,
    bucket_request,
    copy_request,
    delete_objects_groups,
    delete_objects_response,
    listing_request,
    listing_response,
    object_response,
    parse_rename_source,
    rename_request,
)
from .errors import CrossRouteError, ReadOnlyError, RoutingError

__all__ = ["Finish", "Pairs", "Plan", "Planner", "Send", "Senders", "Via"]

Send = Callable[..., dict[str, Any]]
Finish = Callable[[dict[str, Any]], dict[str, Any]]
Pairs = tuple[tuple[str, str], ...]


class Via(enum.Enum):
    """How a plan is carried out (its value is how a log line says it)."""

    BACKEND = ""  # one backend's own method
    FALLBACK = "reads fall back"
    MERGED = "merged listing over several routes"
    SPLIT = "split over several routes"
    UNION = "union over every client"
    STREAMED = "streamed between clients"


class Plan(NamedTuple):
    """One call, ready to send (see the module docstring)."""

    route: Route
    send: Send
    params: dict[str, Any]
    key_pairs: Pairs
    bucket_pairs: Pairs
    finish: Finish | None
    single_backend: Any
    how: Via


# Plans on the hot path are made with the tuple constructor itself, without the Python
# frame of the named tuple's __new__: ``_new(Plan, (...))``.
_new = tuple.__new__
_BACKEND = Via.BACKEND


class Senders(Protocol):
    """What the shell gives the planner: the clients by name, and the fan-out sends."""

    @property
    def clients(self) -> Mapping[str, Any]: ...

    def reads(self, route: Route, method: str) -> Send:
        """Reads of a route with fallbacks: each of ``route.clients`` in turn."""
        ...

    def merged_listing(
        self,
        spec: OpSpec,
        listing: ListingSpec,
        plan: Sequence[tuple[Route, str, tuple[str, ...]]],
        params: Mapping[str, Any],
    ) -> Send:
        """A listing that several routes (or a route's fallbacks) serve, merged."""
        ...

    def split_delete(self, groups: Sequence[DeleteGroup], objects: Sequence[Mapping[str, Any]]) -> Send:
        """A bulk delete over several backends at once."""
        ...

    def bucket_union(self, method: str) -> Send:
        """``list_buckets`` / ``list_directory_buckets`` over every client."""
        ...

    def streamed_copy(self, source: Route, dest: Route, method: str) -> Send:
        """A copy (or part copy) whose source is (also) on another client than ``dest``'s."""
        ...


_PLANNERS = {
    Kind.OBJECT: "object",
    Kind.BUCKET: "bucket",
    Kind.LISTING: "listing",
    Kind.COPY: "copy",
    Kind.RENAME: "rename",
    Kind.DELETE_OBJECTS: "delete_objects",
    Kind.NO_BUCKET: "no_bucket",
    Kind.ALL_BUCKETS: "all_buckets",
}


def planner_method(kind: Kind) -> Callable[[Planner, OpSpec, dict[str, Any]], Plan]:
    """The :class:`Planner` method that plans the calls of one kind of operation."""
    method: Callable[[Planner, OpSpec, dict[str, Any]], Plan] = getattr(Planner, _PLANNERS[kind])
    return method


def refuse_readonly(operation: str, route: Route, what: str, sent: str) -> ReadOnlyError:
    """The refusal of a mutating call through a read-only route (``sent`` says what was not)."""
    return ReadOnlyError.refuse(
        operation,
        f"botwo: {what} is read-only ({route.describe()} has readonly: true); {sent}",
        route=route,
    )


class Planner:
    """Makes the :class:`Plan` of each call (see the module docstring)."""

    def __init__(
        self,
        table: RuleTable,
        senders: Senders,
        service_model: ServiceModel,
        *,
        default_client: str,
        token_key: bytes,
    ) -> None:
        self._table = table
        self._matcher = table.matcher
        self._senders = senders
        self._clients = senders.clients
        # One number per distinct boto3 client: two names may be one client.
        distinct: dict[int, int] = {}
        self._backend_of = {
            name: distinct.setdefault(id(c), len(distinct)) for name, c in self._clients.items()
        }
        self._model = service_model
        self._default = default_client
        self._token_key = token_key
        self._validator = ParamValidator()

    # -- shared pieces -------------------------------------------------------------

    def plan(self, spec: OpSpec, params: dict[str, Any]) -> Plan:
        """The plan of one call of ``spec`` with the caller's ``params``."""
        return planner_method(spec.kind)(self, spec, params)

    def same_backend(self, a: Route, b: Route) -> bool:
        return self._backend_of[a.client] == self._backend_of[b.client]

    def invalid(self, spec: OpSpec, params: Mapping[str, Any], why: str) -> ParamValidationError:
        """botocore's own validation error for the call (e.g. a missing ``Bucket``)."""
        shape = self._model.operation_model(spec.name).input_shape
        report = self._validator.validate(params, shape) if shape is not None else None
        if report is not None and report.has_errors():
            return ParamValidationError(report=report.generate_report())
        return ParamValidationError(report=why)

    def _names(self, spec: OpSpec, params: Mapping[str, Any], *members: str) -> list[str]:
        values = [params.get(m) for m in members]
        for member, value in zip(members, values, strict=True):
            if type(value) is not str:
                raise self.invalid(spec, params, f"{member} must be a string to be routed")
        return values  # type: ignore[return-value]

    def _refuse_embedded(self, spec: OpSpec, route: Route) -> None:
        if spec.embeds_names and not route.identical:
            raise RoutingError(
                f"{spec.method} carries bucket or key names inside its payload, which botwo "
                f"does not rewrite; it is only sent through a route that renames nothing, and "
                f"bucket {route.bucket!r} goes through {route.describe()} with "
                f"mapped_bucket_name/key_prefix/strip_prefix",
                route=route,
            )

    def _refuse_readonly(self, spec: OpSpec, route: Route, what: str) -> ReadOnlyError:
        return refuse_readonly(spec.name, route, what, f"{spec.method} was not sent")

    def _serving(self, spec: OpSpec, route: Route, bucket: str, key: str | None) -> tuple[Send, Any, Via]:
        """How a call is sent: refused on a read-only route, through the fallback chain for
        a read of a route with fallbacks, else by the rule's own client."""
        if spec.mutates:
            if route.readonly:
                what = f"{bucket}/{key}" if key is not None else f"bucket {bucket!r}"
                raise self._refuse_readonly(spec, route, what)
        elif route.fallback:
            return self._senders.reads(route, spec.method), None, Via.FALLBACK
        client = self._clients[route.client]
        return getattr(client, spec.method), client, _BACKEND

    # -- one object, one bucket ---------------------------------------------------------

    def object(self, spec: OpSpec, params: dict[str, Any]) -> Plan:
        # The hot path: one rule lookup, one dict copy, one plan, no helper calls.
        bucket = params.get("Bucket")
        key = params.get("Key")
        if type(bucket) is not str or type(key) is not str:
            raise self.invalid(spec, params, "Bucket and Key must be strings to be routed")
        route = self._matcher(bucket).route(key)
        if route.special:
            send, client, how = self._serving(spec, route, bucket, key)
        else:
            client = self._clients[route.client]
            send, how = getattr(client, spec.method), _BACKEND
        if route.identical:
            return _new(Plan, (route, send, params, (), (), None, client, how))
        if spec.embeds_names:
            self._refuse_embedded(spec, route)
        # _translate.object_request, inlined: a call costs a tenth of the planning.
        target = params.copy()
        target["Bucket"] = route.target_bucket
        target["Key"] = target_key = route.key_prefix + key[len(route.strip) :]
        finish = functools.partial(object_response, spec, route, key) if spec.translates_output else None
        pairs = ((target_key, key),)
        return _new(Plan, (route, send, target, pairs, route.bucket_pairs, finish, client, how))

    def bucket(self, spec: OpSpec, params: dict[str, Any]) -> Plan:
        (bucket,) = self._names(spec, params, "Bucket")
        route = self._table.route_bucket(bucket)
        send, client, how = self._serving(spec, route, bucket, None)
        if route.identical:
            return Plan(route, send, params, (), (), None, client, how)
        self._refuse_embedded(spec, route)
        finish = functools.partial(object_response, spec, route, None) if spec.translates_output else None
        return Plan(route, send, bucket_request(route, params), (), route.bucket_pairs, finish, client, how)

    # -- listings -------------------------------------------------------------------------

    def listing(self, spec: OpSpec, params: dict[str, Any]) -> Plan:
        (bucket,) = self._names(spec, params, "Bucket")
        prefix = params.get("Prefix", "")
        if type(prefix) is not str:
            raise self.invalid(spec, params, "Prefix must be a string")
        layout = self._table.listing_plan(bucket, prefix)
        route = layout[0][0]
        listing = spec.listing
        if len(layout) > 1 or route.fallback:
            if listing is None:
                parts = "; ".join(r.describe() for r, _, _ in layout)
                raise CrossRouteError(
                    f"{spec.method} of bucket {bucket!r} with Prefix={prefix!r} spans several "
                    f"routes or clients ({parts}); botwo merges only the listings it knows",
                    route=route,
                )
            send = self._senders.merged_listing(spec, listing, layout, params)
            keys = tuple({(r.to_target_key(lp), lp) for r, lp, _ in layout if lp})
            buckets = tuple({(r.target_bucket, bucket) for r, _, _ in layout})
            return Plan(route, send, params, keys, buckets, None, None, Via.MERGED)
        client = self._clients[route.client]
        send = getattr(client, spec.method)
        if listing is None:  # a listing botwo has not reviewed
            self._refuse_embedded(spec, route)
            target = bucket_request(route, params)
            return Plan(route, send, target, (), route.bucket_pairs, None, client, _BACKEND)
        key = self._token_key
        target = listing_request(listing, route, params, key)
        finish = functools.partial(listing_response, listing, route, params, token_key=key)
        keys = ((target["Prefix"], prefix),) if "Prefix" in target and prefix else ()
        return Plan(route, send, target, keys, route.bucket_pairs, finish, client, _BACKEND)

    # -- copies and renames -----------------------------------------------------------------

    def copy(self, spec: OpSpec, params: dict[str, Any]) -> Plan:
        bucket, key = self._names(spec, params, "Bucket", "Key")
        source = parse_copy_source(params.get("CopySource"))
        if source is None:
            raise self.invalid(
                spec,
                params,
                f"Invalid CopySource {params.get('CopySource')!r}: expected 'bucket/key', "
                "'bucket/key?versionId=...' or {'Bucket': ..., 'Key': ..., 'VersionId': ...}",
            )
        dest = self._table.route(bucket, key)
        if dest.readonly:
            raise self._refuse_readonly(spec, dest, f"{bucket}/{key}")
        src = self._table.route(source.bucket, source.key)
        dest_client = self._clients[dest.client]
        if src.fallback or not self.same_backend(src, dest):
            # The source is (also) elsewhere: copied through this process, streamed.
            send, client, how = self._senders.streamed_copy(src, dest, spec.method), None, Via.STREAMED
        else:
            send, client, how = getattr(dest_client, spec.method), dest_client, _BACKEND
        target = copy_request(dest, key, src, source, params)
        finish = None
        if not dest.identical and (spec.out_bucket or spec.out_key):
            finish = functools.partial(object_response, spec, dest, key)
        keys = ((target["Key"], key), (src.to_target_key(source.key), source.key))
        buckets = ((dest.target_bucket, bucket), (src.target_bucket, source.bucket))
        return Plan(dest, send, target, keys, buckets, finish, client, how)

    def rename(self, spec: OpSpec, params: dict[str, Any]) -> Plan:
        bucket, key, raw = self._names(spec, params, "Bucket", "Key", "RenameSource")
        source_key, bucket_form = parse_rename_source(bucket, raw)
        dest = self._table.route(bucket, key)
        src = self._table.route(bucket, source_key)
        for route, name in ((dest, key), (src, source_key)):
            if route.readonly:
                raise self._refuse_readonly(spec, route, f"{bucket}/{name}")
        if not self.same_backend(dest, src) or dest.target_bucket != src.target_bucket:
            raise CrossRouteError(
                f"rename_object: {source_key!r} goes through {src.describe()} and {key!r} "
                f"through {dest.describe()}; a rename cannot cross routes",
                route=dest,
            )
        target = rename_request(dest, params, key, source_key, bucket_form)
        client = self._clients[dest.client]
        keys = ((target["Key"], key), (src.to_target_key(source_key), source_key))
        return Plan(
            dest, getattr(client, spec.method), target, keys, dest.bucket_pairs, None, client, _BACKEND
        )

    # -- many keys, no bucket, every bucket -------------------------------------------------

    def delete_objects(self, spec: OpSpec, params: dict[str, Any]) -> Plan:
        (bucket,) = self._names(spec, params, "Bucket")
        delete = params.get("Delete")
        objects = delete.get("Objects") if isinstance(delete, Mapping) else None
        if not isinstance(objects, list) or not all(
            isinstance(o, Mapping) and type(o.get("Key")) is str for o in objects
        ):
            raise self.invalid(spec, params, "Delete.Objects must be a list of {'Key': ...}")
        routes = [self._table.route(bucket, o["Key"]) for o in objects]
        for route, obj in zip(routes, objects, strict=True):
            if route.readonly:
                raise self._refuse_readonly(spec, route, f"{bucket}/{obj['Key']}")
        first = routes[0] if routes else self._table.route_bucket(bucket)
        if not routes:
            if first.readonly:
                raise self._refuse_readonly(spec, first, f"bucket {bucket!r}")
            # No keys: sent as it is (renamed) for the backend's own answer (MalformedXML).
            client = self._clients[first.client]
            target = bucket_request(first, params)
            return Plan(
                first, client.delete_objects, target, (), first.bucket_pairs, None, client, _BACKEND
            )
        same = self.same_backend
        if first.identical and all(r is first or (r.identical and same(r, first)) for r in routes):
            client = self._clients[first.client]
            return Plan(first, client.delete_objects, params, (), (), None, client, _BACKEND)
        groups = delete_objects_groups(params, routes, self._backend_of)
        if len(groups) == 1:
            (group,) = groups
            client = self._clients[group.route.client]
            finish = functools.partial(delete_objects_response, reverse=group.reverse, route=group.route)
            pairs = tuple(group.reverse.items())
            send = client.delete_objects
            return Plan(first, send, group.params, pairs, first.bucket_pairs, finish, client, _BACKEND)
        pairs = tuple(p for g in groups for p in g.reverse.items())
        buckets = tuple({(g.route.target_bucket, bucket) for g in groups})
        send = self._senders.split_delete(groups, objects)
        return Plan(first, send, params, pairs, buckets, None, None, Via.SPLIT)

    def no_bucket(self, spec: OpSpec, params: dict[str, Any]) -> Plan:
        route = self._table.route_bucket("")  # the catch-all's route: the default client
        client = self._clients[self._default]
        return Plan(route, getattr(client, spec.method), params, (), (), None, client, _BACKEND)

    def all_buckets(self, spec: OpSpec, params: dict[str, Any]) -> Plan:
        route = self._table.route_bucket("")
        return Plan(route, self._senders.bucket_union(spec.method), params, (), (), None, None, Via.UNION)
