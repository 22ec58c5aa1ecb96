"""The routing client: a boto3-shaped S3 client generated from botocore's service model.

This is the thin shell around the pure core. For every operation of the model it builds
a method with boto3's name, signature and docstring; a call is *prepared* (route chosen,
parameters rewritten by :mod:`botwo._translate`), *sent* to the chosen underlying boto3
client, and *finished* (response translated back). A backend's ``ClientError`` is
re-raised through this client's own exception classes with caller names.

Presigned URLs reuse the same preparation without sending anything; managed transfers
(boto3's ``upload_file`` & co.) run s3transfer over this client itself, so every part
is routed like any other call, and progress callbacks work because ``meta.events``
registrations reach every underlying client.
"""

from __future__ import annotations

import copy as _copy
import functools
import inspect
import logging
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

import attrs
import boto3.s3.inject as _inject
import boto3.session
import botocore.signers
from boto3.s3.transfer import TransferConfig
from botocore import xform_name
from botocore.client import BaseClient
from botocore.docs.docstring import ClientMethodDocstring
from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    OperationNotPageableError,
    ParamValidationError,
    UnknownClientMethodError,
)
from botocore.loaders import create_loader
from botocore.model import ServiceModel
from botocore.paginate import PaginatorModel
from botocore.validate import ParamValidator
from botocore.waiter import WaiterModel, create_waiter_with_client

from ._config import Settings, _safe_endpoint
from ._copy import CrossCopy
from ._describe import render_html, render_text
from ._fallback import FallbackClient, falls_back
from ._fanout import BucketUnion, DeleteGroup, SplitDelete
from ._listing import MergedListing, plan_streams
from ._names import caller_endpoint, parse_copy_source
from ._operations import Kind, OpSpec, operation_table
from ._rules import Rule, is_catch_all
from ._table import Route, RouteDecision, RuleTable
from ._translate import (
    bucket_request,
    copy_request,
    delete_objects_response,
    error_response,
    listing_request,
    listing_response,
    object_response,
    rename_request,
)
from ._values import CopyConfig
from .errors import CrossRouteError, ReadOnlyError, RoutingError

__all__ = ["RoutingClient", "client_class"]

#: Routing decisions are logged here at DEBUG: operation, caller and target names, client
#: and rule; never a parameter value other than bucket, key and prefix.
log = logging.getLogger("botwo")
_debug = log.isEnabledFor
_DEBUG = logging.DEBUG

Finish = Callable[[dict[str, Any]], dict[str, Any]]


# One call, ready to send: the route, the backend client, the target parameters, the
# (target, caller) key renamings and bucket renamings for error translation, and how to
# put the response back into caller names (None: nothing to translate). A plain tuple:
# it is built on every call.
_Prepared = tuple[
    Route,
    Any,
    dict[str, Any],
    tuple[tuple[str, str], ...],
    "Finish | None",
    tuple[tuple[str, str], ...],
]


def _prepared(
    route: Route,
    client: Any,
    params: dict[str, Any],
    keys: tuple[tuple[str, str], ...] = (),
    finish: Finish | None = None,
    buckets: tuple[tuple[str, str], ...] | None = None,
) -> _Prepared:
    return (route, client, params, keys, finish, route.bucket_pairs if buckets is None else buckets)


_PREPARE = {
    Kind.OBJECT: "_prepare_object",
    Kind.BUCKET: "_prepare_bucket",
    Kind.LISTING: "_prepare_listing",
    Kind.COPY: "_prepare_copy",
    Kind.RENAME: "_prepare_rename",
    Kind.DELETE_OBJECTS: "_prepare_delete_objects",
    Kind.NO_BUCKET: "_prepare_no_bucket",
    Kind.ALL_BUCKETS: "_prepare_all_buckets",
}


class FanoutEvents:
    """``meta.events`` of a routing client: registrations reach every underlying client.

    ``register``, ``register_first``, ``register_last`` and ``unregister`` apply to the
    event emitter of each distinct underlying client, so handlers (and s3transfer's
    progress signalling) see the requests that are really sent. Anything else, such as
    ``emit``, is the default client's emitter.
    """

    def __init__(self, emitters: Iterable[Any]) -> None:
        self._emitters = list(emitters)

    def register(
        self, event_name: str, handler: Any, unique_id: Any = None, unique_id_uses_count: bool = False
    ) -> None:
        for emitter in self._emitters:
            emitter.register(event_name, handler, unique_id, unique_id_uses_count)

    def register_first(
        self, event_name: str, handler: Any, unique_id: Any = None, unique_id_uses_count: bool = False
    ) -> None:
        for emitter in self._emitters:
            emitter.register_first(event_name, handler, unique_id, unique_id_uses_count)

    def register_last(
        self, event_name: str, handler: Any, unique_id: Any = None, unique_id_uses_count: bool = False
    ) -> None:
        for emitter in self._emitters:
            emitter.register_last(event_name, handler, unique_id, unique_id_uses_count)

    def unregister(
        self, event_name: str, handler: Any = None, unique_id: Any = None, unique_id_uses_count: bool = False
    ) -> None:
        for emitter in self._emitters:
            emitter.unregister(event_name, handler, unique_id, unique_id_uses_count)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._emitters[0], name)


class RoutingMeta:
    """``meta`` of a routing client, shaped like botocore's ``ClientMeta``.

    ``service_model`` is S3's; ``region_name``, ``endpoint_url``, ``config`` and
    ``partition`` are those of the default client (the catch-all rule's).
    """

    def __init__(self, default: Any, events: FanoutEvents, service_model: ServiceModel) -> None:
        meta = default.meta
        self.events = events
        self.service_model = service_model
        self.region_name = meta.region_name
        self.endpoint_url = meta.endpoint_url
        self.config = meta.config
        self.partition = meta.partition
        self.method_to_api_mapping = {xform_name(name): name for name in service_model.operation_names}


@functools.cache
def _exceptions(model: ServiceModel) -> Any:
    return ClientExceptionsFactory().create_client_exceptions(model)


@functools.cache
def _docs_emitter() -> Any:
    # The docs handlers of a boto3 session shape the docstrings, as for boto3's clients.
    return boto3.session.Session().events


@functools.cache
def _loader() -> Any:
    return create_loader()


class RoutingClient:
    """A boto3-compatible S3 client that routes each call by an ordered rule table.

    Build one with :func:`botwo.client`. Every S3 operation of the installed botocore is
    a method with boto3's name, keyword-only signature and docstring.
    """

    _ops: Mapping[str, OpSpec]

    def __init__(
        self, clients: Mapping[str, Any], rules: tuple[Rule, ...], copy_config: CopyConfig | None = None
    ) -> None:
        self._clients = dict(clients)
        self._copy_config = copy_config or CopyConfig()
        self._table = RuleTable(rules)
        self._token_key = self._table.fingerprint
        self._default_name = next(r.client for r in rules if is_catch_all(r))
        default = self._clients[self._default_name]
        distinct = list({id(c): c for c in self._clients.values()}.values())
        self._distinct = distinct
        service_model = default.meta.service_model
        events = FanoutEvents([default.meta.events] + [c.meta.events for c in distinct if c is not default])
        self.meta = RoutingMeta(default, events, service_model)
        self.exceptions = _exceptions(type(self)._model)
        self._validator = ParamValidator()
        self._paginators: PaginatorModel | None = None
        self._waiters: WaiterModel | None = None
        self._matcher = self._table.matcher
        self._readers: dict[tuple[tuple[str, ...], bool], FallbackClient] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._buckets: BucketUnion | None = None
        self._pool_lock = threading.Lock()
        #: The configuration the client was built from (None: built from client objects).
        self._settings: Settings | None = None
        #: A ``copy_config`` given beside the configuration, which pickling keeps.
        self._explicit_copy_config: CopyConfig | None = None

    _model: ServiceModel  # set on the generated subclass

    if TYPE_CHECKING:
        # The S3 operations are generated from the service model when the class is made;
        # to a type checker they are attributes of unknown type, as on a boto3 client
        # without stubs.
        def __getattr__(self, name: str) -> Any: ...

    # -- the call path -----------------------------------------------------------

    def _prepare(self, spec: OpSpec, params: dict[str, Any]) -> _Prepared:
        prepare: Callable[[OpSpec, dict[str, Any]], _Prepared] = getattr(self, _PREPARE[spec.kind])
        return prepare(spec, params)

    def _translate_error(
        self,
        err: ClientError,
        route: Route,
        keys: tuple[tuple[str, str], ...],
        buckets: tuple[tuple[str, str], ...],
        operation: str,
    ) -> ClientError:
        response = error_response(err.response, keys=keys, buckets=buckets)
        code = response.get("Error", {}).get("Code", "")
        cls = self.exceptions.from_code(code)
        # The caller's operation: a copy between clients fails in a GetObject or PutObject
        # that the caller never called.
        new: ClientError = cls(response, operation)
        setattr(new, "botwo_route", route)  # noqa: B010 - an attribute botocore's classes do not declare
        for note in getattr(err, "__notes__", ()):  # botwo's own (a copy's failed cleanup)
            if note.startswith("botwo: "):
                new.add_note(note)
        new.add_note(f"botwo: served by client {route.client!r} through {route.describe()}")
        return new

    def _invalid(self, spec: OpSpec, params: Mapping[str, Any], why: str) -> ParamValidationError:
        """botocore's own validation error for the call (e.g. a missing ``Bucket``)."""
        shape = self.meta.service_model.operation_model(spec.name).input_shape
        report = self._validator.validate(params, shape) if shape is not None else None
        if report is not None and report.has_errors():
            return ParamValidationError(report=report.generate_report())
        return ParamValidationError(report=why)

    def _names(self, spec: OpSpec, params: Mapping[str, Any], *members: str) -> list[str]:
        values = [params.get(m) for m in members]
        for member, value in zip(members, values, strict=True):
            if type(value) is not str:
                raise self._invalid(spec, params, f"{member} must be a string to be routed")
        return values  # type: ignore[return-value]

    def _refuse_embedded(self, spec: OpSpec, route: Route) -> None:
        if spec.embeds_names and not route.identical:
            raise RoutingError(
                f"{spec.method} carries bucket or key names inside its payload, which botwo "
                f"does not rewrite; it is only sent through a route that renames nothing, and "
                f"bucket {route.bucket!r} goes through {route.describe()} with "
                f"mapped_bucket_name/key_prefix/strip_prefix"
            )

    def _refuse_readonly(self, spec: OpSpec, route: Route, what: str) -> ReadOnlyError:
        err = ReadOnlyError.refuse(
            spec.name,
            f"botwo: {what} is read-only ({route.describe()} has readonly: true); {spec.method} was not sent",
        )
        setattr(err, "botwo_route", route)  # noqa: B010 - as on the backend errors botwo re-raises
        return err

    def _reader(self, route: Route) -> Any:
        """The client that serves reads of a route: the rule's own, or a fallback chain."""
        if not route.fallback:
            return self._clients[route.client]
        cache_key = (route.clients, route.fallback_on_unreachable)
        reader = self._readers.get(cache_key)
        if reader is None:
            reader = FallbackClient(
                [self._clients[n] for n in route.clients], on_unreachable=route.fallback_on_unreachable
            )
            self._readers[cache_key] = reader
        return reader

    def _serving(self, spec: OpSpec, route: Route, what: str) -> Any:
        """The client for a call through a read-only route or one with fallbacks."""
        if spec.mutates:
            if route.readonly:
                raise self._refuse_readonly(spec, route, what)
            return self._clients[route.client]
        return self._reader(route)

    def pool(self) -> ThreadPoolExecutor:
        """The threads that fan a call out to several backends at once."""
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="botwo")
        return self._pool

    def _prepare_object(self, spec: OpSpec, params: dict[str, Any]) -> _Prepared:
        # The hot path: kept free of helper calls.
        bucket = params.get("Bucket")
        key = params.get("Key")
        if type(bucket) is not str or type(key) is not str:
            raise self._invalid(spec, params, "Bucket and Key must be strings to be routed")
        route = self._matcher(bucket).route(key)
        if route.special:
            client = self._serving(spec, route, f"{bucket}/{key}")
        else:
            client = self._clients[route.client]
        if route.identical:
            return (route, client, params, (), None, ())
        if spec.embeds_names:
            self._refuse_embedded(spec, route)
        target_key = route.key_prefix + key[len(route.strip) :]
        target = params.copy()  # cheaper than {**params, ...}
        target["Bucket"] = route.target_bucket
        target["Key"] = target_key
        finish = None
        if spec.translates_output:
            finish = functools.partial(object_response, spec, route, key)
        return (route, client, target, ((target_key, key),), finish, route.bucket_pairs)

    def _prepare_bucket(self, spec: OpSpec, params: dict[str, Any]) -> _Prepared:
        (bucket,) = self._names(spec, params, "Bucket")
        route = self._table.route_bucket(bucket)
        if route.special:
            client = self._serving(spec, route, f"bucket {bucket!r}")
        else:
            client = self._clients[route.client]
        if route.identical:
            return _prepared(route, client, params, buckets=())
        self._refuse_embedded(spec, route)
        finish = functools.partial(object_response, spec, route, None) if spec.translates_output else None
        return _prepared(route, client, bucket_request(route, params), finish=finish)

    def _prepare_listing(self, spec: OpSpec, params: dict[str, Any]) -> _Prepared:
        (bucket,) = self._names(spec, params, "Bucket")
        prefix = params.get("Prefix", "")
        if type(prefix) is not str:
            raise self._invalid(spec, params, "Prefix must be a string")
        plan = self._table.listing_plan(bucket, prefix)
        route = plan[0][0]
        listing = spec.listing
        if len(plan) > 1 or route.fallback:
            if listing is None:
                parts = "; ".join(r.describe() for r, _, _ in plan)
                raise CrossRouteError(
                    f"{spec.method} of bucket {bucket!r} with Prefix={prefix!r} spans several "
                    f"routes or clients ({parts}); botwo merges only the listings it knows"
                )
            delimiter = params.get("Delimiter")
            output = self.meta.service_model.operation_model(spec.name).output_shape
            merged = MergedListing(
                spec=listing,
                operation=spec.method,
                output_members=frozenset(output.members if output is not None else ()),
                bucket=bucket,
                streams=plan_streams(plan, prefix, delimiter if isinstance(delimiter, str) else None),
                clients=self._clients,
                params=params,
                token_key=self._token_key,
                pool=self.pool(),
            )
            keys = tuple({(r.to_target_key(lp), lp) for r, lp, _ in plan if lp})
            buckets = tuple({(r.target_bucket, bucket) for r, _, _ in plan})
            return _prepared(route, merged, params, keys, buckets=buckets)
        client = self._clients[route.client]
        if listing is None:  # a listing botwo has not reviewed
            self._refuse_embedded(spec, route)
            return _prepared(route, client, bucket_request(route, params))
        key = self._token_key
        target = listing_request(listing, route, params, key)

        def finish(resp: dict[str, Any]) -> dict[str, Any]:
            return listing_response(listing, route, params, resp, key)

        keys = ((target["Prefix"], prefix),) if "Prefix" in target and prefix else ()
        return _prepared(route, client, target, keys, finish)

    def _same_backend(self, a: Route, b: Route) -> bool:
        return self._clients[a.client] is self._clients[b.client]

    def _prepare_copy(self, spec: OpSpec, params: dict[str, Any]) -> _Prepared:
        bucket, key = self._names(spec, params, "Bucket", "Key")
        source = parse_copy_source(params.get("CopySource"))
        if source is None:
            raise self._invalid(
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
        sources = [self._clients[name] for name in src.clients]
        client: Any = dest_client
        if sources != [dest_client]:
            # The source is (also) elsewhere: copied through this process, streamed.
            chooser = functools.partial(falls_back, on_unreachable=src.fallback_on_unreachable)
            client = CrossCopy(sources, dest_client, falls_back=chooser, **attrs.asdict(self._copy_config))
        target = copy_request(dest, key, src, source, params)
        target_key = target["Key"]
        finish = None
        if not dest.identical and (spec.out_bucket or spec.out_key):

            def finish(resp: dict[str, Any]) -> dict[str, Any]:
                return object_response(spec, dest, key, resp)

        return _prepared(
            dest,
            client,
            target,
            keys=((target_key, key), (src.to_target_key(source.key), source.key)),
            finish=finish,
            buckets=((dest.target_bucket, bucket), (src.target_bucket, source.bucket)),
        )

    def _prepare_rename(self, spec: OpSpec, params: dict[str, Any]) -> _Prepared:
        bucket, key, raw = self._names(spec, params, "Bucket", "Key", "RenameSource")
        decoded = urllib.parse.unquote(raw)
        bucket_form = decoded.startswith("/" + bucket + "/")
        source_key = decoded[len(bucket) + 2 :] if bucket_form else decoded.removeprefix("/")
        dest = self._table.route(bucket, key)
        src = self._table.route(bucket, source_key)
        for route, name in ((dest, key), (src, source_key)):
            if route.readonly:
                raise self._refuse_readonly(spec, route, f"{bucket}/{name}")
        if not self._same_backend(dest, src) or dest.target_bucket != src.target_bucket:
            raise CrossRouteError(
                f"rename_object: {source_key!r} goes through {src.describe()} and {key!r} "
                f"through {dest.describe()}; a rename cannot cross routes"
            )
        target = rename_request(dest, params, key, source_key, bucket_form)
        return _prepared(
            dest,
            self._clients[dest.client],
            target,
            keys=((target["Key"], key), (src.to_target_key(source_key), source_key)),
        )

    def _prepare_delete_objects(self, spec: OpSpec, params: dict[str, Any]) -> _Prepared:
        (bucket,) = self._names(spec, params, "Bucket")
        delete = params.get("Delete")
        objects = delete.get("Objects") if isinstance(delete, Mapping) else None
        if not isinstance(objects, list) or not all(
            isinstance(o, Mapping) and type(o.get("Key")) is str for o in objects
        ):
            raise self._invalid(spec, params, "Delete.Objects must be a list of {'Key': ...}")
        routes = [self._table.route(bucket, o["Key"]) for o in objects]
        for route, obj in zip(routes, objects, strict=True):
            if route.readonly:
                raise self._refuse_readonly(spec, route, f"{bucket}/{obj['Key']}")
        first = routes[0] if routes else self._table.route_bucket(bucket)
        if not routes:
            if first.readonly:
                raise self._refuse_readonly(spec, first, f"bucket {bucket!r}")
            # No keys: sent as it is (renamed) for the backend's own answer (MalformedXML).
            return _prepared(first, self._clients[first.client], bucket_request(first, params))
        assert isinstance(delete, Mapping)
        if first.identical and all(
            r is first or (r.identical and self._same_backend(r, first)) for r in routes
        ):
            return _prepared(first, self._clients[first.client], params, buckets=())
        grouped: dict[tuple[int, str], list[int]] = {}
        for i, route in enumerate(routes):
            grouped.setdefault((id(self._clients[route.client]), route.target_bucket), []).append(i)
        groups = []
        for indexes in grouped.values():
            route = routes[indexes[0]]
            renamed = [{**objects[i], "Key": routes[i].to_target_key(objects[i]["Key"])} for i in indexes]
            reverse = {t["Key"]: objects[i]["Key"] for t, i in zip(renamed, indexes, strict=True)}
            target = {**params, "Bucket": route.target_bucket, "Delete": {**delete, "Objects": renamed}}
            groups.append(DeleteGroup(self._clients[route.client], route, tuple(indexes), target, reverse))
        if len(groups) == 1:
            (group,) = groups

            def finish(resp: dict[str, Any]) -> dict[str, Any]:
                return delete_objects_response(resp, group.reverse, group.route)

            return _prepared(first, group.client, group.params, tuple(group.reverse.items()), finish)
        pairs = tuple(p for g in groups for p in g.reverse.items())
        buckets = tuple({(g.route.target_bucket, bucket) for g in groups})
        split = SplitDelete(self.pool(), groups, objects)
        return _prepared(first, split, params, pairs, buckets=buckets)

    def _prepare_no_bucket(self, spec: OpSpec, params: dict[str, Any]) -> _Prepared:
        route = self._table.route_bucket("")  # the catch-all's route: the default client
        return _prepared(route, self._clients[self._default_name], params, buckets=())

    def _prepare_all_buckets(self, spec: OpSpec, params: dict[str, Any]) -> _Prepared:
        route = self._table.route_bucket("")
        if self._buckets is None:  # built once: which clients, under which names
            self._buckets = BucketUnion(
                self.pool(), self._table, self._clients, self._default_name, self._token_key
            )
        return _prepared(route, self._buckets, params, buckets=())

    # -- boto3's extra client methods -------------------------------------------------

    def generate_presigned_url(
        self,
        ClientMethod: str,
        Params: Mapping[str, Any] | None = None,
        ExpiresIn: int = 3600,
        HttpMethod: str | None = None,
    ) -> str:
        spec = self._ops.get(ClientMethod)
        if spec is None:
            raise UnknownClientMethodError(method_name=ClientMethod)
        route, client, target, keys, _finish, buckets = self._prepare(spec, dict(Params or {}))
        if route.readonly and HttpMethod is not None and HttpMethod.upper() not in ("GET", "HEAD"):
            raise self._refuse_readonly(spec, route, f"bucket {route.bucket!r}")
        if isinstance(client, BucketUnion | SplitDelete | MergedListing | CrossCopy):
            raise CrossRouteError(
                f"{ClientMethod} spans several backends and a presigned URL reaches one; "
                "call it through botwo instead"
            )
        if (
            isinstance(client, FallbackClient)
            and HttpMethod is not None
            and HttpMethod.upper() not in ("GET", "HEAD")
        ):
            client = self._clients[route.client]  # a write: the rule's own client only
        if isinstance(client, FallbackClient):
            # Sign for the client that holds the object (the rule's own when none does).
            probe = {m: target[m] for m in _PROBE_MEMBERS if m in target}
            try:
                client = client.first_serving("head_object" if "Key" in probe else "head_bucket", probe)
            except ClientError as err:  # e.g. AccessDenied: in the caller's names and classes
                raise self._translate_error(err, route, keys, buckets, spec.name) from err
        url: str = client.generate_presigned_url(
            ClientMethod, Params=target, ExpiresIn=ExpiresIn, HttpMethod=HttpMethod
        )
        return url

    def generate_presigned_post(
        self,
        Bucket: str,
        Key: str,
        Fields: dict[str, Any] | None = None,
        Conditions: list[Any] | None = None,
        ExpiresIn: int = 3600,
    ) -> dict[str, Any]:
        route = self._table.route(Bucket, Key)
        if route.readonly:
            refused = ReadOnlyError.refuse(
                "PostObject",
                f"botwo: {Bucket}/{Key} is read-only ({route.describe()} has readonly: true); "
                "no presigned POST was made",
            )
            setattr(refused, "botwo_route", route)  # noqa: B010 - as _refuse_readonly does
            raise refused
        conditions = None if Conditions is None else [_post_condition(route, c) for c in Conditions]
        post: dict[str, Any] = self._clients[route.client].generate_presigned_post(
            route.target_bucket,
            route.to_target_key(Key),
            Fields=Fields,
            Conditions=conditions,
            ExpiresIn=ExpiresIn,
        )
        return post

    def can_paginate(self, operation_name: str) -> bool:
        api = self.meta.method_to_api_mapping.get(operation_name)
        if api is None:
            return False
        try:
            self._paginator_model().get_paginator(api)
        except ValueError:
            return False
        return True

    def get_paginator(self, operation_name: str) -> Any:
        if not self.can_paginate(operation_name):
            raise OperationNotPageableError(operation_name=operation_name)
        from botocore.paginate import Paginator

        api = self.meta.method_to_api_mapping[operation_name]
        return Paginator(
            getattr(self, operation_name),
            self._paginator_model().get_paginator(api),
            self.meta.service_model.operation_model(api),
        )

    @property
    def waiter_names(self) -> list[str]:
        return sorted(xform_name(name) for name in self._waiter_model().waiter_names)

    def get_waiter(self, waiter_name: str) -> Any:
        model = self._waiter_model()
        names = {xform_name(name): name for name in model.waiter_names}
        if waiter_name not in names:
            raise ValueError(f"Waiter does not exist: {waiter_name}")
        # botocore's waiters call the operation methods of whatever client they are given.
        return create_waiter_with_client(names[waiter_name], model, cast(Any, self))

    def _paginator_model(self) -> PaginatorModel:
        if self._paginators is None:
            api = self.meta.service_model.api_version
            config = _loader().load_service_model("s3", "paginators-1", api)
            self._paginators = PaginatorModel(config)
        return self._paginators

    def _waiter_model(self) -> WaiterModel:
        if self._waiters is None:
            api = self.meta.service_model.api_version
            self._waiters = WaiterModel(_loader().load_service_model("s3", "waiters-2", api))
        return self._waiters

    def close(self) -> None:
        """Close every underlying client (each once)."""
        for client in self._distinct:
            client.close()

    def __enter__(self) -> RoutingClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- routing introspection --------------------------------------------------------

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rule table, in matching order."""
        return self._table.rules

    @property
    def settings(self) -> Settings | None:
        """The :class:`botwo.Settings` the client was built from (None: built from clients)."""
        return self._settings

    @property
    def backends(self) -> Mapping[str, Any]:
        """The underlying boto3 clients by name (a read-only view)."""
        return MappingProxyType(self._clients)

    def route(self, bucket: str, key: str | None = None) -> RouteDecision:
        """Where a call on ``bucket`` (and ``key``) goes: rule, client, target bucket and key.

        Without ``key``: where calls that name only the bucket go (``head_bucket``,
        bucket configuration), which is the first matching rule without a ``prefix``.
        Nothing is sent.
        """
        if not isinstance(bucket, str) or not (key is None or isinstance(key, str)):
            raise TypeError(f"route(bucket, key=None) takes strings, got {bucket!r}, {key!r}")
        return self._table.decide(bucket, key)

    def _client_summaries(self) -> dict[str, dict[str, str]]:
        if self._settings is not None:
            return {name: spec.describe() for name, spec in self._settings.clients.items()}
        return {
            name: {
                "endpoint_url": _safe_endpoint(client.meta.endpoint_url) or "",
                "region_name": client.meta.region_name or "",
            }
            for name, client in self._clients.items()
        }

    def _title(self) -> str:
        origin = f", config {self._settings.origin}" if self._settings is not None else ""
        return f"botwo S3 client{origin}: {len(self._table.rules)} rules over {len(self._clients)} clients"

    def __repr__(self) -> str:
        return render_text(self._title(), self._table.rules, self._client_summaries())

    def _repr_html_(self) -> str:
        """The rule table and the clients as HTML tables (Jupyter); no secret is shown."""
        return render_html(self._title(), self._table.rules, self._client_summaries())

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Rebuilt on the other side from the configuration, which pickles as the document
        # it came from: secrets taken from the environment travel as ${VAR} references.
        if self._settings is None:
            raise TypeError(
                "a botwo client built from boto3 client objects cannot be pickled (boto3 "
                "clients cannot); build it from configuration, botwo.client('s3', config=...), "
                "and it pickles as that configuration"
            )
        from ._factory import from_settings

        return (from_settings, (self._settings, self._explicit_copy_config))


_LOGGED_NAMES = ("Bucket", "Key", "Prefix", "CopySource")
_HOW: dict[type, str] = {
    MergedListing: "merged listing over several routes",
    SplitDelete: "split over several routes",
    BucketUnion: "union over every client",
    CrossCopy: "streamed between clients",
    FallbackClient: "reads fall back",
}


def _log_route(
    method: str, params: Mapping[str, Any], route: Route, client: Any, target: Mapping[str, Any]
) -> None:
    """One DEBUG line per call: the caller's names, the serving client and rule, and the
    target's names (bucket, key, prefix and copy source only: never another value)."""
    caller = ", ".join(f"{m}={params[m]!r}" for m in _LOGGED_NAMES if m in params)
    sent = ", ".join(f"{m}={target[m]!r}" for m in _LOGGED_NAMES if m in target)
    how = _HOW.get(type(client))
    log.debug(
        "%s(%s) -> client %r rule %d%s: %s",
        method,
        caller,
        route.client,
        route.rule_index,
        f" ({how})" if how else "",
        sent if target is not params else "names unchanged",
    )


def _scrub_unreachable(err: BotoCoreError, method: str, route: Route, params: Mapping[str, Any]) -> None:
    """A botocore error that is not an S3 answer (a backend that cannot be reached, a
    timeout), made fit for the caller: its message named the request's URL, with the
    target's bucket and keys (and any password in the endpoint), so it names only the
    endpoint; a note gives the call in the caller's names and where it went."""
    url = err.kwargs.get("endpoint_url")
    if isinstance(url, str):
        err.kwargs = {**err.kwargs, "endpoint_url": caller_endpoint(route, url)}
        err.args = (err.fmt.format(**err.kwargs),)
    where = ", ".join(f"{m}={params[m]!r}" for m in ("Bucket", "Key", "Prefix") if m in params)
    err.add_note(f"botwo: {method}({where}) through {route.describe()} failed before S3 answered")


# What a HEAD needs of a presigned read's parameters to find the client that holds it.
_PROBE_MEMBERS = (
    "Bucket",
    "Key",
    "VersionId",
    "SSECustomerAlgorithm",
    "SSECustomerKey",
    "SSECustomerKeyMD5",
    "ExpectedBucketOwner",
    "RequestPayer",
)


def _post_condition(route: Route, condition: Any) -> Any:
    """A presigned-POST policy condition in target names."""
    if isinstance(condition, Mapping):
        out = dict(condition)
        if "bucket" in out:
            out["bucket"] = route.target_bucket
        if isinstance(out.get("key"), str):
            out["key"] = route.to_target_key(out["key"])
        return out
    if isinstance(condition, list | tuple) and len(condition) == 3:
        op, field, value = condition
        if field == "$bucket" and isinstance(value, str):
            return [op, field, route.target_bucket]
        if field == "$key" and isinstance(value, str):
            if not value.startswith(route.strip):  # "starts-with" a part of the stripped prefix
                return [op, field, route.key_prefix]
            return [op, field, route.to_target_key(value)]
    return condition


def _classic(config: TransferConfig | None) -> TransferConfig:
    # The CRT transfer manager talks to S3 through its own native client, around botwo.
    config = _copy.copy(config) if config is not None else TransferConfig()
    config.preferred_transfer_client = "classic"  # type: ignore[assignment]  # the stubs say int
    return config


def _transfer_method(function: Callable[..., Any]) -> Callable[..., Any]:
    """One of boto3's managed-transfer methods, run over the routing client itself with
    the classic transfer manager (same name, signature and documentation)."""
    signature = inspect.signature(function)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.arguments["Config"] = _classic(bound.arguments.get("Config"))
        return function(*bound.args, **bound.kwargs)

    method.__name__ = method.__qualname__ = function.__name__
    return method


_TRANSFERS = {
    name: _transfer_method(getattr(_inject, name))
    for name in ("upload_file", "download_file", "upload_fileobj", "download_fileobj", "copy")
}

_BORROWED_DOCS: dict[Callable[..., Any], Callable[..., Any]] = {
    **{method: getattr(_inject, name) for name, method in _TRANSFERS.items()},
    RoutingClient.generate_presigned_url: botocore.signers.generate_presigned_url,
    RoutingClient.generate_presigned_post: botocore.signers.generate_presigned_post,
    RoutingClient.can_paginate: BaseClient.can_paginate,
    RoutingClient.get_paginator: BaseClient.get_paginator,
    RoutingClient.get_waiter: BaseClient.get_waiter,
    RoutingClient.close: BaseClient.close,
}
for _ours, _theirs in _BORROWED_DOCS.items():
    # The same documentation and (unannotated) signature as the boto3 methods.
    _ours.__doc__ = _theirs.__doc__
    _ours.__signature__ = inspect.signature(_theirs)  # type: ignore[attr-defined]

# botocore's generated methods are ``(self, *args, **kwargs)``, unannotated.
_API_SIGNATURE = inspect.Signature(
    [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
        inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
    ]
)


def _api_method(spec: OpSpec, model: ServiceModel) -> Callable[..., Any]:
    py_name = spec.method

    prepare = getattr(RoutingClient, _PREPARE[spec.kind])

    operation_name = spec.name

    def _api_call(self: RoutingClient, *args: Any, **kwargs: Any) -> Any:
        if args:
            raise TypeError(f"{py_name}() only accepts keyword arguments.")
        route, client, target, keys, finish, buckets = prepare(self, spec, kwargs)
        if _debug(_DEBUG):
            _log_route(py_name, kwargs, route, client, target)
        try:
            response = getattr(client, py_name)(**target)
        except ClientError as err:
            raise self._translate_error(err, route, keys, buckets, operation_name) from err
        except BotoCoreError as err:
            _scrub_unreachable(err, py_name, route, kwargs)
            raise
        return response if finish is None else finish(response)

    _api_call.__name__ = py_name
    _api_call.__qualname__ = f"S3.{py_name}"
    _api_call.__signature__ = _API_SIGNATURE  # type: ignore[attr-defined]
    operation = model.operation_model(spec.name)
    _api_call.__doc__ = ClientMethodDocstring(
        operation_model=operation,
        method_name=spec.name,
        event_emitter=_docs_emitter(),
        method_description=operation.documentation,
        example_prefix=f"response = client.{py_name}",
        include_signature=False,
    )
    return _api_call


_classes: dict[tuple[str, str], type[RoutingClient]] = {}
_classes_lock = threading.Lock()


def client_class(model: ServiceModel) -> type[RoutingClient]:
    """The routing client class for a service model: one method per operation."""
    cache_key = (model.service_name, model.api_version)
    with _classes_lock:
        cls = _classes.get(cache_key)
        if cls is None:
            ops = operation_table(model)
            namespace: dict[str, Any] = {spec.method: _api_method(spec, model) for spec in ops.values()}
            namespace.update(
                _ops=ops,
                _model=model,
                __module__="botwo.client",
                **_TRANSFERS,
            )
            cls = type("S3", (RoutingClient,), namespace)
            _classes[cache_key] = cls
        return cls
