"""Addresses: the caller's routed namespace (``s3://``) and each backend addressed directly.

``s3://bucket/key`` is always the caller's namespace: routed by the rules, renamed on
the way. ``CLIENT://bucket/key`` (``aws://old-bucket/raw/x``, ``lakefs://repo/main/x``)
is the backend of that configured client, with no rule applied: its own bucket and key
names, no renaming, no fallback, no ``readonly``. A client named ``s3`` is reached as
``client:s3://bucket/key``; ``client:NAME://`` works for every name.

:class:`Namespaces` gives each address the client that serves it: the routing client
itself for ``s3://``, and for ``CLIENT://`` a *view*, a routing client over that one
backend with a single catch-all rule (so every command and every botwo guarantee works
on it unchanged, and its errors name the client). :meth:`Namespaces.copy` copies one
object between any two addresses: within one namespace through that namespace's own
``copy_object`` (server-side on one backend, streamed between two); across namespaces
through the same copy engine (:class:`botwo._copy.CrossCopy`) on the backends that the
two addresses resolve to, server-side when they are one client.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from typing import Any

import attrs
from botocore.exceptions import BotoCoreError, ClientError

from ._awsfmt import S3Url, scheme_of
from ._client import RoutingClient
from ._copy import CrossCopy
from ._factory import client as make_client
from ._fallback import falls_back
from ._s3 import MAX_COPY_SIZE, copy_error_side, error_code
from ._sync import dot_segments
from .errors import AddressError, ReadOnlyError, RoutingError, Side, served

__all__ = ["Namespaces", "Place"]


@attrs.frozen(kw_only=True)
class Place:
    """Where an object address is served: the client (and the fallbacks reads go to),
    the names on that backend, and the rule (``None`` for a direct address)."""

    client: str
    backends: tuple[Any, ...]
    bucket: str
    key: str
    rule_index: int | None = None
    readonly: bool = False
    on_unreachable: bool = False

    @property
    def backend(self) -> Any:
        """The boto3 client that writes go to."""
        return self.backends[0]

    def describe(self) -> str:
        """``client 'lake', mapping[1]`` / ``client 'aws', direct``."""
        how = f"mapping[{self.rule_index}]" if self.rule_index is not None else "direct"
        return f"client {self.client!r}, {how}"


class Namespaces:
    """The routed namespace of ``routing`` and a direct view of each of its backends."""

    def __init__(self, routing: RoutingClient) -> None:
        self.routing = routing
        self._views: dict[str, RoutingClient] = {}
        self._writes: RoutingClient | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The configured client names, sorted."""
        return tuple(sorted(self.routing.backends))

    def check(self, url: S3Url) -> S3Url:
        """``url``, if its namespace exists; else :class:`AddressError` naming the clients."""
        self.check_client(url.client, f"{scheme_of(url.client)}{url.bucket}/{url.key}")
        return url

    def check_client(self, client: str | None, shown: str) -> None:
        """Refuse a ``client`` that is not configured (``shown`` is the address given)."""
        if client is not None and client not in self.routing.backends:
            names = self.names
            raise AddressError(
                f"{shown}: no client is named {client!r}; "
                f"the configured clients are {', '.join(names)} (CLIENT://bucket/key addresses one "
                "directly; s3:// is the caller's namespace, routed by the rules)",
                client=client,
                clients=names,
            )

    def parse(self, text: str, *, scheme_optional: bool = False) -> S3Url:
        """An address argument: ``s3://...``, ``CLIENT://...`` or ``client:CLIENT://...``.

        ``ValueError`` for a malformed one, :class:`AddressError` for an unknown client.
        """
        return self.check(S3Url.parse(text, scheme_optional=scheme_optional, direct=True))

    def client_for(self, url: S3Url) -> RoutingClient:
        """The client that serves ``url``'s namespace, in that namespace's names."""
        self.check(url)
        return self.named(url.client)

    def named(self, client: str | None) -> RoutingClient:
        """The routing client (``None``) or the view of the configured ``client``."""
        if client is None:
            return self.routing
        self.check_client(client, f"{scheme_of(client)}")
        view = self._views.get(client)
        if view is None:
            # The same boto3 client object: a view adds no connection pool of its own.
            view = make_client(
                {client: self.routing.backends[client]},
                [{"bucket_name": "*", "client": client}],
                copy_config=self.routing.copy_config,
            )
            self._views[client] = view
        return view

    def for_writes(self, url: S3Url) -> RoutingClient:
        """The client of ``url``'s namespace as its writes see it.

        Writes go to a rule's own client, never to its ``fallback`` clients, but reads and
        listings through the routing client show what the fallbacks hold too. So a sync's
        destination is listed through a routing client with the same rules less their
        fallbacks: a key only a fallback has is missing there, as it is for the writes.
        """
        if url.client is not None or not any(rule.fallback for rule in self.routing.rules):
            return self.client_for(url)
        if self._writes is None:
            rules = [attrs.evolve(r, fallback=(), fallback_on_unreachable=False) for r in self.routing.rules]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the routing client has warned about these rules
                self._writes = make_client(
                    dict(self.routing.backends), rules, copy_config=self.routing.copy_config
                )
        return self._writes

    def place(self, url: S3Url) -> Place:
        """Where the object ``url`` is served (nothing is sent)."""
        if url.client is not None:
            self.check(url)
            return Place(
                client=url.client,
                backends=(self.routing.backends[url.client],),
                bucket=url.bucket,
                key=url.key,
            )
        decision = self.routing.route(url.bucket, url.key)
        backends = self.routing.backends
        names = (decision.client, *decision.fallback)
        return Place(
            client=decision.client,
            backends=tuple(backends[n] for n in names),
            bucket=decision.target_bucket,
            key=decision.target_key if decision.target_key is not None else "",
            rule_index=decision.rule_index,
            readonly=decision.readonly,
            on_unreachable=decision.rule.fallback_on_unreachable,
        )

    # -- copies ----------------------------------------------------------------------

    def copy(self, source: S3Url, dest: S3Url, size: int | None = None) -> None:
        """Copy the object ``source`` to ``dest``, whatever their namespaces.

        ``size`` (the source's, when known) chooses, on one backend, between one
        ``copy_object`` and a server-side multipart copy (above 5 GiB, which
        ``copy_object`` refuses).
        """
        copy_source = {"Bucket": source.bucket, "Key": source.key}
        large = size is not None and size > MAX_COPY_SIZE
        if source.client == dest.client:
            client = self.client_for(source)
            if large:
                client.copy(copy_source, dest.bucket, dest.key)
            else:
                client.copy_object(Bucket=dest.bucket, Key=dest.key, CopySource=copy_source)
            return
        src, dst = self.place(source), self.place(dest)
        if dst.readonly:
            raise ReadOnlyError.refuse(
                "CopyObject",
                f"the destination {dest} goes through the read-only mapping[{dst.rule_index}] "
                f"(client {dst.client!r}); copy_object was not sent",
            )
        for side, url, place in (("source", source, src), ("destination", dest, dst)):
            for key in {url.key, place.key}:
                if dot_segments(key):
                    raise RoutingError(
                        f"the {side} key {key!r} has '.' or '..' path segments, which servers and HTTP "
                        "clients that normalize URL paths resolve to another key; botwo does not send it"
                    )
        target = {"Bucket": dst.bucket, "Key": dst.key, "CopySource": {"Bucket": src.bucket, "Key": src.key}}
        if large and src.backend is dst.backend:
            dst.backend.copy(target["CopySource"], dst.bucket, dst.key)
            return
        copier = CrossCopy(
            src.backends,
            dst.backend,
            falls_back=functools.partial(falls_back, on_unreachable=src.on_unreachable),
            **attrs.asdict(self.routing.copy_config),
        )
        copier.copy_object(**target)

    def blame(self, err: BaseException, source: S3Url, dest: S3Url) -> tuple[Side | None, str | None]:
        """Which side of a copy ``err`` is about, and that side's client (``None`` where
        the error does not say)."""
        record = served(err)
        if isinstance(err, ReadOnlyError):
            side: Side | None = "destination"
        elif record is not None:
            side = record.side
        elif isinstance(err, ClientError):
            found = copy_error_side(
                err.operation_name,
                error_code(err),
                _str_or_none(err.response.get("Error", {}).get("BucketName")),
                self._target_bucket(source),
                self._target_bucket(dest),
            )
            side = found  # copy_error_side says one of the two
        elif isinstance(err, BotoCoreError):
            side = self._side_of_endpoint(err, source, dest)
        else:
            side = None
        if side is None:
            return None, None
        url = source if side == "source" else dest
        try:
            return side, self.place(url).client
        except (ValueError, RoutingError):
            return side, url.client

    def _target_bucket(self, url: S3Url) -> str | None:
        try:
            return self.place(url).bucket
        except (ValueError, RoutingError):
            return None

    def _side_of_endpoint(self, err: BotoCoreError, source: S3Url, dest: S3Url) -> Side | None:
        """The side whose backend's endpoint a connection error names."""
        endpoint = getattr(err, "kwargs", {}).get("endpoint_url")
        if not isinstance(endpoint, str):
            return None
        sides: Mapping[Side, S3Url] = {"source": source, "destination": dest}
        matching = [
            side
            for side, url in sides.items()
            if endpoint.startswith(str(getattr(self.place(url).backend.meta, "endpoint_url", "") or "\0"))
        ]
        return matching[0] if len(matching) == 1 else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
