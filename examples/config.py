"""Configuration instead of code: ``botwo.toml``, the environment, and ``botwo.client("s3")``.

An operator's walk-through:

1. A ``botwo.toml`` says which clients exist (endpoint, region, keys, botocore options)
   and which buckets each serves. Secrets are not written in it: ``${S3_SECRET}`` and
   ``${LAKEFS_SECRET}`` are read from the environment when the client is built.
2. ``$BOTWO_CONFIG`` names the file, so ``boto3.client("s3")`` -> ``botwo.client("s3")``
   is the whole change to the application; its boto3 code runs as it did.
3. ``BOTWO_CLIENT_<NAME>_<FIELD>`` overrides one client's field without editing the file
   (here: lakeFS's traffic sent to a staging server).
4. A variable that is not set is a ``botwo.ConfigError`` naming the file and the field.
5. A client built from configuration pickles as that configuration, ``${VAR}``
   references unexpanded: it crosses to ``multiprocessing`` workers without its secrets,
   and each worker resolves them from its own environment.
6. ``botwo.client("s3", config={...})`` takes the same document as a dict.

Run: ``python examples/config.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botwo

from _servers import ensure_bucket, two_endpoints

# The buckets the rules of botwo.toml send calls to, and the client that holds each.
TARGET_BUCKETS = {"example-repo": "lakefs", "raw-repo": "lakefs", "data": "s3"}


def client_table(name: str, endpoint: dict[str, Any], secret_variable: str) -> str:
    """One ``[clients.<name>]`` table: the endpoint written out, the secret a reference."""
    if not (endpoint["aws_access_key_id"] and endpoint["aws_secret_access_key"]):
        raise SystemExit(
            "this example writes keys into botwo.toml: set BOTWO_EXAMPLE_*_ACCESS_KEY/_SECRET_KEY"
        )
    fields = {k: endpoint[k] for k in ("endpoint_url", "region_name", "aws_access_key_id")}
    lines = [f"[clients.{name}]"] + [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    return "\n".join([*lines, f'aws_secret_access_key = "${{{secret_variable}}}"'])


def write_config(directory: Path, s3: dict[str, Any], lakefs: dict[str, Any]) -> Path:
    """The operator's ``botwo.toml`` (JSON strings are TOML strings)."""
    text = f"""\
# Which service serves which bucket. Secrets come from the environment.
{client_table("s3", s3, "S3_SECRET")}

[clients.s3.config]
s3.addressing_style = "path"  # an S3-compatible stand-in; AWS S3 itself needs no config

{client_table("lakefs", lakefs, "LAKEFS_SECRET")}

[clients.lakefs.config]          # botocore.config.Config options
request_checksum_calculation = "when_required"
s3.addressing_style = "path"
retries = {{ mode = "standard", max_attempts = 5 }}

# The rules, first match wins.
[[mapping]]                      # a bucket that became a lakeFS repository
bucket_name = "example-old-bucket"
mapped_bucket_name = "example-repo"
client = "lakefs"
key_prefix = "main/"

[[mapping]]                      # part of a bucket: data/raw/x.csv is raw-repo/main/x.csv
bucket_name = "data"
prefix = "raw/"
strip_prefix = true
client = "lakefs"
mapped_bucket_name = "raw-repo"
key_prefix = "main/"

[[mapping]]                      # everything else stays on S3
bucket_name = "*"
client = "s3"
"""
    path = directory / "botwo.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _set(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or, with None, unset) environment variables for a while."""
    saved = {name: os.environ.get(name) for name in values}
    _set(values)
    try:
        yield
    finally:
        _set(saved)


def existing_code(s3: Any) -> list[str]:
    """Code written for ``boto3.client("s3")``: it knows nothing of lakeFS."""
    s3.put_object(Bucket="example-old-bucket", Key="test/object.txt", Body=b"hello lakeFS")
    s3.put_object(Bucket="data", Key="raw/2024/x.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket="data", Key="reports/q1.csv", Body=b"total\n3\n")
    body = s3.get_object(Bucket="example-old-bucket", Key="test/object.txt")["Body"].read()
    assert body == b"hello lakeFS"
    return [o["Key"] for o in s3.list_objects_v2(Bucket="data")["Contents"]]


def read_in_worker(job: tuple[Any, str, str]) -> tuple[int, bytes]:
    """Runs in a pool worker: the client arrived as a pickle of its configuration."""
    s3, bucket, key = job
    return os.getpid(), s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def main() -> None:
    with two_endpoints() as (s3_endpoint, lakefs_endpoint), tempfile.TemporaryDirectory() as tmp:
        path = write_config(Path(tmp), s3_endpoint, lakefs_endpoint)
        # The operator's environment holds the secrets; the file only names them.
        os.environ["S3_SECRET"] = s3_endpoint["aws_secret_access_key"]
        os.environ["LAKEFS_SECRET"] = lakefs_endpoint["aws_secret_access_key"]
        print(f"--- {path}\n{path.read_text(encoding='utf-8')}---")

        # 1. The one-line swap: boto3.client("s3") -> botwo.client("s3").
        os.environ["BOTWO_CONFIG"] = str(path)
        s3 = botwo.client("s3")
        assert s3.settings is not None and s3.settings.origin == str(path)
        for bucket, client in TARGET_BUCKETS.items():  # the target buckets exist beforehand
            ensure_bucket(s3.backends[client], bucket)
        listed = existing_code(s3)
        assert listed == ["raw/2024/x.csv", "reports/q1.csv"]
        print("data, listed through botwo:", listed)

        # Where the objects really are: each backend, in its own names.
        lakefs, aws = s3.backends["lakefs"], s3.backends["s3"]
        assert lakefs.meta.endpoint_url == lakefs_endpoint["endpoint_url"]
        assert lakefs.get_object(Bucket="example-repo", Key="main/test/object.txt")["Body"].read()
        assert lakefs.head_object(Bucket="raw-repo", Key="main/2024/x.csv")["ContentLength"] == 8
        assert aws.head_object(Bucket="data", Key="reports/q1.csv")["ContentLength"] == 8
        assert aws.list_objects_v2(Bucket="data", Prefix="raw/")["KeyCount"] == 0
        print("example-old-bucket/test/object.txt -> lakefs: example-repo/main/test/object.txt")
        print("data/raw/2024/x.csv -> lakefs: raw-repo/main/2024/x.csv")
        print("data/reports/q1.csv -> s3: data/reports/q1.csv")

        # 2. An override from the environment wins over the file, for one client and field:
        # lakeFS's traffic goes to a staging server (the s3 server stands in for it here).
        with environment(
            BOTWO_CLIENT_LAKEFS_ENDPOINT_URL=s3_endpoint["endpoint_url"],
            BOTWO_CLIENT_LAKEFS_AWS_ACCESS_KEY_ID=s3_endpoint["aws_access_key_id"],
            BOTWO_CLIENT_LAKEFS_AWS_SECRET_ACCESS_KEY=s3_endpoint["aws_secret_access_key"],
        ):
            staging = botwo.client("s3")
        lakefs_settings = staging.settings.clients["lakefs"]
        assert lakefs_settings.sources["endpoint_url"] == "BOTWO_CLIENT_LAKEFS_ENDPOINT_URL"
        assert staging.backends["lakefs"].meta.endpoint_url == s3_endpoint["endpoint_url"]
        ensure_bucket(staging.backends["lakefs"], "example-repo")
        staging.put_object(Bucket="example-old-bucket", Key="staging.txt", Body=b"staged")
        assert aws.get_object(Bucket="example-repo", Key="main/staging.txt")["Body"].read() == b"staged"
        print("with BOTWO_CLIENT_LAKEFS_ENDPOINT_URL set, lakefs is", lakefs_settings.describe())

        # 3. A variable the file needs and the environment lacks: a clear error, no client.
        with environment(LAKEFS_SECRET=None):
            try:
                botwo.client("s3")
            except botwo.ConfigError as err:
                message = str(err)
            else:
                raise AssertionError("expected a ConfigError")
        assert message.startswith(str(path)) and "clients.lakefs" in message and "LAKEFS_SECRET" in message
        print("without LAKEFS_SECRET:", message)

        # 4. Pickled, the client is its configuration: secrets stay ${VAR} references.
        data = pickle.dumps(s3)
        for secret in (s3_endpoint["aws_secret_access_key"], lakefs_endpoint["aws_secret_access_key"]):
            assert secret and secret.encode() not in data
        assert b"${LAKEFS_SECRET}" in data
        jobs = [(s3, "example-old-bucket", "test/object.txt"), (s3, "data", "raw/2024/x.csv")]
        # spawn: the workers share nothing with this process but the pickles and the environment.
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            results = pool.map(read_in_worker, jobs)
        assert [body for _, body in results] == [b"hello lakeFS", b"a,b\n1,2\n"]
        assert all(pid != os.getpid() for pid, _ in results)
        print(f"a pickle of {len(data)} bytes, no secret in it; read back in worker processes")

        # 5. A document given as a dict (a notebook's own): the same schema, no file.
        del os.environ["BOTWO_CONFIG"]
        path_style = {"s3": {"addressing_style": "path"}}
        config = {
            "clients": {
                "s3": {**s3_endpoint, "aws_secret_access_key": "${S3_SECRET}", "config": path_style},
                "lakefs": {
                    **lakefs_endpoint,
                    "aws_secret_access_key": "${LAKEFS_SECRET}",
                    "config": path_style,
                },
            },
            "mapping": [
                {"bucket_name": "scratch", "client": "lakefs", "key_prefix": "main/"},
                {"bucket_name": "*", "client": "s3"},
            ],
        }
        notebook = botwo.client("s3", config=config)
        assert notebook.settings.origin == "<dict>"
        ensure_bucket(notebook.backends["lakefs"], "scratch")
        notebook.put_object(Bucket="scratch", Key="draft.txt", Body=b"draft")
        assert lakefs.get_object(Bucket="scratch", Key="main/draft.txt")["Body"].read() == b"draft"
        assert notebook.get_object(Bucket="data", Key="reports/q1.csv")["Body"].read() == b"total\n3\n"
        print("botwo.client('s3', config={...}):", notebook.route("scratch", "draft.txt"))


if __name__ == "__main__":
    main()
