"""Declarative configuration: the clients and the mapping from a file, a dict and the environment.

Theory of operation
-------------------
A configuration *document* is plain data, read from TOML, YAML or JSON or given as a dict::

    clients:  name -> the keyword arguments of boto3.client (endpoint_url, region_name,
              aws_access_key_id, ..., verify), plus profile_name and a ``config`` table
              of botocore Config options
    mapping:  the rule list, every field a rule has
    copy:     the fields of botwo.CopyConfig (optional)

:func:`resolve` turns a document and an environment (a plain mapping) into
:class:`Settings`: it checks every field (the ``config`` options as
:mod:`botwo._options` says), substitutes ``${VAR}`` (and ``${VAR:-default}``) references,
and applies the per-client overrides ``BOTWO_CLIENT_<NAME>_<FIELD>``. It is pure: no
files are read and no boto3 client is made. No message shows a secret: which values are
secret is :mod:`botwo._redact`'s to say. :func:`read_file` parses a file (a syntax error
names the line; YAML aliases that loop or expand past reason are refused before they are
expanded); :func:`find_config` says which file ``botwo.client("s3")`` reads;
:meth:`ClientSettings.build` makes a boto3 client.

Settings keep the document as written, ``${VAR}`` references unexpanded, and pickle as
that document: the process that unpickles them resolves it against its own environment,
so secrets that came from the environment never travel.
"""

from __future__ import annotations

import copy as _copy
import difflib
import inspect
import json
import os
import re
import sys
import tomllib
import typing
import urllib.parse
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import boto3.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError
from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

from ._options import OPTIONS, InvalidOption, Table, check_options, parse_bool, type_name
from ._redact import SECRET_FIELDS, URL_FIELDS, is_proxy_option, mask_userinfo, safe_endpoint, userinfo_span
from ._rules import Rule, parse_mapping
from ._values import CopyConfig
from .errors import ConfigError, ConfigWarning, RuleError

__all__ = [
    "CLIENT_FIELDS",
    "ENV_CONFIG",
    "ENV_PREFIX",
    "ClientSettings",
    "Settings",
    "env_name",
    "find_config",
    "load",
    "read_file",
    "resolve",
    "user_config_dir",
]

#: The environment variable that names the configuration file.
ENV_CONFIG = "BOTWO_CONFIG"
#: Per-client overrides: ``BOTWO_CLIENT_<NAME>_<FIELD>``, e.g. ``BOTWO_CLIENT_LAKEFS_ENDPOINT_URL``.
ENV_PREFIX = "BOTWO_CLIENT_"
#: The file name looked for in the working directory and the user's config directory.
FILE_NAME = "botwo.toml"

# The keyword arguments of the installed boto3's ``Session.client``, read from its
# signature rather than kept by hand; ``config`` is a table of botocore Config options.
_BOTO3_FIELDS = tuple(
    name
    for name in inspect.signature(boto3.session.Session.client).parameters
    if name not in ("self", "service_name", "config")
)
#: The fields of one client's table.
CLIENT_FIELDS: tuple[str, ...] = (*_BOTO3_FIELDS, "profile_name", "config")
_TOP_FIELDS = ("clients", "mapping", "copy")
_COPY_FIELDS = tuple(f.name for f in attrs.fields(CopyConfig))
_CONFIG_OPTIONS = tuple(Config.OPTION_DEFAULTS)
#: botocore Config options whose value is a table; a dotted name (``s3.addressing_style``)
#: reaches inside one of these only.
_TABLE_OPTIONS = frozenset(name for name, check in OPTIONS.items() if isinstance(check, Table))
#: The number and boolean fields of the ``copy`` table: a string there, as ``${VAR}``
#: always makes, is converted, so they can come from the environment.
_COPY_KINDS: dict[str, type] = {
    name: kind
    for name, kind in typing.get_type_hints(CopyConfig).items()
    if name in _COPY_FIELDS and kind in (int, float, bool)
}
_KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false"}
_BOOL_FIELDS = frozenset({"use_ssl"})
_BOOL_OR_PATH_FIELDS = frozenset({"verify"})

_TOO_DEEP = "nested too deeply (a configuration is a few tables deep)"

_REFERENCE = re.compile(r"\$(?:(\$)|\{([^}]*)\})")
_VAR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)
_HOW_TO_REFER = "write ${NAME} or ${NAME:-default} (NAME: letters, digits, _), or $$ for a literal $"

#: What of a field's text is a secret (see botwo._redact): nothing, a URL's
#: ``user:password@``, or all of it.
_Secrecy = typing.Literal["none", "userinfo", "all"]


def _secrecy(field: str) -> _Secrecy:
    """What of a client field, or of a ``config`` option as a document writes it, is secret."""
    if field in SECRET_FIELDS:
        return "all"
    return "userinfo" if field in URL_FIELDS or is_proxy_option(field) else "none"


# -- plain helpers ------------------------------------------------------------------


def _error(origin: str, where: str, problem: str) -> ConfigError:
    return ConfigError(f"{origin}: {where}: {problem}" if where else f"{origin}: {problem}")


def _unknown(origin: str, where: str, name: object, known: tuple[str, ...]) -> ConfigError:
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return _error(origin, where, f"unknown field {name!r}{hint}; fields are {', '.join(known)}")


def env_name(client: str) -> str:
    """A client's name as it appears in ``BOTWO_CLIENT_<NAME>_<FIELD>``: upper case, and
    every character other than a letter or a digit turned into ``_``."""
    return re.sub(r"[^A-Z0-9]", "_", client.upper())


def _convert(kind: type, value: Any, origin: str, where: str) -> Any:
    """A string as the number or boolean ``kind`` (``${VAR}`` always makes a string);
    any other value as it is, for botocore or CopyConfig to check."""
    if not isinstance(value, str):
        return value
    try:
        if kind is bool:
            parsed = parse_bool(value)
            if parsed is None:
                raise ValueError(value)
            return parsed
        return kind(value.strip())
    except ValueError:
        raise _error(origin, where, f"expected {_KIND_NAMES[kind]}, got string {value!r}") from None


def _valid_endpoint(url: str) -> bool:
    """``http(s)://host[:port][/path]``, as botocore accepts it."""
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # a port that is not a number raises
    except ValueError:
        return False
    if parts.scheme not in ("http", "https"):
        return False
    return bool(is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url))


# -- ${VAR} interpolation -----------------------------------------------------------


@attrs.frozen
class _Expanded:
    value: Any
    #: The environment variables the value was made from.
    variables: tuple[str, ...]


def _expand(
    text: str, environ: Mapping[str, str], origin: str, where: str, secrecy: _Secrecy = "none"
) -> _Expanded:
    """``${VAR}`` and ``${VAR:-default}`` from ``environ``; ``$$`` is a literal ``$``."""
    used: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        if match.group(1):
            return "$"
        body = match.group(2)
        parsed = _VAR.fullmatch(body)
        if parsed is None:
            raise _bad_reference(text, match, secrecy, origin, where, malformed=True)
        name, default = parsed.group(1), parsed.group(2)
        used.append(name)
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise _bad_reference(text, match, secrecy, origin, where, malformed=False)
            return default
        return value

    if "$" not in text:
        return _Expanded(text, ())
    return _Expanded(_REFERENCE.sub(substitute, text), tuple(used))


def _bad_reference(
    text: str, match: re.Match[str], secrecy: _Secrecy, origin: str, where: str, *, malformed: bool
) -> ConfigError:
    """The error for the ``${...}`` ``match`` of ``text``: malformed, or its variable unset.

    Not shown when it lies in a secret (see :func:`_shown`): the error names the field
    and the problem only.
    """
    if _shown(text, match, secrecy, malformed=malformed):
        problem = (
            f"is not a variable reference: {_HOW_TO_REFER}" if malformed else "is not set in the environment"
        )
        return _error(origin, where, f"{match.group(0)} {problem}")
    part = "the value" if secrecy == "all" else f"the user:password@ of {mask_userinfo(text)!r}"
    if malformed:
        problem = f"a ${{...}} that is not a variable reference (not shown: a secret): {_HOW_TO_REFER}"
    else:
        problem = (
            "a ${...} whose variable is not set in the environment (not shown: a secret; $$ is a literal $)"
        )
    return _error(origin, where, f"{part} holds {problem}")


def _shown(text: str, match: re.Match[str], secrecy: _Secrecy, *, malformed: bool) -> bool:
    """Whether a message may show the reference ``match`` of ``text``.

    A literal secret may well hold ``${``. So inside a secret (all of a secret field, the
    ``user:password@`` of a URL) a malformed reference is never shown, and a well-formed
    one only when it is the whole secret (or the whole user or password), the way a
    reference to one is written: ``${LAKEFS_SECRET}``, ``http://${USER}:${PASSWORD}@host``.
    """
    if secrecy == "none":
        return True
    start, end = (0, len(text)) if secrecy == "all" else userinfo_span(text)
    if match.end() <= start or match.start() >= end:
        return True  # outside the secret: a URL's host, port or path
    if malformed:
        return False
    if secrecy == "all":
        return match.span() == (0, len(text))
    # user[:password]@: the user ends at the first ":" that is not inside a reference.
    inside = [m.span() for m in _REFERENCE.finditer(text, start, end)]
    colons = (i for i in range(start, end - 1) if text[i] == ":" and not any(a <= i < b for a, b in inside))
    colon = next(colons, end - 1)
    return match.span() in ((start, colon), (colon + 1, end - 1))


def _expand_tree(
    value: Any, environ: Mapping[str, str], origin: str, where: str, secrecy: _Secrecy = "none"
) -> Any:
    """Every string inside lists and tables expanded."""
    if isinstance(value, str):
        return _expand(value, environ, origin, where, secrecy).value
    if isinstance(value, Mapping):
        return {k: _expand_tree(v, environ, origin, f"{where}.{k}", secrecy) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_tree(v, environ, origin, f"{where}[{i}]", secrecy) for i, v in enumerate(value)]
    return value


# -- the values -------------------------------------------------------------------


@attrs.frozen(repr=False)
class ClientSettings:
    """One underlying client as configured: what :meth:`build` passes to boto3.

    ``options`` holds the resolved keyword arguments of ``boto3.client``, secrets
    included; :meth:`describe` and ``repr`` never show a secret. It does not pickle
    (it would carry the secrets): pickle the :class:`Settings`, which travels as its
    document.
    """

    name: str
    options: Mapping[str, Any]
    profile_name: str | None
    config_options: Mapping[str, Any]
    #: Where each field's value came from: ``"file"``, ``"$VAR"`` or ``"BOTWO_CLIENT_..."``.
    sources: Mapping[str, str]

    def botocore_config(self) -> Config | None:
        """The ``botocore.config.Config`` of the ``config`` table (None when it is empty)."""
        return Config(**self.config_options) if self.config_options else None

    def build(self, **config_overrides: Any) -> Any:
        """A boto3 S3 client made from its own ``boto3.Session`` (its own credentials).

        ``config_overrides`` are botocore Config options merged over the ``config`` table
        (``botwo check`` probes with short timeouts this way).
        """
        try:
            session = boto3.session.Session(profile_name=self.profile_name)
            options = {**self.config_options, **config_overrides}
            config = Config(**options) if options else None
            return session.client("s3", config=config, **self.options)
        except BotoCoreError as err:  # e.g. ProfileNotFound
            raise ConfigError(f"clients.{self.name}: cannot make the boto3 client: {err}") from err

    def describe(self) -> dict[str, str]:
        """A summary without secrets: endpoint, region, profile, where credentials come from."""
        out: dict[str, str] = {
            "endpoint_url": safe_endpoint(self.options.get("endpoint_url")) or "(boto3 default)",
            "region_name": self.options.get("region_name") or "(boto3 default)",
        }
        if self.profile_name:
            out["profile_name"] = self.profile_name
        key_id = self.options.get("aws_access_key_id")
        if key_id:
            shown = f"access key ****{key_id[-4:]}" if len(key_id) > 8 else "access key ****"
            secret = self.sources.get("aws_secret_access_key")
            out["credentials"] = f"{shown}, secret {_describe_source(secret)}" if secret else shown
        elif self.profile_name:
            out["credentials"] = f"profile {self.profile_name!r}"
        else:
            out["credentials"] = "boto3's default chain"
        return out

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"ClientSettings({self.name!r}, {fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError(
            f"botwo.ClientSettings ({self.name!r}) cannot be pickled: it holds the resolved "
            "secrets. Pickle the botwo.Settings instead: it travels as its document, ${VAR} "
            "references unexpanded, and is resolved again where it is unpickled"
        )


def _describe_source(source: str) -> str:
    return "from the config file" if source == "file" else f"from {source}"


@attrs.frozen(repr=False)
class Settings:
    """A resolved configuration: the clients to build, the rules and the copy settings.

    It pickles as the document it came from (``${VAR}`` references unexpanded) and is
    resolved again, against that process's environment, when unpickled.
    """

    clients: Mapping[str, ClientSettings]
    rules: tuple[Rule, ...]
    copy: CopyConfig | None
    #: Where the configuration came from: a file path, or ``"<dict>"``.
    origin: str
    document: Mapping[str, Any] = attrs.field(eq=False)

    def build_clients(self) -> dict[str, Any]:
        """One boto3 S3 client per configured client, in the configured order."""
        try:
            return {name: spec.build() for name, spec in self.clients.items()}
        except ConfigError as err:
            raise ConfigError(f"{self.origin}: {err}") from err.__cause__

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_reresolve, (dict(self.document), self.origin))

    def __repr__(self) -> str:
        return f"<botwo.Settings from {self.origin}: clients {list(self.clients)}, {len(self.rules)} rules>"


def _reresolve(document: Mapping[str, Any], origin: str) -> Settings:
    return resolve(document, os.environ, origin)


# -- resolving a document ---------------------------------------------------------


def _check_env_names(names: list[str], origin: str) -> dict[str, str]:
    by_env: dict[str, str] = {}
    for name in names:
        other = by_env.setdefault(env_name(name), name)
        if other != name:
            raise _error(
                origin,
                "clients",
                f"clients {other!r} and {name!r} have the same environment name "
                f"{ENV_PREFIX}{env_name(name)}_...: rename one",
            )
    return by_env


def _overrides(
    environ: Mapping[str, str], by_env: Mapping[str, str], origin: str
) -> dict[str, dict[str, tuple[str, str]]]:
    """``{client: {field: (value, variable)}}`` from ``BOTWO_CLIENT_<NAME>_<FIELD>``."""
    fields = {f.upper(): f for f in CLIENT_FIELDS if f != "config"}
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        rest = variable[len(ENV_PREFIX) :]
        matches = [
            (client, fields[rest[len(env) + 1 :]])
            for env, client in by_env.items()
            if rest.startswith(env + "_") and rest[len(env) + 1 :] in fields
        ]
        if not matches:
            client = next((c for e, c in by_env.items() if rest.startswith(e + "_")), None)
            if client is not None:  # a configured client, a field that does not exist
                raise _error(
                    origin,
                    "",
                    f"the environment variable {variable} names no field of client {client!r} "
                    f"(FIELD in {ENV_PREFIX}{env_name(client)}_<FIELD> is one of "
                    f"{', '.join(sorted(fields))})",
                )
            # Perhaps meant for another configuration used in the same environment.
            known = ", ".join(f"{ENV_PREFIX}{e}_..." for e in sorted(by_env))
            warnings.warn(
                ConfigWarning(
                    f"{origin}: the environment variable {variable} names no configured client "
                    f"and is ignored (this configuration's overrides are {known})"
                ),
                stacklevel=2,
            )
            continue
        if len(matches) > 1:
            raise _error(
                origin,
                "",
                f"the environment variable {variable} is ambiguous: it could set "
                + " or ".join(f"clients.{c}.{f}" for c, f in matches),
            )
        client, field = matches[0]
        found.setdefault(client, {})[field] = (environ[variable], variable)
    return found


def _flatten_options(options: Mapping[str, Any], origin: str, where: str) -> dict[str, Any]:
    """A ``config`` table, dotted keys (``"s3.addressing_style"``) made nested and every
    option checked as :data:`botwo._options.OPTIONS` says (a string converted where a
    number or a boolean is expected); a ``null`` option is not set."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if not isinstance(key, str):
            raise _error(origin, where, f"option names must be strings, got {key!r}")
        head, _, rest = key.partition(".")
        if head not in _CONFIG_OPTIONS:
            close = difflib.get_close_matches(head, _CONFIG_OPTIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _error(
                origin, where, f"unknown botocore Config option {head!r}{hint}; see botocore.config.Config"
            )
        if value is None:
            continue
        if head in _TABLE_OPTIONS:
            if not rest and not isinstance(value, Mapping):
                expected = OPTIONS[head].expected
                raise _error(origin, f"{where}.{head}", f"expected {expected}, got {type_name(value)}")
            _merge(out.setdefault(head, {}), _nest(rest, value) if rest else value, origin, f"{where}.{head}")
        elif rest:
            raise _error(origin, f"{where}.{key}", f"{head!r} is not a table option: write {head} = ...")
        else:
            out[head] = value
    try:
        return check_options(out, where)
    except InvalidOption as err:
        raise _error(origin, err.where, err.problem) from None


def _merge(into: dict[str, Any], table: Mapping[str, Any], origin: str, where: str) -> None:
    """``table`` merged into ``into``; a value given twice (``"s3.addressing_style"`` beside
    an ``s3`` table that has it) is an error rather than one silently winning."""
    for key, value in table.items():
        if isinstance(value, Mapping):
            inner = into.setdefault(key, {})
            if isinstance(inner, dict):
                _merge(inner, value, origin, f"{where}.{key}")
                continue
        elif key not in into:
            into[key] = value
            continue
        raise _error(origin, f"{where}.{key}", "is given twice (as a dotted name and in a table)")


def _nest(dotted: str, value: Any) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    return {head: _nest(rest, value) if rest else value}


def _client_value(
    field: str, value: Any, variables: tuple[str, ...], origin: str, where: str
) -> tuple[Any, str]:
    """A checked client field and where it came from."""
    source = "file" if not variables else "$" + ", $".join(variables)
    if field == "endpoint_url" and isinstance(value, str) and not _valid_endpoint(value):
        # Shown (a missing scheme is the usual mistake), but for any user:password@.
        raise _error(origin, where, f"expected http(s)://host[:port], got {mask_userinfo(value)!r}")
    if field in _BOOL_FIELDS or field in _BOOL_OR_PATH_FIELDS:
        if isinstance(value, bool):
            return value, source
        if isinstance(value, str):
            parsed = parse_bool(value)
            if parsed is not None:
                return parsed, source
            if field in _BOOL_OR_PATH_FIELDS and value:
                return value, source  # a CA bundle's path
        expected = "true, false or a CA bundle path" if field in _BOOL_OR_PATH_FIELDS else "true or false"
        raise _error(origin, where, f"expected {expected}, got {type_name(value)} {value!r}")
    if not isinstance(value, str):
        shown = "<hidden>" if _secrecy(field) != "none" else repr(value)
        raise _error(origin, where, f"expected a string, got {type_name(value)} {shown}")
    return value, source


def _client_settings(
    name: str,
    table: Any,
    overrides: Mapping[str, tuple[str, str]],
    environ: Mapping[str, str],
    origin: str,
) -> ClientSettings:
    where = f"clients.{name}"
    if not isinstance(table, Mapping):
        raise _error(origin, where, f"expected a table of boto3.client options, got {type_name(table)}")
    options: dict[str, Any] = {}
    sources: dict[str, str] = {}
    config_options: dict[str, Any] = {}
    for field, raw in table.items():
        if field not in CLIENT_FIELDS:
            raise _unknown(origin, where, field, CLIENT_FIELDS)
        if raw is None or field in overrides:  # null (JSON, YAML) is absent; the environment wins
            continue
        if field == "config":
            if not isinstance(raw, Mapping):
                raise _error(origin, f"{where}.config", f"expected a table, got {type_name(raw)}")
            expanded_options = {
                key: _expand_tree(value, environ, origin, f"{where}.config.{key}", _secrecy(str(key)))
                for key, value in raw.items()
            }
            config_options = _flatten_options(expanded_options, origin, f"{where}.config")
            continue
        expanded = (
            _expand(raw, environ, origin, f"{where}.{field}", _secrecy(field))
            if isinstance(raw, str)
            else _Expanded(raw, ())
        )
        options[field], sources[field] = _client_value(
            field, expanded.value, expanded.variables, origin, f"{where}.{field}"
        )
    for field, (value, variable) in overrides.items():
        checked, _ = _client_value(field, value, (), origin, f"{where}.{field} (from {variable})")
        options[field], sources[field] = checked, variable
    profile = options.pop("profile_name", None)
    try:
        Config(**config_options)
    except (TypeError, ValueError, AttributeError, BotoCoreError) as err:
        raise _error(origin, f"{where}.config", f"not valid botocore Config options: {err}") from None
    return ClientSettings(
        name=name,
        options=options,
        profile_name=profile,
        config_options=config_options,
        sources=sources,
    )


def _copy_settings(table: Any, environ: Mapping[str, str], origin: str) -> CopyConfig:
    if not isinstance(table, Mapping):
        raise _error(origin, "copy", f"expected a table of CopyConfig fields, got {type_name(table)}")
    for field in table:
        if field not in _COPY_FIELDS:
            raise _unknown(origin, "copy", field, _COPY_FIELDS)
    values = _expand_tree(dict(table), environ, origin, "copy")
    for field, kind in _COPY_KINDS.items():
        if field in values:
            values[field] = _convert(kind, values[field], origin, f"copy.{field}")
    try:
        return CopyConfig(**values)
    except ConfigError as err:
        raise _error(origin, "copy", str(err)) from None


def resolve(document: Any, environ: Mapping[str, str], origin: str = "<dict>") -> Settings:
    """Check a configuration document and resolve it against ``environ``.

    Raises :class:`ConfigError` (:class:`RuleError` for a rule) whose message starts with
    ``origin`` and names the field as a dotted path.
    """
    try:
        return _resolve(document, environ, origin)
    except RecursionError:  # the checks recurse once per level of nesting
        raise _error(origin, "", _TOO_DEEP) from None


def _resolve(document: Any, environ: Mapping[str, str], origin: str) -> Settings:
    if not isinstance(document, Mapping):
        raise _error(origin, "", f"expected a table with 'clients' and 'mapping', got {type_name(document)}")
    for field in document:
        if field not in _TOP_FIELDS:
            raise _unknown(origin, "", field, _TOP_FIELDS)
    for field in ("clients", "mapping"):
        if field not in document:
            raise _error(origin, field, "is required")
    document = _copy.deepcopy(dict(document))
    tables = document["clients"]
    if not isinstance(tables, Mapping) or not tables:
        raise _error(origin, "clients", "expected a non-empty table of name -> boto3.client options")
    names = [str(n) for n in tables]
    by_env = _check_env_names(names, origin)
    overrides = _overrides(environ, by_env, origin)
    clients = {
        str(name): _client_settings(str(name), table, overrides.get(str(name), {}), environ, origin)
        for name, table in tables.items()
    }
    mapping = document["mapping"]
    if not isinstance(mapping, list):
        raise _error(origin, "mapping", f"expected a list of rules, got {type_name(mapping)}")
    try:
        rules = parse_mapping(_expand_tree(mapping, environ, origin, "mapping"), list(clients))
    except RuleError as err:
        raise RuleError(err.index, err.field, err.problem, origin) from None
    copy = _copy_settings(document["copy"], environ, origin) if "copy" in document else None
    return Settings(clients=clients, rules=rules, copy=copy, origin=origin, document=document)


# -- files --------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def read_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a TOML (``.toml``), YAML (``.yaml``/``.yml``) or JSON (``.json``) file.

    A syntax error raises :class:`ConfigError` as ``path:line:column: problem``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ConfigError(
            f"{path}: unknown configuration format {suffix or '(none)'!r}: use .toml, .yaml or .json"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the configuration file: {err}") from None
    try:
        document = _parse(path, suffix, text)
    except RecursionError:  # the parsers recurse once per level of nesting
        raise ConfigError(f"{path}: {_TOO_DEEP}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a table with 'clients' and 'mapping', got {type_name(document)}")
    return document


#: The most values a YAML file's aliases may expand to. A configuration has hundreds; a
#: few hundred bytes of nested aliases (a "billion laughs") expand to billions, which
#: every later walk over the document (checks, copies, ``to_json``) would pay for.
YAML_EXPANSION_LIMIT = 100_000
_SIZE_CAP = 10**15


def _parse(path: Path, suffix: str, text: str) -> Any:
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            message = str(err)
            found = _TOML_POSITION.search(message)
            if found is None:
                raise ConfigError(f"{path}: invalid TOML: {message}") from None
            line, column = found.groups()
            raise ConfigError(f"{path}:{line}:{column}: invalid TOML: {message[: found.start()]}") from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
    return _read_yaml(path, text)


def _read_yaml(path: Path, text: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise ConfigError(f"{path}: reading YAML needs PyYAML: pip install 'botwo[yaml]'") from None
    # yaml.safe_load, in its two steps: the node graph (where an alias is the node it
    # names, so a graph of a few nodes can stand for billions of values), checked before
    # it is made into Python values.
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:  # an empty file
            return None
        _check_aliases(path, node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML: {err.problem or err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {err}") from None
    finally:
        loader.dispose()


def _check_aliases(path: Path, root: Any) -> None:
    """Refuse a YAML node graph that holds a cycle (an alias inside its own anchor) or
    whose aliases expand to more than :data:`YAML_EXPANSION_LIMIT` values.

    The expanded size of each node is counted once (memoised by node identity), so this
    takes time linear in the file even when the expansion is exponential; a node met
    again while it is being counted is a cycle.
    """
    import yaml

    sizes: dict[int, int] = {}
    counting: set[int] = set()
    # (node, None): to count; (node, its children): they are counted, add them up.
    stack: list[tuple[Any, list[Any] | None]] = [(root, None)]
    while stack:
        node, counted = stack.pop()
        if counted is not None:
            counting.discard(id(node))
            # Capped, so that an exponential size stays a small int.
            sizes[id(node)] = min(1 + sum(sizes[id(c)] for c in counted), _SIZE_CAP)
            continue
        if id(node) in sizes:
            continue  # an alias of a node already counted
        if id(node) in counting:
            line = node.start_mark.line + 1
            raise ConfigError(f"{path}: a YAML alias refers to itself (the anchor at line {line})")
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            sizes[id(node)] = 1
            continue
        counting.add(id(node))
        stack.append((node, children))
        stack.extend((child, None) for child in children)
    # len(sizes) is the number of nodes: what the file holds without expanding an alias.
    if sizes[id(root)] > max(YAML_EXPANSION_LIMIT, len(sizes)):
        raise ConfigError(f"{path}: YAML aliases expand to more than {YAML_EXPANSION_LIMIT:,} values")


def user_config_dir(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> Path:
    """botwo's directory in the user's configuration directory.

    ``$XDG_CONFIG_HOME/botwo`` (default ``~/.config/botwo``) on Linux and other Unixes,
    ``~/Library/Application Support/botwo`` on macOS, ``%APPDATA%\\botwo`` on Windows.
    """
    home = Path(environ.get("HOME") or Path.home())
    if platform == "win32":
        return Path(environ.get("APPDATA") or home / "AppData" / "Roaming") / "botwo"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "botwo"
    return Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / "botwo"


def _candidates(environ: Mapping[str, str], cwd: Path) -> Iterator[tuple[Path, str]]:
    yield cwd / FILE_NAME, f"./{FILE_NAME}"
    yield user_config_dir(environ) / FILE_NAME, "the user config directory"


def find_config(environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> Path:
    """The file that ``botwo.client("s3")`` reads: ``$BOTWO_CONFIG``, else ``./botwo.toml``,
    else ``botwo.toml`` in :func:`user_config_dir`."""
    named = environ.get(ENV_CONFIG)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"{path}: no such configuration file (named by ${ENV_CONFIG})")
        return path
    looked = []
    for path, _ in _candidates(environ, cwd or Path.cwd()):
        if path.is_file():
            return path
        looked.append(str(path))
    raise ConfigError(
        f"no botwo configuration found: ${ENV_CONFIG} is not set and there is no "
        + " nor ".join(looked)
        + "; write one (see the configuration reference) or pass config=... to botwo.client"
    )


def load(config: Settings | Mapping[str, Any] | str | os.PathLike[str] | None = None) -> Settings:
    """Settings from a file path, a dict, or (``None``) the file :func:`find_config` finds."""
    if isinstance(config, Settings):
        return config
    if isinstance(config, Mapping):
        return resolve(config, os.environ, "<dict>")
    if config is None:
        config = find_config()
    if not isinstance(config, str | os.PathLike):
        raise ConfigError(f"config must be a path, a dict or botwo.Settings, got {type(config).__name__}")
    return resolve(read_file(config), os.environ, os.fspath(config))
