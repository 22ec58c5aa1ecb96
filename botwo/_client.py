"""The routing client: a boto3-shaped S3 client generated from botocore's service model.

This is the thin shell around the pure core. For every operation of the model it builds
a method with boto3's name, signature and docstring, a closure like botocore's own
``_api_call``: the call is *planned* by :class:`botwo._plan.Planner` (route chosen,
parameters rewritten, the response's translation prepared), *sent* with the plan's
``send``, and *finished* (response translated back). A backend's ``ClientError`` is
re-raised through this client's own exception classes with caller names and a
:class:`~botwo.errors.Served` record.

The shell owns everything that is not pure: the boto3 clients, the thread pool that fans
a call out, the fallback chains and the copy engine (:class:`_Sends`, which the planner
asks for the send callables of plans that are not one backend's own method).

Presigned URLs reuse the same plans without sending anything; managed transfers
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
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    UnknownClientMethodError,
)
from botocore.loaders import create_loader
from botocore.model import ServiceModel
from botocore.paginate import PaginatorModel
from botocore.waiter import WaiterModel, create_waiter_with_client

from ._config import Settings
from ._copy import CrossCopy
from ._describe import render_html, render_text
from ._fallback import FallbackChain, falls_back
from ._fanout import BucketUnion, SplitDelete
from ._listing import MergedListing, plan_streams
from ._names import caller_endpoint, parse_copy_source
from ._operations import Kind, ListingSpec, OpSpec, operation_table
from ._origin import origin_of
from ._plan import Plan, Planner, Send, Via, planner_method, refuse_readonly
from ._redact import safe_endpoint
from ._rules import Rule, is_catch_all
from ._s3 import copy_error_side, error_code
from ._table import Route, RouteDecision, RuleTable
from ._translate import DeleteGroup, error_response
from ._values import CopyConfig
from .errors import CrossRouteError, Served, Side

__all__ = ["RoutingClient", "client_class"]

#: Routing decisions are logged here at DEBUG: operation, caller and target names, client
#: and rule; never a parameter value other than bucket, key and prefix.
log = logging.getLogger("botwo")
_debug = log.isEnabledFor
_DEBUG = logging.DEBUG

#: What rebuilds a client elsewhere (pickling): a function and its arguments.
Rebuild = tuple[Callable[..., "RoutingClient"], tuple[Any, ...]]


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


class _Sends:
    """The shell's half of planning: the boto3 clients by name and the send callables of
    plans that are not one backend's own method (see :class:`botwo._plan.Senders`).

    It owns the thread pool those fan-outs share (made on first use), one fallback chain
    per distinct chain of clients, and the bucket union.
    """

    def __init__(
        self,
        clients: Mapping[str, Any],
        table: RuleTable,
        *,
        default: str,
        token_key: bytes,
        copy_config: CopyConfig,
        service_model: ServiceModel,
    ) -> None:
        self.clients: dict[str, Any] = dict(clients)
        self._table = table
        self._default = default
        self._token_key = token_key
        self._copy_config = copy_config
        self._model = service_model
        self._chains: dict[tuple[tuple[str, ...], bool], FallbackChain] = {}
        self._outputs: dict[str, frozenset[str]] = {}
        self._union: BucketUnion | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def pool(self) -> ThreadPoolExecutor:
        """The threads that fan a call out to several backends at once."""
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="botwo")
        return self._pool

    def chain(self, route: Route) -> FallbackChain:
        """The clients that serve the reads of ``route``, in order."""
        key = (route.clients, route.fallback_on_unreachable)
        chain = self._chains.get(key)
        if chain is None:
            chain = FallbackChain(
                [self.clients[n] for n in route.clients],
                on_unreachable=route.fallback_on_unreachable,
                names=route.clients,
            )
            self._chains[key] = chain
        return chain

    def reads(self, route: Route, method: str) -> Send:
        return functools.partial(self.chain(route).call, method)

    def merged_listing(
        self,
        spec: OpSpec,
        listing: ListingSpec,
        plan: Sequence[tuple[Route, str, tuple[str, ...]]],
        params: Mapping[str, Any],
    ) -> Send:
        output = self._outputs.get(spec.name)
        if output is None:
            shape = self._model.operation_model(spec.name).output_shape
            output = self._outputs[spec.name] = frozenset(shape.members if shape is not None else ())
        delimiter = params.get("Delimiter")
        delimiter = delimiter if isinstance(delimiter, str) else None
        streams = plan_streams(plan, params.get("Prefix", ""), delimiter)
        return MergedListing(
            spec=listing,
            operation=spec.method,
            output_members=output,
            bucket=params["Bucket"],
            streams=streams,
            clients=self.clients,
            params=params,
            token_key=self._token_key,
            pool=self.pool(),
        )

    def split_delete(self, groups: Sequence[DeleteGroup], objects: Sequence[Mapping[str, Any]]) -> Send:
        return SplitDelete(self.pool(), self.clients, groups, objects)

    def bucket_union(self, method: str) -> Send:
        if self._union is None:  # built once: which clients, under which names
            self._union = BucketUnion(self.pool(), self._table, self.clients, self._default, self._token_key)
        return self._union.send(method)

    def streamed_copy(self, source: Route, dest: Route, method: str) -> Send:
        chooser = functools.partial(falls_back, on_unreachable=source.fallback_on_unreachable)
        copier = CrossCopy(
            [self.clients[name] for name in source.clients],
            self.clients[dest.client],
            falls_back=chooser,
            source_names=source.clients,
            **attrs.asdict(self._copy_config),
        )
        send: Send = getattr(copier, method)
        return send

    def close(self) -> None:
        """Stop the thread pool (waiting for calls in flight) and close each client once."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        for client in {id(c): c for c in self.clients.values()}.values():
            client.close()


class RoutingClient:
    """A boto3-compatible S3 client that routes each call by an ordered rule table.

    Build one with :func:`botwo.client`. Every S3 operation of the installed botocore is
    a method with boto3's name, keyword-only signature and docstring.
    """

    _ops: Mapping[str, OpSpec]
    _model: ServiceModel  # set on the generated subclass

    def __init__(
        self,
        clients: Mapping[str, Any],
        table: RuleTable,
        copy_config: CopyConfig,
        *,
        token_key: bytes,
        settings: Settings | None = None,
        rebuild: Rebuild | None = None,
    ) -> None:
        rules = table.rules
        self._table = table
        self._copy_config = copy_config
        self._settings = settings
        self._rebuild = rebuild
        default_name = next(r.client for r in rules if is_catch_all(r))
        default = clients[default_name]
        service_model = default.meta.service_model
        self._sends = _Sends(
            clients,
            table,
            default=default_name,
            token_key=token_key,
            copy_config=copy_config,
            service_model=service_model,
        )
        self._clients = self._sends.clients
        self._planner = Planner(
            table, self._sends, service_model, default_client=default_name, token_key=token_key
        )
        distinct = list({id(c): c for c in self._clients.values()}.values())
        events = FanoutEvents([default.meta.events] + [c.meta.events for c in distinct if c is not default])
        self.meta = RoutingMeta(default, events, service_model)
        self.exceptions = _exceptions(type(self)._model)
        self._paginators: PaginatorModel | None = None
        self._waiters: WaiterModel | None = None

    if TYPE_CHECKING:
        # The S3 operations are generated from the service model when the class is made;
        # to a type checker they are attributes of unknown type, as on a boto3 client
        # without stubs.
        def __getattr__(self, name: str) -> Any: ...

    # -- the call path -----------------------------------------------------------

    def _translate_error(
        self, err: ClientError, plan: Plan, spec: OpSpec, caller: Mapping[str, Any] | None = None
    ) -> ClientError:
        """``err`` re-raised through this client's class for its code, in caller names, with
        the :class:`Served` record of the request that failed (``caller``: the caller's
        parameters, for the note and a copy's source route)."""
        response = error_response(err.response, keys=plan.key_pairs, buckets=plan.bucket_pairs)
        cls = self.exceptions.from_code(error_code(err))
        # The caller's operation: a copy between clients fails in a GetObject or PutObject
        # that the caller never called.
        new: ClientError = cls(response, spec.name)
        record = self._served(err, plan, spec, caller)
        new.botwo = record  # type: ignore[attr-defined]  # botocore's classes do not declare it
        new.botwo_route = record.route  # type: ignore[attr-defined]
        for note in getattr(err, "__notes__", ()):  # e.g. a copy's failed cleanup
            new.add_note(note)
        new.add_note(_note(record, plan, spec, caller, answered=True))
        return new

    def _served(
        self, err: BaseException, plan: Plan, spec: OpSpec, caller: Mapping[str, Any] | None
    ) -> Served:
        """Where the request that failed went: the plan's route and names, or the part of a
        fanned-out call that its :class:`~botwo._origin.Origin` names; for a copy, the
        source's route and names when the error is about the source."""
        route, params = plan.route, plan.params
        bucket, key = params.get("Bucket"), params.get("Key")
        origin = origin_of(err)
        client: str | None = None
        side: Side | None = None
        if origin is not None:
            if origin.route is not None:
                route, bucket, key = origin.route, origin.target_bucket, origin.target_key
            client, side = origin.client, origin.side
        if spec.kind is Kind.COPY:
            source = params.get("CopySource")
            source = source if isinstance(source, Mapping) else {}
            if side is None and isinstance(err, ClientError):
                named = err.response.get("Error", {}).get("BucketName")
                side = copy_error_side(
                    err.operation_name,
                    error_code(err),
                    named if isinstance(named, str) else None,
                    source.get("Bucket"),
                    bucket if isinstance(bucket, str) else None,
                )
            if side == "source":
                bucket, key = source.get("Bucket"), source.get("Key")
                parsed = parse_copy_source(caller.get("CopySource")) if caller is not None else None
                if parsed is not None:
                    route = self._table.route(parsed.bucket, parsed.key)
        return Served(
            route=route,
            operation=spec.name,
            target_bucket=bucket if isinstance(bucket, str) else None,
            target_key=key if isinstance(key, str) else None,
            side=side,
            client=client or route.client,
        )

    def _unreachable(
        self, err: BotoCoreError, plan: Plan, spec: OpSpec, caller: Mapping[str, Any]
    ) -> None:
        """A botocore error that is not an S3 answer, given its :class:`Served` record."""
        record = self._served(err, plan, spec, caller)
        _scrub_unreachable(err, record)
        err.botwo = record  # type: ignore[attr-defined]  # botocore's classes do not declare it
        err.botwo_route = record.route  # type: ignore[attr-defined]
        err.add_note(_note(record, plan, spec, caller, answered=False))

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
        plan = self._planner.plan(spec, dict(Params or {}))
        route, target = plan.route, plan.params
        writes = HttpMethod is not None and HttpMethod.upper() not in ("GET", "HEAD")
        if route.readonly and writes:
            raise refuse_readonly(spec.name, route, f"bucket {route.bucket!r}", f"{spec.method} was not sent")
        client = plan.single_backend
        if plan.how is Via.FALLBACK:
            if writes:
                client = self._clients[route.client]  # a write: the rule's own client only
            else:
                # Sign for the client that holds the object (the rule's own when none does).
                probe = {m: target[m] for m in _PROBE_MEMBERS if m in target}
                try:
                    method = "head_object" if "Key" in probe else "head_bucket"
                    client = self._sends.chain(route).first_serving(method, probe)
                except ClientError as err:  # e.g. AccessDenied: in the caller's names and classes
                    raise self._translate_error(err, plan, spec) from err
        if client is None:
            raise CrossRouteError(
                f"{ClientMethod} spans several backends and a presigned URL reaches one; "
                "call it through botwo instead",
                route=route,
            )
        if not _query_rewritten(spec, self._model, plan.params, Params or {}):
            url: str = client.generate_presigned_url(
                ClientMethod, Params=target, ExpiresIn=ExpiresIn, HttpMethod=HttpMethod
            )
            return url
        # SigV2 (botocore's default for presigned S3 URLs) signs the path, not the query: a
        # Prefix botwo wrote there could be edited into another tenant's. SigV4 signs it.
        client.meta.events.register_first("choose-signer.s3", _presign_v4, unique_id=_PRESIGN_V4_ID)
        _presigning_v4.on = True
        try:
            url = client.generate_presigned_url(
                ClientMethod, Params=target, ExpiresIn=ExpiresIn, HttpMethod=HttpMethod
            )
        finally:
            _presigning_v4.on = False
        return url

    def generate_presigned_post(
        self,
        Bucket: str,
        Key: str,
        Fields: dict[str, Any] | None = None,
        Conditions: list[Any] | None = None,
        ExpiresIn: int = 3600,
    ) -> dict[str, Any]:
        # Refused unless every key the policy allows is a writable key of the signing route.
        route, target_key, conditions = self._planner.presigned_post(Bucket, Key, Conditions or ())
        post: dict[str, Any] = self._clients[route.client].generate_presigned_post(
            route.target_bucket,
            target_key,
            Fields=Fields,
            Conditions=None if Conditions is None else conditions,
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
        """Close everything the client owns: its thread pool (after the calls in flight)
        and every underlying client, each once."""
        self._sends.close()

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

    @property
    def copy_config(self) -> CopyConfig:
        """How copies between clients are streamed (the ``copy_config`` in effect)."""
        return self._copy_config

    def backend_summaries(self) -> dict[str, dict[str, str]]:
        """Each client's name with its endpoint and region (and, for a configured client,
        what its configuration says), fit to show: no secret and no password."""
        if self._settings is not None:
            return {name: spec.describe() for name, spec in self._settings.clients.items()}
        return {
            name: {
                "endpoint_url": safe_endpoint(client.meta.endpoint_url) or "",
                "region_name": client.meta.region_name or "",
            }
            for name, client in self._clients.items()
        }

    def _title(self) -> str:
        origin = f", config {self._settings.origin}" if self._settings is not None else ""
        rules, clients = len(self._table.rules), len(self._clients)
        return (
            f"botwo S3 client{origin}: {rules} rule{'s' * (rules != 1)} over "
            f"{clients} client{'s' * (clients != 1)}"
        )

    def __repr__(self) -> str:
        return render_text(self._title(), self._table.rules, self.backend_summaries())

    def _repr_html_(self) -> str:
        """The rule table and the clients as HTML tables (Jupyter); no secret is shown."""
        return render_html(self._title(), self._table.rules, self.backend_summaries())

    def __reduce__(self) -> Rebuild:
        # Rebuilt on the other side as the factory said (from the configuration, which
        # pickles as the document it came from: secrets from the environment travel as
        # ${VAR} references).
        if self._rebuild is None:
            raise TypeError(
                "a botwo client built from boto3 client objects cannot be pickled (boto3 "
                "clients cannot); build it from configuration, botwo.client('s3', config=...), "
                "and it pickles as that configuration"
            )
        return self._rebuild


_LOGGED_NAMES = ("Bucket", "Key", "Prefix", "CopySource")


_presigning_v4 = threading.local()
_PRESIGN_V4_ID = "botwo-presign-sigv4"


def _presign_v4(signature_version: Any = None, **_: Any) -> str | None:
    """``choose-signer`` on a backend client: SigV4 for the URL botwo is presigning in this
    thread (the one signature that covers the query string), nothing otherwise."""
    if not getattr(_presigning_v4, "on", False) or not isinstance(signature_version, str):
        return None
    base = signature_version.removesuffix("-query")
    if base.startswith(("v4a", "s3v4a", "v4-s3express")):
        return None  # signs the query already; botocore's own handlers choose it
    # SigV2 ("s3") or SigV4 in any spelling ("v4" from the endpoint rules): S3's SigV4,
    # as botocore's set_operation_specific_signer makes it for S3 (unsigned payload).
    return "s3v4" if base == "s3" or base.startswith(("v4", "s3v4")) else None


@functools.cache
def _query_members(model: ServiceModel, operation: str) -> tuple[str, ...]:
    shape = model.operation_model(operation).input_shape
    members = shape.members if shape is not None else {}
    return tuple(n for n, m in members.items() if m.serialization.get("location") == "querystring")


def _query_rewritten(
    spec: OpSpec, model: ServiceModel, target: Mapping[str, Any], caller: Mapping[str, Any]
) -> bool:
    """Whether botwo wrote a query-string member of a call (a listing's Prefix, a marker)."""
    return any(target.get(m) != caller.get(m) for m in _query_members(model, spec.name))


def _log_plan(method: str, params: Mapping[str, Any], plan: Plan) -> None:
    """One DEBUG line per call: the caller's names, the serving client and rule, and the
    target's names (bucket, key, prefix and copy source only: never another value)."""
    route, target, how = plan.route, plan.params, plan.how.value
    caller = ", ".join(f"{m}={params[m]!r}" for m in _LOGGED_NAMES if m in params)
    sent = ", ".join(f"{m}={target[m]!r}" for m in _LOGGED_NAMES if m in target)
    log.debug(
        "%s(%s) -> client %r rule %d%s: %s",
        method,
        caller,
        route.client,
        route.rule_index,
        f" ({how})" if how else "",
        sent if target is not params else "names unchanged",
    )


def _scrub_unreachable(err: BotoCoreError, record: Served) -> None:
    """A botocore error that is not an S3 answer (a backend that cannot be reached, a
    timeout), made fit for the caller: its message named the request's URL, with the
    target's bucket and keys (and any password in the endpoint), so it names only the
    endpoint, with a virtual-host bucket label in the caller's name."""
    url = err.kwargs.get("endpoint_url")
    if isinstance(url, str):
        err.kwargs = {**err.kwargs, "endpoint_url": caller_endpoint(record.route, url)}
        err.args = (err.fmt.format(**err.kwargs),)


#: The caller's parameters a note shows: the names the call is routed by.
_NOTED = ("Bucket", "Key", "Prefix", "CopySource")


def _note(
    record: Served, plan: Plan, spec: OpSpec, caller: Mapping[str, Any] | None, *, answered: bool
) -> str:
    """The note on a failed call, for people (botwo never reads it back): the call in the
    caller's names, the side of a copy, the rule and the client that failed (once), and
    for an S3 answer the target it was about. A connection error's note names no target:
    its message and traceback hold none, and S3 never saw the request."""
    call = spec.method
    if caller is not None:
        call += "(" + ", ".join(f"{m}={caller[m]!r}" for m in _NOTED if m in caller) + ")"
    if record.side is not None:
        call += f" on its {record.side}"
    route = record.route
    if plan.how is Via.UNION:
        where = f"every client's bucket list -> client {record.client!r}"
    else:
        where = route.describe()
        if record.client != route.client:
            where += f" -> fallback client {record.client!r}"
    if not answered:
        return f"botwo: {call} through {where} failed before S3 answered"
    if record.target_bucket is None:
        return f"botwo: {call} through {where}"
    target = record.target_key
    if target is None and record.route is plan.route:
        prefix = plan.params.get("Prefix")  # a listing: the prefix it asked for
        target = prefix if isinstance(prefix, str) else None
    url = f"s3://{record.target_bucket}" + (f"/{target}" if target else "")
    return f"botwo: {call} through {where}, target {url}"


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
    plan_call = planner_method(spec.kind)

    def _api_call(self: RoutingClient, *args: Any, **kwargs: Any) -> Any:
        if args:
            raise TypeError(f"{py_name}() only accepts keyword arguments.")
        plan = plan_call(self._planner, spec, kwargs)
        _route, send, params, _keys, _buckets, finish, _single, _how = plan
        if _debug(_DEBUG):
            _log_plan(py_name, kwargs, plan)
        try:
            response = send(**params)
        except ClientError as err:
            raise self._translate_error(err, plan, spec, kwargs) from err
        except BotoCoreError as err:
            self._unreachable(err, plan, spec, kwargs)
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
                __module__=__name__,
                **_TRANSFERS,
            )
            cls = type("S3", (RoutingClient,), namespace)
            _classes[cache_key] = cls
        return cls
