"""Keys and presigned URLs that would take a caller out of its route.

Two tenants share one backend bucket (``t1`` under ``t1/``, ``t2`` under ``t2/``), and a
bucket has a read-only prefix. Whatever a caller writes into a key or a URL, and whatever
an HTTP client or a server makes of dot segments, no call and no URL reaches an object
of another route; S3's own limits on keys hold in the caller's names.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

import botwo
from botwo import RoutingError
from botwo.filesystem import BotwoFileSystem

from .recorder import Sent

MAPPING: list[dict[str, Any]] = [
    {"bucket_name": "t1", "mapped_bucket_name": "shared", "key_prefix": "t1/", "client": "s3"},
    {"bucket_name": "t2", "mapped_bucket_name": "shared", "key_prefix": "t2/", "client": "s3"},
    {"bucket_name": "data", "prefix": "ref/", "client": "lake", "readonly": True},
    {"bucket_name": "*", "client": "lake"},
]


@pytest.fixture
def world(backends: dict[str, Any]) -> Iterator[tuple[Any, Any, Sent]]:
    """The botwo client, the tenants' backend's own client, and what botwo sent."""
    s3, lake = backends["s3"], backends["lake"]
    s3.create_bucket(Bucket="shared")
    s3.put_object(Bucket="shared", Key="t2/secret.txt", Body=b"t2's secret")
    lake.create_bucket(Bucket="data")
    lake.put_object(Bucket="data", Key="ref/frozen.csv", Body=b"frozen")
    client = botwo.client({"s3": s3, "lake": lake}, MAPPING)
    yield client, s3, Sent({"s3": s3, "lake": lake})


def frozen(backends: dict[str, Any]) -> bytes:
    body: bytes = backends["lake"].get_object(Bucket="data", Key="ref/frozen.csv")["Body"].read()
    return body


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


# -- dot segments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bucket", "key", "why"),
    [
        ("t1", "../t2/secret.txt", "out of the key"),
        ("t1", "a/../../t2/secret.txt", "out of the key"),
        ("data", "./ref/frozen.csv", "goes through rule 2"),
        ("data", "x/../ref/frozen.csv", "goes through rule 2"),
        ("t1", "..", "out of the key"),
    ],
)
def test_a_key_whose_dot_segments_leave_its_route_is_refused_unsent(
    world: Any, backends: dict[str, Any], bucket: str, key: str, why: str
) -> None:
    s3, _, sent = world
    calls = [
        lambda: s3.get_object(Bucket=bucket, Key=key),
        lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"overwritten"),
        lambda: s3.delete_object(Bucket=bucket, Key=key),
        lambda: s3.copy_object(Bucket="t1", Key="copy", CopySource={"Bucket": bucket, "Key": key}),
        lambda: s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}),
        lambda: s3.generate_presigned_post(bucket, key),
    ]
    for call in calls:
        with pytest.raises(RoutingError, match=why) as caught:
            call()
        assert repr(key) in str(caught.value) and repr(bucket) in str(caught.value)
    assert sent.requests == []
    assert frozen(backends) == b"frozen"


def test_dot_segments_that_stay_on_the_same_object_are_sent_as_they_are(world: Any) -> None:
    s3, backend, _ = world
    # Resolved or not, "a/./b" and "a/x/../b" are keys of t1's route, renamed alike: S3 keeps
    # them as they are, and so does botwo.
    for key in ("a/./b", "a/x/../b", ".hidden/x", "..."):
        s3.put_object(Bucket="t1", Key=key, Body=key.encode())
        assert s3.get_object(Bucket="t1", Key=key)["Body"].read() == key.encode()
        assert backend.head_object(Bucket="shared", Key="t1/" + key)


def test_a_presigned_url_with_dot_segments_cannot_read_another_tenant(world: Any) -> None:
    s3, _, _ = world
    # Before: /shared/t1/../t2/secret.txt, which HTTP clients normalize into t2's object.
    with pytest.raises(RoutingError):
        s3.generate_presigned_url("get_object", Params={"Bucket": "t1", "Key": "../t2/secret.txt"})


def test_the_filesystem_refuses_dot_segments_that_leave_the_route(
    world: Any, backends: dict[str, Any]
) -> None:
    s3, _, _ = world
    fs = BotwoFileSystem(client=s3, skip_instance_cache=True)
    with pytest.raises((RoutingError, OSError, ValueError)):
        fs.pipe_file("data/x/../ref/frozen.csv", b"overwritten")
    with pytest.raises((RoutingError, OSError, ValueError)):
        fs.cat_file("t1/../t2/secret.txt")
    assert frozen(backends) == b"frozen"


# -- presigned listings ------------------------------------------------------------------------


def test_a_presigned_listing_of_one_tenant_signs_its_prefix(world: Any, backends: dict[str, Any]) -> None:
    s3, backend, _ = world
    backend.put_object(Bucket="shared", Key="t1/mine.txt", Body=b"t1")
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": "t1"})
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    # SigV2 (botocore's default for presigned S3 URLs) would leave prefix unsigned.
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["prefix"] == ["t1/"]
    status, body = _get(url)
    assert status == 200 and b"t1/mine.txt" in body and b"t2/" not in body
    # Edited into the other tenant's prefix, the signature no longer matches.
    status, body = _get(url.replace("prefix=t1%2F", "prefix=t2%2F"))
    assert status == 403 and b"t2/secret.txt" not in body
    # A call that rewrites nothing in its query keeps the client's own signature version.
    plain = s3.generate_presigned_url("get_object", Params={"Bucket": "t1", "Key": "mine.txt"})
    assert "Signature=" in plain and "X-Amz-Algorithm" not in plain
    assert _get(plain) == (200, b"t1")
    # And the backend client, used directly, is unchanged.
    direct = backend.generate_presigned_url("list_objects_v2", Params={"Bucket": "shared", "Prefix": "t1/"})
    assert "X-Amz-Algorithm" not in direct


# -- what S3 itself would refuse ---------------------------------------------------------------


def test_an_empty_key_is_refused_as_boto3_refuses_it(world: Any) -> None:
    s3, backend, sent = world
    for call in (
        lambda: s3.put_object(Bucket="t1", Key="", Body=b"x"),
        lambda: s3.get_object(Bucket="t1", Key=""),
        lambda: s3.copy_object(Bucket="t1", Key="", CopySource="t1/a"),
        lambda: s3.delete_objects(Bucket="t1", Delete={"Objects": [{"Key": "a"}, {"Key": ""}]}),
    ):
        with pytest.raises(ParamValidationError, match="Invalid length for parameter"):
            call()
    with pytest.raises(ParamValidationError):
        s3.generate_presigned_post("t1", "")
    assert sent.requests == []
    assert backend.list_objects_v2(Bucket="shared", Prefix="t1/").get("KeyCount") == 0


def test_a_key_too_long_once_renamed_is_s3s_key_too_long_error_in_caller_names(world: Any) -> None:
    s3, _, sent = world
    key = "k" * 1022  # within S3's 1,024 bytes, and 1,025 once "t1/" is added
    for call in (
        lambda: s3.put_object(Bucket="t1", Key=key, Body=b"x"),
        lambda: s3.copy_object(Bucket="t1", Key=key, CopySource="t1/a"),
        lambda: s3.delete_objects(Bucket="t1", Delete={"Objects": [{"Key": key}]}),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        err = caught.value
        assert err.response["Error"]["Code"] == "KeyTooLongError"
        assert err.response["Error"]["Key"] == key
        assert "1,025 bytes" in " ".join(err.__notes__) and "shared" not in str(err)
    assert sent.requests == []
    # Multi-byte characters count as S3 counts them, in UTF-8 bytes.
    with pytest.raises(ClientError, match="KeyTooLongError"):
        s3.put_object(Bucket="t1", Key="é" * 511, Body=b"x")
    s3.put_object(Bucket="t1", Key="é" * 510, Body=b"x")  # 1,020 + 3 bytes: fits
