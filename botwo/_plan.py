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

from botocore.exceptions import ClientError, ParamValidationError
from botocore.model import ServiceModel
from botocore.validate import ParamValidator

from ._names import parse_copy_source, resolve_dot_segments, utf8_length
from ._operations import Kind, ListingSpec, OpSpec
from ._s3 import MAX_KEY_BYTES
from ._table import Route, RuleTable
from ._translate import (
    FILENAME,
    DeleteGroup,
    bucket_request,
    copy_request,
    delete_objects_groups,
    delete_objects_response,
    listing_request,
    listing_response,
    object_response,
    parse_rename_source,
    post_conditions,
    post_key_scope,
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
# A key of at most this many characters is within S3's limit (4 UTF-8 bytes at most each).
_SHORT_KEY = MAX_KEY_BYTES // 4


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


def key_too_long(operation: str, route: Route, bucket: str, key: str, size: int) -> ClientError:
    """S3's answer to a key over its limit, given before sending, in the caller's names."""
    response: Any = {
        "Error": {"Code": "KeyTooLongError", "Message": "Your key is too long", "Key": key},
        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}},
    }
    err = ClientError(response, operation)
    err.add_note(
        f"botwo: not sent: key {key!r} of bucket {bucket!r} is {size:,} bytes once "
        f"{route.describe()} renames it, and S3 allows {MAX_KEY_BYTES:,}"
    )
    return err


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
        # A POST form writes an object as PutObject does: its key is checked as PutObject's.
        self._post_spec = OpSpec(name="PutObject", method="put_object", kind=Kind.OBJECT, embeds_names=False)

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

    def route_key(self, spec: OpSpec, params: Mapping[str, Any], bucket: str, key: str, member: str) -> Route:
        """The route of a key that a call names (``member``), refused where S3 would refuse
        the key or where its dot segments could take it out of the route."""
        if not key:  # boto3 refuses an empty key; a key_prefix would make it valid
            raise self.invalid(spec, params, f"{member} must not be empty")
        route = self._matcher(bucket).route(key)
        if key[0] == "." or "/." in key:
            self._refuse_dot_segments(route, bucket, key, member)
        return route

    def _refuse_dot_segments(self, route: Route, bucket: str, key: str, member: str) -> None:
        """Refuse a key whose ``.``/``..`` segments, resolved as a server or an HTTP client
        that normalizes URL paths resolves them, name an object outside its own route."""
        resolved = resolve_dot_segments(key)
        if resolved == key:
            return
        if resolved is None:
            where = "out of the key, to the bucket or another bucket"
        else:
            other = self._matcher(bucket).route(resolved)
            if other is not route:
                where = f"to {resolved!r}, which goes through {other.describe()}"
            elif resolve_dot_segments(route.to_target_key(key)) == route.to_target_key(resolved):
                return  # resolved or not, the same object of the same route
            else:
                where = f"out of the key_prefix of {route.describe()}"
        raise RoutingError(
            f"{member} {key!r} of bucket {bucket!r} has '.' or '..' path segments, which servers "
            f"and HTTP clients that normalize URL paths resolve {where}; botwo does not send it",
            route=route,
        )

    def _refuse_long_keys(self, spec: OpSpec, pairs: Pairs, route: Route, bucket: str) -> None:
        for target_key, key in pairs:
            if len(target_key) > _SHORT_KEY:
                self._refuse_long_key(spec, route, bucket, key, target_key)

    def _refuse_long_key(self, spec: OpSpec, route: Route, bucket: str, key: str, target_key: str) -> None:
        size = utf8_length(target_key)
        if size > MAX_KEY_BYTES:
            raise key_too_long(spec.name, route, bucket, key, size)

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
        if type(bucket) is not str or type(key) is not str or not key:
            raise self.invalid(spec, params, "Bucket and Key must be strings to be routed")
        route = self._matcher(bucket).route(key)
        if key[0] == "." or "/." in key:
            self._refuse_dot_segments(route, bucket, key, "Key")
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
        if len(target_key) > _SHORT_KEY:
            self._refuse_long_key(spec, route, bucket, key, target_key)
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
        dest = self.route_key(spec, params, bucket, key, "Key")
        if dest.readonly:
            raise self._refuse_readonly(spec, dest, f"{bucket}/{key}")
        src = self.route_key(spec, params, source.bucket, source.key, "CopySource")
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
        self._refuse_long_keys(spec, keys[:1], dest, bucket)  # a source that long does not exist
        buckets = ((dest.target_bucket, bucket), (src.target_bucket, source.bucket))
        return Plan(dest, send, target, keys, buckets, finish, client, how)

    def rename(self, spec: OpSpec, params: dict[str, Any]) -> Plan:
        bucket, key, raw = self._names(spec, params, "Bucket", "Key", "RenameSource")
        source_key, bucket_form = parse_rename_source(bucket, raw)
        dest = self.route_key(spec, params, bucket, key, "Key")
        src = self.route_key(spec, params, bucket, source_key, "RenameSource")
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
        self._refuse_long_keys(spec, keys, dest, bucket)
        return Plan(
            dest, getattr(client, spec.method), target, keys, dest.bucket_pairs, None, client, _BACKEND
        )

    # -- presigned POSTs --------------------------------------------------------------------

    def presigned_post(
        self, bucket: str, key: str, conditions: Sequence[Any]
    ) -> tuple[Route, str, list[Any]]:
        """The route that signs a presigned POST, its target key and its target conditions.

        Every key the policy lets a form write (see :func:`~botwo._translate.post_key_scope`)
        must be a key of that one route, and the route must allow writes.
        """
        if type(bucket) is not str or type(key) is not str or not key:
            raise ParamValidationError(report="Bucket and Key must be strings, and Key not empty")
        scope = post_key_scope(key, conditions)
        if scope is None or scope[1]:  # one key (or none: a form can write nothing)
            only = key if scope is None else scope[0]
            route = self.route_key(self._post_spec, {"Bucket": bucket, "Key": only}, bucket, only, "Key")
            if only != key and self._matcher(bucket).route(key) is not route:
                raise CrossRouteError(
                    f"a presigned POST for {key!r} whose conditions allow only {only!r}: the two "
                    "are keys of different routes",
                    route=route,
                )
            if route.readonly:
                raise refuse_readonly("PostObject", route, f"{bucket}/{only}", "no presigned POST was made")
        else:
            route = self._post_prefix_route(bucket, key, scope[0])
        return route, route.to_target_key(key), post_conditions(route, conditions)

    def _post_prefix_route(self, bucket: str, key: str, prefix: str) -> Route:
        layout = self._table.listing_plan(bucket, prefix)
        what = f"every key of bucket {bucket!r} starting with {prefix!r}"
        for route, _, _ in layout:
            if route.readonly:
                raise refuse_readonly(
                    "PostObject",
                    route,
                    f"{bucket}/{route.owns}",
                    f"no presigned POST for {bucket}/{key} was made (its policy would let a form "
                    f"write {what})",
                )
        route = layout[0][0]
        start = key[: key.index(FILENAME)] if FILENAME in key else key
        if len(layout) > 1 or not prefix.startswith(route.owns) or not start.startswith(route.strip):
            raise CrossRouteError(
                f"a presigned POST for {key!r} would let a form write {what}, which are not all "
                f"keys of one route ({'; '.join(r.describe() for r, _, _ in layout)}); give a Key "
                "or a starts-with condition within one route",
                route=route,
            )
        if prefix[:1] == "." or "/." in prefix:
            self._refuse_dot_segments(route, bucket, prefix, "Key")
        return route

    # -- many keys, no bucket, every bucket -------------------------------------------------

    def delete_objects(self, spec: OpSpec, params: dict[str, Any]) -> Plan:
        (bucket,) = self._names(spec, params, "Bucket")
        delete = params.get("Delete")
        objects = delete.get("Objects") if isinstance(delete, Mapping) else None
        if not isinstance(objects, list) or not all(
            isinstance(o, Mapping) and type(o.get("Key")) is str for o in objects
        ):
            raise self.invalid(spec, params, "Delete.Objects must be a list of {'Key': ...}")
        if not all(o["Key"] for o in objects):  # a key_prefix would make an empty key valid
            raise self.invalid(spec, params, "Delete.Objects[].Key must not be empty")
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
        for group in groups:
            self._refuse_long_keys(spec, tuple(group.reverse.items()), group.route, bucket)
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
