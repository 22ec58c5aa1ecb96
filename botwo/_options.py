"""botocore Config options: what each one takes, checked when a configuration is read.

Theory of operation
-------------------
botocore checks few of its options when a ``Config`` is made (the ``s3`` addressing style,
``retries``) and the others when a client is made or a request is sent, if at all: urllib3
refuses a ``connect_timeout`` of ``[1]`` with its own ``ValueError`` when the client is
made, and a ``client_cert`` list (as TOML writes a pair) is silently ignored.
:data:`OPTIONS` says what every option of the installed botocore's
``Config.OPTION_DEFAULTS`` takes, one small validator per option, so that a configuration
is refused when it is loaded, by a message that names the field, what was expected and
what was got (``clients.s3.config.connect_timeout: expected a number, got list``). A test
fails when botocore gains an option the table lacks.

A validator returns the value as botocore takes it: a string (``${VAR}`` always makes one)
converted to the number or boolean expected, a pair given as a list made a tuple, a
``null`` inside a table left out (not set). Where botocore has a list of accepted values
(checksum modes, retry modes, signature versions, ...) the table reads it from botocore.
Nothing here shows a value that is not a scalar, and the proxies' URLs are never shown.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any, Protocol

import attrs
import botocore
import botocore.args
import botocore.auth

__all__ = [
    "DEFAULTS_MODES",
    "OPTIONS",
    "Boolean",
    "Check",
    "ClientCert",
    "InvalidOption",
    "Number",
    "Table",
    "Text",
    "check_options",
    "option_types",
    "parse_bool",
    "type_name",
]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class InvalidOption(ValueError):
    """A value that its option does not take: ``where`` (a dotted path) and the problem."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(where, problem)
        self.where = where
        self.problem = problem


class Check(Protocol):
    """A validator: the value as botocore takes it, or :class:`InvalidOption`."""

    @property
    def expected(self) -> str:
        """What the option takes, as a message and the docs say it."""
        ...

    def __call__(self, value: Any, where: str) -> Any: ...


def type_name(value: object) -> str:
    """A value's type as a configuration's reader says it: table, list, string, boolean..."""
    return {dict: "table", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def parse_bool(value: str) -> bool | None:
    """``true``/``false``/``1``/``0``/``yes``/``no``/``on``/``off`` (any case) as a boolean."""
    lowered = value.strip().lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else None


def _got(value: object) -> str:
    """What was got, for a message: the type, and the value when it is a scalar (a table or
    a list is not shown: it may hold anything, a proxy's password included)."""
    return f"{type_name(value)} {value!r}" if isinstance(value, str | int | float) else type_name(value)


@attrs.frozen
class Text:
    """A string; one of ``choices`` when there are any (compared in lower case when
    botocore lower-cases the value itself); ``also``: other values botocore takes.
    ``named``: what the choices are, when they are too many to list."""

    choices: tuple[str, ...] = ()
    fold_case: bool = False
    also: tuple[object, ...] = ()
    named: str = ""

    @property
    def expected(self) -> str:
        return self.named or (f"one of {', '.join(self.choices)}" if self.choices else "a string")

    def __call__(self, value: Any, where: str) -> Any:
        if any(value is other for other in self.also):
            return value
        if not isinstance(value, str):
            raise InvalidOption(where, f"expected {self.expected}, got {_got(value)}")
        if self.choices and (value.lower() if self.fold_case else value) not in self.choices:
            raise InvalidOption(where, f"expected {self.expected}, got {value!r}")
        return value


@attrs.frozen
class Boolean:
    """``true`` or ``false``; a string as :func:`parse_bool` reads it. ``also``: strings
    botocore takes beside a boolean (``endpoint_discovery_enabled = "auto"``)."""

    also: tuple[str, ...] = ()

    @property
    def expected(self) -> str:
        names = ["true", "false", *map(repr, self.also)]
        return ", ".join(names[:-1]) + " or " + names[-1]

    def __call__(self, value: Any, where: str) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            if value.strip().lower() in self.also:
                return value.strip().lower()
            parsed = parse_bool(value)
            if parsed is not None:
                return parsed
        raise InvalidOption(where, f"expected {self.expected}, got {_got(value)}")


@attrs.frozen
class Number:
    """A number (an integer when ``integer``), not a boolean, within bounds: at least
    ``low`` (more than it when ``above``), at most ``high``; a string is converted."""

    integer: bool = False
    low: int | None = None
    above: bool = False
    high: int | None = None

    @property
    def kind(self) -> str:
        return "an integer" if self.integer else "a number"

    @property
    def expected(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.kind} from {self.low} to {self.high}"
        if self.low is not None:
            return f"{self.kind} {'greater than' if self.above else 'of at least'} {self.low}"
        return self.kind

    def __call__(self, value: Any, where: str) -> Any:
        number = value
        if isinstance(value, str):
            try:
                number = int(value.strip()) if self.integer else float(value.strip())
            except ValueError:
                raise InvalidOption(where, f"expected {self.kind}, got {_got(value)}") from None
        kinds = (int,) if self.integer else (int, float)
        if isinstance(number, bool) or not isinstance(number, kinds) or not math.isfinite(number):
            raise InvalidOption(where, f"expected {self.kind}, got {_got(value)}")
        low_ok = self.low is None or (number > self.low if self.above else number >= self.low)
        if not low_ok or (self.high is not None and number > self.high):
            raise InvalidOption(where, f"expected {self.expected}, got {number!r}")
        return number


@attrs.frozen
class ClientCert:
    """A certificate's path, or the pair (certificate, key) of paths; a list is made the
    tuple botocore wants (it ignores a list)."""

    expected = "a path or a pair of paths [certificate, key]"

    def __call__(self, value: Any, where: str) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
            return (value[0], value[1])
        raise InvalidOption(where, f"expected {self.expected}, got {_got(value)}")


@attrs.frozen
class Table:
    """A table with string keys: ``fields`` checked as their validators say; any other
    key checked by ``values`` when given, refused when ``closed``, else passed on as it
    is (botocore ignores keys it does not read). A ``null`` value is left out."""

    fields: Mapping[str, Check] = attrs.field(factory=dict)
    values: Check | None = None
    closed: bool = False
    describe_values: str = ""

    @property
    def expected(self) -> str:
        return f"a table of {self.describe_values}" if self.describe_values else "a table"

    def __call__(self, value: Any, where: str) -> Any:
        if not isinstance(value, Mapping):
            raise InvalidOption(where, f"expected {self.expected}, got {type_name(value)}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidOption(where, f"expected names that are strings, got {_got(key)}")
            if item is None:
                continue
            check = self.fields.get(key, self.values)
            if check is None and self.closed:
                close = difflib.get_close_matches(key, list(self.fields), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise InvalidOption(
                    f"{where}.{key}",
                    f"unknown option {key!r}{hint}; the options are {', '.join(self.fields)}",
                )
            out[key] = check(item, f"{where}.{key}") if check is not None else item
        return out


# -- the table ----------------------------------------------------------------------

_STRING = Text()
_BOOLEAN = Boolean()
_TIMEOUT = Number(low=0, above=True)

#: The ``defaults_mode`` values (botocore reads them from its sdk-default-configuration
#: data file, with ``legacy``; a test compares the two).
DEFAULTS_MODES = ("legacy", "standard", "in-region", "cross-region", "mobile", "auto")

#: What every botocore Config option takes (a test compares the names with the installed
#: botocore's ``Config.OPTION_DEFAULTS``).
OPTIONS: dict[str, Check] = {
    "region_name": _STRING,
    "signature_version": Text(
        # The signer looks the name up there (signers.RequestSigner.get_auth_instance).
        choices=tuple(botocore.auth.AUTH_TYPE_MAPS),
        also=(botocore.UNSIGNED,),
        named="a name in botocore.auth.AUTH_TYPE_MAPS (s3v4, v4, ...) or botocore.UNSIGNED",
    ),
    "user_agent": _STRING,
    "user_agent_extra": _STRING,
    "user_agent_appid": _STRING,
    "connect_timeout": _TIMEOUT,
    "read_timeout": _TIMEOUT,
    "parameter_validation": _BOOLEAN,
    "max_pool_connections": Number(integer=True, low=1),
    "proxies": Table(values=_STRING, describe_values="scheme or scheme://host -> proxy URL"),
    "proxies_config": Table(
        {
            "proxy_ca_bundle": _STRING,
            "proxy_client_cert": ClientCert(),
            "proxy_use_forwarding_for_https": _BOOLEAN,
        }
    ),
    "s3": Table(
        {
            "addressing_style": Text(choices=("auto", "virtual", "path")),
            "use_accelerate_endpoint": _BOOLEAN,
            "payload_signing_enabled": _BOOLEAN,
            "us_east_1_regional_endpoint": Text(choices=tuple(botocore.args.VALID_REGIONAL_ENDPOINTS_CONFIG)),
            "use_dualstack_endpoint": _BOOLEAN,
            "use_arn_region": _BOOLEAN,
            "s3_disable_multiregion_access_points": _BOOLEAN,
            "s3_disable_express_session_auth": _BOOLEAN,
            # The name botocore's args.py reads, beside the documented one above.
            "disable_s3_express_session_auth": _BOOLEAN,
        }
    ),
    "s3_disable_express_session_auth": _BOOLEAN,
    "retries": Table(
        {
            "max_attempts": Number(integer=True, low=0),
            "total_max_attempts": Number(integer=True, low=1),
            "mode": Text(choices=("legacy", "standard", "adaptive")),
        },
        closed=True,
    ),
    "client_cert": ClientCert(),
    "inject_host_prefix": _BOOLEAN,
    "endpoint_discovery_enabled": Boolean(also=("auto",)),
    "use_dualstack_endpoint": _BOOLEAN,
    "use_fips_endpoint": _BOOLEAN,
    "ignore_configured_endpoint_urls": _BOOLEAN,
    "defaults_mode": Text(choices=DEFAULTS_MODES, fold_case=True),
    "tcp_keepalive": _BOOLEAN,
    # botocore's own bounds (args.py _validate_min_compression_size).
    "request_min_compression_size_bytes": Number(integer=True, low=1, high=1048576),
    "disable_request_compression": _BOOLEAN,
    "client_context_params": Table(),
    "sigv4a_signing_region_set": _STRING,
    "request_checksum_calculation": Text(
        choices=botocore.args.VALID_REQUEST_CHECKSUM_CALCULATION_CONFIG, fold_case=True
    ),
    "response_checksum_validation": Text(
        choices=botocore.args.VALID_RESPONSE_CHECKSUM_VALIDATION_CONFIG, fold_case=True
    ),
    "account_id_endpoint_mode": Text(
        choices=botocore.args.VALID_ACCOUNT_ID_ENDPOINT_MODE_CONFIG, fold_case=True
    ),
    "auth_scheme_preference": _STRING,
}


def check_options(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A ``config`` table (dotted names already nested) checked and converted option by
    option; ``null`` options left out. An option this table does not know is passed on
    for botocore to check. Raises :class:`InvalidOption`."""
    out: dict[str, Any] = {}
    for name, value in options.items():
        if value is None:
            continue
        check = OPTIONS.get(name)
        out[name] = check(value, f"{where}.{name}") if check is not None else value
    return out


def option_types() -> list[tuple[str, str]]:
    """(option, what it takes) for every option and every known key of a table option
    (as ``s3.addressing_style``): the reference table of the docs."""
    rows: list[tuple[str, str]] = []
    for name, check in OPTIONS.items():
        rows.append((name, check.expected))
        if isinstance(check, Table):
            rows += [(f"{name}.{key}", inner.expected) for key, inner in check.fields.items()]
    return rows
