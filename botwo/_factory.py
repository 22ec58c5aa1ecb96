"""Building a routing client (or resource) from boto3 clients and rules, or from configuration.

The argument forms of :func:`botwo.client` and :func:`botwo.resource`:

* ``client(clients, mapping)``: a dict of boto3 S3 clients and the rule list;
* ``client("s3")``: the configuration file that :func:`botwo._config.find_config` finds;
* ``client("s3", config=path_or_dict_or_settings)``: that configuration.

A client built from configuration remembers its :class:`~botwo._config.Settings`, so it
pickles (and is rebuilt from them) and shows where its configuration came from.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

from botocore.credentials import Credentials

from ._client import RoutingClient, client_class
from ._config import Settings, load
from ._redact import SECRET_FIELDS
from ._resource import service_resource
from ._rules import Rule, parse_mapping
from ._table import RuleTable
from ._tokens import token_key
from ._typing import BotwoS3Client, BotwoS3Resource
from ._values import CopyConfig
from .errors import (
    ConfigError,
    OverlappingTargetsWarning,
    PrefixWithoutSlashWarning,
    RuleError,
    ShadowedRuleWarning,
)

__all__ = ["client", "from_settings", "resource"]

ConfigSource = Settings | Mapping[str, Any] | str | os.PathLike[str] | None


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


def _assemble(
    clients: Mapping[str, Any],
    rules: tuple[Rule, ...],
    copy_config: CopyConfig | None,
    stacklevel: int,
    *,
    settings: Settings | None = None,
    rebuild: tuple[Callable[..., RoutingClient], tuple[Any, ...]] | None = None,
) -> RoutingClient:
    first_use: dict[str, tuple[int, str]] = {}
    for i, rule in enumerate(rules):
        for name in (rule.client, *rule.fallback):
            first_use.setdefault(name, (i, "client" if name == rule.client else "fallback"))
    checked = _check_clients(clients, first_use)
    if copy_config is not None and not isinstance(copy_config, CopyConfig):
        raise ConfigError(f"copy_config must be a botwo.CopyConfig, got {type(copy_config).__name__}")
    table = RuleTable(rules)
    for shadowed, by in table.shadowed():
        warnings.warn(
            ShadowedRuleWarning(
                f"mapping[{shadowed}] ({rules[shadowed].to_dict()}) can never match: "
                f"mapping[{by}] ({rules[by].to_dict()}) matches every call it would",
                rule=shadowed,
                by=by,
            ),
            stacklevel=stacklevel,
        )
    for i, j, client_name, target, space in table.overlaps():
        warnings.warn(
            OverlappingTargetsWarning(
                f"mapping[{i}] and mapping[{j}] put different caller keys into one target "
                f"namespace (client {client_name!r}, bucket {target!r}, keys under {space!r}): "
                "a listing through one would show the other's objects",
                rules=(i, j),
                client=client_name,
                bucket=target,
                prefix=space,
            ),
            stacklevel=stacklevel,
        )
    for i, rule in enumerate(rules):
        if rule.prefix and not rule.prefix.endswith("/"):
            warnings.warn(
                PrefixWithoutSlashWarning(_open_prefix_message(i, rule), rule=i, prefix=rule.prefix),
                stacklevel=stacklevel,
            )
    key = token_key(table.fingerprint, _secrets(checked, settings))
    cls = client_class(checked[rules[0].client].meta.service_model)
    return cls(checked, table, copy_config or CopyConfig(), token_key=key, settings=settings, rebuild=rebuild)


def _open_prefix_message(index: int, rule: Rule) -> str:
    """What a ``prefix`` without its ``/`` does: it takes other folders' keys, and a
    stripped one leaves the key's ``/`` behind."""
    prefix = rule.prefix
    message = (
        f"mapping[{index}].prefix {prefix!r} does not end with '/': it also takes keys of other "
        f"folders, such as {prefix + '-other/k'!r}"
    )
    if rule.strip_prefix:
        message += f"; and with strip_prefix, {prefix + '/a'!r} goes to {rule.key_prefix + '/a'!r}"
    return message


def _secrets(clients: Mapping[str, Any], settings: Settings | None) -> list[str]:
    """The backends' secret keys, by client name: what seals the client's tokens (see
    :mod:`botwo._tokens`). A configuration's are its resolved options; a boto3 client's are
    its credentials when they are static (refreshing ones would change the key)."""
    out = []
    for name in sorted(clients):
        if settings is not None and name in settings.clients:
            options = settings.clients[name].options
            configured = [str(options.get(field) or "") for field in sorted(SECRET_FIELDS)]
            if any(configured):
                out += [name, *configured]
                continue
        signer = getattr(clients[name], "_request_signer", None)  # botocore keeps them there
        credentials = getattr(signer, "_credentials", None)
        if type(credentials) is Credentials:
            out += [name, credentials.secret_key or "", credentials.token or ""]
    return out


def from_settings(
    settings: Settings, copy_config: CopyConfig | None = None, *, stacklevel: int = 2
) -> RoutingClient:
    """A routing client over the boto3 clients that ``settings`` describe.

    The client pickles as this call: the configuration (secrets taken from the
    environment travel as ``${VAR}`` references) and the ``copy_config`` given here.
    """
    return _assemble(
        settings.build_clients(),
        settings.rules,
        copy_config or settings.copy,
        stacklevel + 1,
        settings=settings,
        rebuild=(from_settings, (settings, copy_config)),
    )


# The two forms are overloads: to a type checker a call makes boto3's ``S3Client`` (when its
# stubs are installed) that is also a RoutingClient (see :mod:`botwo._typing`), and a call
# refused below (a mapping with "s3", boto3.client's options) is an error. The function
# itself is typed as what it builds.
@overload
def client(
    clients: str = ...,
    mapping: None = ...,
    *,
    config: ConfigSource = ...,
    copy_config: CopyConfig | None = ...,
) -> BotwoS3Client: ...
@overload
def client(
    clients: Mapping[str, Any],
    mapping: Sequence[Mapping[str, Any] | Rule],
    *,
    copy_config: CopyConfig | None = ...,
) -> BotwoS3Client: ...
def client(
    clients: Mapping[str, Any] | str = "s3",
    mapping: Sequence[Mapping[str, Any] | Rule] | None = None,
    *,
    config: ConfigSource = None,
    copy_config: CopyConfig | None = None,
    **boto3_options: Any,
) -> RoutingClient:
    """A client that looks like ``boto3.client("s3")`` and routes every call by rules.

    Two forms:

    * ``botwo.client("s3")`` or ``botwo.client("s3", config=...)``: clients and rules
      from declarative configuration: a file path (TOML, YAML or JSON), a dict, or
      :class:`botwo.Settings`; with no ``config``, the file named by ``$BOTWO_CONFIG``,
      else ``./botwo.toml``, else ``botwo.toml`` in the user's config directory. So
      ``boto3.client("s3")`` -> ``botwo.client("s3")`` is the whole change. A client
      built this way pickles (it is rebuilt from the configuration on the other side).
    * ``botwo.client(clients, mapping)``: ``clients`` maps names to boto3 S3 clients
      (each with its own endpoint, credentials and config) and ``mapping`` is the ordered
      rule list (dicts or :class:`Rule`).

    The first rule that matches a call serves it, and the rules must end with a catch-all
    (``{"bucket_name": "*", "client": ...}``). Raises :class:`ConfigError` /
    :class:`RuleError` naming the file, rule index and field; warns
    :class:`ShadowedRuleWarning` for a rule that can never match,
    :class:`OverlappingTargetsWarning` for two rules that share a target namespace and
    :class:`PrefixWithoutSlashWarning` for a ``prefix`` that does not end with ``/``.

    ``copy_config`` (a :class:`CopyConfig`) tunes copies between two clients, which botwo
    streams through this process: part size, parts in flight, source streams (it
    overrides the configuration's ``copy`` table).
    """
    if boto3_options:
        names = ", ".join(sorted(boto3_options))
        raise ConfigError(
            f"botwo.client does not take boto3.client options ({names}): each underlying "
            "client has its own; set them in the configuration's clients tables (or build "
            "the boto3 clients yourself and pass botwo.client({name: client}, mapping))"
        )
    if isinstance(clients, str):
        if clients != "s3":
            raise ConfigError(f"botwo routes S3 only: botwo.client({clients!r}) is not supported")
        if mapping is not None:
            raise ConfigError(
                "botwo.client('s3', mapping): with a service name, the clients and the mapping "
                "come from configuration (config=...); to pass rules directly, pass the boto3 "
                "clients too: botwo.client({'s3': boto3.client('s3'), ...}, mapping)"
            )
        return from_settings(load(config), copy_config, stacklevel=3)
    if config is not None:
        raise ConfigError(
            "botwo.client(clients, mapping, config=...): give either boto3 clients and a mapping, "
            "or a configuration, not both"
        )
    if mapping is None:
        raise ConfigError("botwo.client needs a mapping: a list of rules ending with a catch-all")
    if not isinstance(clients, Mapping) or not clients:
        raise ConfigError(
            f"clients must be a non-empty dict of name -> boto3 S3 client, got {type(clients).__name__}"
        )
    rules = parse_mapping(mapping, list(clients))
    return _assemble(clients, rules, copy_config, stacklevel=3)


@overload
def resource(
    clients: str = ...,
    mapping: None = ...,
    *,
    config: ConfigSource = ...,
    copy_config: CopyConfig | None = ...,
) -> BotwoS3Resource: ...
@overload
def resource(
    clients: Mapping[str, Any],
    mapping: Sequence[Mapping[str, Any] | Rule],
    *,
    copy_config: CopyConfig | None = ...,
) -> BotwoS3Resource: ...
def resource(
    # Any: the overloads above are the signature; these go to client() as they came.
    clients: Any = "s3",
    mapping: Any = None,
    *,
    config: ConfigSource = None,
    copy_config: CopyConfig | None = None,
    **boto3_options: Any,
) -> Any:
    """A boto3 S3 ``ServiceResource`` whose every call goes through a routing client.

    Takes the same arguments as :func:`client`; ``resource.meta.client`` is that client.
    """
    routing = client(clients, mapping, config=config, copy_config=copy_config, **boto3_options)
    return service_resource(routing)
