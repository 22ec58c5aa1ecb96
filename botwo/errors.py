"""botwo's own errors and warnings.

Errors that botwo raises itself (bad configuration, a call it cannot route)::

    BotwoError
    ├── ConfigError (ValueError)         the clients or the mapping are wrong
    │   └── RuleError                    one rule is wrong: .index and .field name it
    ├── RoutingError (ValueError)        this call cannot be routed as asked
    │   └── CrossRouteError              the call spans routes or backends
    ├── TokenError (ValueError)          a pagination token is forged, corrupted or foreign
    └── ReadOnlyError (ClientError)      a mutating call through a read-only rule; it is
                                         also botocore's ClientError with code AccessDenied

Errors that a backend raises (``botocore.exceptions.ClientError`` and every modelled
subclass such as ``NoSuchKey``) are re-raised through the botwo client's own
``exceptions`` classes, with the caller's bucket and key in place of the target's, the
original error chained as ``__cause__`` and the serving route attached as
``.botwo_route``; see :mod:`botwo._client`.

``ConfigWarning`` is warned for a part of the configuration's environment that is ignored,
``ShadowedRuleWarning`` when an earlier rule makes a later one unreachable, and
``OverlappingTargetsWarning`` when two rules share a target namespace inconsistently.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

__all__ = [
    "BotwoError",
    "ConfigError",
    "ConfigWarning",
    "CrossRouteError",
    "OverlappingTargetsWarning",
    "ReadOnlyError",
    "RoutingError",
    "RuleError",
    "ShadowedRuleWarning",
    "TokenError",
]


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
    """A call cannot be routed as asked; nothing was sent to any backend."""


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


class ReadOnlyError(BotwoError, ClientError):
    """A mutating call (a put, a delete, a copy into, a configuration change, a presigned
    PUT or POST) through a rule with ``readonly: true``. Nothing was sent.

    It is a ``botocore.exceptions.ClientError`` with code ``AccessDenied`` and HTTP status
    403, which is what a single S3 says to a caller that may read but not write, so code
    that already handles denied writes handles it unchanged.
    """

    def __reduce__(self) -> tuple[type[ReadOnlyError], tuple[Any, str]]:
        # botocore's ClientError.__reduce__ gives back a plain ClientError.
        return (type(self), (self.response, self.operation_name))

    @classmethod
    def refuse(cls, operation_name: str, message: str) -> ReadOnlyError:
        response: Any = {
            "Error": {"Code": "AccessDenied", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        return cls(response, operation_name)


class OverlappingTargetsWarning(UserWarning):
    """Two rules put different caller keys into the same target namespace: a listing
    through one would show the other's objects, and two caller keys could be one object."""


class ConfigWarning(UserWarning):
    """Something in the configuration or its environment is ignored, e.g. a
    ``BOTWO_CLIENT_<NAME>_<FIELD>`` variable that names no configured client."""


class ShadowedRuleWarning(UserWarning):
    """A rule can never match because an earlier rule matches everything it would."""
