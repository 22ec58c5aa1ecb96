"""botwo's own errors and warnings.

Errors that botwo raises itself (bad configuration, a call it cannot route)::

    BotwoError
    ├── ConfigError (ValueError)         the clients or the mapping are wrong
    │   └── RuleError                    one rule is wrong: .index and .field name it
    ├── RoutingError (ValueError)        this call cannot be routed as asked
    │   └── CrossRouteError              the call spans routes or backends
    ├── TokenError (ValueError)          a pagination token is forged, corrupted or foreign
    ├── AddressError (ValueError)        an unknown CLIENT://, or a sync into its own source
    ├── SyncError (RuntimeError)         a sync cannot go on (what it did so far stands)
    │   └── ListingOrderError            a backend listed keys out of S3's order
    └── ReadOnlyError (ClientError)      a mutating call through a read-only rule; it is
                                         also botocore's ClientError with code AccessDenied

Errors that a backend raises (``botocore.exceptions.ClientError`` and every modelled
subclass such as ``NoSuchKey``) are re-raised through the botwo client's own
``exceptions`` classes, with the caller's bucket and key in place of the target's, the
original error chained as ``__cause__``, and a :class:`Served` record as ``.botwo``
(connection errors, which keep botocore's class, carry one too): the route and the
client of the request that failed, the caller's operation, the target's bucket and key
and, for a copy, which side failed (:func:`served` reads it, typed). ``.botwo_route`` is
the route alone. Notes (``add_note``) are for people only: nothing in botwo reads them
back.

``ConfigWarning`` is warned for a part of the configuration's environment that is ignored,
``ShadowedRuleWarning`` when an earlier rule makes a later one unreachable,
``OverlappingTargetsWarning`` when two rules share a target namespace inconsistently, and
``PrefixWithoutSlashWarning`` for a rule ``prefix`` that does not end with ``/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs
from botocore.exceptions import ClientError

if TYPE_CHECKING:  # annotations only: the routing core imports this module
    from ._table import Route

__all__ = [
    "AddressError",
    "BotwoError",
    "ConfigError",
    "ConfigWarning",
    "CrossRouteError",
    "ListingOrderError",
    "OverlappingTargetsWarning",
    "PrefixWithoutSlashWarning",
    "ReadOnlyError",
    "RoutingError",
    "RuleError",
    "Served",
    "ShadowedRuleWarning",
    "Side",
    "SyncError",
    "TokenError",
    "served",
]

#: Which side of a copy an error is about.
Side = Literal["source", "destination"]


@attrs.frozen(kw_only=True)
class Served:
    """Where a routed call that failed went: ``err.botwo`` on every error a backend
    answered, re-raised through botwo, and on botocore's errors for a backend that did not
    answer (read it with :func:`served`).

    ``route`` is the route of the request that failed: the call's, or for a call that
    several backends serve, the part that failed (a merged listing's route, a copy's
    source or destination route); ``client`` the client that request went to (the
    route's own, or one of its fallbacks; for the bucket list, any client);
    ``operation`` the caller's operation (``"CopyObject"``, even when the failing request
    was a ``GetObject`` of a streamed copy's source); ``target_bucket`` and ``target_key``
    the names on that backend (``None`` where the call named none); ``side`` whether a
    copy's failure is about its ``"source"`` or its ``"destination"`` (``None`` for other
    calls and where the answer does not say).
    """

    route: Route
    operation: str
    target_bucket: str | None = None
    target_key: str | None = None
    side: Side | None = None
    client: str = attrs.field()

    @client.default
    def _route_client(self) -> str:
        return self.route.client


def served(err: BaseException) -> Served | None:
    """The :class:`Served` record of an error from a routed call (``None`` for others)."""
    record = getattr(err, "botwo", None)
    return record if isinstance(record, Served) else None


class BotwoError(Exception):
    """Base class of every error botwo raises itself."""


class ConfigError(BotwoError, ValueError):
    """The clients, the rule table or the configuration file given to botwo is wrong.

    Errors about a configuration file start with the file's path (and, for bad syntax,
    the line); errors about one field name it as a dotted path (``clients.lakefs.verify``).
    """


class RuleError(ConfigError):
    """One rule of the mapping is wrong.

    ``index`` is the rule's position in the mapping (``None`` for a ``Rule`` built on its
    own, or for a fault of the mapping as a whole) and ``field`` the offending field
    (``None`` when the rule as a whole is wrong, e.g. not a mapping).
    """

    def __init__(self, index: int | None, field: str | None, problem: str, origin: str | None = None) -> None:
        self.index = index
        self.field = field
        self.problem = problem
        self.origin = origin
        if index is not None:
            where = f"mapping[{index}]" + (f".{field}" if field else "")
        else:
            where = f"Rule.{field}" if field else "mapping"
        super().__init__(f"{origin}: {where}: {problem}" if origin else f"{where}: {problem}")

    def __reduce__(self) -> tuple[type[RuleError], tuple[int | None, str | None, str, str | None]]:
        return (type(self), (self.index, self.field, self.problem, self.origin))


class RoutingError(BotwoError, ValueError):
    """A call cannot be routed as asked; nothing was sent to any backend.

    ``route`` is the route the call went through (``None`` where none was chosen).
    """

    def __init__(self, message: str, *, route: Route | None = None) -> None:
        super().__init__(message)
        self.route = route

    @property
    def botwo_route(self) -> Route | None:
        """``route``, under the name backend errors carry it by."""
        return self.route

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_routing_error, (type(self), str(self), self.route))


def _rebuild_routing_error(cls: type[RoutingError], message: str, route: Route | None) -> RoutingError:
    return cls(message, route=route)


class CrossRouteError(RoutingError):
    """The call touches more than one route or backend in a way botwo cannot carry out.

    Raised, before any request is sent, for a ``rename_object`` across routes (S3's
    rename is atomic in one bucket), for presigning a call that spans backends, and for a
    listing operation botwo has not reviewed whose ``Prefix`` spans routes. Copies,
    bulk deletes, listings and bucket lists across routes are carried out instead.
    """


class TokenError(BotwoError, ValueError):
    """A continuation token or marker handed back to botwo is not one it issued for
    this listing: forged, corrupted, truncated, or issued by another rule table."""


class AddressError(BotwoError, ValueError):
    """An address cannot be used as given: a ``CLIENT://bucket/key`` that names a client
    that is not configured, or a sync's source and destination that contain one another.

    ``client`` is the name given and ``clients`` the configured names (empty for an overlap).
    """

    def __init__(self, message: str, *, client: str = "", clients: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.client = client
        self.clients = clients

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (type(self), str(self), {"client": self.client, "clients": self.clients}))


class SyncError(BotwoError, RuntimeError):
    """A sync cannot go on: its source or destination cannot be listed as S3 lists.

    What the sync copied or deleted before stands; a run after the cause is fixed
    carries on from there.
    """


class ListingOrderError(SyncError):
    """A backend listed keys out of S3's order (UTF-8 byte order), or outside the
    listed prefix: a merge of such listings would miss keys, so the sync stops.

    ``side`` is ``"source"`` or ``"destination"``, ``client`` the backend's client name,
    ``bucket`` the bucket it listed (in the names it was asked with), ``previous`` and
    ``key`` the two keys out of order (``previous`` is ``None`` for a key outside the
    prefix).
    """

    def __init__(
        self,
        message: str,
        *,
        side: Side | None = None,
        client: str = "",
        bucket: str = "",
        previous: str | None = None,
        key: str = "",
    ) -> None:
        super().__init__(message)
        self.side = side
        self.client = client
        self.bucket = bucket
        self.previous = previous
        self.key = key

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {
            "side": self.side,
            "client": self.client,
            "bucket": self.bucket,
            "previous": self.previous,
            "key": self.key,
        }
        return (_rebuild_error, (type(self), str(self), fields))


def _rebuild_error(cls: type[Any], message: str, fields: dict[str, Any]) -> Any:
    return cls(message, **fields)


class ReadOnlyError(BotwoError, ClientError):
    """A mutating call (a put, a delete, a copy into, a configuration change, a presigned
    PUT or POST) through a rule with ``readonly: true``. Nothing was sent.

    It is a ``botocore.exceptions.ClientError`` with code ``AccessDenied`` and HTTP status
    403, which is what a single S3 says to a caller that may read but not write, so code
    that already handles denied writes handles it unchanged. ``route`` is the read-only
    route (also as ``botwo_route``, the name backend errors carry it by).
    """

    route: Route | None = None

    @property
    def botwo_route(self) -> Route | None:
        return self.route

    def __reduce__(self) -> tuple[Any, ...]:
        # botocore's ClientError.__reduce__ gives back a plain ClientError.
        return (_rebuild_readonly, (type(self), self.response, self.operation_name, self.route))

    @classmethod
    def refuse(cls, operation_name: str, message: str, *, route: Route | None = None) -> ReadOnlyError:
        response: Any = {
            "Error": {"Code": "AccessDenied", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        err = cls(response, operation_name)
        err.route = route
        return err


def _rebuild_readonly(
    cls: type[ReadOnlyError], response: Any, operation: str, route: Route | None
) -> ReadOnlyError:
    err = cls(response, operation)
    err.route = route
    return err


class OverlappingTargetsWarning(UserWarning):
    """Two rules put different caller keys into the same target namespace: a listing
    through one would show the other's objects, and two caller keys could be one object.

    ``rules`` is the pair of rule indexes; ``client``, ``bucket`` and ``prefix`` the
    namespace they share on the target (``()`` and ``""`` for a warning made from text alone).
    """

    def __init__(
        self,
        message: str,
        *,
        rules: tuple[int, ...] = (),
        client: str = "",
        bucket: str = "",
        prefix: str = "",
    ) -> None:
        super().__init__(message)
        self.rules = rules
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {"rules": self.rules, "client": self.client, "bucket": self.bucket, "prefix": self.prefix}
        return (_rebuild_warning, (type(self), str(self), fields))


class ConfigWarning(UserWarning):
    """Something in the configuration or its environment is ignored, e.g. a
    ``BOTWO_CLIENT_<NAME>_<FIELD>`` variable that names no configured client."""


class ShadowedRuleWarning(UserWarning):
    """A rule can never match because an earlier rule matches everything it would.

    ``rule`` is the index of the rule that never matches, ``by`` the earlier one (``None``
    for a warning made from text alone, as ``warnings.warn(text, ShadowedRuleWarning)`` does).
    """

    def __init__(self, message: str, *, rule: int | None = None, by: int | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.by = by

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_warning, (type(self), str(self), {"rule": self.rule, "by": self.by}))


class PrefixWithoutSlashWarning(UserWarning):
    """A rule's ``prefix`` does not end with ``/``, so it is not a folder: it matches every
    key that starts with those characters (``"trusted"`` also takes ``trusted-evil/...``),
    and with ``strip_prefix`` the rest of a key keeps its ``/`` (``trusted/a`` goes to
    ``key_prefix + "/a"``, ``main//a``). Valid, and sometimes meant; often a leak.

    ``rule`` is the rule's index and ``prefix`` its prefix (``None`` and ``""`` for a
    warning made from text alone).
    """

    def __init__(self, message: str, *, rule: int | None = None, prefix: str = "") -> None:
        super().__init__(message)
        self.rule = rule
        self.prefix = prefix

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_warning, (type(self), str(self), {"rule": self.rule, "prefix": self.prefix}))


def _rebuild_warning(cls: type[Any], message: str, fields: dict[str, Any]) -> Any:
    return cls(message, **fields)
