"""The ``botwo`` command line over two backends: check, route, cp, ls, rm.

An operator's session, run as a user would type it (``python -m botwo ...``), against a
configuration file whose secrets are ``${VAR}`` references to the environment:

1. ``botwo check``: the configuration loads, both backends answer and accept their
   credentials, every literal rule's target bucket exists;
2. ``botwo route``: ``example-old-bucket`` is lakeFS's ``example-repo``, branch ``main``;
3. ``botwo cp``: a file uploaded through the rules lands in lakeFS, and is copied from
   there to a bucket on S3 (streamed between the two backends);
4. ``botwo ls`` and ``botwo rm`` in the caller's names.

Each step asserts what it shows, and what landed is checked on each backend directly.

Run: ``python examples/cli.py`` (see ``_servers.py`` for the endpoints; without them,
two local servers are started).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from _servers import ensure_bucket, two_endpoints

PATH_STYLE = Config(s3={"addressing_style": "path"})

CONFIG = """\
[clients.s3]
{s3}
[clients.s3.config]
s3 = {{ addressing_style = "path" }}

[clients.lakefs]
{lakefs}
[clients.lakefs.config]
s3 = {{ addressing_style = "path" }}

[[mapping]]
bucket_name = "example-old-bucket"
mapped_bucket_name = "example-repo"
client = "lakefs"
key_prefix = "main/"

[[mapping]]
bucket_name = "*"
client = "s3"
"""


def client_table(endpoint: dict[str, Any], secret_var: str) -> str:
    """One client's TOML lines; the secret stays in the environment, as ``${VAR}``."""
    lines = [f'endpoint_url = "{endpoint["endpoint_url"]}"', f'region_name = "{endpoint["region_name"]}"']
    if endpoint["aws_access_key_id"]:  # else boto3's own credential chain
        lines.append(f'aws_access_key_id = "{endpoint["aws_access_key_id"]}"')
        lines.append(f'aws_secret_access_key = "${{{secret_var}}}"')
    return "\n".join(lines)


def botwo(env: dict[str, str], cwd: Path, *args: str, expect: int = 0) -> str:
    """Run ``python -m botwo ARGS`` as a user would; print and return its output."""
    print(f"$ botwo {' '.join(args)}")
    done = subprocess.run(
        [sys.executable, "-m", "botwo", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    print(done.stdout + done.stderr)
    assert done.returncode == expect, f"exit {done.returncode}, expected {expect}"
    return done.stdout


def session(endpoints: tuple[dict[str, Any], dict[str, Any]], workdir: Path) -> None:
    s3_endpoint, lakefs_endpoint = endpoints
    config = workdir / "botwo.toml"
    config.write_text(
        CONFIG.format(
            s3=client_table(s3_endpoint, "S3_SECRET"), lakefs=client_table(lakefs_endpoint, "LAKEFS_SECRET")
        )
    )
    secrets = {
        "S3_SECRET": s3_endpoint["aws_secret_access_key"] or "",
        "LAKEFS_SECRET": lakefs_endpoint["aws_secret_access_key"] or "",
    }
    # BOTWO_CONFIG names the file, as a deployment would; the secrets come from the environment.
    env = {**os.environ, **secrets, "BOTWO_CONFIG": str(config)}
    aws, lakefs = (boto3.client("s3", config=PATH_STYLE, **e) for e in endpoints)
    ensure_bucket(lakefs, "example-repo")
    ensure_bucket(aws, "test-bucket")

    report = botwo(env, workdir, "check")
    assert report.splitlines()[-1].startswith("OK: 2 clients, 2 rules; 0 errors")
    assert not any(secret and secret in report for secret in secrets.values())

    where = botwo(env, workdir, "route", "s3://example-old-bucket/test/object.txt")
    assert "  target    s3://example-repo/main/test/object.txt" in where

    (workdir / "object.txt").write_text("hello from the command line\n")
    up = botwo(env, workdir, "cp", "object.txt", "s3://example-old-bucket/test/")
    assert up == "upload: ./object.txt to s3://example-old-bucket/test/object.txt\n"
    landed = lakefs.get_object(Bucket="example-repo", Key="main/test/object.txt")["Body"].read()
    assert landed == b"hello from the command line\n"

    copied = botwo(env, workdir, "cp", "s3://example-old-bucket/test/object.txt", "s3://test-bucket/test/")
    assert copied == "copy: s3://example-old-bucket/test/object.txt to s3://test-bucket/test/object.txt\n"
    assert aws.get_object(Bucket="test-bucket", Key="test/object.txt")["Body"].read() == landed

    listing = botwo(env, workdir, "ls", "s3://example-old-bucket/test/")
    assert [line.split()[-1] for line in listing.splitlines()] == ["object.txt"]
    assert listing.split()[2] == str(len(landed))  # date, time, size, name: as aws s3 ls

    gone = botwo(env, workdir, "rm", "s3://example-old-bucket/test/object.txt")
    assert gone == "delete: s3://example-old-bucket/test/object.txt\n"
    botwo(env, workdir, "ls", "s3://example-old-bucket/test/", expect=1)  # nothing left: exit 1


def main() -> None:
    with two_endpoints() as endpoints, tempfile.TemporaryDirectory() as tmp:
        session(endpoints, Path(tmp))
    print("OK")


if __name__ == "__main__":
    main()
