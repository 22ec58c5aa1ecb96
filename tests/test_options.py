"""botocore Config options: every option of the installed botocore has a type, a wrong
value is a ConfigError naming the field when the configuration is loaded, a right one
reaches the boto3 client as botocore takes it, and the docs' table is the code's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from botwo import ConfigError
from botwo._config import resolve
from botwo._options import DEFAULTS_MODES, OPTIONS, Check, Number, Table, option_types

DOCS = Path(__file__).parent.parent / "docs" / "config.md"


def _resolve(config: dict[str, Any], environ: dict[str, str] | None = None) -> Any:
    document = {"clients": {"a": {"config": config}}, "mapping": [{"bucket_name": "*", "client": "a"}]}
    return resolve(document, environ or {}, "test.toml")


def _at(path: str, value: Any) -> dict[str, Any]:
    """A ``config`` table with ``value`` at the dotted ``path``, nested."""
    head, _, rest = path.partition(".")
    return {head: _at(rest, value) if rest else value}


def _check_at(path: str) -> Check:
    head, _, rest = path.partition(".")
    check = OPTIONS[head]
    return check.fields[rest] if rest and isinstance(check, Table) else check


def test_every_botocore_option_has_a_type() -> None:
    # A newer botocore's new option fails here until OPTIONS says what it takes.
    assert list(OPTIONS) == list(Config.OPTION_DEFAULTS)


def test_the_defaults_modes_are_botocores() -> None:
    resolver = botocore.session.get_session()._get_internal_component("default_config_resolver")
    assert sorted(DEFAULTS_MODES) == sorted(resolver.get_default_modes())


@pytest.mark.parametrize(("path", "expected"), option_types(), ids=[p for p, _ in option_types()])
def test_a_list_where_no_option_takes_one_is_named(path: str, expected: str) -> None:
    check = _check_at(path)
    if isinstance(check, Number):  # the kind first; the bounds are for a number
        expected = check.kind
    message = (
        rf"^test\.toml: clients\.a\.config\.{re.escape(path)}: expected {re.escape(expected)}, got list$"
    )
    with pytest.raises(ConfigError, match=message):
        _resolve(_at(path, [1]))
    if "." in path:  # the same as a dotted name
        with pytest.raises(ConfigError, match=message):
            _resolve({path: [1]})


#: One wrong value of every option, and what is said about it.
WRONG: dict[str, tuple[Any, str]] = {
    "region_name": (1, "expected a string, got int 1"),
    "signature_version": ("v5", r"expected a name in botocore\.auth\.AUTH_TYPE_MAPS .*, got 'v5'"),
    "user_agent": ({"a": 1}, "expected a string, got table"),
    "user_agent_extra": (True, "expected a string, got boolean True"),
    "user_agent_appid": (1.5, "expected a string, got float 1.5"),
    "connect_timeout": ([1], "expected a number, got list"),
    "read_timeout": (True, "expected a number, got boolean True"),
    "parameter_validation": ("maybe", "expected true or false, got string 'maybe'"),
    "max_pool_connections": (0, "expected an integer of at least 1, got 0"),
    "proxies": ({"https": 3128}, "expected a string, got int 3128"),
    "proxies_config": (
        {"proxy_client_cert": ["c.pem"]},
        r"expected a path or a pair of paths \[certificate, key\], got list",
    ),
    "s3": ({"addressing_style": "sideways"}, "expected one of auto, virtual, path, got 'sideways'"),
    "s3_disable_express_session_auth": (2, "expected true or false, got int 2"),
    "retries": (
        {"max_retries": 3},
        r"unknown option 'max_retries' \(did you mean 'max_attempts'\?\); the options are max_attempts, ",
    ),
    "client_cert": (
        ["c.pem", "k.pem", "x"],
        r"expected a path or a pair of paths \[certificate, key\], got list",
    ),
    "inject_host_prefix": ("sometimes", "expected true or false, got string 'sometimes'"),
    "endpoint_discovery_enabled": ("sometimes", "expected true, false or 'auto', got string 'sometimes'"),
    "use_dualstack_endpoint": (1, "expected true or false, got int 1"),
    "use_fips_endpoint": ("fips", "expected true or false"),
    "ignore_configured_endpoint_urls": (0.0, "expected true or false, got float 0.0"),
    "defaults_mode": (
        "fast",
        "expected one of legacy, standard, in-region, cross-region, mobile, auto, got 'fast'",
    ),
    "tcp_keepalive": ({}, "expected true or false, got table"),
    "request_min_compression_size_bytes": (2**21, "expected an integer from 1 to 1048576, got 2097152"),
    "disable_request_compression": ("-", "expected true or false"),
    "client_context_params": ("x", "expected a table, got string"),
    "sigv4a_signing_region_set": (["us-east-1"], "expected a string, got list"),
    "request_checksum_calculation": ("always", "expected one of when_supported, when_required, got 'always'"),
    "response_checksum_validation": ("never", "expected one of when_supported, when_required, got 'never'"),
    "account_id_endpoint_mode": (
        "sometimes",
        "expected one of preferred, disabled, required, got 'sometimes'",
    ),
    "auth_scheme_preference": (["sigv4"], "expected a string, got list"),
}


def test_every_option_has_a_wrong_value_below() -> None:
    assert set(WRONG) == set(Config.OPTION_DEFAULTS)


@pytest.mark.parametrize("name", WRONG)
def test_a_wrong_value_is_named_when_the_configuration_is_loaded(name: str) -> None:
    value, message = WRONG[name]
    with pytest.raises(ConfigError, match=rf"^test\.toml: clients\.a\.config\.{name}(\.\w+)?: {message}"):
        _resolve({name: value})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"connect_timeout": 0}, r"connect_timeout: expected a number greater than 0, got 0$"),
        ({"read_timeout": -1.5}, r"read_timeout: expected a number greater than 0, got -1.5$"),
        ({"read_timeout": "${V}"}, r"read_timeout: expected a number, got string 'inf'$"),
        ({"max_pool_connections": 2.0}, r"max_pool_connections: expected an integer, got float 2.0$"),
        ({"retries.max_attempts": -1}, r"retries.max_attempts: expected an integer of at least 0, got -1$"),
        (
            {"retries": {"total_max_attempts": 0}},
            r"total_max_attempts: expected an integer of at least 1, got 0$",
        ),
        ({"retries": {"mode": "sometimes"}}, r"retries.mode: expected one of legacy, standard, adaptive"),
        (
            {"s3": {"us_east_1_regional_endpoint": "global"}},
            r"expected one of legacy, regional, got 'global'$",
        ),
        ({"s3": {"use_accelerate_endpoint": "fast"}}, r"s3.use_accelerate_endpoint: expected true or false"),
        ({"proxies": {1: "http://p:3128"}}, r"config.proxies: expected names that are strings, got int 1$"),
        ({"proxies": {"https": ["http://u:pa55@p"]}}, r"config.proxies.https: expected a string, got list$"),
    ],
)
def test_numbers_ranges_and_choices_are_checked(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        _resolve(config, {"V": "inf"})
    assert "pa55" not in str(info.value)


#: A right value of every option, as a file would write it.
RIGHT: dict[str, Any] = {
    "region_name": "eu-west-1",
    "signature_version": "s3v4",
    "user_agent": "botwo-test",
    "user_agent_extra": "extra/1",
    "user_agent_appid": "app",
    "connect_timeout": 2,
    "read_timeout": "${READ_TIMEOUT}",
    "parameter_validation": "${NO}",
    "max_pool_connections": 3,
    "proxies": {"https": "http://10.0.0.1:3128", "http": None},
    "proxies_config": {
        "proxy_ca_bundle": "/ca.pem",
        "proxy_client_cert": ["/c.pem", "/k.pem"],
        "proxy_use_forwarding_for_https": "yes",
    },
    "s3": {
        "addressing_style": "path",
        "use_accelerate_endpoint": False,
        "payload_signing_enabled": True,
        "us_east_1_regional_endpoint": "regional",
        "use_dualstack_endpoint": False,
        "use_arn_region": True,
        "s3_disable_multiregion_access_points": False,
        "s3_disable_express_session_auth": True,
        "disable_s3_express_session_auth": True,
    },
    "s3_disable_express_session_auth": True,
    "retries": {"max_attempts": 0, "total_max_attempts": "${ONE}", "mode": "adaptive"},
    "client_cert": ["/c.pem", "/k.pem"],
    "inject_host_prefix": False,
    "endpoint_discovery_enabled": "AUTO",
    "use_dualstack_endpoint": False,
    "use_fips_endpoint": False,
    "ignore_configured_endpoint_urls": True,
    "defaults_mode": "standard",
    "tcp_keepalive": True,
    "request_min_compression_size_bytes": 1048576,
    "disable_request_compression": True,
    "client_context_params": {"disable_s3_express_session_auth": True},
    "sigv4a_signing_region_set": "*",
    "request_checksum_calculation": "WHEN_REQUIRED",
    "response_checksum_validation": "when_supported",
    "account_id_endpoint_mode": "disabled",
    "auth_scheme_preference": "sigv4",
}


def test_every_option_takes_a_right_value_as_botocore_does() -> None:
    assert set(RIGHT) == set(Config.OPTION_DEFAULTS)
    settings = _resolve(RIGHT, {"READ_TIMEOUT": "2.5", "NO": "off", "ONE": "1"})
    options = settings.clients["a"].config_options
    assert options["read_timeout"] == 2.5 and options["parameter_validation"] is False
    assert options["retries"] == {"max_attempts": 0, "total_max_attempts": 1, "mode": "adaptive"}
    assert options["client_cert"] == ("/c.pem", "/k.pem")  # botocore ignores a list
    assert options["proxies_config"]["proxy_client_cert"] == ("/c.pem", "/k.pem")
    assert options["proxies_config"]["proxy_use_forwarding_for_https"] is True
    assert options["proxies"] == {"https": "http://10.0.0.1:3128"}  # null: not set
    assert options["endpoint_discovery_enabled"] == "auto"
    client = settings.clients["a"].build()
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout, config.max_pool_connections) == (2, 2.5, 3)
    assert config.client_cert == ("/c.pem", "/k.pem")
    assert config.request_checksum_calculation == "when_required"  # botocore lower-cases it
    assert config.s3["addressing_style"] == "path"


def test_a_null_option_is_not_set() -> None:
    settings = _resolve({"connect_timeout": None, "retries": {"mode": None}, "s3.addressing_style": None})
    assert settings.clients["a"].config_options == {"retries": {}}
    with pytest.raises(ConfigError, match=r"unknown botocore Config option 'conect_timeout'"):
        _resolve({"conect_timeout": None})


def test_the_docs_table_is_the_option_table() -> None:
    text = DOCS.read_text()
    start = text.index("<!-- The rows below are botwo._options.option_types()")
    table = text[start:].split("\n\n")[1]
    rows = [
        tuple(cell.strip().strip("`") for cell in line.strip("|").split(" | ")) for line in table.splitlines()
    ]
    assert rows[0] == ("Option", "Takes")
    assert rows[2:] == option_types()
