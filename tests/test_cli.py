"""The operator commands: ``botwo check``, ``route``, ``ls``, ``cp``, ``rm``.

End to end, the CLI runs as a user runs it (``python -m botwo ...`` in a subprocess)
over the ``s3`` and ``lake`` fixture servers, configured by a TOML file whose secrets
are ``${VAR}`` references set in the subprocess's environment. What landed is checked
on each backend with its own boto3 client. Fewer-wiring cases call ``main()`` in this
process; the aws-shaped line formatters and the lints are tested as pure functions.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs
import boto3
import pytest

import botwo
from botwo import _awsfmt, _check, _cli, _redact
from botwo.__main__ import main
from botwo._awsfmt import S3Url
from botwo.testing import LocalS3Server

ROOT = Path(__file__).resolve().parent.parent

MAPPING: list[dict[str, Any]] = [
    {
        "bucket_name": "example-old-bucket",
        "mapped_bucket_name": "example-repo",
        "client": "lake",
        "key_prefix": "main/",
    },
    {
        "bucket_name": "data",
        "prefix": "raw/",
        "client": "lake",
        "mapped_bucket_name": "data-lake",
        "key_prefix": "main/",
        "strip_prefix": True,
    },
    {"bucket_name": "data", "prefix": "frozen/", "client": "s3", "readonly": True},
    {"bucket_name": "*", "client": "s3"},
]
#: The target buckets of MAPPING, per client.
BUCKETS = {"lake": ("example-repo", "data-lake"), "s3": ("data", "test-bucket")}


# -- writing a configuration -------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"


def toml_document(clients: dict[str, dict[str, Any]], mapping: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for name, table in clients.items():
        lines.append(f"[clients.{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
    for rule in mapping:
        lines.append("[[mapping]]")
        lines += [f"{k} = {_toml(v)}" for k, v in rule.items()]
    return "\n".join(lines) + "\n"


def client_table(endpoint: str, access_key: str, secret_var: str) -> dict[str, Any]:
    return {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": access_key,
        "aws_secret_access_key": "${" + secret_var + "}",
        "config": {"s3": {"addressing_style": "path"}, "retries": {"mode": "standard"}},
    }


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@attrs.define
class Cli:
    """The command line over the fixture servers: a config file, an environment, a cwd."""

    servers: dict[str, LocalS3Server]
    directory: Path
    env: dict[str, str]
    config: Path

    def write(self, clients: dict[str, dict[str, Any]], mapping: list[dict[str, Any]], name: str) -> Path:
        path = self.directory / name
        path.write_text(toml_document(clients, mapping), encoding="utf-8")
        return path

    def tables(self) -> dict[str, dict[str, Any]]:
        return {
            name: client_table(server.endpoint_url, server.access_key, f"{name.upper()}_SECRET")
            for name, server in self.servers.items()
        }

    def run(self, *args: str, stdin: bytes = b"", config: bool = True) -> Result:
        """``python -m botwo ARGS --config FILE`` in a subprocess."""
        argv = [sys.executable, "-m", "botwo", *args, *(["--config", str(self.config)] if config else [])]
        done = subprocess.run(
            argv, input=stdin, capture_output=True, cwd=self.directory, env=self.env, timeout=120, check=False
        )
        return Result(done.returncode, done.stdout.decode(), done.stderr.decode())

    def backend(self, name: str) -> Any:
        return self.servers[name].client()


@pytest.fixture
def cli(backends: dict[str, Any], servers: dict[str, LocalS3Server], tmp_path: Path) -> Cli:
    """Reset servers holding MAPPING's target buckets, and a config file for them."""
    for name, buckets in BUCKETS.items():
        for bucket in buckets:
            backends[name].create_bucket(Bucket=bucket)
    used = {"s3": servers["s3"], "lake": servers["lake"]}
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTWO_")}
    env.update(
        S3_SECRET=used["s3"].secret_key,
        LAKE_SECRET=used["lake"].secret_key,
        TZ="UTC",
        PYTHONPATH=str(ROOT),
    )
    work = tmp_path / "work"
    work.mkdir()
    made = Cli(used, work, env, tmp_path / "botwo.toml")
    made.config.write_text(toml_document(made.tables(), MAPPING), encoding="utf-8")
    return made


@pytest.fixture
def run_main(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> Callable[..., Result]:
    """``main(ARGS)`` in this process, with the subprocess's environment and cwd."""
    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(cli.directory)

    def run(*args: str, config: Path | None = None) -> Result:
        capsysbinary.readouterr()
        code = main([*args, "--config", str(config or cli.config)])
        captured = capsysbinary.readouterr()
        return Result(code, captured.out.decode(), captured.err.decode())

    return run


def _put(client: Any, bucket: str, key: str, body: bytes) -> None:
    client.put_object(Bucket=bucket, Key=key, Body=body)


def _get(client: Any, bucket: str, key: str) -> bytes:
    data: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def _keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


# -- a stand-in server for what moto does not do ---------------------------------------------


def _error_xml(code: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>stub says {code}</Message><RequestId>1</RequestId></Error>"
    ).encode()


@contextlib.contextmanager
def stub_s3(answers: dict[tuple[str, str], int], default: tuple[int, str]) -> Iterator[str]:
    """An HTTP server that answers S3 requests with fixed statuses.

    The local servers hold one user that may do anything, so credentials that may not
    list buckets are played by this stub: ``answers`` maps (method, path) to a status
    (HEAD and 200 answers have no body); anything else gets ``default`` (status, error
    code).
    """

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            path = self.path.split("?")[0]
            status = answers.get((self.command, path))
            code = None
            if status is None:
                status, code = default
            body = b"" if self.command == "HEAD" else _error_xml(code or "NoSuchBucket")
            if status == 200 and self.command != "HEAD":
                body = b'<?xml version="1.0"?><ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>'
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_PUT = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed: connections are refused


# -- check ----------------------------------------------------------------------------------


def test_check_ok_shows_every_client_and_no_secret(cli: Cli) -> None:
    result = cli.run("check")
    assert result.code == 0, result
    for name, server in cli.servers.items():
        line = next(line for line in result.out.splitlines() if line.strip().startswith(f"{name} "))
        assert server.endpoint_url in line
        assert " ok " in line
        assert f"secret from ${name.upper()}_SECRET" in line
    assert "example-old-bucket" in result.out  # the rule table
    assert result.out.splitlines()[-1].startswith("OK: 2 clients, 4 rules; 0 errors")
    for server in cli.servers.values():
        assert server.secret_key not in result.out + result.err


@pytest.mark.parametrize(
    ("field", "wrong", "code"),
    [
        ("aws_secret_access_key", "wrong-secret-value-1234", "SignatureDoesNotMatch"),
        ("aws_access_key_id", "AKUNKNOWNKEY0001", "InvalidAccessKeyId"),
    ],
)
def test_check_names_the_client_whose_credentials_are_rejected(
    cli: Cli, field: str, wrong: str, code: str
) -> None:
    # The real lake server: it refuses what S3 would refuse.
    if field == "aws_secret_access_key":
        cli.env["LAKE_SECRET"] = wrong
    else:
        tables = cli.tables()
        tables["lake"][field] = wrong
        cli.config = cli.write(tables, MAPPING, "wrong.toml")
    result = cli.run("check")
    assert result.code == 1, result
    lake = next(line for line in result.out.splitlines() if line.strip().startswith("lake "))
    assert "FAIL" in lake and f"credentials rejected ({code})" in lake
    s3 = next(line for line in result.out.splitlines() if line.strip().startswith("s3 "))
    assert " ok " in s3
    assert result.out.splitlines()[-1].startswith("FAILED: 2 clients (1 failed: lake), 4 rules")
    assert cli.servers["lake"].secret_key not in result.out + result.err
    if field == "aws_secret_access_key":
        assert wrong not in result.out + result.err


def test_check_fails_on_an_unreachable_endpoint(cli: Cli) -> None:
    tables = cli.tables()
    tables["lake"]["endpoint_url"] = f"http://127.0.0.1:{_closed_port()}"
    cli.config = cli.write(tables, MAPPING, "gone.toml")
    result = cli.run("check", "--timeout", "2")
    assert result.code == 1, result
    lake = next(line for line in result.out.splitlines() if line.strip().startswith("lake "))
    assert "FAIL" in lake and "unreachable" in lake
    assert "(1 failed: lake)" in result.out.splitlines()[-1]


def test_check_never_prints_an_endpoint_password(cli: Cli) -> None:
    tables = cli.tables()
    tables["lake"]["endpoint_url"] = f"http://user:pa55word@127.0.0.1:{_closed_port()}"
    cli.config = cli.write(tables, MAPPING, "userinfo.toml")
    for args in (("check", "--timeout", "2"), ("check", "--timeout", "2", "--json")):
        result = cli.run(*args)
        assert result.code == 1, result
        assert "unreachable" in result.out and "127.0.0.1" in result.out
        assert "pa55word" not in result.out + result.err


def test_ls_never_prints_an_endpoint_password(cli: Cli) -> None:
    tables = cli.tables()
    tables["s3"]["endpoint_url"] = "http://user:pa55word@127.0.0.1:1"
    tables["s3"]["config"] = {"connect_timeout": 1, "retries": {"total_max_attempts": 1}}
    cli.config = cli.write(tables, MAPPING, "userinfo.toml")
    result = cli.run("ls", "s3://bucket/x/")
    assert result.code == 1, result
    assert result.err.startswith("fatal error: Could not connect to the endpoint URL"), result
    assert "127.0.0.1:1" in result.err and "pa55word" not in result.out + result.err


def test_errors_end_with_the_client_that_failed(cli: Cli, run_main: Callable[..., Result]) -> None:
    tables = cli.tables()
    with stub_s3({}, default=(403, "SignatureDoesNotMatch")) as endpoint:
        tables["lake"]["endpoint_url"] = endpoint
        rejected = run_main("ls", "s3://example-old-bucket/", config=cli.write(tables, MAPPING, "wrong.toml"))
    assert rejected.code == 1, rejected
    assert rejected.err.startswith("fatal error: An error occurred (SignatureDoesNotMatch)"), rejected
    assert rejected.err.endswith(" [client 'lake']\n"), rejected
    tables = cli.tables()
    tables["lake"]["endpoint_url"] = f"http://127.0.0.1:{_closed_port()}"
    tables["lake"]["config"] = {"connect_timeout": 1, "retries": {"total_max_attempts": 1}}
    gone = cli.write(tables, MAPPING, "gone.toml")
    unreachable = run_main("ls", "s3://data/", config=gone)  # a merged listing: s3 answers, lake not
    assert unreachable.code == 1, unreachable
    assert unreachable.err.startswith("fatal error: Could not connect to the endpoint URL"), unreachable
    assert unreachable.err.endswith(" [client 'lake']\n"), unreachable
    buckets = run_main("ls", config=gone)
    assert buckets.code == 1 and buckets.err.endswith(" [client 'lake']\n"), buckets
    (cli.directory / "f.txt").write_text("f")
    upload = run_main("cp", "f.txt", "s3://example-old-bucket/f.txt", config=gone)
    assert upload.code == 1 and upload.err.startswith("upload failed: ./f.txt to s3://example-old-bucket/f.txt")
    assert upload.err.endswith(" [client 'lake']\n"), upload


def test_a_key_a_bulk_delete_could_not_delete_names_its_client(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = cli.tables()
    tables["lake"]["endpoint_url"] = f"http://127.0.0.1:{_closed_port()}"
    tables["lake"]["config"] = {"connect_timeout": 1, "retries": {"total_max_attempts": 1}}
    for name in ("S3_SECRET", "LAKE_SECRET"):
        os.environ[name] = cli.env[name]  # restored after the test (conftest)
    s3 = botwo.client("s3", config=cli.write(tables, MAPPING, "gone.toml"))
    _put(cli.backend("s3"), "data", "kept/a", b"x")
    report = _cli.Reporter()
    # One request per backend: s3's part is deleted, lake's fails and says whose it was.
    _cli._delete_batch(s3, S3Url("data", ""), ["kept/a", "raw/b"], report)
    captured = capsys.readouterr()
    assert captured.out == "delete: s3://data/kept/a\n"
    assert captured.err.startswith("delete failed: s3://data/raw/b An error occurred (ServiceUnavailable)")
    assert captured.err.endswith(" [client 'lake']\n"), captured.err


def test_cp_of_a_missing_key_says_so_as_aws_does(run_main: Callable[..., Result]) -> None:
    # aws s3 cp's own words for a missing source (its HeadObject answers a bare 404).
    missing = run_main("cp", "s3://example-old-bucket/dir/nope.txt", "here.txt")
    assert missing.code == 1
    assert missing.err == (
        "fatal error: An error occurred (404) when calling the HeadObject operation: "
        "Key \"dir/nope.txt\" does not exist [client 'lake']\n"
    )
    streamed = run_main("cp", "s3://data/nope.txt", "-")
    assert streamed.err == (
        "fatal error: An error occurred (404) when calling the HeadObject operation: "
        "Key \"nope.txt\" does not exist [client 's3']\n"
    )


def test_reason_takes_userinfo_out_of_urls() -> None:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import EndpointConnectionError

    err = EndpointConnectionError(endpoint_url="http://user:pa55word@127.0.0.1:1/bucket/x")
    assert _cli.reason(err) == 'Could not connect to the endpoint URL: "http://127.0.0.1:1/bucket/x"'
    try:
        raise S3UploadFailedError("Failed to upload f to b/k: ...") from err
    except S3UploadFailedError as wrapped:
        assert "pa55word" not in _cli.reason(wrapped) and "//127.0.0.1:1/bucket/x" in _cli.reason(wrapped)
    assert _cli.reason(ValueError("see https://u:p%40ss@host/a and http://host/b")) == (
        "see https://host/a and http://host/b"
    )


def test_check_bad_config_exits_2_naming_the_field(cli: Cli, run_main: Callable[..., Result]) -> None:
    mapping = [dict(MAPPING[0]), {"bucket_name": "*", "client": "s3", "keyprefix": "x/"}]
    cli.config = cli.write(cli.tables(), mapping, "bad.toml")
    result = cli.run("check")
    assert result.code == 2, result
    assert "mapping[1].keyprefix" in result.err and "did you mean 'key_prefix'" in result.err
    assert str(cli.config) in result.err
    assert result.out == ""
    as_json = run_main("check", "--json", config=cli.config)
    assert as_json.code == 2
    assert json.loads(as_json.out) == {
        "ok": False,
        "exit_code": 2,
        "error": as_json.err.split(": ", 1)[1].strip(),
    }
    other = run_main("ls", config=cli.config)  # every command: exit 2, the same message
    assert other.code == 2 and "mapping[1].keyprefix" in other.err


def test_check_lints_shadowed_rules_and_unreached_buckets(cli: Cli) -> None:
    mapping = [
        {"bucket_name": "logs-*", "client": "s3"},
        {"bucket_name": "logs-2024", "client": "lake"},  # never matches
        {"bucket_name": "tmp-*", "client": "lake"},
        *MAPPING,
    ]
    cli.config = cli.write(cli.tables(), mapping, "lint.toml")
    cli.backend("lake").create_bucket(Bucket="stray-repo")
    cli.backend("s3").create_bucket(Bucket="logs-2024")  # where logs-2024 really goes
    result = cli.run("check", "--strict")
    assert result.code == 1, result  # warnings only: 1 because of --strict
    problems = result.out.split("problems:")[1]
    assert "warning  mapping[1] ({'bucket_name': 'logs-2024', 'client': 'lake'}) can never match" in problems
    assert "client 'lake' has 1 bucket(s) that no rule reaches: stray-repo" in problems
    assert "note     mapping[2]: bucket_name 'tmp-*' matches no existing bucket on client 'lake'" in problems
    assert result.out.splitlines()[-1].startswith(
        "FAILED (--strict): 2 clients, 7 rules; 0 errors, 2 warnings"
    )


def test_check_json_and_lint_exit_codes(cli: Cli, run_main: Callable[..., Result]) -> None:
    mapping = [{"bucket_name": "logs-2024", "client": "lake"}, *MAPPING]
    config = cli.write(cli.tables(), mapping, "missing.toml")
    result = run_main("check", "--json", config=config)
    assert result.code == 1, result  # logs-2024 does not exist on lake: an error
    report = json.loads(result.out)
    assert report["ok"] is False and report["exit_code"] == 1
    assert [c["name"] for c in report["clients"]] == ["s3", "lake"]
    assert {c["status"] for c in report["clients"]} == {"ok"}
    assert report["rules"][0] == {
        "index": 0,
        "rule": {"bucket_name": "logs-2024", "client": "lake"},
        "status": "error",
    }
    assert report["problems"][0]["message"] == (
        "mapping[0]: target bucket 'logs-2024' does not exist on client 'lake'"
    )
    # Without probing, nothing is known about buckets: no problem at all.
    quiet = run_main("check", "--json", "--no-probe", config=config)
    assert quiet.code == 0, quiet
    assert {c["status"] for c in json.loads(quiet.out)["clients"]} == {"not probed"}


def test_check_scoped_credentials_fall_back_to_head_bucket(cli: Cli, run_main: Callable[..., Result]) -> None:
    # Credentials that may not list buckets: the literal targets are checked one by one.
    answers = {("HEAD", "/example-repo"): 200, ("HEAD", "/data-lake"): 404}
    tables = cli.tables()
    with stub_s3(answers, default=(403, "AccessDenied")) as endpoint:
        tables["lake"]["endpoint_url"] = endpoint
        result = run_main("check", config=cli.write(tables, MAPPING, "scoped.toml"))
    assert result.code == 1, result
    lake = next(line for line in result.out.splitlines() if line.strip().startswith("lake "))
    assert " ok " in lake
    assert "credentials accepted; list_buckets: AccessDenied; 1 of 2 target bucket(s) reachable" in lake
    assert "error    mapping[1]: target bucket 'data-lake' does not exist on client 'lake'" in result.out


def test_check_reports_ignored_environment_overrides(
    run_main: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOTWO_CLIENT_ELSEWHERE_ENDPOINT_URL", "http://127.0.0.1:1")
    result = run_main("check", "--no-probe")
    assert result.code == 0, result
    assert "BOTWO_CLIENT_ELSEWHERE_ENDPOINT_URL names no configured client and is ignored" in result.out
    assert result.err == ""


def test_check_says_where_each_endpoint_came_from(
    cli: Cli, run_main: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = cli.tables()
    tables["s3"]["endpoint_url"] = "${S3_URL}"
    tables["lake"]["endpoint_url"] = "http://127.0.0.1:1"  # overridden by the environment
    config = cli.write(tables, MAPPING, "where.toml")
    monkeypatch.setenv("S3_URL", cli.servers["s3"].endpoint_url)
    monkeypatch.setenv("BOTWO_CLIENT_LAKE_ENDPOINT_URL", cli.servers["lake"].endpoint_url)
    result = run_main("check", "--no-probe", config=config)
    assert result.code == 0, result
    lines = result.out.splitlines()
    rows = {line.split()[0]: line for line in lines if line.startswith(("  s3 ", "  lake "))}
    assert f"{cli.servers['s3'].endpoint_url} (from $S3_URL)" in rows["s3"]
    assert f"{cli.servers['lake'].endpoint_url} (from BOTWO_CLIENT_LAKE_ENDPOINT_URL)" in rows["lake"]
    monkeypatch.delenv("BOTWO_CLIENT_LAKE_ENDPOINT_URL")
    as_json = json.loads(run_main("check", "--no-probe", "--json", config=config).out)
    sources = {c["name"]: c["endpoint_from"] for c in as_json["clients"]}
    assert sources == {"s3": "$S3_URL", "lake": f"{config}: clients.lake.endpoint_url"}


def test_check_config_from_the_environment(cli: Cli) -> None:
    cli.env["BOTWO_CONFIG"] = str(cli.config)
    result = cli.run("check", "--no-probe", config=False)
    assert result.code == 0, result
    assert f"botwo check: {cli.config}" in result.out
    assert "not probed" in result.out


# -- route ----------------------------------------------------------------------------------


def test_route_shows_rule_client_and_target(cli: Cli) -> None:
    result = cli.run("route", "s3://example-old-bucket/test/object.txt", "s3://data/raw/x.csv", "s3://data")
    assert result.code == 0, result
    blocks = [b.splitlines() for b in result.out.strip().split("\n\n")]
    assert blocks[0] == [
        "s3://example-old-bucket/test/object.txt",
        '  rule      mapping[0] {"bucket_name": "example-old-bucket", "client": "lake", '
        '"mapped_bucket_name": "example-repo", "key_prefix": "main/"}',
        f"  client    lake ({cli.servers['lake'].endpoint_url})",
        "  target    s3://example-repo/main/test/object.txt",
        "  fallback  (none)",
        "  readonly  no",
    ]
    assert blocks[1][3] == "  target    s3://data-lake/main/x.csv"
    assert blocks[2][:4] == [
        "s3://data",
        '  rule      mapping[3] {"bucket_name": "*", "client": "s3"}',
        f"  client    s3 ({cli.servers['s3'].endpoint_url})",
        "  target    s3://data",
    ]


def test_route_json_and_usage_errors(run_main: Callable[..., Result]) -> None:
    result = run_main("route", "--json", "s3://data/frozen/a")
    assert result.code == 0, result
    (record,) = json.loads(result.out)
    assert record["rule_index"] == 2 and record["client"] == "s3" and record["readonly"] is True
    assert record["target_url"] == "s3://data/frozen/a"
    bad = run_main("route", "data/x")
    assert bad.code == 2
    assert "botwo route: error: 'data/x' is not an S3 URL" in bad.err


# -- ls -------------------------------------------------------------------------------------


@pytest.fixture
def listed(cli: Cli) -> dict[str, Any]:
    """Objects put on the backends under their target names; their LastModified."""
    lake, s3 = cli.backend("lake"), cli.backend("s3")
    _put(lake, "data-lake", "main/events/1.json", b"x" * 10)
    _put(lake, "data-lake", "main/top.csv", b"y" * 2000)
    _put(s3, "data", "clean/summary.csv", b"z" * 3)
    _put(s3, "data", "readme.txt", b"r")
    heads = {
        "raw/events/1.json": lake.head_object(Bucket="data-lake", Key="main/events/1.json"),
        "raw/top.csv": lake.head_object(Bucket="data-lake", Key="main/top.csv"),
        "clean/summary.csv": s3.head_object(Bucket="data", Key="clean/summary.csv"),
        "readme.txt": s3.head_object(Bucket="data", Key="readme.txt"),
    }
    return {
        key: head["LastModified"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") for key, head in heads.items()
    }


def test_ls_buckets_in_caller_names(cli: Cli) -> None:
    result = cli.run("ls")
    assert result.code == 0, result
    names = [line[20:] for line in result.out.splitlines()]
    assert names == ["data", "example-old-bucket", "test-bucket"]
    assert all(len(line.split(" ")[0]) == 10 for line in result.out.splitlines())


def test_ls_prefix_merges_the_routes_as_aws_shows_them(cli: Cli, listed: dict[str, str]) -> None:
    result = cli.run("--debug", "ls", "s3://data")
    assert result.code == 0, result
    assert result.out.splitlines() == [
        f"{'PRE':>30} clean/",
        f"{'PRE':>30} raw/",
        f"{listed['readme.txt']}          1 readme.txt",
    ]
    assert "botwo DEBUG" in result.err  # --debug before the command
    raw = cli.run("ls", "s3://data/raw/")
    assert raw.out.splitlines() == [f"{'PRE':>30} events/", f"{listed['raw/top.csv']}       2000 top.csv"]


def test_ls_recursive_summarize(run_main: Callable[..., Result], listed: dict[str, str]) -> None:
    result = run_main("ls", "s3://data", "--recursive", "--summarize", "--human-readable")
    assert result.code == 0, result
    assert result.out.splitlines() == [
        f"{listed['clean/summary.csv']}    3 Bytes clean/summary.csv",
        f"{listed['raw/events/1.json']}   10 Bytes raw/events/1.json",
        f"{listed['raw/top.csv']}    2.0 KiB raw/top.csv",
        f"{listed['readme.txt']}     1 Byte readme.txt",
        "",
        "Total Objects: 4",
        "   Total Size: 2.0 KiB",
    ]
    nothing = run_main("ls", "s3://data/nothing")
    assert (nothing.code, nothing.out) == (1, "")  # aws: a prefix that matches nothing
    missing = run_main("ls", "s3://no-such-bucket")
    assert missing.code == 1
    assert "fatal error: An error occurred (NoSuchBucket)" in missing.err


# -- cp -------------------------------------------------------------------------------------


def test_cp_upload_lands_on_the_routed_backend(cli: Cli) -> None:
    (cli.directory / "object.txt").write_bytes(b"hello lake")
    result = cli.run("cp", "object.txt", "s3://example-old-bucket/test/")
    assert result.code == 0, result
    assert result.out == "upload: ./object.txt to s3://example-old-bucket/test/object.txt\n"
    assert result.err == ""
    assert _get(cli.backend("lake"), "example-repo", "main/test/object.txt") == b"hello lake"
    assert _keys(cli.backend("s3"), "data") == []


def test_cp_download(cli: Cli) -> None:
    _put(cli.backend("lake"), "data-lake", "main/a/b.bin", b"\x00\x01binary")
    result = cli.run("cp", "s3://data/raw/a/b.bin", "out/")
    assert result.code == 0, result
    assert result.out == "download: s3://data/raw/a/b.bin to out/b.bin\n"
    assert (cli.directory / "out" / "b.bin").read_bytes() == b"\x00\x01binary"


def test_cp_between_backends(cli: Cli) -> None:
    body = os.urandom(300_000)
    _put(cli.backend("lake"), "example-repo", "main/test/object.bin", body)
    result = cli.run("cp", "s3://example-old-bucket/test/object.bin", "s3://test-bucket/copied.bin")
    assert result.code == 0, result
    assert result.out == "copy: s3://example-old-bucket/test/object.bin to s3://test-bucket/copied.bin\n"
    assert _get(cli.backend("s3"), "test-bucket", "copied.bin") == body


def test_cp_recursive_up_splits_over_backends_and_down_merges(cli: Cli) -> None:
    tree = cli.directory / "tree"
    files = {"raw/e1.json": b"1", "raw/deep/e2.json": b"22", "clean/s.csv": b"333", "top.txt": b"4444"}
    for name, body in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(body)
    up = cli.run("cp", "tree", "s3://data/", "--recursive")
    assert up.code == 0, up
    assert sorted(up.out.splitlines()) == sorted(f"upload: tree/{n} to s3://data/{n}" for n in files)
    assert sorted(_keys(cli.backend("lake"), "data-lake")) == ["main/deep/e2.json", "main/e1.json"]
    assert sorted(_keys(cli.backend("s3"), "data")) == ["clean/s.csv", "top.txt"]

    down = cli.run("cp", "s3://data", "copy", "--recursive", "--quiet")
    assert (down.code, down.out, down.err) == (0, "", "")
    copied = {
        p.relative_to(cli.directory / "copy").as_posix(): p.read_bytes()
        for p in (cli.directory / "copy").rglob("*")
        if p.is_file()
    }
    assert copied == files


def test_cp_streams_and_errors(cli: Cli, run_main: Callable[..., Result]) -> None:
    up = cli.run("cp", "-", "s3://example-old-bucket/stream.txt", stdin=b"from stdin\n")
    assert (up.code, up.out) == (0, ""), up  # as aws: no result line for a stream
    assert _get(cli.backend("lake"), "example-repo", "main/stream.txt") == b"from stdin\n"
    down = cli.run("cp", "s3://example-old-bucket/stream.txt", "-")
    assert (down.code, down.out) == (0, "from stdin\n"), down

    missing = run_main("cp", "s3://example-old-bucket/nope.txt", "here.txt")
    assert missing.code == 1
    assert missing.err.startswith(
        "fatal error: An error occurred (404) when calling the HeadObject operation"
    )
    assert not (cli.directory / "here.txt").exists()
    (cli.directory / "f.txt").write_text("f")
    failed = run_main("cp", "f.txt", "s3://no-such-bucket/f.txt")
    assert failed.code == 1
    assert failed.err.startswith(
        "upload failed: ./f.txt to s3://no-such-bucket/f.txt An error occurred (NoSuchBucket) "
        "when calling the PutObject operation"
    )
    readonly = run_main("cp", "f.txt", "s3://data/frozen/f.txt")
    assert readonly.code == 1
    assert "upload failed: ./f.txt to s3://data/frozen/f.txt An error occurred (AccessDenied)" in readonly.err
    for argv, message in [
        (("cp", "a", "b"), "one of SRC and DST must be an s3:// URL"),
        (("cp", "absent.txt", "s3://data/x"), "the user-provided path absent.txt does not exist"),
        (("cp", "s3://data/", "x"), "s3://data/ is not an object"),
        (("cp", "-", "s3://data/x", "--recursive"), "cannot be used with --recursive"),
    ]:
        usage = run_main(*argv)
        assert usage.code == 2, (argv, usage)
        assert message in usage.err


def test_cp_to_stdout_redirected_to_a_file_writes_in_order(
    cli: Cli, run_main: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `(echo before; botwo cp s3://b/k -) > log`: stdout is a seekable file whose offset is
    # past what came before; s3transfer seeks to each part's offset in a seekable file.
    _put(cli.backend("lake"), "example-repo", "main/s.txt", b"new\n")
    log = tmp_path / "log"
    log.write_bytes(b"before\n")
    with open(log, "r+b") as raw:
        raw.seek(0, io.SEEK_END)
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, write_through=True))
        result = run_main("cp", "s3://example-old-bucket/s.txt", "-")
        sys.stdout.flush()
    assert result.code == 0, result
    assert log.read_bytes() == b"before\nnew\n"


def test_options_go_before_or_after_the_command() -> None:
    from botwo.__main__ import build_parser

    parser = build_parser()
    before = parser.parse_args(["--config", "a.toml", "--debug", "ls", "s3://b"])
    after = parser.parse_args(["ls", "s3://b", "--config", "a.toml", "--debug"])
    neither = parser.parse_args(["ls"])
    assert (before.config, before.debug) == (after.config, after.debug) == ("a.toml", True)
    assert (neither.config, neither.debug) == (None, False)
    # One definition: the same help before and after the command name.
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("check", "route", "ls", "cp", "rm"):
        sub = commands.choices[command]
        for option in ("--config", "--debug"):
            top = next(a for a in parser._actions if option in a.option_strings)
            inner = next(a for a in sub._actions if option in a.option_strings)
            assert (inner.help, inner.metavar) == (top.help, top.metavar)


def test_cp_usage_error_exits_2(cli: Cli) -> None:
    result = cli.run("cp", "only-one-argument")
    assert result.code == 2
    assert "the following arguments are required: DST" in result.err


# -- rm -------------------------------------------------------------------------------------


def test_rm_one_object(cli: Cli) -> None:
    _put(cli.backend("lake"), "example-repo", "main/test/gone.txt", b"x")
    result = cli.run("rm", "s3://example-old-bucket/test/gone.txt")
    assert result.code == 0, result
    assert result.out == "delete: s3://example-old-bucket/test/gone.txt\n"
    assert _keys(cli.backend("lake"), "example-repo") == []


def test_rm_recursive_over_two_backends(cli: Cli) -> None:
    for key in ("main/1", "main/sub/2"):
        _put(cli.backend("lake"), "data-lake", key, b"x")
    for key in ("clean/3", "keep.txt"):
        _put(cli.backend("s3"), "data", key, b"x")
    result = cli.run("rm", "s3://data/raw", "--recursive")
    assert result.code == 0, result
    assert sorted(result.out.splitlines()) == ["delete: s3://data/raw/1", "delete: s3://data/raw/sub/2"]
    assert _keys(cli.backend("lake"), "data-lake") == []
    everything = cli.run("rm", "s3://data/", "--recursive", "--quiet")
    assert (everything.code, everything.out) == (0, "")
    assert _keys(cli.backend("s3"), "data") == []


def test_rm_recursive_in_batches_reports_read_only_keys(
    cli: Cli, run_main: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cli, "DELETE_BATCH", 2)
    for i in range(3):
        _put(cli.backend("lake"), "data-lake", f"main/{i}", b"x")
        _put(cli.backend("s3"), "data", f"plain/{i}", b"x")
    _put(cli.backend("s3"), "data", "frozen/kept", b"x")
    sent: list[int] = []
    original = _cli._delete_batch

    def counting(s3: Any, bucket: str, keys: Any, report: Any) -> None:
        sent.append(len(keys))
        original(s3, bucket, keys, report)

    monkeypatch.setattr(_cli, "_delete_batch", counting)
    result = run_main("rm", "s3://data", "--recursive")
    assert result.code == 1, result
    assert sent == [2, 2, 2, 1]
    assert len(result.out.splitlines()) == 6
    assert result.err.startswith("delete failed: s3://data/frozen/kept An error occurred (AccessDenied)")
    assert _keys(cli.backend("s3"), "data") == ["frozen/kept"]
    assert _keys(cli.backend("lake"), "data-lake") == []


def test_rm_errors(run_main: Callable[..., Result]) -> None:
    failed = run_main("rm", "s3://no-such-bucket/k")
    assert failed.code == 1
    assert failed.err.startswith("delete failed: s3://no-such-bucket/k An error occurred (NoSuchBucket)")
    usage = run_main("rm", "s3://data")
    assert usage.code == 2 and "names no object" in usage.err
    listing = run_main("rm", "s3://no-such-bucket/", "--recursive")
    assert listing.code == 1 and listing.err.startswith("fatal error: An error occurred (NoSuchBucket)")


# -- the aws-shaped lines, pure -------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 Bytes"),
        (1, "1 Byte"),
        (10, "10 Bytes"),
        (1023, "1023 Bytes"),
        (1024, "1.0 KiB"),
        (1024 * 1024 - 1, "1.0 MiB"),  # aws rounds up into the next unit
        (1024 * 1024, "1.0 MiB"),
        (int(2.5 * 1024**3), "2.5 GiB"),
        (1024**5, "1.0 PiB"),
    ],
)
def test_human_size_is_aws(size: int, text: str) -> None:
    assert _awsfmt.human_size(size) == text


def test_listing_lines_have_aws_columns() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    east = timezone(timedelta(hours=2))
    assert _awsfmt.bucket_line("b", when, UTC) == "2024-01-02 03:04:05 b"
    assert _awsfmt.timestamp(when, east) == "2024-01-02 05:04:05"
    assert _awsfmt.prefix_line("a/b/") == "                           PRE b/"
    assert _awsfmt.object_line("a/b/c.txt", 1234, when, tz=UTC) == "2024-01-02 03:04:05       1234 c.txt"
    assert (
        _awsfmt.object_line("a/b/c.txt", 1234, when, tz=UTC, human=True, full_key=True)
        == "2024-01-02 03:04:05    1.2 KiB a/b/c.txt"
    )
    assert _awsfmt.summary_lines(2, 2048, human=True) == ["", "Total Objects: 2", "   Total Size: 2.0 KiB"]


def test_transfer_lines() -> None:
    assert _awsfmt.display_path("f.txt", "/w") == "./f.txt"
    assert _awsfmt.display_path("/w/d/f.txt", "/w") == "d/f.txt"
    assert _awsfmt.display_path("/x/f.txt", "/w") == "../x/f.txt"
    assert _awsfmt.transfer_line("delete", "s3://b/k") == "delete: s3://b/k"
    assert _awsfmt.failure_line("copy", "s3://a/k", "s3://b/k", "An error") == (
        "copy failed: s3://a/k to s3://b/k An error"
    )
    assert _awsfmt.progress_line(5 * 1024**2, 10 * 1024**2, 2.1 * 1024**2, 1) == (
        "Completed 5.0 MiB/10.0 MiB (2.1 MiB/s) with 1 file(s) remaining"
    )


def test_s3_urls_and_plans(tmp_path: Path) -> None:
    assert S3Url.parse("s3://b/k/x") == S3Url("b", "k/x")
    assert S3Url.parse("b/p", scheme_optional=True) == S3Url("b", "p")
    for bad in ("b/k", "s3://", "s3:///k"):
        with pytest.raises(ValueError, match=r"S3 URL|names no bucket"):
            S3Url.parse(bad)
    assert str(S3Url("b", "a/c")) == "s3://b/a/c"
    assert S3Url("b", "dir").child("f") == S3Url("b", "dir/f")
    assert S3Url("b").child("f") == S3Url("b", "f")
    upload = _cli.plan_single("d/f.txt", S3Url("b", "to/"), 3)
    assert upload == _cli.Transfer("upload", "d/f.txt", S3Url("b", "to/f.txt"), 3)
    download = _cli.plan_single(S3Url("b", "k/f.txt"), str(tmp_path), 3)
    assert download.dest == str(tmp_path / "f.txt")
    assert _cli.plan_single(S3Url("b", "k"), S3Url("c", "new"), 1).dest == S3Url("c", "new")
    assert _cli.relative_key_path("/d", "a/b") == os.path.join("/d", "a", "b")
    with pytest.raises(ValueError, match="outside"):
        _cli.relative_key_path("/d", "../etc/passwd")
    planned = list(_cli.plan_tree(S3Url("b", "p/"), "/d", [("ok", 1), ("a/../../x", 2)]))
    assert planned[0] == _cli.Transfer("download", S3Url("b", "p/ok"), os.path.join("/d", "ok"), 1)
    assert planned[1][0] == "s3://b/p/a/../../x"


def test_progress_line_is_drawn_late_and_erased() -> None:
    stream = io.StringIO()
    now = [0.0]
    progress = _cli.Progress(stream, files=2, total=4096, clock=lambda: now[0], delay=0.5, interval=0.2)
    progress.add(1024)
    assert stream.getvalue() == ""  # a small, quick transfer never shows it
    now[0] = 1.0
    progress.add(1024)
    line = "Completed 2.0 KiB/4.0 KiB (2.0 KiB/s) with 2 file(s) remaining"
    assert stream.getvalue() == "\r" + line
    now[0] = 1.1
    progress.add(1024)  # within the interval: not redrawn
    assert stream.getvalue() == "\r" + line
    progress.clear()
    assert stream.getvalue().endswith("\r" + " " * len(line) + "\r")


# -- the lints, pure --------------------------------------------------------------------------


def _routing(mapping: list[dict[str, Any]]) -> tuple[Any, list[warnings.WarningMessage]]:
    fake = boto3.client("s3", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        routing = botwo.client({"s3": fake, "lake": fake}, mapping)
    return routing, caught


def test_lint_reachability_follows_the_routes() -> None:
    mapping = [
        {"bucket_name": "data", "prefix": "raw/", "client": "lake", "mapped_bucket_name": "data-lake"},
        {"bucket_name": "old", "mapped_bucket_name": "repo", "client": "lake"},
        {"bucket_name": "tmp-*", "client": "lake", "key_prefix": "main/"},
        {"bucket_name": "*", "client": "s3", "fallback": ["lake"]},
    ]
    routing, caught = _routing(mapping)
    probes = {
        "s3": _check.Probe("s3", True, "", frozenset({"data", "old", "x"})),
        "lake": _check.Probe("lake", True, "", frozenset({"data-lake", "tmp-1", "lost"})),
    }
    problems = _check.lint(routing.rules, probes, routing.route, caught)
    messages = [(p.severity, p.message) for p in problems]
    assert ("error", "mapping[1]: target bucket 'repo' does not exist on client 'lake'") in messages
    # "old" on s3 is hidden by the rename to lake; "lost" is reached by nothing: the
    # catch-all's fallback reads lake buckets under the caller's name, so "lost" counts.
    assert ("warning", "client 's3' has 1 bucket(s) that no rule reaches: old") in messages
    assert not any("'lake' has" in m for _, m in messages)
    assert not any(p.severity == "note" for p in problems)


def test_lint_notes_globs_and_reports_warnings() -> None:
    mapping = [
        {"bucket_name": "logs-*", "client": "s3"},
        {"bucket_name": "logs-1", "client": "lake"},
        {"bucket_name": "*", "client": "s3"},
    ]
    routing, caught = _routing(mapping)
    probes = {
        "s3": _check.Probe("s3", True, "", frozenset({"a"})),
        "lake": _check.Probe("lake", False, "unreachable"),
    }
    problems = _check.lint(routing.rules, probes, routing.route, caught)
    # logs-1 goes through logs-* (its own rule never matches), to s3, which has no logs-1.
    assert [(p.severity, p.rules) for p in problems] == [("error", (0,)), ("warning", (1,)), ("note", (0,))]
    report = _check.Report("x", {"s3": {}, "lake": {}}, probes, routing.rules, tuple(problems))
    assert report.exit_code == 1 and report.rule_status(1) == "warning"
    assert _redact.redact("key=s3cr3t!", ["s3cr3t!"]) == "key=****"


def test_dot_segments_cannot_take_a_cli_write_into_a_read_only_prefix(
    cli: Cli, run_main: Callable[..., Result]
) -> None:
    _put(cli.backend("s3"), "data", "frozen/kept", b"kept")
    (cli.directory / "f.txt").write_text("overwritten")
    for argv in (
        ("cp", "f.txt", "s3://data/x/../frozen/kept"),
        ("rm", "s3://data/./frozen/kept"),
        ("cp", "f.txt", "s3://data/./frozen/kept"),
    ):
        result = run_main(*argv)
        assert result.code != 0, argv
        assert "'.' or '..' path segments" in result.err and "rule 2" in result.err, result.err
    assert cli.backend("s3").get_object(Bucket="data", Key="frozen/kept")["Body"].read() == b"kept"
    assert (cli.directory / "f.txt").exists()


def test_lint_checks_the_rest_of_a_split_bucket() -> None:
    # sales/eu/ goes to lake, every other key of sales to s3's bucket sales, which is not there.
    mapping = [
        {"bucket_name": "sales", "prefix": "eu/", "client": "lake", "mapped_bucket_name": "sales-eu"},
        {"bucket_name": "tmp-*", "client": "lake"},
        {"bucket_name": "tmp-1", "prefix": "x/", "client": "s3"},  # tmp-1/x/ never matches
        {"bucket_name": "*", "client": "s3"},
    ]
    routing, caught = _routing(mapping)
    assert _check.literal_routes(routing.rules, routing.route) == [
        ("sales", 0, 0),
        ("sales", 3, 0),
        ("tmp-1", 1, 2),
    ]
    probes = {
        "s3": _check.Probe("s3", True, "", frozenset({"other"})),
        "lake": _check.Probe("lake", True, "", frozenset({"sales-eu"})),
    }
    problems = _check.lint(routing.rules, probes, routing.route, caught)
    errors = [(p.message, p.rules) for p in problems if p.severity == "error"]
    assert errors == [
        (
            "mapping[3]: bucket 'sales' (named by mapping[0]) goes through this rule, and "
            "its target bucket 'sales' does not exist on client 's3'",
            (3,),
        ),
        (
            "mapping[1]: bucket 'tmp-1' (named by mapping[2]) goes through this rule, and "
            "its target bucket 'tmp-1' does not exist on client 'lake'",
            (1,),
        ),
    ]
    # Scoped credentials: head_bucket is asked for those buckets too.
    assert _check.probe_targets(routing.rules, routing.route) == {
        "lake": {"sales-eu", "tmp-1"},
        "s3": {"sales", "tmp-1"},
    }


def test_check_finds_the_missing_rest_of_a_split_bucket(cli: Cli, run_main: Callable[..., Result]) -> None:
    cli.backend("lake").create_bucket(Bucket="sales")
    mapping = [
        {"bucket_name": "sales", "prefix": "eu/", "client": "lake", "key_prefix": "main/"},
        {"bucket_name": "*", "client": "s3"},
    ]
    config = cli.write(cli.tables(), mapping, "split.toml")
    result = run_main("check", config=config)
    assert result.code == 1, result
    assert (
        "error    mapping[1]: bucket 'sales' (named by mapping[0]) goes through this rule, "
        "and its target bucket 'sales' does not exist on client 's3'" in result.out
    ), result
    assert result.out.splitlines()[-1].startswith("FAILED: 2 clients, 2 rules; 1 error"), result
    listed = run_main("ls", "s3://sales/", config=config)  # what the error foretold
    assert listed.code == 1 and "(NoSuchBucket)" in listed.err and "[client 's3']" in listed.err


def test_check_warns_about_a_prefix_without_its_slash(cli: Cli, run_main: Callable[..., Result]) -> None:
    cli.backend("lake").create_bucket(Bucket="vault")
    mapping = [
        {"bucket_name": "docs", "prefix": "trusted", "client": "lake", "mapped_bucket_name": "vault"},
        *MAPPING,
    ]
    result = run_main("check", "--json", config=cli.write(cli.tables(), mapping, "open.toml"))
    problems = json.loads(result.out)["problems"]
    assert {
        "severity": "warning",
        "message": "mapping[0].prefix 'trusted' does not end with '/': it also takes keys of other "
        "folders, such as 'trusted-other/k'",
        "rules": [0],
    } in problems, problems
    assert json.loads(result.out)["rules"][0]["status"] == "warning"
