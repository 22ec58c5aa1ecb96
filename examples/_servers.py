"""Two S3 endpoints for the examples: one plays AWS S3, the other lakeFS.

Point the examples at real servers with environment variables::

    BOTWO_EXAMPLE_S3_URL        BOTWO_EXAMPLE_S3_ACCESS_KEY        BOTWO_EXAMPLE_S3_SECRET_KEY
    BOTWO_EXAMPLE_LAKEFS_URL    BOTWO_EXAMPLE_LAKEFS_ACCESS_KEY    BOTWO_EXAMPLE_LAKEFS_SECRET_KEY

(a missing access/secret key falls back to boto3's usual credential chain). When neither
URL is set, two local S3 servers are started for the duration of the example
(``botwo.testing.LocalS3Server``, needs ``pip install "botwo[demo]"``).

``two_backends()`` yields two boto3 clients; ``two_endpoints()`` yields what they are made
of (endpoint URL, keys, region), for the examples that write a botwo configuration. Each
boto3 client is made from its own ``boto3.session.Session``, as separate teams' code often
does, so the two backends do not even share exception classes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config

__all__ = ["ENDPOINT_FIELDS", "ensure_bucket", "two_backends", "two_endpoints"]

#: The keys of each endpoint dict that ``two_endpoints`` yields: ``boto3.client`` arguments.
ENDPOINT_FIELDS = ("endpoint_url", "aws_access_key_id", "aws_secret_access_key", "region_name")


def _region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def _fields(table: dict[str, Any]) -> dict[str, Any]:
    return {field: table[field] for field in ENDPOINT_FIELDS}


def _from_env(name: str) -> dict[str, Any]:
    prefix = f"BOTWO_EXAMPLE_{name}_"
    return {
        "endpoint_url": os.environ[prefix + "URL"],
        "aws_access_key_id": os.environ.get(prefix + "ACCESS_KEY"),
        "aws_secret_access_key": os.environ.get(prefix + "SECRET_KEY"),
        "region_name": _region(),
    }


@contextlib.contextmanager
def two_endpoints() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield ``(s3, lakefs)``: for each server a dict of ``endpoint_url``,
    ``aws_access_key_id``, ``aws_secret_access_key`` and ``region_name`` (a key taken from
    the environment may be None: boto3's credential chain then finds it)."""
    configured = [n for n in ("S3", "LAKEFS") if os.environ.get(f"BOTWO_EXAMPLE_{n}_URL")]
    if len(configured) == 2:
        yield _from_env("S3"), _from_env("LAKEFS")
        return
    if configured:
        raise SystemExit("set both BOTWO_EXAMPLE_S3_URL and BOTWO_EXAMPLE_LAKEFS_URL, or neither")

    from botwo.testing import LocalS3Server

    with LocalS3Server("s3", region=_region()) as s3, LocalS3Server("lakefs", region=_region()) as lakefs:
        yield _fields(s3.client_config()), _fields(lakefs.client_config())


def _client(endpoint: dict[str, Any]) -> Any:
    return boto3.session.Session().client("s3", config=Config(s3={"addressing_style": "path"}), **endpoint)


@contextlib.contextmanager
def two_backends() -> Iterator[tuple[Any, Any]]:
    """Yield ``(s3_client, lakefs_client)``: two plain boto3 S3 clients."""
    with two_endpoints() as (s3, lakefs):
        yield _client(s3), _client(lakefs)


def ensure_bucket(client: Any, name: str) -> None:
    """Create ``name`` on ``client``'s server unless it already exists."""
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        region = client.meta.region_name
        if region in (None, "us-east-1"):
            client.create_bucket(Bucket=name)
        else:
            client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
