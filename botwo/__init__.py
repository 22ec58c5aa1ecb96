"""botwo: one boto3 S3 client over several S3-compatible services.

::

    import boto3, botwo
    s3 = botwo.client(
        {"s3": boto3.client("s3"), "lakefs": boto3.client("s3", endpoint_url=...)},
        [
            {"bucket_name": "example-old-bucket", "mapped_bucket_name": "example-repo",
             "client": "lakefs", "key_prefix": "main/"},
            {"bucket_name": "*", "client": "s3"},
        ],
    )
    s3.get_object(Bucket="example-old-bucket", Key="test/object.txt")
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from ._client import RoutingClient, client_class
from ._copy import CopyConfig
from ._rules import Rule, parse_mapping
from ._table import Route
from .errors import (
    BotwoError,
    ConfigError,
    CrossRouteError,
    OverlappingTargetsWarning,
    ReadOnlyError,
    RoutingError,
    RuleError,
    ShadowedRuleWarning,
    TokenError,
)

__version__ = "0.1.0"

__all__ = [
    "BotwoError",
    "ConfigError",
    "CopyConfig",
    "CrossRouteError",
    "OverlappingTargetsWarning",
    "ReadOnlyError",
    "Route",
    "RoutingClient",
    "RoutingError",
    "Rule",
    "RuleError",
    "ShadowedRuleWarning",
    "TokenError",
    "client",
]


def _check_clients(
    clients: Mapping[str, Any], rules_by_client: Mapping[str, tuple[int, str]]
) -> dict[str, Any]:
    for name, candidate in clients.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"client names must be non-empty strings, got {name!r}")
        used = rules_by_client.get(name)
        where = f"clients[{name!r}]" + (
            f" (used by mapping[{used[0]}].{used[1]})" if used is not None else ""
        )
        model = getattr(getattr(candidate, "meta", None), "service_model", None)
        service = getattr(model, "service_name", None)
        if service != "s3":
            what = f"a {service!r} client" if service else type(candidate).__name__
            if used is not None:
                raise RuleError(used[0], used[1], f"{where} is not an S3 client: got {what}")
            raise ConfigError(f"{where} is not an S3 client: got {what}")
    return dict(clients)


def client(
    clients: Mapping[str, Any],
    mapping: Sequence[Mapping[str, Any] | Rule] | None = None,
    *,
    copy_config: CopyConfig | None = None,
) -> RoutingClient:
    """A client that looks like ``boto3.client("s3")`` and routes every call by ``mapping``.

    ``clients`` maps names to underlying boto3 S3 clients (each may have its own endpoint,
    credentials and config). ``mapping`` is the ordered rule list (dicts or
    :class:`Rule`); the first rule that matches a call serves it, and the list must end
    with a catch-all (``{"bucket_name": "*", "client": ...}``). Raises
    :class:`ConfigError` / :class:`RuleError` naming the faulty rule index and field, and
    warns :class:`ShadowedRuleWarning` for a rule that can never match and
    :class:`OverlappingTargetsWarning` for two rules that share a target namespace.

    ``copy_config`` (a :class:`CopyConfig`) tunes copies between two clients, which botwo
    streams through this process: part size, parts in flight, source streams.

    ``botwo.client("s3", ...)`` (a service name first, as with boto3) is reserved for
    building the client from declarative configuration, which this version does not have.
    """
    if isinstance(clients, str):
        raise ConfigError(
            f"botwo.client({clients!r}, ...) with a service name is reserved for declarative "
            "configuration, which this version of botwo does not provide; pass a dict of "
            "boto3 clients and a mapping: botwo.client({'s3': boto3.client('s3')}, [...])"
        )
    if mapping is None:
        raise ConfigError("botwo.client needs a mapping: a list of rules ending with a catch-all")
    if not isinstance(clients, Mapping) or not clients:
        raise ConfigError(
            f"clients must be a non-empty dict of name -> boto3 S3 client, got {type(clients).__name__}"
        )
    rules = parse_mapping(mapping, list(clients))
    first_use: dict[str, tuple[int, str]] = {}
    for i, rule in enumerate(rules):
        for name in (rule.client, *rule.fallback):
            first_use.setdefault(name, (i, "client" if name == rule.client else "fallback"))
    checked = _check_clients(clients, first_use)
    cls = client_class(checked[rules[0].client].meta.service_model)
    if copy_config is not None and not isinstance(copy_config, CopyConfig):
        raise ConfigError(f"copy_config must be a botwo.CopyConfig, got {type(copy_config).__name__}")
    routing = cls(checked, rules, copy_config)
    for shadowed, by in routing._table.shadowed():
        warnings.warn(
            ShadowedRuleWarning(
                f"mapping[{shadowed}] ({rules[shadowed].to_dict()}) can never match: "
                f"mapping[{by}] ({rules[by].to_dict()}) matches every call it would"
            ),
            stacklevel=2,
        )
    for i, j, client_name, target, space in routing._table.overlaps():
        warnings.warn(
            OverlappingTargetsWarning(
                f"mapping[{i}] and mapping[{j}] put different caller keys into one target "
                f"namespace (client {client_name!r}, bucket {target!r}, keys under {space!r}): "
                "a listing through one would show the other's objects"
            ),
            stacklevel=2,
        )
    return routing
