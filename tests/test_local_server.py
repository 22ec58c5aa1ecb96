"""The local S3 server's answers to ranged GETs: the bytes and headers S3 sends.

The server reads only the requested range of an object (moto alone reads the whole value
for every GET); these tests pin down that the answers stay S3's.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BODY = bytes(range(256)) * 40 + b"tail"  # 10,244 bytes
SIZE = len(BODY)


@pytest.fixture
def oracle(backends: dict[str, Any]) -> Any:
    client = backends["oracle"]
    client.create_bucket(Bucket="ranges")
    client.put_object(Bucket="ranges", Key="k", Body=BODY)
    return client


def expected(header: str) -> tuple[int, int]:
    """First and last byte of a one-range ``Range`` header, as S3 resolves it."""
    first, last = header.removeprefix("bytes=").split("-")
    if not first:
        return max(SIZE - int(last), 0), SIZE - 1
    return int(first), min(int(last), SIZE - 1) if last else SIZE - 1


positions = st.integers(0, SIZE + 100)
ranges = st.one_of(
    st.tuples(positions, positions).map(lambda p: f"bytes={min(p)}-{max(p)}"),
    positions.map(lambda p: f"bytes={p}-"),
    st.integers(1, SIZE + 100).map(lambda n: f"bytes=-{n}"),
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(ranges)
def test_a_ranged_get_sends_that_range(oracle: Any, header: str) -> None:
    first, last = expected(header)
    if first >= SIZE:
        with pytest.raises(ClientError) as caught:
            oracle.get_object(Bucket="ranges", Key="k", Range=header)
        assert caught.value.response["Error"]["Code"] == "InvalidRange"
        return
    got = oracle.get_object(Bucket="ranges", Key="k", Range=header)
    assert got["Body"].read() == BODY[first : last + 1]
    assert got["ContentRange"] == f"bytes {first}-{last}/{SIZE}"
    assert got["ContentLength"] == last - first + 1
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206


def test_what_is_not_one_range_is_answered_whole(oracle: Any) -> None:
    for header in ("bytes=0-1,5-6", "bytes=x-y"):
        got = oracle.get_object(Bucket="ranges", Key="k", Range=header)
        assert got["Body"].read() == BODY and got["ResponseMetadata"]["HTTPStatusCode"] == 200
    whole = oracle.get_object(Bucket="ranges", Key="k", PartNumber=1)
    assert whole["Body"].read() == BODY and whole["ContentRange"] == f"bytes 0-{SIZE - 1}/{SIZE}"
    assert oracle.get_object(Bucket="ranges", Key="k")["Body"].read() == BODY


def test_a_ranged_get_of_an_older_version(oracle: Any) -> None:
    oracle.put_bucket_versioning(Bucket="ranges", VersioningConfiguration={"Status": "Enabled"})
    first = oracle.put_object(Bucket="ranges", Key="v", Body=b"first version")["VersionId"]
    oracle.put_object(Bucket="ranges", Key="v", Body=b"SECOND VERSION")
    old = oracle.get_object(Bucket="ranges", Key="v", VersionId=first, Range="bytes=6-12")
    assert old["Body"].read() == b"version" and old["VersionId"] == first
    assert oracle.get_object(Bucket="ranges", Key="v", Range="bytes=-7")["Body"].read() == b"VERSION"
