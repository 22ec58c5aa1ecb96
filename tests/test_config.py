"""Declarative configuration: one schema from TOML, YAML, JSON or a dict; ${VAR} and
BOTWO_CLIENT_* overrides; where ``botwo.client("s3")`` looks; errors that name the file,
the line and the field. The resolving core is pure, so most of this needs no server."""

from __future__ import annotations

import json
import pickle
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import yaml
from hypothesis import given

import botwo
from botwo import ConfigError, CopyConfig, Rule, RuleError
from botwo._config import env_name, find_config, read_file, resolve, user_config_dir
from botwo._redact import safe_endpoint

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

DOCUMENT: dict[str, Any] = {
    "clients": {
        "s3": {"region_name": "us-east-1"},
        "lakefs": {
            "endpoint_url": "https://lakefs.example.com",
            "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "aws_secret_access_key": "${LAKEFS_SECRET}",
            "config": {
                "request_checksum_calculation": "when_required",
                "response_checksum_validation": "when_required",
                "s3": {"addressing_style": "path"},
                "retries": {"max_attempts": 5, "mode": "standard"},
            },
        },
    },
    "mapping": [
        {"bucket_name": "bucket-a", "client": "lakefs", "key_prefix": "dev/"},
        {
            "bucket_name": "example-old-bucket",
            "mapped_bucket_name": "example-repo",
            "client": "lakefs",
            "key_prefix": "main/",
        },
        {"bucket_name": "*", "client": "s3"},
    ],
}

TOML = """\
[clients.s3]
region_name = "us-east-1"

[clients.lakefs]
endpoint_url = "https://lakefs.example.com"
aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"
aws_secret_access_key = "${LAKEFS_SECRET}"

[clients.lakefs.config]
request_checksum_calculation = "when_required"
response_checksum_validation = "when_required"
s3.addressing_style = "path"
retries = { max_attempts = 5, mode = "standard" }

[[mapping]]
bucket_name = "bucket-a"
client = "lakefs"
key_prefix = "dev/"

[[mapping]]
bucket_name = "example-old-bucket"
mapped_bucket_name = "example-repo"
client = "lakefs"
key_prefix = "main/"

[[mapping]]
bucket_name = "*"
client = "s3"
"""

ENV = {"LAKEFS_SECRET": SECRET}


def _resolve(document: Any, environ: dict[str, str] | None = None) -> botwo.Settings:
    return resolve(document, ENV if environ is None else environ, "test.toml")


# -- the schema -----------------------------------------------------------------------


def test_a_document_resolves_to_clients_and_rules() -> None:
    settings = _resolve(DOCUMENT)
    assert list(settings.clients) == ["s3", "lakefs"]
    lakefs = settings.clients["lakefs"]
    assert lakefs.options == {
        "endpoint_url": "https://lakefs.example.com",
        "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key": SECRET,
    }
    assert lakefs.config_options["s3"] == {"addressing_style": "path"}
    config = lakefs.botocore_config()
    assert config is not None
    assert config.retries == {"max_attempts": 5, "mode": "standard"}
    assert config.request_checksum_calculation == "when_required"
    assert settings.clients["s3"].botocore_config() is None
    assert settings.rules[1] == Rule(
        bucket_name="example-old-bucket",
        mapped_bucket_name="example-repo",
        client="lakefs",
        key_prefix="main/",
    )
    assert settings.copy is None


def test_toml_yaml_json_and_a_dict_are_one_schema(tmp_path: Path) -> None:
    files = {
        "c.toml": TOML,
        "c.yaml": yaml.safe_dump(DOCUMENT),
        "c.yml": yaml.safe_dump(DOCUMENT, default_flow_style=True),
        "c.json": json.dumps(DOCUMENT, indent=2),
    }
    expected = _resolve(DOCUMENT)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        got = _resolve(read_file(tmp_path / name))
        assert got == expected, name
        assert got.clients["lakefs"].config_options == expected.clients["lakefs"].config_options


def test_every_rule_field_is_accepted() -> None:
    rule = {
        "bucket_name": "data",
        "client": "lakefs",
        "mapped_bucket_name": "repo",
        "key_prefix": "main/",
        "prefix": "raw/",
        "strip_prefix": True,
        "fallback": ["s3"],
        "fallback_on_unreachable": True,
        "readonly": True,
    }
    assert set(rule) == {f for f in botwo._rules.FIELDS}
    settings = _resolve({**DOCUMENT, "mapping": [rule, {"bucket_name": "*", "client": "s3"}]})
    assert settings.rules[0].to_dict() == rule


def test_every_boto3_client_argument_is_a_field() -> None:
    import inspect

    import boto3.session

    arguments = set(inspect.signature(boto3.session.Session.client).parameters) - {"self", "service_name"}
    assert arguments | {"profile_name"} == set(botwo._config.CLIENT_FIELDS)


def test_the_copy_table_is_a_copy_config() -> None:
    settings = _resolve({**DOCUMENT, "copy": {"part_size": 16 * 2**20, "concurrency": 4}})
    assert settings.copy == CopyConfig(part_size=16 * 2**20, concurrency=4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"clinets": {}}, r"test.toml: unknown field 'clinets' \(did you mean 'clients'\?\)"),
        ({"clients": {}}, r"test.toml: clients: expected a non-empty table"),
        (
            {"clients": {"s3": {"endpoint": "x"}}},
            r"clients.s3: unknown field 'endpoint' \(did you mean 'endpoint_url'",
        ),
        (
            {"clients": {"s3": "http://x"}},
            r"clients.s3: expected a table of boto3.client options, got string",
        ),
        ({"clients": {"s3": {"region_name": 3}}}, r"clients.s3.region_name: expected a string, got int 3"),
        ({"clients": {"s3": {"verify": 3}}}, r"clients.s3.verify: expected true, false or a CA bundle path"),
        ({"clients": {"s3": {"use_ssl": "maybe"}}}, r"clients.s3.use_ssl: expected true or false"),
        (
            {"clients": {"s3": {"config": {"retris": {}}}}},
            r"clients.s3.config: unknown botocore Config option 'retris' \(did you mean 'retries'",
        ),
        (
            {"clients": {"s3": {"config": {"retries": {"mode": "sometimes"}}}}},
            r"clients.s3.config.retries.mode: expected one of legacy, standard, adaptive, got 'sometimes'$",
        ),
        (
            {"clients": {"s3": {"config": {"s3": {"addressing_style": "path"}, "s3.addressing_style": 1}}}},
            r"clients.s3.config",
        ),
        ({"copy": {"part_size": 1}}, r"test.toml: copy: CopyConfig.part_size: must be between"),
        ({"copy": {"parts": 1}}, r"copy: unknown field 'parts'"),
        ({"mapping": {"bucket_name": "*"}}, r"mapping: expected a list of rules, got table"),
    ],
)
def test_bad_fields_are_named(change: dict[str, Any], message: str) -> None:
    document = {**DOCUMENT, **change}
    if change.get("clients"):
        document["mapping"] = [{"bucket_name": "*", "client": "s3"}]
    with pytest.raises(ConfigError, match=message):
        _resolve(document)


def test_a_missing_section_is_named() -> None:
    with pytest.raises(ConfigError, match=r"test\.toml: mapping: is required"):
        _resolve({"clients": DOCUMENT["clients"]})
    with pytest.raises(ConfigError, match=r"test\.toml: expected a table"):
        _resolve([DOCUMENT])


def test_a_bad_rule_names_the_file_index_and_field() -> None:
    mapping = [{"bucket_name": "a", "client": "lakfs"}, {"bucket_name": "*", "client": "s3"}]
    with pytest.raises(RuleError, match=r"^test.toml: mapping\[0\].client: unknown client 'lakfs'") as info:
        _resolve({**DOCUMENT, "mapping": mapping})
    assert (info.value.index, info.value.field, info.value.origin) == (0, "client", "test.toml")
    assert pickle.loads(pickle.dumps(info.value)).args == info.value.args


def test_a_type_error_never_shows_a_secret() -> None:
    clients = {"s3": {"aws_secret_access_key": 12345678987654321}}
    with pytest.raises(ConfigError) as info:
        _resolve({"clients": clients, "mapping": [{"bucket_name": "*", "client": "s3"}]})
    assert "12345678987654321" not in str(info.value)
    assert "<hidden>" in str(info.value)


# -- ${VAR} and the environment ------------------------------------------------------


def test_a_variable_that_is_not_set_is_named() -> None:
    with pytest.raises(
        ConfigError, match=r"clients.lakefs.aws_secret_access_key: \$\{LAKEFS_SECRET\} is not set"
    ):
        _resolve(DOCUMENT, {})


def test_defaults_and_escapes() -> None:
    clients = {"s3": {"endpoint_url": "${URL:-http://localhost:9000}", "region_name": "$${NOT}$HOME"}}
    settings = _resolve({"clients": clients, "mapping": [{"bucket_name": "*", "client": "s3"}]}, {})
    assert settings.clients["s3"].options == {
        "endpoint_url": "http://localhost:9000",
        "region_name": "${NOT}$HOME",
    }
    settings = _resolve(
        {"clients": clients, "mapping": [{"bucket_name": "*", "client": "s3"}]}, {"URL": "http://x"}
    )
    assert settings.clients["s3"].options["endpoint_url"] == "http://x"


def test_a_malformed_reference_is_an_error() -> None:
    clients = {"s3": {"endpoint_url": "${1URL}"}}
    with pytest.raises(ConfigError, match=r"clients.s3.endpoint_url: \$\{1URL\} is not a variable reference"):
        _resolve({"clients": clients, "mapping": [{"bucket_name": "*", "client": "s3"}]}, {})


def test_variables_reach_rules_and_config_options() -> None:
    document = {
        "clients": {"s3": {"config": {"s3": {"addressing_style": "${STYLE}"}}}, "lakefs": {}},
        "mapping": [
            {"bucket_name": "data", "client": "lakefs", "key_prefix": "${BRANCH}/"},
            {"bucket_name": "*", "client": "s3"},
        ],
    }
    settings = _resolve(document, {"STYLE": "virtual", "BRANCH": "main"})
    assert settings.rules[0].key_prefix == "main/"
    assert settings.clients["s3"].config_options == {"s3": {"addressing_style": "virtual"}}


_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="$"), max_size=8)


@given(parts=st.lists(st.tuples(_TEXT, st.text(max_size=8)), max_size=4), tail=_TEXT)
def test_expansion_is_concatenation(parts: list[tuple[str, str]], tail: str) -> None:
    """A template of literal text and ${V0}, ${V1}... expands to the text with the values in
    place, whatever characters the values hold (a value is never expanded again)."""
    environ = {f"V{i}": value for i, (_, value) in enumerate(parts)}
    template = "".join(f"{text}${{V{i}}}" for i, (text, _) in enumerate(parts)) + tail
    expected = "".join(text + value for text, value in parts) + tail
    document = {
        "clients": {"s3": {"region_name": template}},
        "mapping": [{"bucket_name": "*", "client": "s3"}],
    }
    if not expected:
        return
    assert _resolve(document, environ).clients["s3"].options["region_name"] == expected


def test_per_client_overrides_from_the_environment() -> None:
    environ = {
        **ENV,
        "BOTWO_CLIENT_LAKEFS_ENDPOINT_URL": "http://127.0.0.1:8000",
        "BOTWO_CLIENT_LAKEFS_VERIFY": "false",
        "BOTWO_CLIENT_S3_PROFILE_NAME": "prod",
    }
    settings = _resolve(DOCUMENT, environ)
    lakefs = settings.clients["lakefs"]
    assert lakefs.options["endpoint_url"] == "http://127.0.0.1:8000"
    assert lakefs.options["verify"] is False
    assert lakefs.sources["endpoint_url"] == "BOTWO_CLIENT_LAKEFS_ENDPOINT_URL"
    assert lakefs.sources["aws_secret_access_key"] == "$LAKEFS_SECRET"
    assert settings.clients["s3"].profile_name == "prod"


def test_an_override_wins_over_the_file() -> None:
    # The file's ${LAKEFS_SECRET} is not even looked up when the override sets the field.
    environ = {"BOTWO_CLIENT_LAKEFS_AWS_SECRET_ACCESS_KEY": SECRET}
    lakefs = _resolve(DOCUMENT, environ).clients["lakefs"]
    assert lakefs.options["aws_secret_access_key"] == SECRET
    assert lakefs.sources["aws_secret_access_key"] == "BOTWO_CLIENT_LAKEFS_AWS_SECRET_ACCESS_KEY"


def test_client_names_become_environment_names() -> None:
    assert env_name("lake-fs.prod") == "LAKE_FS_PROD"
    document = {
        "clients": {"lake-fs": {}, "s3": {}},
        "mapping": [{"bucket_name": "*", "client": "s3"}],
    }
    settings = _resolve(document, {"BOTWO_CLIENT_LAKE_FS_REGION_NAME": "eu-west-1"})
    assert settings.clients["lake-fs"].options == {"region_name": "eu-west-1"}


@pytest.mark.parametrize(
    ("clients", "environ", "message"),
    [
        (
            {"lakefs": {}},
            {"BOTWO_CLIENT_LAKEFS_ENDPOINT": "x"},
            "BOTWO_CLIENT_LAKEFS_ENDPOINT names no field of client 'lakefs'",
        ),
        ({"lake-fs": {}, "lake_fs": {}}, {}, "have the same environment name BOTWO_CLIENT_LAKE_FS_"),
        (
            {"lakefs": {}},
            {"BOTWO_CLIENT_LAKEFS_USE_SSL": "sometimes"},
            r"clients.lakefs.use_ssl \(from BOTWO_CLIENT_LAKEFS_USE_SSL\)",
        ),
    ],
)
def test_bad_overrides_are_named(clients: dict[str, Any], environ: dict[str, str], message: str) -> None:
    document = {"clients": clients, "mapping": [{"bucket_name": "*", "client": next(iter(clients))}]}
    with pytest.raises(ConfigError, match=message):
        _resolve(document, environ)


def test_an_override_for_another_configuration_is_ignored_with_a_warning() -> None:
    # One environment may serve several configurations (a notebook's scratch dict beside
    # the team's file): a variable naming a client this one does not have is not an error.
    document = {"clients": {"s3": {}}, "mapping": [{"bucket_name": "*", "client": "s3"}]}
    with pytest.warns(
        botwo.ConfigWarning, match=r"BOTWO_CLIENT_LAKFS_ENDPOINT_URL names no configured client"
    ):
        settings = _resolve(document, {"BOTWO_CLIENT_LAKFS_ENDPOINT_URL": "x"})
    assert settings.clients["s3"].options == {}


# -- files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.toml", '[clients.s3]\nregion_name = "x"\nendpoint_url = \n', r"c.toml:3:\d+: invalid TOML"),
        ("c.json", '{\n  "clients": {\n    "s3": {,}\n  }\n}\n', r"c.json:3:\d+: invalid JSON"),
        ("c.yaml", "clients:\n  s3:\n    region_name: [x\nmapping: []\n", r"c.yaml:\d+:\d+: invalid YAML"),
        ("c.yaml", "- just\n- a list\n", r"c.yaml: expected a table"),
        ("c.ini", "[clients]\n", r"c.ini: unknown configuration format '.ini'"),
    ],
)
def test_syntax_errors_name_the_file_and_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_file(tmp_path / name)


def test_yaml_errors_point_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("clients:\n  s3: {}\nmapping:\n  - bucket_name: '*'\n    client: s3\n  bad: [\n")
    with pytest.raises(ConfigError) as info:
        read_file(path)
    line = int(re.search(r"c\.yaml:(\d+):", str(info.value)).group(1))  # type: ignore[union-attr]
    assert line >= 6


# Nine levels of nine aliases: a few hundred bytes that expand to 9**9 values.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BILLION_LAUGHS, r"c\.yaml: YAML aliases expand to more than 100,000 values$"),
        ("a: &x [*x]\n", r"c\.yaml: a YAML alias refers to itself \(the anchor at line 1\)$"),
        (
            "a: &x {<<: *x}\n",
            r"c\.yaml: a YAML alias refers to itself \(the anchor at line 1\)$",
        ),  # merge key
        (
            "clients: {s3: {}}\nmapping: &m\n  - {bucket_name: '*', client: s3, fallback: [*m]}\n",
            r"c\.yaml: a YAML alias refers to itself \(the anchor at line 2\)$",
        ),
    ],
)
def test_hostile_yaml_is_refused_quickly(tmp_path: Path, text: str, message: str) -> None:
    assert len(text.encode()) < 500
    path = tmp_path / "c.yaml"
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=message):
        read_file(path)
    with pytest.raises(ConfigError, match=message):
        botwo.load_config(path)
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    ("name", "template"),
    [
        ("c.toml", "clients = {}\nmapping = DEEP\n"),
        ("c.json", '{"clients": {}, "mapping": DEEP}'),
        ("c.yaml", "mapping: DEEP\n"),
    ],
)
def test_a_file_nested_too_deeply_is_named(tmp_path: Path, name: str, template: str) -> None:
    # Every parser recurses once per level: 10,000 brackets are a RecursionError inside it.
    path = tmp_path / name
    path.write_text(template.replace("DEEP", "[" * 10_000 + "]" * 10_000))
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: nested too deeply"):
        read_file(path)


def test_a_document_nested_too_deeply_is_named() -> None:
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(ConfigError, match=r"^test\.toml: nested too deeply"):
        _resolve(_one_client({"config": {"client_context_params": {"x": deep}}}))


def test_yaml_aliases_within_reason_are_read(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "clients:\n"
        "  a: &minio {endpoint_url: 'http://127.0.0.1:9000', config: {s3: {addressing_style: path}}}\n"
        "  b: *minio\n"
        "  c: {<<: *minio, region_name: eu-west-1}\n"
        "mapping: [{bucket_name: '*', client: a}]\n"
        "copy: {part_size: &mib8 8388608, concurrency: 2}\n"
    )
    settings = botwo.load_config(path)
    assert settings.clients["a"].options == settings.clients["b"].options
    assert settings.clients["c"].options["region_name"] == "eu-west-1"
    assert settings.clients["c"].config_options == {"s3": {"addressing_style": "path"}}


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.toml: no such configuration file"):
        botwo.load_config(tmp_path / "nope.toml")


def test_where_the_configuration_is_found(tmp_path: Path) -> None:
    home, cwd, xdg = tmp_path / "home", tmp_path / "work", tmp_path / "xdg"
    for d in (home, cwd, xdg / "botwo"):
        d.mkdir(parents=True)
    env: dict[str, str] = {"HOME": str(home)}
    with pytest.raises(ConfigError, match=r"no botwo configuration found: \$BOTWO_CONFIG is not set"):
        find_config(env, cwd)
    (home / ".config" / "botwo").mkdir(parents=True)
    (home / ".config" / "botwo" / "botwo.toml").write_text(TOML)
    assert find_config(env, cwd) == home / ".config" / "botwo" / "botwo.toml"
    (xdg / "botwo" / "botwo.toml").write_text(TOML)
    assert find_config({**env, "XDG_CONFIG_HOME": str(xdg)}, cwd) == xdg / "botwo" / "botwo.toml"
    (cwd / "botwo.toml").write_text(TOML)
    assert find_config(env, cwd) == cwd / "botwo.toml"
    (tmp_path / "other.json").write_text(json.dumps(DOCUMENT))
    assert find_config({**env, "BOTWO_CONFIG": str(tmp_path / "other.json")}, cwd) == tmp_path / "other.json"
    with pytest.raises(
        ConfigError, match=r"missing.toml: no such configuration file \(named by \$BOTWO_CONFIG\)"
    ):
        find_config({**env, "BOTWO_CONFIG": str(tmp_path / "missing.toml")}, cwd)


def test_user_config_dir_per_platform(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert user_config_dir(home, "linux") == tmp_path / ".config" / "botwo"
    assert user_config_dir(home, "darwin") == tmp_path / "Library" / "Application Support" / "botwo"
    assert user_config_dir({**home, "APPDATA": str(tmp_path / "AD")}, "win32") == tmp_path / "AD" / "botwo"


def _one_client(table: dict[str, Any], **document: Any) -> dict[str, Any]:
    return {"clients": {"a": table}, "mapping": [{"bucket_name": "*", "client": "a"}], **document}


def test_numbers_and_booleans_come_from_the_environment() -> None:
    """``${VAR}`` makes a string; the number and boolean options take it as one."""
    config = {
        "connect_timeout": "${T}",
        "read_timeout": "${T}",
        "max_pool_connections": "${N}",
        "parameter_validation": "${NO}",
        "tcp_keepalive": " ${YES} ",
        "retries": {"max_attempts": "${N}", "mode": "standard"},
        "retries.total_max_attempts": "${N}",
        "s3.use_accelerate_endpoint": "${NO}",
    }
    copy = {"part_size": "${P}", "concurrency": "${N}", "verify_md5": "${NO}"}
    environ = {"T": "2.5", "N": "7", "NO": "false", "YES": "on", "P": "8388608"}
    settings = _resolve(_one_client({"config": config}, copy=copy), environ)
    assert settings.clients["a"].config_options == {
        "connect_timeout": 2.5,
        "read_timeout": 2.5,
        "max_pool_connections": 7,
        "parameter_validation": False,
        "tcp_keepalive": True,
        "retries": {"max_attempts": 7, "mode": "standard", "total_max_attempts": 7},
        "s3": {"use_accelerate_endpoint": False},
    }
    assert settings.copy == CopyConfig(part_size=8388608, concurrency=7, verify_md5=False)
    client = settings.clients["a"].build()
    assert (client.meta.config.connect_timeout, client.meta.config.max_pool_connections) == (2.5, 7)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            _one_client({"config": {"connect_timeout": "${V}"}}),
            r"^test.toml: clients.a.config.connect_timeout: expected a number, got string 'soon'$",
        ),
        (
            _one_client({"config": {"retries": {"max_attempts": "${V}"}}}),
            r"clients.a.config.retries.max_attempts: expected an integer, got string 'soon'",
        ),
        (
            _one_client({"config": {"parameter_validation": "${V}"}}),
            r"clients.a.config.parameter_validation: expected true or false, got string 'soon'",
        ),
        (
            _one_client({}, copy={"part_size": "${V}"}),
            r"^test.toml: copy.part_size: expected an integer, got string 'soon'$",
        ),
        (
            _one_client({}, copy={"verify_md5": "${V}"}),
            r"copy.verify_md5: expected true or false, got string 'soon'",
        ),
    ],
)
def test_a_number_or_boolean_that_is_not_one_is_named(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _resolve(document, {"V": "soon"})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"s3": "path"}, r"^test.toml: clients.a.config.s3: expected a table, got string$"),
        ({"retries": 3}, r"clients.a.config.retries: expected a table, got int"),
        (
            {"proxies": "http://u:pa55@proxy"},
            r"clients.a.config.proxies: expected a table of scheme or scheme://host -> proxy URL, got str",
        ),
        ({"proxies_config": "x"}, r"clients.a.config.proxies_config: expected a table"),
        ({"client_context_params": "x"}, r"clients.a.config.client_context_params: expected a table"),
        ({"s3.addressing_style": "path", "s3": "x"}, r"clients.a.config.s3: expected a table"),
        (
            {"s3": {"addressing_style": "virtual"}, "s3.addressing_style": "path"},
            r"clients.a.config.s3.addressing_style: is given twice",
        ),
        (
            {"s3.addressing_style": "path", "s3": {"addressing_style": "virtual"}},
            r"clients.a.config.s3.addressing_style: is given twice",
        ),
        ({"connect_timeout.x": 1}, r"clients.a.config.connect_timeout.x: 'connect_timeout' is not a table"),
    ],
)
def test_table_options_must_be_tables(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _resolve(_one_client({"config": config}))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("localhost:9000", "'localhost:9000'"),
        ("127.0.0.1:9000", "'127.0.0.1:9000'"),
        ("htp//user:pa55word@host", "'****@host'"),
        ("ftp://user:pa55word@host", "'ftp://****@host'"),
        ("http://user:pa55word@host:port", "'http://****@host:port'"),
        ("http://user:pa55word@[::1", "'http://****@[::1'"),
        ("http://user:pa55word@bad_host", "'http://****@bad_host'"),
        ("http://user:pa55@word@bad_host", "'http://****@bad_host'"),
        ("", "''"),
    ],
)
def test_an_invalid_endpoint_is_shown_without_its_password(url: str, shown: str) -> None:
    expected = r"^test.toml: clients.a.endpoint_url: expected http\(s\)://host\[:port\], got "
    with pytest.raises(ConfigError, match=expected + re.escape(shown) + "$") as info:
        _resolve(_one_client({"endpoint_url": url}))
    assert "pa55" not in str(info.value) and "user" not in str(info.value)
    override = {"BOTWO_CLIENT_A_ENDPOINT_URL": url}
    from_override = r"clients.a.endpoint_url \(from BOTWO_CLIENT_A_ENDPOINT_URL\)"
    with pytest.raises(ConfigError, match=from_override) as info:
        _resolve(_one_client({}), override)
    assert str(info.value).endswith(f"got {shown}")


@pytest.mark.parametrize(
    "url",
    ["http://localhost:9000", "https://u:p@minio.local/path", "http://[::1]:9000", "HTTP://127.0.0.1"],
)
def test_valid_endpoints_are_accepted(url: str) -> None:
    assert _resolve(_one_client({"endpoint_url": url})).clients["a"].options["endpoint_url"] == url


# -- secrets never shown ---------------------------------------------------------------


def test_repr_and_describe_hide_secrets() -> None:
    settings = _resolve(DOCUMENT)
    lakefs = settings.clients["lakefs"]
    for text in (repr(settings), repr(lakefs), str(lakefs.describe()), repr(settings.clients)):
        assert SECRET not in text
        assert "AKIAIOSFODNN7EXAMPLE" not in text
    assert lakefs.describe()["credentials"] == "access key ****MPLE, secret from $LAKEFS_SECRET"


def test_userinfo_in_an_endpoint_is_not_shown() -> None:
    document = {
        "clients": {"s3": {"endpoint_url": "https://user:pa55@minio.local:9000/x"}},
        "mapping": [{"bucket_name": "*", "client": "s3"}],
    }
    assert _resolve(document).clients["s3"].describe()["endpoint_url"] == "https://minio.local:9000/x"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:p@[::1]:9000", "http://[::1]:9000"),
        ("http://u:p@MinIO.Local:9000/x", "http://MinIO.Local:9000/x"),
        ("http://u:p@host:port", "http://host:port"),
        ("http://u:p:@a@host", "http://host"),
        ("http://[::1", "(invalid URL)"),
    ],
)
def test_an_endpoint_is_shown_as_written_without_userinfo(url: str, shown: str) -> None:
    assert safe_endpoint(url) == shown


def test_an_ipv6_endpoint_is_shown_with_its_brackets() -> None:
    settings = _resolve(_one_client({"endpoint_url": "http://u:p@[::1]:9000"}))
    assert settings.clients["a"].describe()["endpoint_url"] == "http://[::1]:9000"
    assert "http://[::1]:9000" in repr(settings.clients["a"])


def test_client_settings_do_not_pickle_their_secrets() -> None:
    settings = _resolve(DOCUMENT)
    with pytest.raises(TypeError, match=r"ClientSettings \('lakefs'\) cannot be pickled.*botwo.Settings"):
        pickle.dumps(settings.clients["lakefs"])
    assert SECRET.encode() not in pickle.dumps(settings)


#: Every place a secret can be written: a field's dotted name -> a client table with the
#: secret there. The URLs' user:password@ (both parts) is a secret, as botwo._redact says.
SECRET_PLACES: dict[str, Callable[[str], dict[str, Any]]] = {
    "aws_secret_access_key": lambda v: {"aws_access_key_id": "AKIAI0", "aws_secret_access_key": v},
    "aws_session_token": lambda v: {"aws_session_token": v},
    "endpoint_url": lambda v: {"endpoint_url": f"http://user:{v}@127.0.0.1:9"},
    "endpoint_url ": lambda v: {"endpoint_url": f"http://{v}:pw@127.0.0.1:9"},  # the user part
    "config.proxies.https": lambda v: {"config": {"proxies": {"https": f"http://pu:{v}@10.0.0.1:3128"}}},
    "config.proxies.http": lambda v: {"config": {"proxies.http": f"pu:{v}@10.0.0.2:3128"}},
    "config.proxies.http://s3.example.com": lambda v: {
        "config": {"proxies": {"http://s3.example.com": f"//pu:{v}@10.0.0.3:3128"}}
    },
}
#: Text that is in no message, repr or serialization, whatever the secret around it.
SECRET_TEXT = ("s3cr3t", "LITERALSECRET111", "WORDSECRET222", "ENVSECRET333")


@pytest.mark.parametrize("place", SECRET_PLACES)
@pytest.mark.parametrize(
    "secret",
    [
        "${LITERALSECRET111-x}",  # a literal secret that holds "${": not a reference
        "s3cr3t${LITERALSECRET111-x}",
        "s3cr3t${WORDSECRET222}",  # well formed, but not the whole secret: a literal too
        "${WORDSECRET222}s3cr3t",
        "s3cr3t:${WORDSECRET222}",  # after a ":" of the password, not the user's
    ],
)
def test_a_bad_reference_in_a_secret_is_not_shown(place: str, secret: str) -> None:
    with pytest.raises(ConfigError) as info:
        _resolve(_one_client(SECRET_PLACES[place](secret)), {})
    message = str(info.value)
    assert message.startswith(f"test.toml: clients.a.{place.strip()}: ")
    assert "(not shown: a secret" in message
    for text in (message, repr(info.value)):
        assert not any(secret in text for secret in SECRET_TEXT), text


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"aws_secret_access_key": "${SECRET}"}, r"aws_secret_access_key: \$\{SECRET\} is not set"),
        ({"endpoint_url": "http://${USER}:p@h"}, r"endpoint_url: \$\{USER\} is not set"),
        ({"endpoint_url": "http://u:${PASSWORD}@h"}, r"endpoint_url: \$\{PASSWORD\} is not set"),
        ({"endpoint_url": "http://u:p@${HOST}"}, r"endpoint_url: \$\{HOST\} is not set"),
        ({"endpoint_url": "http://u:p@${1HOST}"}, r"endpoint_url: \$\{1HOST\} is not a variable reference"),
        ({"config": {"proxies.https": "${PROXY}"}}, r"config.proxies.https: \$\{PROXY\} is not set"),
    ],
)
def test_a_reference_that_is_a_whole_secret_or_outside_it_is_named(
    table: dict[str, Any], message: str
) -> None:
    # Written the way a reference to a secret is written, or in a URL's host: no secret.
    with pytest.raises(ConfigError, match=message):
        _resolve(_one_client(table), {})


@pytest.mark.parametrize("place", SECRET_PLACES)
@pytest.mark.parametrize(
    "written",
    ["s3cr3t$${LITERALSECRET111-x}", "s3cr3t-${ENVSECRET}", "s3cr3tPLAIN"],
)
def test_a_secret_is_in_no_repr_nor_serialization(
    place: str, written: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fsspec

    monkeypatch.setenv("ENVSECRET", "ENVSECRET333")
    document = _one_client(SECRET_PLACES[place](written))
    settings = botwo.load_config(document)
    s3 = botwo.client("s3", config=settings)
    fs = fsspec.filesystem("botwo", config=document)
    shown = [
        repr(settings),
        repr(settings.clients["a"]),
        str(settings.clients["a"].describe()),
        repr(s3),
        s3._repr_html_(),
        fs.to_json(include_password=False),
        str(fs.storage_options),
        str(fs._fs_token),
        str(fs.fsid),
    ]
    for text in shown:
        assert not any(secret in text for secret in SECRET_TEXT), text
    # Pickles carry the document, so that workers rebuild the client: a secret from the
    # environment travels as its ${VAR} reference; a literal one must travel as written.
    for data in (pickle.dumps(s3), pickle.dumps(fs)):
        assert b"ENVSECRET333" not in data
        assert (b"${ENVSECRET}" in data) == ("${ENVSECRET}" in written)


def test_settings_pickle_as_the_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEFS_SECRET", SECRET)
    settings = botwo.load_config(DOCUMENT)
    data = pickle.dumps(settings)
    assert SECRET.encode() not in data
    assert b"${LAKEFS_SECRET}" in data
    assert pickle.loads(data) == settings
    monkeypatch.setenv("LAKEFS_SECRET", "other")
    assert pickle.loads(data).clients["lakefs"].options["aws_secret_access_key"] == "other"


def test_the_document_is_copied() -> None:
    document = json.loads(json.dumps(DOCUMENT))
    settings = _resolve(document)
    document["mapping"].clear()
    document["clients"]["lakefs"]["endpoint_url"] = "changed"
    assert len(settings.rules) == 3
    assert settings.document["clients"]["lakefs"]["endpoint_url"] == "https://lakefs.example.com"


# -- botwo.client's argument forms ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("sqs",), {}, "botwo routes S3 only"),
        (("s3", [{"bucket_name": "*", "client": "s3"}]), {}, "come from configuration"),
        (("s3",), {"region_name": "eu-west-1"}, r"does not take boto3.client options \(region_name\)"),
        (({"s3": object()}, []), {"config": DOCUMENT}, "not both"),
        (("s3",), {"config": 42}, "config must be a path, a dict or botwo.Settings, got int"),
    ],
)
def test_argument_forms_are_checked(args: tuple[Any, ...], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        botwo.client(*args, **kwargs)


# -- over real servers ------------------------------------------------------------------


def _server_toml(servers: dict[str, Any]) -> str:
    """A configuration of the ``s3`` and ``lake`` servers; secrets as ${VAR} references."""
    out = []
    for name, server in (("s3", servers["s3"]), ("lakefs", servers["lake"])):
        out.append(
            f"[clients.{name}]\n"
            f'endpoint_url = "{server.endpoint_url}"\n'
            f'region_name = "{server.region}"\n'
            f'aws_access_key_id = "{server.access_key}"\n'
            f'aws_secret_access_key = "${{{name.upper()}_SECRET}}"\n'
            f'config = {{ s3 = {{ addressing_style = "path" }} }}\n'
        )
    out.append(
        '[[mapping]]\nbucket_name = "example-old-bucket"\nmapped_bucket_name = "example-repo"\n'
        'client = "lakefs"\nkey_prefix = "main/"\n\n'
        '[[mapping]]\nbucket_name = "data"\nprefix = "raw/"\nclient = "lakefs"\n'
        'mapped_bucket_name = "data-lake"\nkey_prefix = "main/"\nstrip_prefix = true\n\n'
        '[[mapping]]\nbucket_name = "*"\nclient = "s3"\n'
    )
    return "\n".join(out)


@pytest.fixture
def configured(
    servers: dict[str, Any], backends: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A botwo.toml for the ``s3`` and ``lake`` servers, its secrets in the environment, and
    the target buckets created."""
    path = tmp_path / "botwo.toml"
    path.write_text(_server_toml(servers))
    monkeypatch.setenv("S3_SECRET", servers["s3"].secret_key)
    monkeypatch.setenv("LAKEFS_SECRET", servers["lake"].secret_key)
    for bucket in ("example-repo", "data-lake"):
        backends["lake"].create_bucket(Bucket=bucket)
    backends["s3"].create_bucket(Bucket="data")
    return path


def test_the_one_line_swap_reads_botwo_config(
    configured: Path, backends: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOTWO_CONFIG", str(configured))
    s3 = botwo.client("s3")
    s3.put_object(Bucket="example-old-bucket", Key="test/object.txt", Body=b"moved")
    s3.put_object(Bucket="data", Key="raw/x.csv", Body=b"raw")
    s3.put_object(Bucket="data", Key="clean/y.csv", Body=b"clean")
    lake = backends["lake"]
    assert lake.get_object(Bucket="example-repo", Key="main/test/object.txt")["Body"].read() == b"moved"
    assert lake.get_object(Bucket="data-lake", Key="main/x.csv")["Body"].read() == b"raw"
    assert backends["s3"].get_object(Bucket="data", Key="clean/y.csv")["Body"].read() == b"clean"
    listed = s3.list_objects_v2(Bucket="data")
    assert [o["Key"] for o in listed["Contents"]] == ["clean/y.csv", "raw/x.csv"]
    assert s3.settings is not None and s3.settings.origin == str(configured)


def test_the_working_directory_and_the_user_config_dir(
    configured: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOTWO_CONFIG", raising=False)
    monkeypatch.chdir(configured.parent)
    assert botwo.client("s3").settings.origin.endswith("botwo.toml")  # type: ignore[union-attr]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    with pytest.raises(ConfigError, match="no botwo configuration found"):
        botwo.client("s3")
    (tmp_path / "xdg" / "botwo").mkdir(parents=True)
    (tmp_path / "xdg" / "botwo" / "botwo.toml").write_text(configured.read_text())
    s3 = botwo.client("s3")
    assert s3.settings.origin == str(tmp_path / "xdg" / "botwo" / "botwo.toml")  # type: ignore[union-attr]


def test_environment_overrides_reach_the_boto3_client(
    configured: Path, servers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A wrong secret in the file's variable, the right one through the override.
    monkeypatch.setenv("LAKEFS_SECRET", "wrong")
    monkeypatch.setenv("BOTWO_CLIENT_LAKEFS_AWS_SECRET_ACCESS_KEY", servers["lake"].secret_key)
    s3 = botwo.client("s3", config=configured)
    s3.put_object(Bucket="example-old-bucket", Key="k", Body=b"x")
    assert s3.backends["lakefs"].meta.endpoint_url == servers["lake"].endpoint_url
    credentials = s3.backends["lakefs"]._request_signer._credentials
    assert credentials.secret_key == servers["lake"].secret_key
    monkeypatch.delenv("BOTWO_CLIENT_LAKEFS_AWS_SECRET_ACCESS_KEY")
    s3 = botwo.client("s3", config=configured)
    assert s3.backends["lakefs"]._request_signer._credentials.secret_key == "wrong"


def _read_in_worker(args: tuple[Any, str, str]) -> bytes:
    s3, bucket, key = args
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key + ".copy", Body=body)
    return body


def test_a_configured_client_goes_through_a_process_pool(configured: Path, backends: dict[str, Any]) -> None:
    import multiprocessing

    s3 = botwo.client("s3", config=configured)
    keys = [("example-old-bucket", f"part-{i}") for i in range(3)] + [("data", "raw/a"), ("data", "b")]
    for bucket, key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=f"{bucket}/{key}".encode())
    data = pickle.dumps(s3)
    for server_secret in (backends["s3"], backends["lake"]):
        secret = server_secret._request_signer._credentials.secret_key
        assert secret.encode() not in data
    # spawn: the workers share nothing with this process but the pickles and the environment.
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        bodies = pool.map(_read_in_worker, [(s3, b, k) for b, k in keys])
    assert bodies == [f"{b}/{k}".encode() for b, k in keys]
    assert backends["lake"].get_object(Bucket="data-lake", Key="main/a.copy")["Body"].read() == b"data/raw/a"


def test_a_client_of_objects_does_not_pickle(backends: dict[str, Any]) -> None:
    s3 = botwo.client({"s3": backends["s3"]}, [{"bucket_name": "*", "client": "s3"}])
    with pytest.raises(TypeError, match=r"build it from configuration, botwo.client\('s3', config=...\)"):
        pickle.dumps(s3)


def test_a_copy_config_beside_the_configuration_survives_pickling(configured: Path) -> None:
    copy_config = CopyConfig(part_size=8 * 2**20)
    s3 = botwo.client("s3", config=configured, copy_config=copy_config)
    assert pickle.loads(pickle.dumps(s3)).copy_config == copy_config


def test_yaml_and_json_files_build_the_same_client(configured: Path, tmp_path: Path) -> None:
    document = read_file(configured)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(document))
    (tmp_path / "c.json").write_text(json.dumps(document))
    toml_client = botwo.client("s3", config=configured)
    toml_client.put_object(Bucket="data", Key="raw/z", Body=b"z")
    for name in ("c.yaml", "c.json"):
        s3 = botwo.client("s3", config=tmp_path / name)
        assert s3.rules == toml_client.rules
        assert s3.get_object(Bucket="data", Key="raw/z")["Body"].read() == b"z"


def test_a_resource_from_configuration(configured: Path, backends: dict[str, Any]) -> None:
    s3 = botwo.resource("s3", config=configured)
    s3.Object("example-old-bucket", "r.txt").put(Body=b"via resource")
    assert [o.key for o in s3.Bucket("example-old-bucket").objects.all()] == ["r.txt"]
    assert (
        backends["lake"].get_object(Bucket="example-repo", Key="main/r.txt")["Body"].read() == b"via resource"
    )
