"""Two S3 endpoints for the examples: one plays AWS S3, the other lakeFS.

Point the examples at real servers with environment variables::

    BOTWO_EXAMPLE_S3_URL        BOTWO_EXAMPLE_S3_ACCESS_KEY        BOTWO_EXAMPLE_S3_SECRET_KEY
    BOTWO_EXAMPLE_LAKEFS_URL    BOTWO_EXAMPLE_LAKEFS_ACCESS_KEY    BOTWO_EXAMPLE_LAKEFS_SECRET_KEY

(a missing access/secret key falls back to boto3's usual credential chain). When neither
URL is set, two local S3 servers are started for the duration of the example
(``botwo.testing.LocalS3Server``, needs ``pip install "botwo[demo]"``).

Each boto3 client is made from its own ``boto3.session.Session``, as separate teams'
code often does, so the two backends do not even share exception classes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config

__all__ = ["ensure_bucket", "two_backends"]


def _client(url: str, access_key: str | None, secret_key: str | None) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}),
    )


def _from_env(name: str) -> Any:
    prefix = f"BOTWO_EXAMPLE_{name}_"
    return _client(
        os.environ[prefix + "URL"],
        os.environ.get(prefix + "ACCESS_KEY"),
        os.environ.get(prefix + "SECRET_KEY"),
    )


@contextlib.contextmanager
def two_backends() -> Iterator[tuple[Any, Any]]:
    """Yield ``(s3_client, lakefs_client)``: two plain boto3 S3 clients."""
    configured = [n for n in ("S3", "LAKEFS") if os.environ.get(f"BOTWO_EXAMPLE_{n}_URL")]
    if len(configured) == 2:
        yield _from_env("S3"), _from_env("LAKEFS")
        return
    if configured:
        raise SystemExit("set both BOTWO_EXAMPLE_S3_URL and BOTWO_EXAMPLE_LAKEFS_URL, or neither")

    from botwo.testing import LocalS3Server

    with LocalS3Server("s3") as s3, LocalS3Server("lakefs") as lakefs:
        yield (
            _client(s3.endpoint_url, s3.access_key, s3.secret_key),
            _client(lakefs.endpoint_url, lakefs.access_key, lakefs.secret_key),
        )


def ensure_bucket(client: Any, name: str) -> None:
    """Create ``name`` on ``client``'s server unless it already exists."""
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        region = client.meta.region_name
        if region in (None, "us-east-1"):
            client.create_bucket(Bucket=name)
        else:
            client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
