"""Addresses: ``s3://`` (the caller's namespace, routed) and ``CLIENT://`` (one backend, no rule).

The parsing is pure (hypothesis: every address prints as it parses); the commands run as
``main()`` in this process and once as a subprocess, over the ``s3`` and ``lake`` fixture
servers with ``tests/test_cli.py``'s configuration, whose clients are named ``s3`` and
``lake``: so ``client:s3://`` is exercised too. What landed is checked on each backend
with its own boto3 client, and what was sent with :class:`tests.recorder.Sent`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import botwo
from botwo.__main__ import main
from botwo._address import Namespaces
from botwo._awsfmt import S3Url, split_scheme

from .recorder import Sent
from .test_cli import BUCKETS, MAPPING, ROOT, Cli, Result, toml_document

# -- parsing --------------------------------------------------------------------------------

names = st.one_of(st.sampled_from(["s3", "client", "lake"]), st.text("abz09_-.:", min_size=1, max_size=6))
buckets = st.text("abc-9.", min_size=1, max_size=6)
object_keys = st.text("ab/%+?[ \\~é:", max_size=8)


@given(st.one_of(st.none(), names), buckets, object_keys)
def test_every_address_prints_as_it_parses(client: str | None, bucket: str, key: str) -> None:
    url = S3Url(bucket, key, client)
    assert S3Url.parse(str(url), direct=True) == url


def test_s3_is_always_the_routed_namespace() -> None:
    assert S3Url.parse("s3://b/k", direct=True) == S3Url("b", "k")
    assert S3Url.parse("lake://repo/main/x", direct=True) == S3Url("repo", "main/x", "lake")
    assert S3Url.parse("client:s3://b/k", direct=True) == S3Url("b", "k", "s3")
    assert S3Url.parse("client:lake://b/k", direct=True) == S3Url("b", "k", "lake")
    assert S3Url.parse("client://b/k", direct=True) == S3Url("b", "k", "client")  # a client named "client"
    assert str(S3Url("b", "k", "s3")) == "client:s3://b/k"
    assert str(S3Url("b", "k", "lake")) == "lake://b/k"
    assert split_scheme("./a://b") == (None, None)  # a "/" before "://": a local path
    assert split_scheme("lake://") == ("lake", "")
    with pytest.raises(ValueError, match="not an S3 URL"):
        S3Url.parse("lake://b/k")  # without direct=True (botwo route), only s3://
    with pytest.raises(ValueError, match="names no bucket: expected lake://bucket/key"):
        S3Url.parse("lake:///k", direct=True)


# -- the commands ---------------------------------------------------------------------------


@pytest.fixture
def cli(backends: dict[str, Any], servers: dict[str, Any], tmp_path: Path) -> Cli:
    for name, made in BUCKETS.items():
        for bucket in made:
            backends[name].create_bucket(Bucket=bucket)
    used = {"s3": servers["s3"], "lake": servers["lake"]}
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTWO_")}
    env.update(
        S3_SECRET=used["s3"].secret_key, LAKE_SECRET=used["lake"].secret_key, TZ="UTC", PYTHONPATH=str(ROOT)
    )
    work = tmp_path / "work"
    work.mkdir()
    made_cli = Cli(used, work, env, tmp_path / "botwo.toml")
    made_cli.config.write_text(toml_document(made_cli.tables(), MAPPING), encoding="utf-8")
    return made_cli


@pytest.fixture
def run(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> Callable[..., Result]:
    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(cli.directory)

    def go(*args: str) -> Result:
        capsysbinary.readouterr()
        code = main([*args, "--config", str(cli.config)])
        captured = capsysbinary.readouterr()
        return Result(code, captured.out.decode(), captured.err.decode())

    return go


def _keys(client: Any, bucket: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_ls_addresses_a_backend_directly(cli: Cli, run: Callable[..., Result]) -> None:
    cli.backend("lake").put_object(Bucket="data-lake", Key="main/x.csv", Body=b"123")
    routed = run("ls", "s3://data/raw/", "--recursive")
    assert routed.code == 0 and routed.out.split()[-1] == "raw/x.csv", routed
    direct = run("ls", "lake://data-lake/main/", "--recursive")
    assert direct.code == 0 and direct.out.split()[-2:] == ["3", "main/x.csv"], direct
    buckets = run("ls", "lake://")
    assert buckets.code == 0 and sorted(line.split()[-1] for line in buckets.out.splitlines()) == sorted(
        BUCKETS["lake"]
    )
    # A client named s3: s3:// is the routed namespace, client:s3:// the backend.
    assert run("ls", "client:s3://data").code == 0
    unknown = run("ls", "lakfs://repo/")
    assert unknown.code == 2
    assert "no client is named 'lakfs'; the configured clients are lake, s3" in unknown.err


def test_cp_between_a_backend_and_the_routed_namespace(cli: Cli, run: Callable[..., Result]) -> None:
    lake, s3 = cli.backend("lake"), cli.backend("s3")
    lake.put_object(Bucket="data-lake", Key="stray/old.bin", Body=b"old bytes")
    # Direct -> routed: lands where the rules send s3://data/raw/..., i.e. back on lake.
    up = run("cp", "lake://data-lake/stray/old.bin", "s3://data/raw/old.bin")
    assert up.code == 0, up
    assert up.out == "copy: lake://data-lake/stray/old.bin to s3://data/raw/old.bin\n"
    assert lake.get_object(Bucket="data-lake", Key="main/old.bin")["Body"].read() == b"old bytes"
    # Routed -> another backend, directly: streamed.
    across = run("cp", "s3://data/raw/old.bin", "client:s3://test-bucket/copied.bin")
    assert across.code == 0, across
    assert s3.get_object(Bucket="test-bucket", Key="copied.bin")["Body"].read() == b"old bytes"
    # Recursive, a local directory to a backend, and back.
    (cli.directory / "tree").mkdir()
    (cli.directory / "tree" / "a.txt").write_bytes(b"a")
    assert run("cp", "tree", "lake://example-repo/up/", "--recursive").code == 0
    assert _keys(lake, "example-repo") == ["up/a.txt"]
    down = run("cp", "lake://example-repo/up/a.txt", "back.txt")
    assert down.code == 0 and (cli.directory / "back.txt").read_bytes() == b"a", down
    assert run("cp", "back.txt", "nope://b/k").code == 2


def test_rm_addresses_a_backend_directly(cli: Cli, run: Callable[..., Result]) -> None:
    lake = cli.backend("lake")
    for key in ("main/a", "main/b", "other/c"):
        lake.put_object(Bucket="data-lake", Key=key, Body=b"x")
    one = run("rm", "lake://data-lake/other/c")
    assert one.code == 0 and one.out == "delete: lake://data-lake/other/c\n", one
    tree = run("rm", "lake://data-lake/main", "--recursive")
    assert tree.code == 0, tree
    assert tree.out.splitlines() == ["delete: lake://data-lake/main/a", "delete: lake://data-lake/main/b"]
    assert _keys(lake, "data-lake") == []


def test_a_direct_address_applies_no_rule(cli: Cli, run: Callable[..., Result]) -> None:
    # s3://data/frozen/ is read-only by rule 2; the backend itself is not.
    s3 = cli.backend("s3")
    s3.put_object(Bucket="data", Key="frozen/a", Body=b"kept")
    refused = run("rm", "s3://data/frozen/a")
    assert refused.code == 1 and "AccessDenied" in refused.err
    assert run("rm", "client:s3://data/frozen/a").code == 0
    assert _keys(s3, "data") == []


def test_the_command_line_addresses_backends_in_a_subprocess(cli: Cli) -> None:
    cli.backend("lake").put_object(Bucket="data-lake", Key="main/p.txt", Body=b"p")
    result = cli.run("ls", "lake://data-lake", "--recursive")
    assert result.code == 0 and result.out.split()[-1] == "main/p.txt", result


# -- copies between namespaces ----------------------------------------------------------------


@pytest.fixture
def routing(backends: dict[str, Any]) -> Iterator[Any]:
    for name, made in BUCKETS.items():
        for bucket in made:
            backends[name].create_bucket(Bucket=bucket)
    s3 = botwo.client({"s3": backends["s3"], "lake": backends["lake"]}, MAPPING)
    yield s3


def test_a_copy_between_namespaces_on_one_backend_is_server_side(
    routing: Any, backends: dict[str, Any]
) -> None:
    backends["lake"].put_object(Bucket="data-lake", Key="main/x", Body=b"payload")
    names = Namespaces(routing)
    sent = Sent({"lake": backends["lake"], "s3": backends["s3"]})
    names.copy(S3Url("data", "raw/x"), S3Url("example-repo", "copy/x", "lake"), 7)
    assert [(c, m) for c, m, _ in sent.requests] == [("lake", "PUT")]  # one CopyObject
    assert backends["lake"].get_object(Bucket="example-repo", Key="copy/x")["Body"].read() == b"payload"
    sent.clear()
    names.copy(S3Url("example-repo", "copy/x", "lake"), S3Url("test-bucket", "y", "s3"), 7)
    assert ("lake", "GET") in [(c, m) for c, m, _ in sent.requests]  # streamed through this process
    assert backends["s3"].get_object(Bucket="test-bucket", Key="y")["Body"].read() == b"payload"


def test_a_copy_into_a_read_only_route_is_refused_before_anything_is_sent(
    routing: Any, backends: dict[str, Any]
) -> None:
    backends["lake"].put_object(Bucket="data-lake", Key="main/x", Body=b"payload")
    names = Namespaces(routing)
    sent = Sent({"lake": backends["lake"], "s3": backends["s3"]})
    with pytest.raises(botwo.ReadOnlyError, match=r"read-only mapping\[2\]"):
        names.copy(S3Url("data-lake", "main/x", "lake"), S3Url("data", "frozen/x"), 7)
    with pytest.raises(botwo.RoutingError, match="path segments"):
        names.copy(S3Url("data-lake", "main/x", "lake"), S3Url("data", "a/../frozen/x"), 7)
    assert sent.requests == []
    with pytest.raises(botwo.AddressError, match="configured clients are lake, s3") as caught:
        names.client_for(S3Url("b", "k", "lakefs"))
    assert caught.value.client == "lakefs" and caught.value.clients == ("lake", "s3")
